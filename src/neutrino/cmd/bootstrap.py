"""Build the running server from settings: engine, schema, services env, ASGI app."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from neutrino.api.app import build_app
from neutrino.api.auth import Authenticator, NoAuth
from neutrino.cmd.config import Settings
from neutrino.db import Database, make_engine, migrate
from neutrino.ipam import load_ipam_driver
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


AUTH_STRATEGIES = ("noauth", "keystone")


def authenticator(settings: Settings) -> Authenticator:
    if settings.auth == "noauth":
        return NoAuth(default_project=settings.default_project)
    if settings.auth == "keystone":
        try:
            from neutrino.api import keystone
        except ImportError as exc:
            raise SystemExit(f"auth = keystone needs keystonemiddleware ({exc}): "
                             "pip install 'neutrino[keystone]'") from None
        try:
            return keystone.KeystoneAuth(settings.keystone_authtoken)
        except keystone.ConfigError as exc:
            raise SystemExit(f"auth = keystone: {exc}") from None
    raise SystemExit(f"unknown auth strategy {settings.auth!r} "
                     f"(available: {', '.join(AUTH_STRATEGIES)})")


def build(settings: Settings, engine: Engine | None = None) -> Starlette:
    engine = engine or engine_for(settings)
    env = Env(
        db=Database(engine),
        config=settings.server,
        ipam=load_ipam_driver(settings.server.ipam_driver),
    )
    return build_app(env, authenticator(settings))
