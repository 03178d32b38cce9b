"""Read the change log from a sequence number, wait for new entries, compact old ones."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from neutrino.db import Database, changelog
from neutrino.domain.change import Change
from neutrino.domain.errors import BadRequest, Gone

# Agent protocol major versions this server speaks (DESIGN decision 8).
PROTOCOL_VERSIONS = (1,)


@dataclass(frozen=True, slots=True)
class Batch:
    """Changes after `since`, and the newest seq committed when they were read."""

    changes: list[Change]
    last_seq: int


def check_protocol(version: str | None) -> int:
    """The protocol major version a watcher asked for, or 400 if we don't speak it."""
    if version is None:
        return PROTOCOL_VERSIONS[-1]
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) not in PROTOCOL_VERSIONS:
        supported = ", ".join(str(v) for v in PROTOCOL_VERSIONS)
        raise BadRequest(
            f"agent protocol version {version} is not supported by this server "
            f"(supported major versions: {supported}); upgrade the agent or the server",
            type_name="IncompatibleProtocolVersion",
        )
    return int(major)


def read(db: Database, since: int, limit: int = 1000) -> Batch:
    """Changes with seq > since. 410 `ChangesTooOld` if some were compacted away: the
    watcher must resync from a full listing and resume from the returned last_seq."""
    with db.read() as tx:
        floor, last = changelog.bounds(tx.conn)
        if since < floor:
            raise Gone(
                f"changes after {since} were compacted (oldest kept: {floor + 1}); "
                f"resync and resume from {last}",
                type_name="ChangesTooOld",
            )
        return Batch(changelog.read_since(tx.conn, since, limit), last)


async def wait(db: Database, since: int, timeout: float, limit: int = 1000,
               poll: float = 0.05) -> Batch:
    """Long-poll: return as soon as there is a change after `since`, or empty at timeout.

    Commits in this process wake the waiter within one `poll` through `db.last_seq`; commits
    by other server processes are seen by re-reading the database every 10 polls.
    """
    deadline = time.monotonic() + timeout
    batch = await asyncio.to_thread(read, db, since, limit)
    ticks = 0
    while not batch.changes and time.monotonic() < deadline:
        await asyncio.sleep(poll)
        ticks += 1
        if db.last_seq > since or ticks % 10 == 0:
            batch = await asyncio.to_thread(read, db, since, limit)
    return batch


def compact(db: Database, keep: int) -> int:
    """Keep the newest `keep` entries; returns the new floor."""
    with db.write() as tx:
        return changelog.compact(tx.conn, keep)
