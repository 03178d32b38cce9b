"""Subnets: create (from a cidr or a subnet pool), read, update, delete.

Creating a subnet locks its network row, so two concurrent requests cannot both pass the
"no overlapping cidrs on one network" check; the IPAM driver learns about the subnet in the
same transaction. The network's DHCP port follows its DHCP-enabled subnets in the same
transactions (`services.dhcp`); every request that may change it (create, an update naming
enable_dhcp, delete) locks the network row first, as network delete does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from neutrino.db import Tx
from neutrino.db.repos import networks as net_repo
from neutrino.db.repos import subnetpools as pool_repo
from neutrino.db.repos import subnets as repo
from neutrino.domain import subnet as rules
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import Conflict, InUse, PolicyNotAuthorized
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.network import Network
from neutrino.domain.standard import UNSET, changed_fields
from neutrino.domain.subnet import Subnet, SubnetCreate, SubnetUpdate, given
from neutrino.domain.subnetpool import SubnetPool
from neutrino.domain.values import IPAddress, IPNetwork, IpRange, ip_str
from neutrino.services import _common as common
from neutrino.services import _subnet_alloc as alloc
from neutrino.services import dhcp, networks, quotas
from neutrino.services._env import Env

RESOURCE = "subnet"


def create(env: Env, ctx: Context, req: SubnetCreate) -> Subnet:
    with env.db.write() as tx:
        return create_in(tx, env, ctx, req)


def create_in(tx: Tx, env: Env, ctx: Context, req: SubnetCreate) -> Subnet:
    """Create inside the caller's transaction (bulk create runs several in one)."""
    project_id = common.owning_project(ctx, req.project_id)
    cidr: IPNetwork | None = given(req.cidr)
    if cidr is not None and req.prefixlen is not UNSET:
        raise rules.bad_subnets_request("cidr and prefixlen must not be supplied together")
    pool_id = alloc.requested_pool_id(tx, ctx, req, cidr)
    if pool_id is None and cidr is None:
        raise rules.bad_subnets_request(
            "a subnetpool must be specified in the absence of a cidr"
        )
    if pool_id is not None and cidr is None and req.allocation_pools is not UNSET:
        raise rules.bad_subnets_request(
            "allocation_pools allowed only for specific subnet requests"
        )
    rules.validate_create(req, cidr)
    net = networks.load_visible(tx, ctx, req.network_id, for_update=True, with_subnets=False)
    if not (ctx.is_admin or net.project_id == ctx.project_id):
        raise PolicyNotAuthorized("(rule:create_subnet) is disallowed by policy")
    quotas.check(tx, env, project_id, RESOURCE, 1)
    rules.check_network_mtu(net.id, net.mtu, req.ip_version)
    pool = alloc.load_locked(tx, ctx, pool_id) if pool_id is not None else None
    if pool is not None and pool.ip_version != req.ip_version:
        raise rules.bad_subnets_request(
            f"Cannot allocate IPv{req.ip_version} subnet from IPv{pool.ip_version} subnet pool"
        )
    cidr, gateway, pools = _address_plan(tx, req, cidr, pool, project_id)
    others = repo.by_network(tx, net.id)
    rules.check_no_overlap(cidr, net.id, others)
    rules.check_pool_affinity(
        others,
        req.ip_version,
        pool.id if pool else None,
        pool.address_scope_id if pool else None,
        _network_scope(tx, others, req.ip_version),
    )
    v6_modes = req.ip_version == 6 and req.enable_dhcp
    subnet = Subnet(
        id=common.new_id(),
        project_id=project_id,
        name=req.name,
        description=req.description,
        network_id=net.id,
        ip_version=req.ip_version,
        cidr=cidr,
        gateway_ip=gateway,
        allocation_pools=pools,
        dns_nameservers=req.dns_nameservers,
        host_routes=req.host_routes,
        enable_dhcp=req.enable_dhcp,
        ipv6_ra_mode=given(req.ipv6_ra_mode) if v6_modes else None,
        ipv6_address_mode=given(req.ipv6_address_mode) if v6_modes else None,
        subnetpool_id=pool.id if pool else None,
        external=net.external,
        tags=tuple(sorted(set(req.tags))),
    )
    subnet = repo.crud.insert(tx, subnet)
    env.ipam.add_subnet(tx, subnet)
    tx.record(Change.of(Op.CREATE, RESOURCE, subnet))
    dhcp.subnet_added(tx, env, net, subnet)
    return subnet


def _address_plan(
    tx: Tx, req: SubnetCreate, cidr: IPNetwork | None, pool: SubnetPool | None, project_id: str
) -> tuple[IPNetwork, IPAddress | None, tuple[IpRange, ...]]:
    """The cidr, gateway and pools: as requested, or carved from the pool (Neutron's
    SubnetRequestFactory: a gateway without a cidr asks for the prefix around it)."""
    if cidr is None and pool is not None and req.gateway_ip:
        prefixlen = pool.default_prefixlen if req.prefixlen is UNSET else req.prefixlen
        cidr = ipaddress.ip_network(f"{req.gateway_ip}/{prefixlen}", strict=False)
    if cidr is not None:
        gateway, pools = rules.gateway_and_pools(cidr, req.gateway_ip, req.allocation_pools)
        if pool is not None:
            alloc.allocate_specific(tx, pool, cidr, project_id)
        return cidr, gateway, pools
    assert pool is not None
    prefixlen = pool.default_prefixlen if req.prefixlen is UNSET else req.prefixlen
    cidr = alloc.allocate_any(tx, pool, prefixlen, project_id)
    gateway, pools = rules.gateway_and_pools(cidr, req.gateway_ip, UNSET, from_subnetpool=True)
    return cidr, gateway, pools


def _network_scope(tx: Tx, others: list[Subnet], ip_version: int) -> str | None:
    """The address scope the network's subnets of this family already belong to, if any."""
    pool_ids = [s.subnetpool_id for s in others if s.ip_version == ip_version and s.subnetpool_id]
    scopes = pool_repo.scopes_of(tx, pool_ids)
    return next((scope for scope in scopes.values() if scope), None)


def get(env: Env, ctx: Context, subnet_id: str) -> Subnet:
    with env.db.read() as tx:
        return load_visible(tx, ctx, subnet_id)


def load_visible(tx: Tx, ctx: Context, subnet_id: str, *, for_update: bool = False) -> Subnet:
    """The subnet if the caller owns it or may see its network as shared/external, else 404."""
    subnet = repo.crud.get(tx, subnet_id, for_update=for_update)
    if subnet is None:
        raise common.found(None, RESOURCE, subnet_id)
    if ctx.is_admin or subnet.project_id == ctx.project_id:
        return repo.with_external(tx, [subnet])[0]
    net = net_repo.crud.get(tx, subnet.network_id)
    if net is None or not (net.shared or net.external):
        raise common.found(None, RESOURCE, subnet_id)
    return replace(subnet, external=net.external)


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[Subnet]:
    with env.db.read() as tx:
        page = repo.crud.list(tx, query, common.scope(ctx))
        return Page(repo.with_external(tx, page.items), page.has_more)


def _require_owner(tx: Tx, ctx: Context, subnet: Subnet, action: str) -> None:
    """The subnet's owner, the network's owner or an admin may change a subnet."""
    if ctx.is_admin or subnet.project_id == ctx.project_id:
        return
    net: Network | None = net_repo.crud.get(tx, subnet.network_id)
    if net is None or net.project_id != ctx.project_id:
        raise PolicyNotAuthorized(f"({action}_subnet) is disallowed by policy")


def update(
    env: Env, ctx: Context, subnet_id: str, req: SubnetUpdate, if_match: int | None = None
) -> Subnet:
    with env.db.write() as tx:
        net = _lock_network_of(tx, subnet_id) if req.enable_dhcp is not UNSET else None
        old = load_visible(tx, ctx, subnet_id, for_update=True)
        _require_owner(tx, ctx, old, "update")
        common.check_revision(old, if_match)
        changes: dict[str, Any] = changed_fields(req)
        rules.validate_update(old, changes)
        if "gateway_ip" in changes:
            _check_gateway_free(tx, old, changes["gateway_ip"])
        new = replace(old, **changes)
        if new == old:
            return old
        new = repo.crud.update(tx, old, new)
        if (new.allocation_pools, new.gateway_ip) != (old.allocation_pools, old.gateway_ip):
            env.ipam.update_subnet(tx, old, new)
        tx.record(Change.of(Op.UPDATE, RESOURCE, new))
        if new.enable_dhcp != old.enable_dhcp and net is not None:
            if new.enable_dhcp:
                dhcp.subnet_added(tx, env, net, new)
            else:
                dhcp.subnet_removed(tx, env, new)
        return new


def _lock_network_of(tx: Tx, subnet_id: str) -> Network | None:
    """Lock the subnet's network row (before the subnet's: network delete locks in that
    order). None if there is no such subnet; the caller's visibility check answers 404."""
    subnet = repo.crud.get(tx, subnet_id, with_tags=False)
    if subnet is None:
        return None
    return net_repo.crud.get(tx, subnet.network_id, for_update=True, with_tags=False)


def _check_gateway_free(tx: Tx, old: Subnet, gateway: IPAddress | None) -> None:
    """A gateway a router interface uses cannot be moved or removed (GatewayIpInUse)."""
    if old.gateway_ip is None or gateway == old.gateway_ip:
        return
    port_id = repo.router_port_holding(tx, old.id, str(old.gateway_ip))
    if port_id is not None:
        raise Conflict(
            f"Current gateway ip {ip_str(old.gateway_ip)} already in use by port {port_id}. "
            "Unable to update.",
            type_name="GatewayIpInUse",
        )


def delete(env: Env, ctx: Context, subnet_id: str) -> None:
    with env.db.write() as tx:
        _lock_network_of(tx, subnet_id)
        subnet = load_visible(tx, ctx, subnet_id, for_update=True)
        _require_owner(tx, ctx, subnet, "delete")
        remove_in(tx, env, subnet)


def remove_in(tx: Tx, env: Env, subnet: Subnet) -> None:
    """Delete a subnet no user port holds addresses on (409 SubnetInUse otherwise; on SLAAC
    subnets only router interfaces count); the remaining ports lose their address on it.
    Callers checked who may, and hold the network's row lock."""
    from neutrino.services.extras import drop_port_addresses

    # The DHCP port never keeps a subnet alive: it gives its address back (or goes, with the
    # last DHCP subnet) while the subnet is still known to IPAM.
    dhcp.subnet_removed(tx, env, subnet)
    # IPAM first: it takes the subnet's allocation lock, so the check below sees every port
    # that got an address before us, and none can get one after us (the subnet is gone).
    env.ipam.remove_subnet(tx, subnet)
    if repo.in_use_by_ports(tx, subnet.id, auto_address=subnet.is_auto_address):
        raise InUse(
            f"Unable to complete operation on subnet {subnet.id}: One or more ports have an "
            "IP allocation from this subnet.",
            type_name="SubnetInUse",
        )
    drop_port_addresses(tx, env, subnet)
    repo.crud.delete(tx, subnet.id)
    tx.record(Change.of(Op.DELETE, RESOURCE, subnet))

