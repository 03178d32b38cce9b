"""Carving a subnet's cidr out of a subnet pool (Neutron's SubnetAllocator).

Runs in the subnet's transaction with the pool row locked (FOR UPDATE on PostgreSQL), so two
requests on one pool cannot pick overlapping prefixes; requests on other pools don't wait.
"""

from __future__ import annotations

from neutrino.db import Tx
from neutrino.db.repos import subnetpools as pool_repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain import subnetpool as rules
from neutrino.domain.context import Context
from neutrino.domain.errors import Conflict, not_found
from neutrino.domain.subnet import SubnetCreate, bad_subnets_request
from neutrino.domain.subnetpool import SubnetPool
from neutrino.domain.values import IPNetwork
from neutrino.ipam import pools


def requested_pool_id(
    tx: Tx, ctx: Context, req: SubnetCreate, cidr: IPNetwork | None
) -> str | None:
    """The pool a request names, or the default pool of its family (`use_default_subnetpool`)."""
    pool_id: str | None = req.subnetpool_id or None  # UNSET and null both mean "none"
    if req.use_default_subnetpool and pool_id:
        raise bad_subnets_request(
            "subnetpool_id and use_default_subnetpool cannot both be specified"
        )
    if pool_id or not req.use_default_subnetpool:
        return pool_id
    version = cidr.version if cidr is not None else req.ip_version
    pool = pool_repo.default_for(tx, version)
    if pool is None or not visible(ctx, pool):
        raise bad_subnets_request(f"No default subnetpool found for IPv{version}")
    return pool.id


def visible(ctx: Context, pool: SubnetPool) -> bool:
    return ctx.is_admin or pool.project_id == ctx.project_id or pool.shared


def load_locked(tx: Tx, ctx: Context, pool_id: str) -> SubnetPool:
    """The pool, locked for this transaction, if the caller may use it; else 404."""
    pool = pool_repo.crud.get(tx, pool_id, for_update=True)
    if pool is None or not visible(ctx, pool):
        raise not_found("subnet_pool", pool_id)
    return pool


def _allocation_error(reason: str) -> Conflict:
    # Neutron raises a bare NeutronException here (a 500); a full pool is a conflict.
    return Conflict(f"Failed to allocate subnet: {reason}.", type_name="SubnetAllocationError")


def _allocated(tx: Tx, pool: SubnetPool, project_id: str) -> tuple[list[IPNetwork],
                                                                     list[IPNetwork]]:
    """All cidrs carved from the pool, and those of the project (for its quota)."""
    subnets = subnet_repo.by_subnetpool(tx, pool.id)
    return [s.cidr for s in subnets], [s.cidr for s in subnets if s.project_id == project_id]


def allocate_any(tx: Tx, pool: SubnetPool, prefixlen: int, project_id: str) -> IPNetwork:
    """The first free `/prefixlen` of the smallest free block of the pool."""
    rules.check_prefixlen(pool, prefixlen)
    allocated, mine = _allocated(tx, pool, project_id)
    rules.check_quota(pool, mine, prefixlen)
    blocks = pools.available_blocks(pool.prefixes, allocated, pool.ip_version)
    cidr = pools.choose_prefix(blocks, prefixlen)
    if cidr is None:
        raise _allocation_error(f"Insufficient prefix space to allocate subnet size /{prefixlen}")
    return cidr


def allocate_specific(tx: Tx, pool: SubnetPool, cidr: IPNetwork, project_id: str) -> None:
    """Check that `cidr` is free in the pool and within its bounds and the project's quota."""
    rules.check_prefixlen(pool, cidr.prefixlen)
    allocated, mine = _allocated(tx, pool, project_id)
    rules.check_quota(pool, mine, cidr.prefixlen)
    if not pools.prefix_is_free(cidr, pool.prefixes, allocated):
        raise _allocation_error(
            "Cannot allocate requested subnet from the available set of prefixes"
        )
