"""Address scopes: create, read, update, delete."""

from __future__ import annotations

from dataclasses import replace

from neutrino.db import Tx
from neutrino.db.repos import address_scopes as repo
from neutrino.db.repos import subnetpools as pool_repo
from neutrino.domain.address_scope import AddressScope, AddressScopeCreate, AddressScopeUpdate
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, InUse
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.standard import changed_fields
from neutrino.services import _common as common
from neutrino.services._env import Env

RESOURCE = "address_scope"


def create_in(tx: Tx, env: Env, ctx: Context, req: AddressScopeCreate) -> AddressScope:
    """Create inside the caller's transaction (bulk create runs several in one)."""
    scope = AddressScope(
        id=common.new_id(),
        project_id=common.owning_project(ctx, req.project_id),
        name=req.name,
        description=req.description,
        ip_version=req.ip_version,
        shared=req.shared,
        tags=tuple(sorted(set(req.tags))),
    )
    scope = repo.crud.insert(tx, scope)
    tx.record(Change.of(Op.CREATE, RESOURCE, scope))
    return scope


def get(env: Env, ctx: Context, scope_id: str) -> AddressScope:
    with env.db.read() as tx:
        return load_visible(tx, ctx, scope_id)


def load_visible(
    tx: Tx, ctx: Context, scope_id: str, *, for_update: bool = False
) -> AddressScope:
    """The scope if the caller owns it or it is shared, else 404."""
    scope = repo.crud.get(tx, scope_id, for_update=for_update)
    return common.visible_or_404(  # type: ignore[no-any-return]
        ctx, scope, RESOURCE, scope_id, shared=scope is not None and scope.shared)


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[AddressScope]:
    with env.db.read() as tx:
        return repo.crud.list(tx, query, common.scope(ctx))


def update(
    env: Env, ctx: Context, scope_id: str, req: AddressScopeUpdate, if_match: int | None = None
) -> AddressScope:
    with env.db.write() as tx:
        old = load_visible(tx, ctx, scope_id, for_update=True)
        common.require_owner(ctx, old, "update", RESOURCE)
        common.check_revision(old, if_match)
        changes = changed_fields(req)
        if old.shared and changes.get("shared") is False:
            raise BadRequest(
                f"Unable to update address scope {old.id} : Shared address scope can't be "
                "unshared.",
                type_name="AddressScopeUpdateError",
            )
        new = replace(old, **changes)
        if new == old:
            return old
        new = repo.crud.update(tx, old, new)
        tx.record(Change.of(Op.UPDATE, RESOURCE, new))
        return new


def delete(env: Env, ctx: Context, scope_id: str) -> None:
    with env.db.write() as tx:
        scope = load_visible(tx, ctx, scope_id, for_update=True)
        common.require_owner(ctx, scope, "delete", RESOURCE)
        if pool_repo.scope_in_use(tx, scope.id):
            raise InUse(
                f"Unable to complete operation on address scope {scope.id}. There are one or "
                "more subnet pools in use on the address scope.",
                type_name="AddressScopeInUse",
            )
        repo.crud.delete(tx, scope.id)
        tx.record(Change.of(Op.DELETE, RESOURCE, scope))
