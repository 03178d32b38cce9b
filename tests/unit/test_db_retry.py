"""`db.retry`: which database errors mean "lost a race, run again", and how often."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from neutrino.db.retry import ATTEMPTS, lost_a_race, retrying


class _Sqlstate:
    def __init__(self, sqlstate: str | None) -> None:
        self.sqlstate = sqlstate


def _db_error(sqlstate: str | None) -> Exception:
    return DBAPIError("stmt", {}, _Sqlstate(sqlstate))  # type: ignore[arg-type]


@pytest.mark.parametrize("sqlstate", ["40P01", "40001", "23505", "23503"])
def test_a_lost_race_runs_again(sqlstate: str) -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise _db_error(sqlstate)
        return "done"

    assert lost_a_race(_db_error(sqlstate))
    assert retrying(flaky) == "done" and len(attempts) == 3


def test_other_errors_and_endless_losses_propagate() -> None:
    calls: list[int] = []

    def broken(sqlstate: str | None) -> None:
        calls.append(1)
        raise _db_error(sqlstate)

    with pytest.raises(DBAPIError):
        retrying(broken, "42601")  # a syntax error is a bug: no second attempt
    assert len(calls) == 1
    with pytest.raises(DBAPIError):
        retrying(broken, "40P01")
    assert len(calls) == 1 + ATTEMPTS
