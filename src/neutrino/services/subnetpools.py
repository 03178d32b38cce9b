"""Subnet pools: create, read, update, delete, and the prefix operations
(`subnetpool-prefix-ops`: add_prefixes / remove_prefixes)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from neutrino.db import Tx
from neutrino.db.repos import address_scopes as scope_repo
from neutrino.db.repos import subnetpools as repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain import prefixes as pfx
from neutrino.domain import subnetpool as rules
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, Conflict
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.standard import UNSET, changed_fields
from neutrino.domain.subnetpool import SubnetPool, SubnetPoolCreate, SubnetPoolUpdate
from neutrino.domain.values import IPNetwork
from neutrino.services import _common as common
from neutrino.services import quotas
from neutrino.services._env import Env

RESOURCE = "subnetpool"


def create_in(tx: Tx, env: Env, ctx: Context, req: SubnetPoolCreate) -> SubnetPool:
    """Create inside the caller's transaction (bulk create runs several in one)."""
    project_id = common.owning_project(ctx, req.project_id)
    quotas.check(tx, env, project_id, RESOURCE, 1)
    version, prefixes = rules.read_prefixes(req.prefixes)
    bounds = rules.read_bounds(
        version, req.min_prefixlen, req.max_prefixlen, req.default_prefixlen
    )
    if req.is_default and repo.default_for(tx, version) is not None:
        raise rules.default_exists_error()
    pool_id = common.new_id()
    scope_id = req.address_scope_id or None
    if scope_id is not None:
        _check_scope(tx, ctx, scope_id, pool_id, prefixes, version, rescoping=False)
    pool = SubnetPool(
        id=pool_id,
        project_id=project_id,
        name=req.name,
        description=req.description,
        ip_version=version,
        prefixes=prefixes,
        default_prefixlen=bounds.default_prefixlen,
        min_prefixlen=bounds.min_prefixlen,
        max_prefixlen=bounds.max_prefixlen,
        is_default=req.is_default,
        shared=req.shared,
        default_quota=None if req.default_quota is UNSET else req.default_quota,
        address_scope_id=scope_id,
        tags=tuple(sorted(set(req.tags))),
    )
    pool = repo.crud.insert(tx, pool)
    tx.record(Change.of(Op.CREATE, RESOURCE, pool))
    return pool


def _check_scope(
    tx: Tx,
    ctx: Context,
    scope_id: str,
    pool_id: str,
    prefixes: tuple[IPNetwork, ...],
    version: int,
    *,
    rescoping: bool,
) -> None:
    """Neutron's `_validate_address_scope_id`: a visible scope of the pool's family whose
    other pools share no address with this one. The scope row is locked, so two pools
    cannot join one scope with overlapping prefixes at the same time."""
    scope = scope_repo.crud.get(tx, scope_id, for_update=True)
    if scope is None or not (ctx.is_admin or scope.project_id == ctx.project_id or scope.shared):
        raise common.found(None, "address_scope", scope_id)
    if scope.ip_version != version:
        raise BadRequest(
            f"Illegal subnetpool association: subnetpool {pool_id} cannot associate with "
            f"address scope {scope_id} because subnetpool ip_version is not "
            f"{scope.ip_version}.",
            type_name="IllegalSubnetPoolIpVersionAssociationToAddressScope",
        )
    if rescoping:
        _check_network_affinity(tx, pool_id, version)
    for other in repo.in_scope(tx, scope_id):
        if other.id != pool_id and pfx.intersects(other.prefixes, prefixes):
            raise Conflict(
                "Failed to associate address scope: subnetpools within an address scope "
                "must have unique prefixes.",
                type_name="AddressScopePrefixConflict",
            )


def _check_network_affinity(tx: Tx, pool_id: str, version: int) -> None:
    """Re-scoping a pool must not split a network's subnets of one family across scopes."""
    mine = subnet_repo.by_subnetpool(tx, pool_id)
    ids = {s.id for s in mine}
    for network_id in {s.network_id for s in mine}:
        for other in subnet_repo.by_network(tx, network_id):
            if other.ip_version == version and other.id not in ids:
                raise BadRequest(
                    "Subnets of the same address family hosted on the same network must all "
                    "participate in the same address scope.",
                    type_name="NetworkAddressScopeAffinityError",
                )


def get(env: Env, ctx: Context, pool_id: str) -> SubnetPool:
    with env.db.read() as tx:
        return load_visible(tx, ctx, pool_id)


def load_visible(tx: Tx, ctx: Context, pool_id: str, *, for_update: bool = False) -> SubnetPool:
    """The pool if the caller owns it or it is shared, else 404."""
    pool = repo.crud.get(tx, pool_id, for_update=for_update)
    return common.visible_or_404(  # type: ignore[no-any-return]
        ctx, pool, "subnet_pool", pool_id, shared=pool is not None and pool.shared)


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[SubnetPool]:
    with env.db.read() as tx:
        return repo.crud.list(tx, query, common.scope(ctx))


def update(
    env: Env, ctx: Context, pool_id: str, req: SubnetPoolUpdate, if_match: int | None = None
) -> SubnetPool:
    with env.db.write() as tx:
        old = load_visible(tx, ctx, pool_id, for_update=True)
        common.require_owner(ctx, old, "update", RESOURCE)
        common.check_revision(old, if_match)
        return _apply(tx, ctx, old, changed_fields(req))


def _apply(tx: Tx, ctx: Context, old: SubnetPool, changes: dict[str, Any]) -> SubnetPool:
    """Validate and store an update (Neutron's update_subnetpool order)."""
    prefixes = old.prefixes
    if "prefixes" in changes:
        prefixes = rules.grown_prefixes(old.prefixes, changes["prefixes"])
    bounds = rules.read_bounds(
        old.ip_version,
        changes.get("min_prefixlen", old.min_prefixlen),
        changes.get("max_prefixlen", old.max_prefixlen),
        changes.get("default_prefixlen", old.default_prefixlen),
    )
    is_default = changes.get("is_default", old.is_default)
    if (
        is_default
        and not old.is_default
        and repo.default_for(tx, old.ip_version, exclude=old.id) is not None
    ):
        raise rules.default_exists_error()
    if old.address_scope_id is not None:
        _check_update_allowed(tx, ctx, old)
    scope_id = changes.get("address_scope_id", old.address_scope_id) or None
    if scope_id is not None:
        _check_scope(tx, ctx, scope_id, old.id, prefixes, old.ip_version,
                     rescoping=scope_id != old.address_scope_id)
    new = replace(
        old,
        name=changes.get("name", old.name),
        description=changes.get("description", old.description),
        prefixes=prefixes,
        default_prefixlen=bounds.default_prefixlen,
        min_prefixlen=bounds.min_prefixlen,
        max_prefixlen=bounds.max_prefixlen,
        default_quota=changes.get("default_quota", old.default_quota),
        is_default=is_default,
        address_scope_id=scope_id,
    )
    if new == old:
        return old
    new = repo.crud.update(tx, old, new)
    tx.record(Change.of(Op.UPDATE, RESOURCE, new))
    return new


def _check_update_allowed(tx: Tx, ctx: Context, pool: SubnetPool) -> None:
    """A pool in someone else's (shared) address scope cannot be changed by its owner."""
    scope = scope_repo.crud.get(tx, pool.address_scope_id or "")
    if scope is None or ctx.is_admin or scope.project_id == ctx.project_id:
        return
    raise BadRequest(
        f"Illegal subnetpool update : subnetpool {pool.id} cannot be updated when associated "
        f"with shared address scope {scope.id}.",
        type_name="IllegalSubnetPoolUpdate",
    )


def delete(env: Env, ctx: Context, pool_id: str) -> None:
    with env.db.write() as tx:
        pool = load_visible(tx, ctx, pool_id, for_update=True)
        common.require_owner(ctx, pool, "delete", RESOURCE)
        if subnet_repo.pool_in_use(tx, pool.id):
            raise BadRequest(
                "Unable to delete subnet pool: Subnet pool has existing allocations.",
                type_name="SubnetPoolDeleteError",
            )
        repo.crud.delete(tx, pool.id)
        tx.record(Change.of(Op.DELETE, RESOURCE, pool))


# --------------------------------------------------------------------------- prefix ops


def add_prefixes(
    env: Env, ctx: Context, pool_id: str, prefixes: tuple[IPNetwork, ...]
) -> tuple[IPNetwork, ...]:
    """Grow the pool by `prefixes`; returns the pool's compacted prefix list."""
    with env.db.write() as tx:
        pool = load_visible(tx, ctx, pool_id, for_update=True)
        common.require_owner(ctx, pool, "add_prefixes", RESOURCE)
        if not prefixes:
            return pool.prefixes
        return _apply(tx, ctx, pool, {"prefixes": (*pool.prefixes, *prefixes)}).prefixes


def remove_prefixes(
    env: Env, ctx: Context, pool_id: str, prefixes: tuple[IPNetwork, ...]
) -> tuple[IPNetwork, ...]:
    """Shrink the pool; refused (400) if a subnet uses any of the removed space."""
    with env.db.write() as tx:
        pool = load_visible(tx, ctx, pool_id, for_update=True)
        common.require_owner(ctx, pool, "remove_prefixes", RESOURCE)
        prefixes = tuple(p for p in prefixes if p.version == pool.ip_version)
        if not prefixes or not pfx.intersects(pool.prefixes, prefixes):
            return pool.prefixes
        allocated = [s.cidr for s in subnet_repo.by_subnetpool(tx, pool.id)]
        if pfx.intersects(allocated, prefixes):
            raise rules.illegal_prefix_update(
                "One or more the prefixes to be removed is in use by a subnet"
            )
        remaining = pfx.difference(pool.prefixes, prefixes, pool.ip_version)
        new = repo.crud.update(tx, pool, replace(pool, prefixes=remaining))
        tx.record(Change.of(Op.UPDATE, RESOURCE, new))
        return new.prefixes
