"""add_router_interface / remove_router_interface: connect a router to a subnet.

An interface is a port with device_owner `network:router_interface` and device_id the router:
made from a subnet (a new port holding the subnet's gateway IP, owned by the router's project)
or from an existing unattached port. Each action is one transaction that also bumps the
router's revision, so watchers of routers see every interface change.
"""

from __future__ import annotations

from collections.abc import Sequence

from neutrino.db import Tx
from neutrino.db.repos import floatingips as fip_repo
from neutrino.db.repos import ports as port_repo
from neutrino.db.repos import routers as repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain import addresses
from neutrino.domain import router as rules
from neutrino.domain.change import Op
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest
from neutrino.domain.port import Port, PortCreate, PortUpdate
from neutrino.domain.router import InterfaceInfo, InterfaceRequest, Router
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import FixedIpRequest
from neutrino.services import _common as common
from neutrino.services import ports, routers, subnets
from neutrino.services._env import Env

INTERFACE_OWNER = "network:router_interface"


def add(env: Env, ctx: Context, router_id: str, req: InterfaceRequest) -> InterfaceInfo:
    rules.check_interface_request(req, for_removal=False)
    with env.db.write() as tx:
        router = routers.load_visible(tx, ctx, router_id, for_update=True)
        common.require_owner(ctx, router, "add_router_interface", "router")
        attached = routers.attached_ports(tx, router.id)
        if req.port_id is not None:
            port, subnets_ = _add_by_port(tx, env, ctx, router, req.port_id, attached)
        else:
            assert req.subnet_id is not None
            port, subnets_ = _add_by_subnet(tx, env, ctx, router, req.subnet_id, attached)
        _touch(tx, router)
        ids = tuple(s.id for s in subnets_)
        return InterfaceInfo(router.id, port.project_id, port.id, port.network_id, ids, ids[-1])


def _subnets_of(tx: Tx, port: Port) -> list[Subnet]:
    found = subnet_repo.by_ids(tx, [f.subnet_id for f in port.fixed_ips])
    return [found[f.subnet_id] for f in port.fixed_ips if f.subnet_id in found]


def _check_address_mode(subnet: Subnet) -> None:
    if subnet.ip_version == 6 and subnet.ipv6_ra_mode is None and subnet.ipv6_address_mode:
        raise rules.bad_router_request(
            f"IPv6 subnet {subnet.id} configured to receive RAs from an external router cannot "
            "be added to Neutron Router.")


def _has_ipv6(port: Port) -> bool:
    return any(f.ip_address.version == 6 for f in port.fixed_ips)


def _add_by_port(tx: Tx, env: Env, ctx: Context, router: Router, port_id: str,
                 attached: Sequence[Port]) -> tuple[Port, list[Subnet]]:
    """Neutron's `_check_router_port` and `_validate_router_port_info`, then the port
    becomes the router's."""
    port = ports.load_visible(tx, ctx, port_id, for_update=True)
    if port.device_id:
        raise rules.port_in_use(port.id, port.network_id, port.device_id)
    if not port.fixed_ips:
        raise rules.bad_router_request("Router port must have at least one fixed IP")
    subnets_ = _subnets_of(tx, port)
    for subnet in subnets_:
        _check_address_mode(subnet)
    if _has_ipv6(port):
        for other in attached:
            if other.network_id == port.network_id and _has_ipv6(other):
                raise rules.bad_router_request(
                    f"Router already contains IPv6 port {other.id} belonging to network id "
                    f"{other.network_id}. Only one IPv6 port from the same network subnet can "
                    "be connected to a router.")
    routers.check_new_subnets(tx, attached, subnets_)
    if sum(1 for s in subnets_ if s.ip_version == 4) > 1:
        raise rules.bad_router_request("Cannot have multiple IPv4 subnets on router port")
    if not ctx.is_admin:
        by_id = {s.id: s for s in subnets_}
        for fixed in port.fixed_ips:
            subnet = by_id[fixed.subnet_id]
            if (not addresses.ranges_contain(subnet.allocation_pools, fixed.ip_address)
                    and subnet.project_id != ctx.project_id):
                raise rules.bad_router_request(
                    f"Cannot add interface to router because specified port {port.id} has an "
                    f"IP address out of the allocation pool of subnet {subnet.id}, which is "
                    "not owned by the project making the request")
    port = ports.update_in(tx, env, routers.elevated(ctx), port.id,
                           PortUpdate(device_id=router.id, device_owner=INTERFACE_OWNER))
    repo.add_port(tx, router.id, port.id, INTERFACE_OWNER)
    return port, subnets_


def _add_by_subnet(tx: Tx, env: Env, ctx: Context, router: Router, subnet_id: str,
                   attached: Sequence[Port]) -> tuple[Port, list[Subnet]]:
    """A new port with the subnet's gateway IP; an IPv6 subnet joins the router's IPv6 port
    on the same network if it has one (Neutron's multi-prefix ports)."""
    subnet = subnets.load_visible(tx, ctx, subnet_id)
    if subnet.gateway_ip is None:
        raise rules.bad_router_request("Subnet for router interface must have a gateway IP")
    if not ctx.is_admin and subnet.project_id != ctx.project_id:
        raise rules.bad_router_request(
            f"Cannot add interface to router because subnet {subnet.id} is not owned by "
            "project making the request")
    _check_address_mode(subnet)
    routers.check_new_subnets(tx, attached, [subnet])
    wanted = FixedIpRequest(subnet_id=subnet.id, ip_address=subnet.gateway_ip)
    if subnet.ip_version == 6:
        for other in attached:
            if (other.device_owner == INTERFACE_OWNER and other.network_id == subnet.network_id
                    and _has_ipv6(other)):
                keep = tuple(FixedIpRequest(f.subnet_id, f.ip_address) for f in other.fixed_ips)
                port = ports.update_in(tx, env, routers.elevated(ctx), other.id,
                                       PortUpdate(fixed_ips=(*keep, wanted)))
                return port, [subnet]
    port = ports.create_in(tx, env, routers.elevated(ctx), PortCreate(
        network_id=subnet.network_id, project_id=router.project_id, fixed_ips=(wanted,),
        device_id=router.id, device_owner=INTERFACE_OWNER, admin_state_up=True,
    ))
    repo.add_port(tx, router.id, port.id, INTERFACE_OWNER)
    return port, [subnet]


def remove(env: Env, ctx: Context, router_id: str, req: InterfaceRequest) -> InterfaceInfo:
    rules.check_interface_request(req, for_removal=True)
    with env.db.write() as tx:
        router = routers.load_visible(tx, ctx, router_id, for_update=True)
        common.require_owner(ctx, router, "remove_router_interface", "router")
        if req.port_id is not None:
            port, subnets_ = _remove_by_port(tx, env, router, req.port_id, req.subnet_id)
        else:
            assert req.subnet_id is not None
            port, subnets_ = _remove_by_subnet(tx, env, ctx, router, req.subnet_id)
        _touch(tx, router)
        ids = tuple(s.id for s in subnets_)
        return InterfaceInfo(router.id, port.project_id, port.id, port.network_id, ids,
                             ids[0] if ids else None)


def _confirm_not_in_use(tx: Tx, router: Router, subnet: Subnet) -> None:
    """No floating IP may reach a fixed IP on the subnet through the router, and no route
    may go via the subnet."""
    on_subnet = {pid for pid, _owner in port_repo.ports_on_subnet(tx, subnet.id)}
    for fip in fip_repo.by_router(tx, router.id):
        if (fip.fixed_ip_address is not None and fip.fixed_ip_address in subnet.cidr
                and fip.port_id in on_subnet):
            raise rules.interface_in_use_by_floatingip(router.id, subnet.id)
    if rules.routes_via(router.routes, subnet.cidr):
        raise rules.interface_in_use_by_route(router.id, subnet.id)


def _remove_by_port(tx: Tx, env: Env, router: Router, port_id: str,
                    subnet_id: str | None) -> tuple[Port, list[Subnet]]:
    port = None
    if port_id in repo.port_ids(tx, router.id, [INTERFACE_OWNER]):
        port = port_repo.get(tx, port_id, for_update=True)
    if port is None:
        raise rules.interface_not_found(router.id, port_id)
    if subnet_id is not None and subnet_id not in {f.subnet_id for f in port.fixed_ips}:
        raise BadRequest(f"Subnet on port {port.id} does not match the requested subnet "
                         f"{subnet_id}.", type_name="SubnetMismatchForPort")
    subnets_ = _subnets_of(tx, port)
    for subnet in subnets_:
        _confirm_not_in_use(tx, router, subnet)
    repo.remove_port(tx, port.id)
    ports.delete_in(tx, env, port)
    return port, subnets_


def _remove_by_subnet(tx: Tx, env: Env, ctx: Context, router: Router,
                      subnet_id: str) -> tuple[Port, list[Subnet]]:
    subnet = subnets.load_visible(tx, ctx, subnet_id)
    candidates = [p for p in routers.attached_ports(tx, router.id)
                  if p.device_owner == INTERFACE_OWNER and p.network_id == subnet.network_id]
    if candidates:
        _confirm_not_in_use(tx, router, subnet)
    for port in candidates:
        on = [f for f in port.fixed_ips if f.subnet_id == subnet.id]
        if not on:
            continue
        if len(port.fixed_ips) > len(on):  # a multi-prefix IPv6 port keeps its other subnets
            keep = tuple(FixedIpRequest(f.subnet_id, f.ip_address) for f in port.fixed_ips
                         if f.subnet_id != subnet.id)
            ports.update_in(tx, env, routers.elevated(ctx), port.id, PortUpdate(fixed_ips=keep))
        else:
            repo.remove_port(tx, port.id)
            ports.delete_in(tx, env, port)
        return port, [subnet]
    raise rules.interface_not_found_for_subnet(router.id, subnet.id)


def _touch(tx: Tx, router: Router) -> None:
    """The router's interfaces changed: a new revision, and a change-log entry."""
    stored = repo.crud.bump(tx, router)
    routers.record(tx, stored, Op.UPDATE)
