"""Read the change log from a sequence number, check the agent protocol, compact old entries.

Waiting for new entries (long-poll) is `changes.feed.Feed`."""

from __future__ import annotations

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
    """Changes with seq > since, oldest first. `last_seq` is the newest seq committed in the
    same snapshot, so a watcher that got no changes may resume from it; one that got changes
    resumes from the last change's seq (`limit` may have cut the batch short).

    410 `ChangesTooOld` if entries after `since` were compacted away, or if `since` is beyond
    the log's end (the watcher followed another or a reset database): the watcher must resync
    from a full listing and resume from the seq named in `detail` (`resume_from=N`)."""
    with db.read() as tx:
        floor, last, found = changelog.read_window(tx.conn, since, limit)
    if since < floor:
        raise Gone(
            f"changes after {since} were compacted (oldest kept: {floor + 1}); "
            f"resync and resume from {last}",
            f"resume_from={last}",
            type_name="ChangesTooOld",
        )
    if since > last:
        raise Gone(
            f"the change log ends at {last}, before {since}: this is not the log you followed; "
            f"resync and resume from {last}",
            f"resume_from={last}",
            type_name="ChangesTooOld",
        )
    return Batch(found, last)


def compact(db: Database, keep: int) -> int:
    """Keep the newest `keep` entries; returns the floor. Cheap when there is little to do:
    it reads the bounds first and writes only once 1% of `keep` (at least 1) is surplus."""
    with db.read() as tx:
        floor, last = changelog.bounds(tx.conn)
    if last - keep - floor < max(1, keep // 100):
        return floor
    with db.write() as tx:
        return changelog.compact(tx.conn, keep)
