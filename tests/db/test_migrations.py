"""The Alembic migrations build exactly the schema the tables declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from neutrino.db import migrate
from neutrino.db.tables import metadata


def test_migrations_match_tables(engine: Engine) -> None:
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"tables and migrations disagree (regenerate the migration): {diff}"


def test_upgrade_is_idempotent(engine: Engine) -> None:
    before = migrate.current(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == before
