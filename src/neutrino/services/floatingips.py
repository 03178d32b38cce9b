"""Floating IPs: allocate on an external network, associate with a port's fixed IPv4 address
through a router, disassociate, release; and the floating IP pools.

The address is held by a port of no project (device_owner `network:floatingip`, device_id the
floating IP) created and removed through `services.ports` in the request's transaction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from neutrino.db import Tx
from neutrino.db.repos import floatingips as repo
from neutrino.db.repos import ports as port_repo
from neutrino.db.repos import routers as router_repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain import floatingip as rules
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import NotFound, PolicyNotAuthorized
from neutrino.domain.floatingip import (
    Association,
    FloatingIp,
    FloatingIpCreate,
    FloatingIpPool,
    FloatingIpUpdate,
)
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.port import DHCP_OWNER, FLOATINGIP_OWNER, Port, PortCreate
from neutrino.domain.standard import UNSET, changed_fields
from neutrino.domain.values import FixedIpRequest, IPAddress
from neutrino.services import _common as common
from neutrino.services import networks, ports, quotas
from neutrino.services._env import Env

RESOURCE = "floatingip"
MANAGER = "manager"


def load_visible(tx: Tx, ctx: Context, fip_id: str, *, for_update: bool = False) -> FloatingIp:
    """The floating IP if the caller owns it (or is admin), else 404 FloatingIPNotFound."""
    fip = repo.get(tx, fip_id, for_update=for_update)
    if fip is None or not (ctx.is_admin or fip.project_id == ctx.project_id):
        raise NotFound(f"Floating IP {fip_id} could not be found",
                       type_name="FloatingIPNotFound")
    return fip


def get(env: Env, ctx: Context, fip_id: str) -> FloatingIp:
    with env.db.read() as tx:
        return load_visible(tx, ctx, fip_id)


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[FloatingIp]:
    with env.db.read() as tx:
        return repo.list_(tx, query, common.scope(ctx))


# -- create -------------------------------------------------------------------------------


def create(env: Env, ctx: Context, req: FloatingIpCreate) -> FloatingIp:
    with env.db.write() as tx:
        return create_in(tx, env, ctx, req)


def create_in(tx: Tx, env: Env, ctx: Context, req: FloatingIpCreate) -> FloatingIp:
    """Neutron's `_create_floatingip`: a port on the external network holds the address."""
    project_id = common.owning_project(ctx, req.project_id)
    if req.floating_ip_address is not None and not (ctx.is_admin or MANAGER in ctx.roles):
        raise PolicyNotAuthorized(
            "(rule:create_floatingip:floating_ip_address) is disallowed by policy")
    if req.fixed_ip_address is not None and req.port_id is None:
        raise rules.bad_floatingip_request(
            "fixed_ip_address cannot be specified without a port_id")
    rules.check_dns(req)
    quotas.check(tx, env, project_id, RESOURCE, 1)
    net = networks.load_visible(tx, ctx, req.floating_network_id, with_subnets=False)
    if not net.external:
        raise rules.bad_floatingip_request(f"Network {net.id} is not a valid external network")
    if not any(s.ip_version == 4 for s in subnet_repo.by_network(tx, net.id)):
        raise rules.bad_floatingip_request(f"Network {net.id} does not contain any IPv4 subnet")
    fip_id = common.new_id()
    wanted: Any = UNSET
    if req.subnet_id is not None or req.floating_ip_address is not None:
        wanted = (FixedIpRequest(req.subnet_id, req.floating_ip_address),)
    port = ports.create_in(tx, env, Context.admin(project_id=ctx.project_id), PortCreate(
        network_id=net.id, project_id="", fixed_ips=wanted, device_id=fip_id,
        device_owner=FLOATINGIP_OWNER, admin_state_up=True,
    ))
    ipv4 = [f.ip_address for f in port.fixed_ips if f.ip_address.version == 4]
    if not ipv4:
        raise rules.address_exhausted(net.id)
    fip = FloatingIp(
        id=fip_id, project_id=project_id, description=req.description,
        floating_network_id=net.id, floating_ip_address=ipv4[0], floating_port_id=port.id,
        dns_name=req.dns_name, dns_domain=req.dns_domain, tags=tuple(sorted(set(req.tags))),
    )
    if req.port_id is not None:
        fip = _associate(tx, ctx, fip, _association(tx, ctx, fip, req.port_id,
                                                    req.fixed_ip_address))
    stored = repo.insert(tx, fip)
    return _record(tx, stored, Op.CREATE)


def _record(tx: Tx, fip: FloatingIp, op: Op) -> FloatingIp:
    shown = fip if op is Op.DELETE else repo.get(tx, fip.id) or fip
    tx.record(Change.of(op, RESOURCE, shown))
    return shown


# -- association --------------------------------------------------------------------------


def _association(tx: Tx, ctx: Context, fip: FloatingIp, port_id: str,
                 fixed_ip: IPAddress | None) -> Association:
    """Which fixed IP of which port, through which router (Neutron's `_get_assoc_data`):
    the router must have an interface on the fixed IP's subnet and its gateway on the floating
    network; the one holding the subnet's gateway IP is preferred."""
    internal = ports.load_visible(tx, ctx, port_id)
    if internal.project_id != fip.project_id and not ctx.is_admin:
        raise rules.bad_floatingip_request(
            f"Cannot process floating IP association with Port {port_id}, since that port is "
            "owned by a different project")
    if internal.device_owner == DHCP_OWNER:
        raise rules.bad_floatingip_request(f"Port {port_id} is unable to be assigned a "
                                           "floating IP")
    subnet_id, address = rules.pick_fixed_ip(
        port_id, [(f.subnet_id, f.ip_address) for f in internal.fixed_ips], fixed_ip)
    candidates = router_repo.routers_for_floatingip(tx, internal.network_id, subnet_id,
                                                    fip.floating_network_id)
    if not candidates:
        raise rules.no_gateway_for(subnet_id, fip.floating_network_id, port_id)
    subnet = subnet_repo.by_ids(tx, [subnet_id]).get(subnet_id)
    gateway = None if subnet is None or subnet.gateway_ip is None else str(subnet.gateway_ip)
    router_id = next((r for r, ip in candidates if ip == gateway), candidates[0][0])
    return Association(port_id, address, router_id)


def _associate(tx: Tx, ctx: Context, fip: FloatingIp, assoc: Association) -> FloatingIp:
    """Point the floating IP at the association; a fixed IP has one floating IP per
    external network (409 FloatingIPPortAlreadyAssociated)."""
    holder = repo.holder_of(tx, fip.floating_network_id, assoc.port_id,
                            str(assoc.fixed_ip_address))
    if holder is not None and holder != fip.id:
        raise rules.already_associated(fip, assoc.port_id, assoc.fixed_ip_address)
    return replace(fip, port_id=assoc.port_id, fixed_ip_address=assoc.fixed_ip_address,
                   router_id=assoc.router_id)


def _dissociated(fip: FloatingIp) -> FloatingIp:
    return replace(fip, port_id=None, fixed_ip_address=None, router_id=None, port_details=None)


# -- update -------------------------------------------------------------------------------


def update(env: Env, ctx: Context, fip_id: str, req: FloatingIpUpdate,
           if_match: int | None = None) -> FloatingIp:
    with env.db.write() as tx:
        old = load_visible(tx, ctx, fip_id, for_update=True)
        common.require_owner(ctx, old, "update", RESOURCE)
        common.check_revision(old, if_match)
        changes = changed_fields(req)
        port_id = changes.get("port_id", UNSET)
        fixed_ip = changes.get("fixed_ip_address")
        if fixed_ip is not None and not port_id:
            raise rules.bad_floatingip_request(
                "fixed_ip_address cannot be specified without a port_id")
        new = replace(old, description=changes.get("description", old.description))
        if port_id is None:
            new = _dissociated(new)
        elif isinstance(port_id, str):
            new = _associate(tx, ctx, new, _association(tx, ctx, new, port_id, fixed_ip))
        elif old.port_id is not None:  # re-check the association, as Neutron does
            new = _associate(tx, ctx, new, _association(tx, ctx, new, old.port_id,
                                                        old.fixed_ip_address))
        if replace(new, port_details=None) == replace(old, port_details=None):
            return old
        stored = repo.update(tx, old, new)
        return _record(tx, stored, Op.UPDATE)


def disassociate_port(tx: Tx, port: Port) -> None:
    """The port is going away: its floating IPs stay, pointing nowhere (Neutron's
    `disassociate_floatingips`). Runs in the port deletion's transaction."""
    for fip in repo.by_fixed_port(tx, port.id):
        stored = repo.update(tx, fip, _dissociated(fip))
        tx.record(Change.of(Op.UPDATE, RESOURCE, stored))


# -- delete -------------------------------------------------------------------------------


def delete(env: Env, ctx: Context, fip_id: str) -> None:
    with env.db.write() as tx:
        fip = load_visible(tx, ctx, fip_id, for_update=True)
        common.require_owner(ctx, fip, "delete", RESOURCE)
        _delete_in(tx, env, fip)


def _delete_in(tx: Tx, env: Env, fip: FloatingIp) -> None:
    repo.delete(tx, fip.id)
    port = port_repo.get(tx, fip.floating_port_id)
    if port is not None:
        ports.delete_in(tx, env, port)
    _record(tx, fip, Op.DELETE)


def delete_disassociated_in(tx: Tx, env: Env, network_id: str) -> None:
    """The external network is being deleted: its unused floating IPs go with it (Neutron's
    `delete_disassociated_floatingips`); associated ones keep the network in use."""
    for fip in repo.disassociated_on(tx, network_id):
        _delete_in(tx, env, fip)


# -- pools --------------------------------------------------------------------------------


def list_pools(env: Env, ctx: Context, query: ListQuery) -> Page[FloatingIpPool]:
    """floatingip-pools: the IPv4 subnets of external networks, whoever owns them."""
    with env.db.read() as tx:
        page = repo.pool_subnets(tx, query)
    pools = [FloatingIpPool(subnet_id=s.id, subnet_name=s.name, network_id=s.network_id,
                            cidr=s.cidr, project_id=ctx.project_id or "") for s in page.items]
    return Page(pools, page.has_more)
