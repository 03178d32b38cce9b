"""A project's default security group is created once, however many first requests race."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from neutrino.db.tables.core import change_log
from neutrino.db.tables.security_groups import (
    default_security_groups,
    security_group_rules,
    security_groups,
)
from neutrino.domain.context import Context
from neutrino.domain.listing import ListQuery
from neutrino.domain.network import NetworkCreate
from neutrino.services import networks
from neutrino.services import security_groups as sg_service
from neutrino.services._env import Env


def member(project: str) -> Context:
    return Context(project_id=project, roles=frozenset({"member", "reader"}))


def counts(env: Env, project: str) -> tuple[int, int, int, int]:
    """(groups, default rows, rules, group change-log entries) of a project."""
    with env.db.read() as tx:
        def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
            stmt = sa.select(sa.func.count()).select_from(table).where(*where)
            return int(tx.conn.execute(stmt).scalar_one())

        return (
            count(security_groups, security_groups.c.project_id == project),
            count(default_security_groups, default_security_groups.c.project_id == project),
            count(security_group_rules, security_group_rules.c.project_id == project),
            count(change_log, change_log.c.project_id == project,
                  change_log.c.resource == "security_group"),
        )


def test_racing_first_requests_of_two_projects_make_one_default_each(env: Env) -> None:
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def first_request(action: Callable[[], object]) -> None:
        try:
            start.wait(timeout=10)
            action()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    actions: list[Callable[[], object]] = []
    for project in ("alice", "bob"):
        ctx = member(project)
        actions += [
            lambda ctx=ctx: sg_service.list_(env, ctx, ListQuery()),
            lambda ctx=ctx: sg_service.list_(env, ctx, ListQuery()),
            lambda ctx=ctx: networks.create(env, ctx, NetworkCreate(name="n")),
            lambda ctx=ctx: networks.create(env, ctx, NetworkCreate(name="m")),
        ]
    threads = [threading.Thread(target=first_request, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    for project in ("alice", "bob"):
        assert counts(env, project) == (1, 1, 4, 1)
        page = sg_service.list_(env, member(project), ListQuery())
        assert [g.name for g in page.items] == ["default"]


def test_a_transaction_that_loses_the_race_returns_the_winners_group(env: Env) -> None:
    """B starts while A holds an uncommitted default group: B must wait and then use A's
    (on PostgreSQL B's own insert fails on the key and only its savepoint rolls back)."""
    seen: list[str] = []

    def loser() -> None:
        with env.db.write() as tx:
            seen.append(sg_service.ensure_default(tx, env, "carol"))

    with env.db.write() as tx:
        winner = sg_service.ensure_default(tx, env, "carol")
        racer = threading.Thread(target=loser)
        racer.start()
        time.sleep(0.3)
        assert racer.is_alive() and seen == []  # blocked behind our uncommitted row
    racer.join(timeout=30)
    assert seen == [winner]
    assert counts(env, "carol") == (1, 1, 4, 1)
    with env.db.write() as tx:
        assert sg_service.ensure_default(tx, env, "carol") == winner
