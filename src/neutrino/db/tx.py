"""Transactions: the unit of work a service opens once per request.

A `Tx` collects the request's change-log entries and writes them last, right before commit,
so that the change sequence is taken while every other effect of the transaction is done
(see `changelog.append`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from neutrino.db import changelog
from neutrino.db.engine import WRITE_OPTION
from neutrino.domain.change import Change


@dataclass
class Tx:
    """An open transaction: the connection, one clock reading, and the pending changes."""

    conn: sa.Connection
    now: datetime
    writable: bool
    changes: list[Change] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def record(self, change: Change) -> None:
        """Queue a change-log entry; it is written in this transaction, just before commit."""
        if not self.writable:
            raise RuntimeError("change recorded in a read-only transaction")
        self.changes.append(change)


class Database:
    """Opens transactions. Services hold one and call `write()` or `read()` once per request."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.last_seq = 0  # highest seq this process committed
        self._lock = threading.Lock()
        self._on_commit: list[Callable[[int], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_commit(self, callback: Callable[[int], None]) -> None:
        """Call `callback(seq)` (in the writing thread) after each commit that appended to the
        change log; this is how long-polls in this process wake up."""
        self._on_commit.append(callback)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A read-write transaction that commits on success and rolls back on any error."""
        last = 0
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                tx = Tx(conn=conn, now=datetime.now(UTC).replace(microsecond=0), writable=True)
                yield tx
                if tx.changes:
                    last = changelog.append(conn, tx.changes, tx.now)
        if last:  # committed: only now may watchers be told
            self._committed(last)

    def _committed(self, seq: int) -> None:
        with self._lock:
            self.last_seq = max(self.last_seq, seq)
            callbacks = list(self._on_commit)
        for callback in callbacks:
            callback(seq)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only transaction (rolled back at the end)."""
        with self.engine.connect() as conn, conn.begin() as trans:
            yield Tx(conn=conn, now=datetime.now(UTC).replace(microsecond=0), writable=False)
            trans.rollback()
