"""The per-process change feed: long-polls that wake on commits, and periodic compaction.

One `Feed` per server process (the app builds it; its lifespan runs `running()`). Local
commits wake sleepers at once through `Database.on_commit`. On PostgreSQL a LISTEN connection
brings commits made by the other server processes within milliseconds; until it is connected,
and always on SQLite, sleepers also re-read the log every `POLL` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator

from neutrino.changes import log
from neutrino.changes.wakeup import Wakeup
from neutrino.db import Database, notify

POLL = 0.5  # re-read interval when no LISTEN connection tells us about other processes
SAFETY_POLL = 5.0  # re-read interval while listening, in case a notification is lost

logger = logging.getLogger("neutrino.changes")


class Feed:
    def __init__(self, db: Database, *, keep: int, compact_every: float) -> None:
        self.db = db
        self.keep = keep
        self.compact_every = compact_every
        self.wakeup = Wakeup()
        self.listening = False
        db.on_commit(self.wakeup.fire)

    async def wait(self, since: int, timeout: float, limit: int = 1000) -> log.Batch:
        """Changes after `since` as soon as there are any, or an empty batch at `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.wakeup.generation
            batch = await asyncio.to_thread(log.read, self.db, since, limit)
            remaining = deadline - time.monotonic()
            if batch.changes or remaining <= 0:
                return batch
            poll = SAFETY_POLL if self.listening else POLL
            await self.wakeup.sleep(seen, min(remaining, poll))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the background tasks (PostgreSQL listener, compactor) while the app serves."""
        tasks = []
        if notify.supported(self.db.engine):
            tasks.append(asyncio.create_task(
                notify.listen(self.db.engine, self.wakeup.fire, self._set_listening)))
        if self.compact_every > 0:
            tasks.append(asyncio.create_task(self._compact_periodically()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _set_listening(self, listening: bool) -> None:
        self.listening = listening

    async def _compact_periodically(self) -> None:
        """Every `compact_every` seconds (with jitter, so processes spread out), keep the newest
        `keep` entries. Several processes doing this at once is harmless, only wasteful."""
        while True:
            await asyncio.sleep(self.compact_every * random.uniform(0.8, 1.2))
            try:
                await asyncio.to_thread(log.compact, self.db, self.keep)
            except Exception:
                logger.exception("change-log compaction failed; will retry")
