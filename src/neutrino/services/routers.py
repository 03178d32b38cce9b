"""Routers: create, read, update (gateway, routes), delete, and the atomic route edits.

A router's gateway is a port on an external network (device_owner `network:router_gateway`,
no project, as in Neutron) created and removed through `services.ports` in the request's
transaction. Interfaces live in `router_interfaces.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from neutrino.db import Tx
from neutrino.db.repos import floatingips as fip_repo
from neutrino.db.repos import ports as port_repo
from neutrino.db.repos import routers as repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain import router as rules
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import PolicyNotAuthorized
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.port import (
    ROUTER_GATEWAY_OWNER,
    ROUTER_INTERFACE_OWNERS,
    Port,
    PortCreate,
    PortUpdate,
)
from neutrino.domain.router import (
    ENABLE_SNAT_DEFAULT,
    GatewayRequest,
    Router,
    RouterCreate,
    RouterUpdate,
)
from neutrino.domain.standard import UNSET, changed_fields
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import FixedIpRequest, HostRoute, IPAddress, IPNetwork
from neutrino.services import _common as common
from neutrino.services import networks, ports, quotas
from neutrino.services._env import Env

RESOURCE = "router"


def elevated(ctx: Context) -> Context:
    """The L3 service acting for the caller (Neutron's `context.elevated()`)."""
    return Context.admin(project_id=ctx.project_id)


# -- reads --------------------------------------------------------------------------------


def load_visible(tx: Tx, ctx: Context, router_id: str, *, for_update: bool = False) -> Router:
    """The router if the caller owns it (or is admin), else 404 RouterNotFound."""
    router = repo.get(tx, router_id, for_update=for_update)
    return common.visible_or_404(ctx, router, RESOURCE, router_id)  # type: ignore[no-any-return]


def get(env: Env, ctx: Context, router_id: str) -> Router:
    with env.db.read() as tx:
        return load_visible(tx, ctx, router_id)


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[Router]:
    with env.db.read() as tx:
        return repo.list_(tx, query, common.scope(ctx))


def attached_ports(tx: Tx, router_id: str) -> list[Port]:
    """Every port of the router (interfaces and gateway), oldest first."""
    found = (port_repo.get(tx, pid) for pid in repo.port_ids(tx, router_id))
    return [p for p in found if p is not None]


def check_new_subnets(tx: Tx, attached: Sequence[Port], new: Sequence[Subnet]) -> None:
    """Neutron's `_check_for_dup_router_subnets`: the router may not already be on one of the
    new subnets, and no new cidr may overlap one it is on (all of the gateway network's)."""
    new_ids = {s.id for s in new}
    on_ids: list[str] = []
    for port in attached:
        for fixed in port.fixed_ips:
            if fixed.subnet_id in new_ids:
                raise rules.bad_router_request(
                    f"Router already has a port on subnet {fixed.subnet_id}")
        if port.device_owner == ROUTER_GATEWAY_OWNER:
            on_ids.extend(s.id for s in subnet_repo.by_network(tx, port.network_id))
        else:
            on_ids.extend(f.subnet_id for f in port.fixed_ips)
    existing = subnet_repo.by_ids(tx, on_ids)
    rules.check_no_overlap([(s.id, s.cidr) for s in existing.values()],
                           [(s.id, s.cidr) for s in new])


# -- create -------------------------------------------------------------------------------


def create(env: Env, ctx: Context, req: RouterCreate) -> Router:
    with env.db.write() as tx:
        return create_in(tx, env, ctx, req)


def create_in(tx: Tx, env: Env, ctx: Context, req: RouterCreate) -> Router:
    project_id = common.owning_project(ctx, req.project_id)
    quotas.check(tx, env, project_id, RESOURCE, 1)
    router = Router(
        id=common.new_id(), project_id=project_id, name=req.name,
        description=req.description, admin_state_up=req.admin_state_up,
        distributed=bool(req.distributed), ha=bool(req.ha),
        tags=tuple(sorted(set(req.tags))),
    )
    gw_port = None
    if req.external_gateway_info is not None:
        _check_gateway_policy(ctx, req.external_gateway_info, "create")
        gw_port = _new_gateway_port(tx, env, ctx, router, req.external_gateway_info, [])
        router = replace(router, gw_port_id=gw_port.id,
                         enable_snat=_snat(req.external_gateway_info))
    stored = repo.insert(tx, router)
    if gw_port is not None:
        repo.add_port(tx, stored.id, gw_port.id, ROUTER_GATEWAY_OWNER)
    return record(tx, stored, Op.CREATE)


def record(tx: Tx, router: Router, op: Op) -> Router:
    """Re-read the router as clients see it (gateway, routes) and log the change."""
    shown = router if op is Op.DELETE else repo.get(tx, router.id) or router
    tx.record(Change.of(op, RESOURCE, shown))
    return shown


def _snat(req: GatewayRequest) -> bool:
    return ENABLE_SNAT_DEFAULT if req.enable_snat is None else req.enable_snat


def _check_gateway_policy(ctx: Context, req: GatewayRequest | None, action: str) -> None:
    """enable_snat and external_fixed_ips are admin-only (Neutron's router policy)."""
    if req is None or ctx.is_admin:
        return
    for name, value in (("enable_snat", req.enable_snat),
                        ("external_fixed_ips", req.external_fixed_ips)):
        if value is not None:
            raise PolicyNotAuthorized(
                f"(rule:{action}_router:external_gateway_info:{name}) is disallowed by policy")


def _new_gateway_port(tx: Tx, env: Env, ctx: Context, router: Router, req: GatewayRequest,
                      attached: Sequence[Port]) -> Port:
    """Check the external network (Neutron's `_validate_gw_info`) and create the gateway
    port on it, owned by no project."""
    net = networks.load_visible(tx, ctx, req.network_id, with_subnets=False)
    if not net.external:
        raise rules.bad_router_request(f"Network {net.id} is not an external network")
    subnets = subnet_repo.by_network(tx, net.id)
    requested = req.external_fixed_ips or ()
    _check_external_ips(subnets, requested)
    check_new_subnets(tx, attached, subnets)
    return ports.create_in(tx, env, elevated(ctx), PortCreate(
        network_id=net.id, project_id="", fixed_ips=requested or UNSET,
        device_id=router.id, device_owner=ROUTER_GATEWAY_OWNER, admin_state_up=True,
    ))


def _check_external_ips(subnets: Sequence[Subnet], requested: Sequence[FixedIpRequest]) -> None:
    """The gateway may not take an external subnet's own gateway address."""
    for fixed in requested:
        if fixed.ip_address is not None and any(s.gateway_ip == fixed.ip_address
                                                for s in subnets):
            raise rules.bad_router_request(
                f"External IP {fixed.ip_address} is the same as the gateway IP")


# -- update -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GatewayChange:
    router: Router
    added: Port | None = None
    removed: Port | None = None
    readdressed: bool = False  # the gateway port kept its network but changed addresses


def update(
    env: Env, ctx: Context, router_id: str, req: RouterUpdate, if_match: int | None = None
) -> Router:
    with env.db.write() as tx:
        return update_in(tx, env, ctx, router_id, req, if_match)


def update_in(tx: Tx, env: Env, ctx: Context, router_id: str, req: RouterUpdate,
              if_match: int | None = None) -> Router:
    old = load_visible(tx, ctx, router_id, for_update=True)
    common.require_owner(ctx, old, "update", RESOURCE)
    common.check_revision(old, if_match)
    changes = changed_fields(req)
    rules.check_mode_change(old, changes)
    plain = {k: v for k, v in changes.items()
             if k in ("name", "description", "admin_state_up", "distributed", "ha")}
    new = replace(old, **plain)
    gw = _GatewayChange(new)
    if "external_gateway_info" in changes:
        _check_gateway_policy(ctx, changes["external_gateway_info"], "update")
        gw = _change_gateway(tx, env, ctx, new, changes["external_gateway_info"])
        new = gw.router
    routes: tuple[HostRoute, ...] = changes.get("routes", old.routes)
    if routes and ("routes" in changes or gw.added or gw.removed or gw.readdressed):
        _check_routes(tx, old.id, routes, gw)
    new = replace(new, routes=routes)
    if new == old and not gw.readdressed:
        return old
    stored = repo.update(tx, old, new)
    if gw.removed is not None:
        repo.remove_port(tx, gw.removed.id)
        ports.delete_in(tx, env, gw.removed)
    if gw.added is not None:
        repo.add_port(tx, old.id, gw.added.id, ROUTER_GATEWAY_OWNER)
    return record(tx, stored, Op.UPDATE)


def _change_gateway(tx: Tx, env: Env, ctx: Context, router: Router,
                    req: GatewayRequest | None) -> _GatewayChange:
    """Neutron's `_update_router_gw_info`: same network with new addresses updates the
    port; another network (or none) replaces it, unless floating IPs still need it."""
    current = router.external_gateway_info
    snat = ENABLE_SNAT_DEFAULT if req is None else _snat(req)
    if current is not None and req is not None and req.network_id == current.network_id:
        router = replace(router, enable_snat=snat)
        if _addresses_change(current.external_fixed_ips, req.external_fixed_ips):
            assert router.gw_port_id is not None and req.external_fixed_ips is not None
            _check_external_ips(subnet_repo.by_network(tx, current.network_id),
                                req.external_fixed_ips)
            ports.update_in(tx, env, elevated(ctx), router.gw_port_id,
                            PortUpdate(fixed_ips=req.external_fixed_ips))
            return _GatewayChange(router, readdressed=True)
        return _GatewayChange(router)
    removed = None
    if current is not None and router.gw_port_id is not None:
        if fip_repo.by_router(tx, router.id):
            raise rules.gateway_in_use_by_floatingip(router.id, current.network_id)
        removed = port_repo.get(tx, router.gw_port_id)
    added = None
    if req is not None:
        others = [p for p in attached_ports(tx, router.id) if p.id != router.gw_port_id]
        added = _new_gateway_port(tx, env, ctx, router, req, others)
    router = replace(router, gw_port_id=added.id if added else None, enable_snat=snat)
    return _GatewayChange(router, added, removed)


def _addresses_change(current: Sequence[Any], wanted: Sequence[FixedIpRequest] | None) -> bool:
    """Neutron's `_check_for_external_ip_change`: only explicit, different addresses count."""
    if not wanted:
        return False
    if {f.subnet_id for f in current} != {w.subnet_id for w in wanted if w.subnet_id}:
        return True
    return {f.ip_address for f in current} != {w.ip_address for w in wanted if w.ip_address}


def _check_routes(tx: Tx, router_id: str, routes: Sequence[HostRoute],
                  gw: _GatewayChange) -> None:
    """Nexthops must be on the router's subnets (the whole gateway network counts)."""
    attached = [p for p in attached_ports(tx, router_id)
                if gw.removed is None or p.id != gw.removed.id]
    if gw.added is not None:
        attached.append(gw.added)
    cidrs: list[IPNetwork] = []
    addresses: list[IPAddress] = []
    subnet_ids: list[str] = []
    for port in attached:
        subnet_ids.extend(f.subnet_id for f in port.fixed_ips)
        addresses.extend(f.ip_address for f in port.fixed_ips)
        if port.device_owner == ROUTER_GATEWAY_OWNER:
            subnet_ids.extend(s.id for s in subnet_repo.by_network(tx, port.network_id))
    cidrs.extend(s.cidr for s in subnet_repo.by_ids(tx, subnet_ids).values())
    rules.check_routes(routes, cidrs, addresses)


def add_extraroutes(env: Env, ctx: Context, router_id: str,
                    routes: tuple[HostRoute, ...]) -> Router:
    """extraroute-atomic: add routes to the current set in one transaction."""
    with env.db.write() as tx:
        old = load_visible(tx, ctx, router_id, for_update=True)
        wanted = rules.add_routes(old.routes, routes)
        return update_in(tx, env, ctx, router_id, RouterUpdate(routes=wanted))


def remove_extraroutes(env: Env, ctx: Context, router_id: str,
                       routes: tuple[HostRoute, ...]) -> Router:
    with env.db.write() as tx:
        old = load_visible(tx, ctx, router_id, for_update=True)
        wanted = rules.remove_routes(old.routes, routes)
        return update_in(tx, env, ctx, router_id, RouterUpdate(routes=wanted))


# -- delete -------------------------------------------------------------------------------


def delete(env: Env, ctx: Context, router_id: str) -> None:
    with env.db.write() as tx:
        router = load_visible(tx, ctx, router_id, for_update=True)
        common.require_owner(ctx, router, "delete", RESOURCE)
        interfaces = repo.port_ids(tx, router.id, ROUTER_INTERFACE_OWNERS)
        if interfaces:
            raise rules.router_in_use(
                router.id, "has ports still attached: " + ", ".join(interfaces))
        if router.external_gateway_info is not None and fip_repo.by_router(tx, router.id):
            raise rules.gateway_in_use_by_floatingip(
                router.id, router.external_gateway_info.network_id)
        remaining = attached_ports(tx, router.id)
        repo.delete(tx, router.id)
        for port in remaining:
            ports.delete_in(tx, env, port)
        record(tx, router, Op.DELETE)
