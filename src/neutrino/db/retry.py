"""Run a one-transaction request again when PostgreSQL aborted it for a race it lost.

Every request is one transaction (DESIGN.md), so a transaction that was rolled back left
nothing behind and may simply run again; the rerun sees what the winner committed and gives
the answer that matches it (a 404 for a group deleted under a new port, a 409 for an address
associated meanwhile), where the aborted attempt could only give a 500. These are the races
the service code does not order by locks: two transactions locking the same rows in opposite
orders (deadlock), and a uniqueness or foreign-key check that passed before the other side
committed. Neutron retries the same cases (oslo.db's `wrap_db_retry`).

SQLite needs none of this: its writers are serialised by `BEGIN IMMEDIATE` (`db.engine`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("neutrino.db")

P = ParamSpec("P")
T = TypeVar("T")

# SQLSTATEs of a lost race: deadlock_detected, serialization_failure, unique_violation,
# foreign_key_violation.
RACE_SQLSTATES = frozenset({"40P01", "40001", "23505", "23503"})
ATTEMPTS = 5


def lost_a_race(exc: BaseException) -> bool:
    """Whether `exc` is PostgreSQL aborting the transaction for a concurrent one."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES


def retrying(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)`, run again (up to `ATTEMPTS` times, after a short random pause
    so the two sides do not meet again) while it loses a race. `fn` must be one transaction:
    all or nothing. The last failure propagates: a constraint that fails every time is a bug
    to see, not to hide."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn(*args, **kwargs)
        except DBAPIError as exc:
            if attempt == ATTEMPTS or not lost_a_race(exc):
                raise
            log.info("%s lost a race (%s); attempt %d", getattr(fn, "__qualname__", fn),
                     getattr(exc.orig, "sqlstate", "?"), attempt + 1)
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")
