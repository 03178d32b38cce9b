"""The change log's SQL: append with a gap-free sequence, read, compact.

Why the sequence is gap-free in commit order: `append` runs as the last statement of the
writing transaction and takes the next numbers with `UPDATE change_seq SET value = value + n`.
That row lock is held until commit, so a second writer waits at the same UPDATE until the
first has committed, then sees its value. Numbers are therefore handed out in commit order and
a watcher that has read up to seq N can never later see a smaller seq appear. (A plain
autoincrement/sequence would hand out numbers at insert time, and a slower transaction could
commit a smaller number after a watcher already moved past it.) On SQLite, BEGIN IMMEDIATE
already serialises writers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neutrino.db.tables.core import change_log, change_seq
from neutrino.domain.change import Change, Op


def append(conn: sa.Connection, changes: list[Change], now: datetime) -> int:
    """Write `changes` with the next seq numbers; returns the last seq. Call last in the tx."""
    n = len(changes)
    last = conn.execute(
        sa.update(change_seq)
        .where(change_seq.c.id == 1)
        .values(value=change_seq.c.value + n)
        .returning(change_seq.c.value)
    ).scalar_one()
    first = last - n + 1
    conn.execute(
        change_log.insert(),
        [
            {
                "seq": first + i,
                "resource": c.resource,
                "resource_id": c.resource_id,
                "op": c.op.value,
                "revision": c.revision,
                "project_id": c.project_id,
                "body": c.body,
                "created_at": now,
            }
            for i, c in enumerate(changes)
        ],
    )
    return int(last)


def bounds(conn: sa.Connection) -> tuple[int, int]:
    """(floor, last): seqs <= floor were compacted away; last is the newest committed."""
    row = conn.execute(
        sa.select(change_seq.c.floor, change_seq.c.value).where(change_seq.c.id == 1)
    ).one()
    return int(row.floor), int(row.value)


def read_since(conn: sa.Connection, since: int, limit: int) -> list[Change]:
    """Changes with seq > since, oldest first, at most `limit`."""
    rows = conn.execute(
        sa.select(change_log)
        .where(change_log.c.seq > since)
        .order_by(change_log.c.seq)
        .limit(limit)
    ).all()
    return [_to_change(row) for row in rows]


def compact(conn: sa.Connection, keep: int) -> int:
    """Drop all but the newest `keep` entries; returns the new floor."""
    floor, last = bounds(conn)
    new_floor = max(floor, last - keep)
    if new_floor > floor:
        conn.execute(sa.delete(change_log).where(change_log.c.seq <= new_floor))
        conn.execute(
            sa.update(change_seq).where(change_seq.c.id == 1).values(floor=new_floor)
        )
    return new_floor


def _to_change(row: Any) -> Change:
    return Change(
        resource=row.resource,
        resource_id=row.resource_id,
        op=Op(row.op),
        revision=row.revision,
        project_id=row.project_id,
        body=row.body,
        seq=row.seq,
        created_at=row.created_at,
    )
