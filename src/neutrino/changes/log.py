"""Read the change log from a sequence number, compact old entries.

Waiting for new entries (long-poll) is `changes.feed.Feed`."""

from __future__ import annotations

from dataclasses import dataclass

from neutrino.db import Database, changelog
from neutrino.domain.change import Change
from neutrino.domain.errors import Gone


@dataclass(frozen=True, slots=True)
class Batch:
    """Changes after `since`, and the newest seq committed when they were read."""

    changes: list[Change]
    last_seq: int


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
