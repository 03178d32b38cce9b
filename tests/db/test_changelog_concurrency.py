"""Property: under concurrent writers (threads; on PostgreSQL also processes) a watcher that
polls the log from its last seen seq never sees a seq appear behind it, the log is gap-free
1..N, each resource's revisions only grow, and replaying the log gives the final table."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutrino import changes
from neutrino.domain.change import Change, Op, to_plain
from neutrino.domain.listing import ListQuery
from neutrino.services import networks
from neutrino.services._env import Env
from tests.conftest import BACKENDS, _truncate
from tests.db import changelog_workload as workload

ops = st.lists(
    st.one_of(
        st.just(("create",)),
        st.tuples(st.just("update"), st.integers(0, 30)),
        st.tuples(st.just("delete"), st.integers(0, 30)),
    ),
    min_size=1,
    max_size=15,
)
programs = st.lists(ops, min_size=2, max_size=4)  # one op list per writer

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,  # the same examples on every CI run
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Reader(threading.Thread):
    """Polls the log from its last seen seq (with a small limit, so batches are cut short)
    until told to stop and caught up; checks each batch continues exactly where it left."""

    def __init__(self, env: Env) -> None:
        super().__init__(daemon=True)
        self.env = env
        self.seen: list[Change] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while True:
                stopping = self.stop.is_set()
                since = self.seen[-1].seq if self.seen else 0
                batch = changes.read(self.env.db, since, limit=7)
                got = [c.seq for c in batch.changes]
                assert got == list(range(since + 1, since + 1 + len(got))), (since, got)
                assert batch.last_seq >= (got[-1] if got else since)
                self.seen.extend(batch.changes)
                if stopping and not got:
                    return
        except BaseException as exc:
            self.error = exc


def check_log(env: Env, seen: list[Change], successes: int) -> None:
    final = changes.read(env.db, 0, limit=100_000)
    assert [c.seq for c in seen] == list(range(1, final.last_seq + 1))
    assert seen == final.changes
    net_changes = [c for c in seen if c.resource == "network"]
    assert len(net_changes) == successes
    histories: dict[tuple[str, str], list[Change]] = {}
    for c in seen:
        histories.setdefault((c.resource, c.resource_id), []).append(c)
    for history in histories.values():
        kinds = [c.op for c in history]
        assert kinds[0] is Op.CREATE and Op.CREATE not in kinds[1:], history
        assert Op.DELETE not in kinds[:-1], history
        revs = [c.revision for c in history]
        live = revs[:-1] if kinds[-1] is Op.DELETE else revs
        assert live == sorted(set(live)), history  # strictly increasing
        assert revs[-1] >= live[-1], history
    replayed: dict[str, Any] = {}
    for c in net_changes:
        if c.op is Op.DELETE:
            del replayed[c.resource_id]
        else:
            replayed[c.resource_id] = c.body
    table = networks.list_(env, workload.ADMIN, ListQuery()).items
    assert replayed == {n.id: to_plain(n) for n in table}


def run_concurrently(env: Env, program: list[list[workload.Op]],
                     pool: ProcessPoolExecutor | None) -> None:
    _truncate(env.db.engine)
    reader = Reader(env)
    reader.start()
    results: list[int] = []
    futures: list[Future[int]] = []
    if pool is not None:  # every other writer is a separate process
        url = env.db.engine.url.render_as_string(hide_password=False)
        futures = [pool.submit(workload.run_in_process, url, f"p{i}", ops)
                   for i, ops in enumerate(program[1::2])]
        program = program[::2]
    errors: list[BaseException] = []

    def write(name: str, ops: list[workload.Op]) -> None:
        try:
            results.append(workload.run(env, name, ops))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"t{i}", o)) for i, o in enumerate(program)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.extend(f.result(timeout=60) for f in futures)
    if errors:
        raise errors[0]
    reader.stop.set()
    reader.join(timeout=60)
    assert not reader.is_alive()
    if reader.error is not None:
        raise reader.error
    check_log(env, reader.seen, sum(results))


@given(program=programs)
@SETTINGS
def test_log_order_under_concurrent_writer_threads(env: Env, program: list[list[Any]]) -> None:
    run_concurrently(env, program, None)


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as p:
        yield p


@pytest.mark.parametrize("engine", [b for b in BACKENDS if b == "postgresql"], indirect=True)
@given(program=programs)
@settings(SETTINGS, max_examples=6)
def test_log_order_under_concurrent_writer_processes(
    env: Env, process_pool: ProcessPoolExecutor, program: list[list[Any]]
) -> None:
    """PostgreSQL is where several server processes share one database."""
    run_concurrently(env, program, process_pool)
