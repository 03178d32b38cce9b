"""Authentication strategies: turn a request's headers into a `Context`.

`NoAuth` trusts `X-Project-Id` / `X-Roles` like Neutron's noauth pipeline, and is meant for
loopback. A request with no project header acts as admin of the configured default project,
so `openstack --os-auth-type none` works with no extra headers. Keystone (`api/keystone.py`)
is another strategy with the same one-method shape.

`Authenticate` runs the strategy once per request for everything under `/v2.0`, before routing,
as Neutron's `authtoken` filter sits in front of its whole v2.0 pipeline; the version document
at `/` stays public. Handlers read the result with `context_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from neutrino.api import errors
from neutrino.domain.context import ADMIN, MEMBER, READER, Context
from neutrino.domain.errors import NeutronError

CONTEXT_KEY = "neutrino_context"


class Authenticator(Protocol):
    async def authenticate(self, request: Request) -> Context: ...


class Authenticate:
    """ASGI layer: authenticate each `/v2.0` request and keep its `Context` in the scope state.

    A refused request is answered here with Neutron's error body (401 carries the strategy's
    `WWW-Authenticate` challenge), so no handler runs without an identity.
    """

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2.0"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            ctx = await self.auth.authenticate(request)
        except NeutronError as exc:
            response = await errors.neutron_error(request, exc)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[CONTEXT_KEY] = ctx
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class NoAuth:
    default_project: str = "admin"

    async def authenticate(self, request: Request) -> Context:
        headers = request.headers
        project = headers.get("x-project-id") or headers.get("x-tenant-id")
        roles_header = headers.get("x-roles")
        if project is None and roles_header is None:
            return Context(
                project_id=self.default_project,
                user_id=headers.get("x-user-id") or "admin",
                roles=frozenset({ADMIN, MEMBER, READER}),
            )
        roles = {r.strip().lower() for r in (roles_header or MEMBER).split(",") if r.strip()}
        if MEMBER in roles or ADMIN in roles:
            roles.add(READER)
        if ADMIN in roles:
            roles.add(MEMBER)
        return Context(project_id=project, user_id=headers.get("x-user-id"), roles=frozenset(roles))
