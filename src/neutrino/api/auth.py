"""Authentication strategies: turn a request's headers into a `Context`.

`NoAuth` trusts `X-Project-Id` / `X-Roles` like Neutron's noauth pipeline, and is meant for
loopback. A request with no project header acts as admin of the configured default project,
so `openstack --os-auth-type none` works with no extra headers. Keystone is another strategy
with the same one-method shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from neutrino.domain.context import ADMIN, MEMBER, READER, Context


class Authenticator(Protocol):
    async def authenticate(self, request: Request) -> Context: ...


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
