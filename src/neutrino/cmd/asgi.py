"""The app factory uvicorn workers call; settings reach it through the environment."""

from __future__ import annotations

from starlette.applications import Starlette

from neutrino.cmd import bootstrap, config


def app_factory() -> Starlette:
    return bootstrap.build(config.load())
