"""The change log's write and read sides on SQLite and PostgreSQL, through the services."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa

from neutrino import changes
from neutrino.db import Database, make_engine
from neutrino.db import changelog as changelog_sql
from neutrino.db.tables.core import change_log
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, Gone, NotFound, OverQuota
from neutrino.domain.network import NetworkCreate, NetworkUpdate
from neutrino.services import bulk, networks
from neutrino.services._env import Env
from tests.conftest import BACKENDS

ADMIN = Context.admin("admin")
ALICE = Context(project_id="alice", roles=frozenset({"member", "reader"}))


def log_of(env: Env, since: int = 0) -> list[Change]:
    """The network entries after `since`, checking that the whole log (which also holds what
    creating a network may create, e.g. a project's default security group) is gap-free."""
    log = changes.read(env.db, since, limit=10_000).changes
    assert [e.seq for e in log] == list(range(since + 1, since + 1 + len(log)))
    return [e for e in log if e.resource == "network"]


def last_seq(env: Env) -> int:
    return changes.read(env.db, 0, limit=1).last_seq


def log_rows(env: Env) -> int:
    with env.db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(change_log)).scalar_one())


def test_every_network_mutation_appends_consecutive_entries(env: Env) -> None:
    a = networks.create(env, ADMIN, NetworkCreate(name="a"))
    a2 = networks.update(env, ADMIN, a.id, NetworkUpdate(name="a2"))
    b, c = bulk.create(env, ADMIN, networks.create_in,
                       [NetworkCreate(name="b"), NetworkCreate(name="c")])
    networks.delete(env, ADMIN, a.id)

    log = log_of(env)
    assert [e.seq - log[0].seq for e in log] == [0, 1, 2, 3, 4]
    assert [(e.op, e.resource_id, e.revision) for e in log] == [
        (Op.CREATE, a.id, 0),
        (Op.UPDATE, a.id, 1),
        (Op.CREATE, b.id, 0),
        (Op.CREATE, c.id, 0),
        (Op.DELETE, a.id, 1),
    ]
    assert {e.resource for e in log} == {"network"}
    assert log[0].body is not None and log[0].body["name"] == "a"
    assert log[1].body is not None and log[1].body["name"] == "a2" == a2.name
    assert log[4].body is None and log[4].project_id == "admin"
    assert log[2].created_at == log[3].created_at  # one transaction, one clock reading
    assert env.db.last_seq == last_seq(env) == log[-1].seq


def test_an_update_that_changes_nothing_appends_nothing(env: Env) -> None:
    net = networks.create(env, ADMIN, NetworkCreate(name="same"))
    networks.update(env, ADMIN, net.id, NetworkUpdate(name="same"))
    assert [e.op for e in log_of(env)] == [Op.CREATE]


def test_failed_writes_append_nothing(env: Env) -> None:
    net = networks.create(env, ADMIN, NetworkCreate(name="ok"))
    before, rows = last_seq(env), log_rows(env)
    with pytest.raises(NotFound):
        networks.update(env, ADMIN, "00000000-0000-0000-0000-000000000000",
                        NetworkUpdate(name="x"))
    with pytest.raises(BadRequest):  # the second item fails: the first must not stay either
        bulk.create(env, ADMIN, networks.create_in,
                    [NetworkCreate(name="fine"), NetworkCreate(name="bad", mtu=9000)])
    with pytest.raises(BadRequest):
        networks.update(env, ADMIN, net.id, NetworkUpdate(mtu=9000))
    with pytest.raises(NotFound):
        networks.delete(env, ALICE, net.id)
    limited = Env(db=env.db, config=replace(
        env.config, default_quotas={**env.config.default_quotas, "network": 0}))
    with pytest.raises(OverQuota):
        networks.create(limited, ALICE, NetworkCreate(name="over"))
    assert [e.resource_id for e in log_of(env)] == [net.id]
    assert (last_seq(env), log_rows(env)) == (before, rows)


def test_resume_from_a_seq_and_limit(env: Env) -> None:
    for i in range(5):
        networks.create(env, ADMIN, NetworkCreate(name=f"n{i}"))
    last = last_seq(env)
    first = changes.read(env.db, 0, limit=2)
    assert [e.seq for e in first.changes] == [1, 2] and first.last_seq == last
    rest = changes.read(env.db, first.changes[-1].seq, limit=100)
    assert [e.seq for e in rest.changes] == list(range(3, last + 1))
    done = changes.read(env.db, last)
    assert done.changes == [] and done.last_seq == last


def test_compaction_makes_old_seqs_too_old(env: Env) -> None:
    for i in range(6):
        networks.create(env, ADMIN, NetworkCreate(name=f"n{i}"))
    last = last_seq(env)
    assert changes.compact(env.db, keep=2) == last - 2
    assert log_rows(env) == 2
    with pytest.raises(Gone) as err:
        changes.read(env.db, last - 3)
    assert err.value.type == "ChangesTooOld" and err.value.detail == f"resume_from={last}"
    assert "resync" in err.value.message
    assert [e.seq for e in changes.read(env.db, last - 2).changes] == [last - 1, last]
    # New writes continue the sequence after compaction.
    networks.create(env, ADMIN, NetworkCreate(name="after"))
    assert [e.seq for e in changes.read(env.db, last - 2).changes] == [last - 1, last, last + 1]


def test_compaction_is_cheap_when_nothing_is_due_and_never_lowers_the_floor(env: Env) -> None:
    for i in range(10):
        networks.create(env, ADMIN, NetworkCreate(name=f"n{i}"))
    last = last_seq(env)
    assert changes.compact(env.db, keep=100) == 0
    assert changelog_sql_bounds(env) == (0, last)
    assert changes.compact(env.db, keep=3) == last - 3
    assert changes.compact(env.db, keep=5) == last - 3  # keeping more does not lower the floor
    assert changelog_sql_bounds(env) == (last - 3, last)


def changelog_sql_bounds(env: Env) -> tuple[int, int]:
    with env.db.read() as tx:
        return changelog_sql.bounds(tx.conn)


def test_a_watcher_ahead_of_the_log_is_told_to_resync(env: Env) -> None:
    networks.create(env, ADMIN, NetworkCreate(name="one"))
    last = last_seq(env)
    with pytest.raises(Gone) as err:
        changes.read(env.db, last + 6)
    assert err.value.type == "ChangesTooOld" and err.value.detail == f"resume_from={last}"


def test_concurrent_compactors_keep_floor_and_rows_consistent(env: Env) -> None:
    """Several processes compacting at once (here: threads with their own connections)."""
    for i in range(40):
        networks.create(env, ADMIN, NetworkCreate(name=f"n{i}"))
    keeps = [30, 20, 10, 25, 15, 5]
    errors: list[BaseException] = []

    def compact(keep: int) -> None:
        try:
            changes.compact(env.db, keep)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=compact, args=(k,)) for k in keeps]
    last = last_seq(env)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert changelog_sql_bounds(env) == (last - 5, last)
    with env.db.read() as tx:
        seqs = tx.conn.execute(sa.select(change_log.c.seq).order_by(change_log.c.seq)).scalars()
        assert list(seqs) == list(range(last - 4, last + 1))


def test_on_commit_fires_after_commit_only(env: Env) -> None:
    seen: list[int] = []
    env.db.on_commit(seen.append)
    networks.create(env, ADMIN, NetworkCreate(name="a"))
    with pytest.raises(BadRequest):
        networks.create(env, ADMIN, NetworkCreate(name="b", mtu=9000))
    assert seen == [last_seq(env)]


@pytest.mark.parametrize("engine", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_postgresql_notifies_at_commit_and_not_on_rollback(env: Env) -> None:
    """LISTEN/NOTIFY is PostgreSQL's (SQLite watchers poll)."""
    import psycopg

    from neutrino.db import notify

    url = env.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {notify.CHANNEL}")
        networks.create(env, ADMIN, NetworkCreate(name="a"))
        got = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        assert got == [str(last_seq(env))]
        with pytest.raises(BadRequest):
            bulk.create(env, ADMIN, networks.create_in,
                        [NetworkCreate(name="b"), NetworkCreate(name="c", mtu=9000)])
        assert [n.payload for n in listener.notifies(timeout=0.3)] == []


def test_a_second_process_database_sees_the_same_log(env: Env) -> None:
    """Another `Database` on the same URL (what another server process has)."""
    other = Database(make_engine(env.db.engine.url.render_as_string(hide_password=False)))
    try:
        networks.create(Env(db=other, config=env.config), ADMIN, NetworkCreate(name="x"))
        networks.create(env, ADMIN, NetworkCreate(name="y"))
        mine = log_of(env)
        assert [e.body and e.body["name"] for e in mine] == ["x", "y"]
        assert changes.read(other, 0).changes == changes.read(env.db, 0).changes
    finally:
        other.engine.dispose()
