"""Wake sleeping long-polls when a commit may have added changes.

Commits are announced from any thread (a request's worker thread after its commit, or the
PostgreSQL listener); sleepers are coroutines on one or more event loops. A generation counter
closes the race between "read the log, found nothing" and "go to sleep": a sleeper passes the
generation it saw before reading, and returns at once if a commit was announced since.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Wakeup:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._sleepers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def generation(self) -> int:
        return self._generation

    def fire(self, _seq: int = 0) -> None:
        """A commit happened (callable from any thread): wake every sleeper."""
        with self._lock:
            self._generation += 1
            sleepers = list(self._sleepers)
        for loop, event in sleepers:
            with contextlib.suppress(RuntimeError):  # a closed loop: its sleeper is gone
                loop.call_soon_threadsafe(event.set)

    async def sleep(self, seen: int, timeout: float) -> None:
        """Until a commit announced after generation `seen`, or `timeout` seconds."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._generation != seen:
                return
            self._sleepers.add(entry)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._sleepers.discard(entry)
