"""Small rules every resource family applies the same way."""

from __future__ import annotations

import uuid
from typing import Any

from neutrino.domain.context import Context
from neutrino.domain.errors import PolicyNotAuthorized, PreconditionFailed, not_found


def new_id() -> str:
    return str(uuid.uuid4())


def scope(ctx: Context) -> str | None:
    """The project whose resources the caller may see; None means all (admin)."""
    return None if ctx.is_admin else (ctx.project_id or "")


def owning_project(ctx: Context, requested: Any) -> str:
    """The project a new resource belongs to: the requested one, else the caller's."""
    if isinstance(requested, str) and requested:
        return requested
    if not ctx.project_id:
        raise PolicyNotAuthorized("A project_id is required to create this resource")
    return ctx.project_id


def found(obj: Any | None, resource: str, rid: str) -> Any:
    """`obj`, or the resource's NotFound error (`NetworkNotFound`, ...)."""
    if obj is None:
        raise not_found(resource, rid)
    return obj


def visible_or_404(
    ctx: Context, obj: Any | None, resource: str, rid: str, *, shared: bool = False
) -> Any:
    """Resources of other projects are invisible unless `shared` with everyone: 404, never
    403, so ids don't leak."""
    if obj is None or not (ctx.is_admin or obj.project_id == ctx.project_id or shared):
        raise not_found(resource, rid)
    return obj


def require_owner(ctx: Context, obj: Any, action: str, resource: str) -> None:
    """Only the owner (or an admin) may change a resource it can see."""
    if not (ctx.is_admin or obj.project_id == ctx.project_id):
        raise PolicyNotAuthorized(f"({action}_{resource}) is disallowed by policy")


def check_revision(obj: Any, if_match: int | None) -> None:
    """`If-Match: revision_number=N`: refuse with 412 unless the revision is still N."""
    if if_match is not None and obj.revision_number != if_match:
        raise PreconditionFailed(
            f"Constrained to {if_match}, but current revision is {obj.revision_number}"
        )

