"""Engines for SQLite (the embedded default) and PostgreSQL, tuned for one-transaction
requests from a thread pool."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

WRITE_OPTION = "neutrino_write"


def _sqlite_setup(engine: Engine) -> None:
    """WAL, foreign keys, and our own BEGIN: IMMEDIATE for writes so that two writers never
    deadlock upgrading a read lock (pysqlite's implicit BEGIN is turned off)."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    """An engine for `url`: `sqlite:///path` or `postgresql+psycopg://...`."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _sqlite_setup(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=False,
        json_serializer=_json_dumps, json_deserializer=orjson.loads,
    )


def _json_dumps(value: Any) -> str:
    """orjson for JSON columns: every write appends a change-log body, so this is hot."""
    return orjson.dumps(value).decode()
