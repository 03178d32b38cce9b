"""Build the running server from settings: engine, schema, services env, ASGI app."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from neutrino.api.app import build_app
from neutrino.api.auth import Authenticator, NoAuth
from neutrino.cmd.config import Settings
from neutrino.db import Database, make_engine, migrate
from neutrino.services._env import Env

log = logging.getLogger("neutrino")


def engine_for(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


def prepare_schema(engine: Engine) -> None:
    """Create an empty database; refuse to run on one that needs `neutrino db upgrade`."""
    if migrate.is_empty(engine):
        migrate.upgrade(engine)
    elif not migrate.is_current(engine):
        raise SystemExit("the database schema is out of date: run `neutrino db upgrade`")


def authenticator(settings: Settings) -> Authenticator:
    if settings.auth == "noauth":
        return NoAuth(default_project=settings.default_project)
    raise SystemExit(f"unknown auth strategy {settings.auth!r} (available: noauth)")


def build(settings: Settings, engine: Engine | None = None) -> Starlette:
    engine = engine or engine_for(settings)
    env = Env(db=Database(engine), config=settings.server)
    return build_app(env, authenticator(settings))
