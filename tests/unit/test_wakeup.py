"""`changes.wakeup.Wakeup`: commits announced from any thread wake sleeping long-polls, and a
commit announced between "read the log" and "sleep" is never lost."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from neutrino.changes.wakeup import Wakeup
from neutrino.cmd import config


def test_a_fire_from_another_thread_wakes_a_sleeper() -> None:
    async def scenario() -> float:
        wakeup = Wakeup()
        threading.Timer(0.1, wakeup.fire, (7,)).start()
        started = time.monotonic()
        await wakeup.sleep(wakeup.generation, timeout=10)
        return time.monotonic() - started

    assert 0.09 <= asyncio.run(scenario()) < 2


def test_a_fire_before_sleeping_is_not_lost() -> None:
    async def scenario() -> float:
        wakeup = Wakeup()
        seen = wakeup.generation  # what a waiter notes before it reads the log
        wakeup.fire(1)  # a commit lands after the read, before the sleep
        started = time.monotonic()
        await wakeup.sleep(seen, timeout=10)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 0.5  # at once, not after the 10 s timeout


def test_sleep_times_out_and_leaves_no_sleeper_behind() -> None:
    async def scenario() -> tuple[float, Wakeup]:
        wakeup = Wakeup()
        started = time.monotonic()
        await wakeup.sleep(wakeup.generation, timeout=0.1)
        return time.monotonic() - started, wakeup

    elapsed, wakeup = asyncio.run(scenario())
    assert 0.09 <= elapsed < 2
    wakeup.fire()  # the loop is closed and no sleeper is registered: nothing to do, no error
    assert wakeup.generation == 1


def test_one_fire_wakes_every_sleeper() -> None:
    async def scenario() -> int:
        wakeup = Wakeup()
        seen = wakeup.generation
        sleepers = [asyncio.create_task(wakeup.sleep(seen, timeout=10)) for _ in range(5)]
        await asyncio.sleep(0.05)
        threading.Thread(target=wakeup.fire).start()
        done, _ = await asyncio.wait(sleepers, timeout=2)
        return len(done)

    assert asyncio.run(scenario()) == 5


def test_config_file_sets_change_log_compaction(tmp_path: Path) -> None:
    path = tmp_path / "neutrino.toml"
    path.write_text("[server]\nchange_log_keep = 500\nchange_log_compact_every = 2.5\n")
    settings = config.load(str(path))
    assert settings.server.change_log_keep == 500
    assert settings.server.change_log_compact_every == 2.5
    assert config.load().server.change_log_compact_every == 60.0
