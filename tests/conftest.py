"""Shared fixtures: a real database (SQLite file and PostgreSQL), and the ASGI app on it.

PostgreSQL tests use a throw-away database created for the test session on the server at
$NEUTRINO_TEST_PG_ADMIN (default: postgres on 127.0.0.1:5432, trust auth); `.ci/run` starts
PostgreSQL when none runs. Set NEUTRINO_TEST_SKIP_PG=1 to run on SQLite only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from neutrino.api.app import build_app
from neutrino.api.auth import NoAuth
from neutrino.db import Database, make_engine, migrate
from neutrino.db.tables import metadata
from neutrino.domain.config import ServerConfig
from neutrino.services._env import Env

PG_ADMIN = os.environ.get(
    "NEUTRINO_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite"] if os.environ.get("NEUTRINO_TEST_SKIP_PG") else ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    name = f"neutrino_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def _engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Engine]:
    return {}


def _fresh_engine(backend: str, request: pytest.FixtureRequest, cache: dict[str, Engine],
                  tmp: Path) -> Engine:
    if backend not in cache:
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{tmp / 'test.sqlite'}")
        else:
            engine = make_engine(request.getfixturevalue("pg_url"))
        migrate.upgrade(engine)
        cache[backend] = engine
    engine = cache[backend]
    _truncate(engine)
    return engine


def _truncate(engine: Engine) -> None:
    """Empty every table and reset the change sequence, so each test starts clean."""
    names = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"TRUNCATE {', '.join(names)} CASCADE")
        else:
            for name in names:
                conn.exec_driver_sql(f"DELETE FROM {name}")
        conn.exec_driver_sql("INSERT INTO change_seq (id, value, floor) VALUES (1, 0, 0)")


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest,
    _engines: dict[str, Engine],
    tmp_path_factory: pytest.TempPathFactory,
) -> Engine:
    """A migrated, empty database: SQLite and PostgreSQL."""
    return _fresh_engine(request.param, request, _engines, tmp_path_factory.getbasetemp())


@pytest.fixture
def env(engine: Engine) -> Env:
    return Env(db=Database(engine), config=ServerConfig())


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    """The real ASGI app in process, as admin of project 'admin' unless headers say else."""
    app = build_app(env, NoAuth(default_project="admin"))
    with TestClient(app, base_url="http://127.0.0.1:9696") as c:
        yield c


def as_project(project: str, roles: str = "member") -> dict[str, str]:
    """noauth headers for a caller in `project` with `roles`."""
    return {"X-Project-Id": project, "X-Roles": roles, "X-User-Id": f"user-{project}"}
