"""The ASGI application: routes, error handlers, and the per-process state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from neutrino import changes
from neutrino.api import errors
from neutrino.api.auth import Authenticate, Authenticator
from neutrino.api.routes import ROUTES
from neutrino.domain.errors import NeutronError
from neutrino.services._env import Env


class StripJsonSuffix:
    """Neutron accepts `/v2.0/networks.json`; drop the suffix before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".json"):
            scope = {**scope, "path": scope["path"][:-5]}
        await self.app(scope, receive, send)


def build_app(env: Env, auth: Authenticator) -> Starlette:
    # The change feed (long-poll wake-ups, compaction) lives as long as the process serves.
    feed = changes.Feed(env.db, keep=env.config.change_log_keep,
                        compact_every=env.config.change_log_compact_every)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with feed.running():
            yield

    app = Starlette(
        lifespan=lifespan,
        routes=ROUTES,
        middleware=[Middleware(StripJsonSuffix), Middleware(Authenticate, auth=auth)],
        exception_handlers={
            NeutronError: errors.neutron_error,
            HTTPException: errors.http_error,
            Exception: errors.internal_error,
        },
    )
    app.state.env = env
    app.state.auth = auth
    app.state.feed = feed
    return app
