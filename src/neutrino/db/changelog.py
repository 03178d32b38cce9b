"""The change log's SQL: append with a gap-free sequence, read, compact.

Why the sequence is gap-free in commit order: `append` runs as the last statement of the
writing transaction and takes the next numbers with `UPDATE change_seq SET value = value + n`.
That row lock is held until commit, so a second writer waits at the same UPDATE until the
first has committed, then sees its value. Numbers are therefore handed out in commit order and
a watcher that has read up to seq N can never later see a smaller seq appear. (A plain
autoincrement/sequence would hand out numbers at insert time, and a slower transaction could
commit a smaller number after a watcher already moved past it.) On SQLite, BEGIN IMMEDIATE
already serialises writers. On PostgreSQL the UPDATE and the INSERT are one statement (a
data-modifying CTE): one round trip less inside that lock, which every writer queues for.

On PostgreSQL the same UPDATE also NOTIFYs the new last seq; it is delivered at commit and
wakes long-polls in every server process (`db/notify.py`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from neutrino.db import notify
from neutrino.db.tables.core import change_log, change_seq
from neutrino.domain.change import Change, Op


@cache
def _take_seq(dialect: str) -> sa.Update:
    """`UPDATE change_seq SET value = value + :n RETURNING value` (plus the PostgreSQL
    NOTIFY), built once per dialect: it runs in every write transaction."""
    return (
        sa.update(change_seq)
        .where(change_seq.c.id == 1)
        .values(value=change_seq.c.value + sa.bindparam("n", type_=sa.BigInteger))
        .returning(change_seq.c.value, *notify.announce(dialect, change_seq.c.value))
    )


_FIELDS = ("resource", "resource_id", "op", "revision", "project_id", "body", "created_at")
_ONE_STATEMENT_MAX = 16  # larger batches (rare) are built per call rather than cached


def _append_in_one(dialect: str, n: int) -> sa.Insert:
    """PostgreSQL: take the seqs and insert the n rows in ONE statement (a data-modifying
    CTE). Every writer waits for the seq row lock until the holder commits, so each round
    trip between taking the seq and COMMIT is paid by all writers in turn."""
    taken = (
        sa.update(change_seq)
        .where(change_seq.c.id == 1)
        .values(value=change_seq.c.value + n)
        .returning(change_seq.c.value.label("last"), *notify.announce(dialect, change_seq.c.value))
        .cte("taken")
    )
    rows = [
        sa.select(taken.c.last - (n - 1 - i),
                  *(sa.bindparam(f"{f}_{i}", type_=change_log.c[f].type) for f in _FIELDS))
        for i in range(n)
    ]
    source = rows[0] if n == 1 else sa.union_all(*rows)
    return change_log.insert().from_select(["seq", *_FIELDS], source).returning(change_log.c.seq)


_append_cached = cache(_append_in_one)


def append(conn: sa.Connection, changes: list[Change], now: datetime) -> int:
    """Write `changes` with the next seq numbers; returns the last seq. Call last in the tx."""
    n = len(changes)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt = (_append_cached if n <= _ONE_STATEMENT_MAX else _append_in_one)(dialect, n)
        params = {f"{f}_{i}": v for i, c in enumerate(changes) for f, v in zip(
            _FIELDS, (c.resource, c.resource_id, c.op.value, c.revision, c.project_id, c.body,
                      now), strict=True)}
        return int(max(conn.execute(stmt, params).scalars()))
    last = conn.execute(_take_seq(dialect), {"n": n}).scalar_one()
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
    return read_window(conn, since, limit)[2]


def read_window(conn: sa.Connection, since: int, limit: int) -> tuple[int, int, list[Change]]:
    """(floor, last, changes after `since`) read by ONE statement, hence from one snapshot.

    Two statements under PostgreSQL's READ COMMITTED could see a compaction commit between
    them: the floor read before it, the rows after it, and the watcher would silently skip
    the deleted entries. Joining the bounds row to the entries keeps them consistent; with no
    entries the outer join still yields the bounds (with NULL entry columns).
    """
    window = change_seq.outerjoin(change_log, change_log.c.seq > since)
    rows = conn.execute(
        sa.select(change_seq.c.floor, change_seq.c.value.label("last"), *change_log.c)
        .select_from(window)
        .where(change_seq.c.id == 1)
        .order_by(change_log.c.seq)
        .limit(limit)
    ).all()
    floor, last = int(rows[0].floor), int(rows[0].last)
    return floor, last, [_to_change(row) for row in rows if row.seq is not None]


def compact(conn: sa.Connection, keep: int) -> int:
    """Drop all but the newest `keep` entries; returns the new floor.

    Safe to run from several processes at once: the floor only ever moves up
    (`WHERE floor < :new`), so a compactor that computed an older floor cannot lower the
    floor that another one already raised past entries it deleted.
    """
    floor, last = bounds(conn)
    new_floor = max(floor, last - keep)
    if new_floor > floor:
        conn.execute(sa.delete(change_log).where(change_log.c.seq <= new_floor))
        conn.execute(
            sa.update(change_seq)
            .where(change_seq.c.id == 1, change_seq.c.floor < new_floor)
            .values(floor=new_floor)
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
