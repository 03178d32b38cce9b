"""A live `neutrino serve` for end-to-end tests: a subprocess on a free loopback port.

`live_server` runs every test twice: one worker on a SQLite file in a temporary directory,
and two workers (`--workers 2`) on a fresh PostgreSQL database. Each server is started once per
test module and its database emptied before each test. It runs in its own session (process
group): stopping it by its PID (and, if anything lingers, its group) also stops the workers
uvicorn spawned, even when the tests failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from neutrino.db import make_engine
from tests.conftest import BACKENDS, PG_ADMIN, _truncate
from tests.e2e.keystone_cloud import Cloud, running_cloud
from tests.e2e.live import free_port, wait_http

START_TIMEOUT = 30.0


@dataclass(frozen=True)
class LiveServer:
    url: str
    db_url: str
    workers: int
    proc: subprocess.Popen[bytes]
    log: Path


def neutrino_command() -> list[str]:
    """The installed `neutrino` script next to this Python, else `python -m`."""
    script = Path(sys.executable).with_name("neutrino")
    return [str(script)] if script.exists() else [sys.executable, "-m", "neutrino.cmd.main"]


def start(tmp: Path, db_url: str, workers: int = 1) -> LiveServer:
    port = free_port()
    log = tmp / f"neutrino-{port}.log"
    cmd = [*neutrino_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--db", db_url, "--data-dir", str(tmp / "data")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUTRINO_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}", db_url, workers, proc, log)
    try:
        wait_http(server.url + "/", proc, log, timeout=START_TIMEOUT)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: LiveServer) -> None:
    """SIGTERM to the server (its supervisor stops its workers: a SIGTERM to the whole group
    would make uvicorn respawn the workers it sees die), then SIGKILL to the process group for
    anything left. By PID, never by name."""
    with contextlib.suppress(ProcessLookupError):
        server.proc.send_signal(signal.SIGTERM)
    if _group_gone(server, 10.0):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGKILL)  # start_new_session: pgid == server's PID
    _group_gone(server, 5.0)


def _group_gone(server: LiveServer, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.proc.poll()  # reap the server itself
        if not _running_members(server.proc.pid):
            return True
        time.sleep(0.05)
    return False


def _running_members(pgid: int) -> list[int]:
    """PIDs in process group `pgid` that are not zombies (an orphaned worker stays a zombie
    until init reaps it, which can take seconds in a container)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.fixture(scope="module")
def fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards, connections and all)."""
    name = f"neutrino_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server process on a SQLite file, for the test module."""
    tmp = tmp_path_factory.mktemp("neutrino-sqlite")
    server = start(tmp, f"sqlite:///{tmp / 'neutrino.sqlite'}")
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory,
              fresh_pg_database: str) -> Iterator[LiveServer]:
    """Two server processes sharing one PostgreSQL database, for the test module."""
    server = start(tmp_path_factory.mktemp("neutrino-pg"), fresh_pg_database, workers=2)
    try:
        yield server
    finally:
        stop(server)


SERVERS = ["sqlite_server"] + (["pg_server"] if "postgresql" in BACKENDS else [])


@pytest.fixture(params=SERVERS)
def live_server(request: pytest.FixtureRequest) -> LiveServer:
    """A running server (started once per module and backend) whose database was emptied for
    this test: tables truncated and the change log reset to seq 0. The server keeps nothing
    derived from table contents between requests, so this is as good as a fresh one, at a
    fraction of the cost of starting two workers on a new PostgreSQL database per test."""
    server: LiveServer = request.getfixturevalue(request.param)
    engine = make_engine(server.db_url, pool_size=1)
    try:
        _truncate(engine)
    finally:
        engine.dispose()
    return server


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A real Keystone with users and a catalog, and neutrino (`--auth keystone`, SQLite) as
    its `network` service: one per test module that asks for it."""
    with running_cloud(tmp_path_factory.mktemp("keystone-e2e")) as running:
        yield running
