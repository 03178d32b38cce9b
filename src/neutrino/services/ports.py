"""Ports: create (MAC, addresses, security groups, binding), read, update, delete."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from neutrino.db import Tx
from neutrino.db.repos import networks as net_repo
from neutrino.db.repos import ports as repo
from neutrino.db.repos import security_groups as sg_repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain import dns
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, Conflict, PolicyNotAuthorized, not_found
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.network import Network
from neutrino.domain.port import (
    FLOATINGIP_OWNER,
    NETWORK_OWNER_PREFIX,
    ROUTER_GATEWAY_OWNER,
    ROUTER_INTERFACE_OWNERS,
    VIF_BINDING_FAILED,
    VIF_UNBOUND,
    Binding,
    Port,
    PortCreate,
    PortUpdate,
    created_dhcp_opts,
    merged_dhcp_opts,
    pairs_with_mac,
)
from neutrino.domain.standard import UNSET, changed_fields
from neutrino.services import _common as common
from neutrino.services import _fixed_ips as fixed_ips
from neutrino.services import networks, quotas, security_groups
from neutrino.services._env import Env
from neutrino.wire import PortStatus

RESOURCE = "port"
PROTECTED_OWNERS = frozenset({*ROUTER_INTERFACE_OWNERS, ROUTER_GATEWAY_OWNER, FLOATINGIP_OWNER})


def create(env: Env, ctx: Context, req: PortCreate) -> Port:
    with env.db.write() as tx:
        return create_in(tx, env, ctx, req)


def create_in(tx: Tx, env: Env, ctx: Context, req: PortCreate, *, check_quota: bool = True,
              status: str = "DOWN") -> Port:
    """Create a port inside the caller's transaction. `check_quota=False` and `status` are
    for the services' own ports (the DHCP port: `services.dhcp`)."""
    net = networks.load_visible(tx, ctx, req.network_id, with_subnets=False)
    # An admin (the L3 service) may make a port of no project, as Neutron's gateway and
    # floating IP ports are; such ports count against no quota.
    service_port = req.project_id == "" and ctx.is_admin
    project_id = "" if service_port else common.owning_project(ctx, req.project_id)
    _check_network_owner_only(ctx, net, req)
    dns_name = dns.kept_dns_name(req.dns_name, env.config.dns_domain)
    if check_quota and not service_port:
        quotas.check(tx, env, project_id, RESOURCE, 1)
    port_security = (
        net.port_security_enabled if req.port_security_enabled is UNSET
        else req.port_security_enabled
    )
    groups = _security_groups(tx, env, ctx, project_id, req.security_groups, port_security,
                              req.device_owner)
    _check_port_security(port_security, groups, req.allowed_address_pairs)
    mac = _mac(tx, env, net.id, req.mac_address)
    subnets = subnet_repo.by_network(tx, net.id, with_tags=False)
    requested = None if req.fixed_ips is UNSET else req.fixed_ips
    addresses = fixed_ips.allocate(tx, env, subnets, net.id, mac, requested, req.device_owner)
    profile = {} if req.binding_profile is UNSET else req.binding_profile
    port = Port(
        id=common.new_id(),
        project_id=project_id,
        name=req.name,
        description=req.description,
        network_id=net.id,
        mac_address=mac,
        admin_state_up=req.admin_state_up,
        status=status,
        device_id=req.device_id,
        device_owner=req.device_owner,
        fixed_ips=addresses,
        security_groups=groups,
        port_security_enabled=port_security,
        allowed_address_pairs=pairs_with_mac(req.allowed_address_pairs, mac),
        extra_dhcp_opts=created_dhcp_opts(req.extra_dhcp_opts),
        binding=Binding(host_id=req.binding_host_id, vnic_type=req.binding_vnic_type,
                        profile=profile),
        dns_name=dns_name,
        tags=tuple(sorted(set(req.tags))),
    )
    port = replace(port, binding=bind(tx, env, net, port))
    port = repo.insert(tx, port)
    tx.record(Change.of(Op.CREATE, RESOURCE, port))
    return port


def _check_network_owner_only(ctx: Context, net: Network, req: PortCreate) -> None:
    """On someone else's shared network, only the network's owner picks MACs and addresses."""
    if ctx.is_admin or net.project_id == ctx.project_id:
        return
    if req.mac_address is not UNSET:
        raise PolicyNotAuthorized("(rule:create_port:mac_address) is disallowed by policy")
    if req.fixed_ips is not UNSET and any(f.ip_address is not None for f in req.fixed_ips):
        raise PolicyNotAuthorized(
            "(rule:create_port:fixed_ips:ip_address) is disallowed by policy")
    if req.device_owner.startswith(NETWORK_OWNER_PREFIX):
        raise PolicyNotAuthorized("(rule:create_port:device_owner) is disallowed by policy")


def bind(tx: Tx, env: Env, net: Network, port: Port) -> Binding:
    """The port's binding as the configured mechanism drivers decide it: unbound without a
    host; with one, the first driver's binding that binds, else visibly `binding_failed`.

    Only host, vnic type and profile of `port.binding` are read: a binding is always
    recomputed from them, so binding twice gives the same answer."""
    b = port.binding
    wanted = Binding(host_id=b.host_id, vnic_type=b.vnic_type, profile=b.profile)
    if not b.host_id:
        return wanted
    probe = replace(port, binding=wanted)
    for driver in env.mechanisms:
        bound = driver.bind(tx, net, probe, env.config)
        if bound is not None:
            return bound
    return replace(wanted, vif_type=VIF_BINDING_FAILED)


def rebind_failed(tx: Tx, env: Env, host: str) -> list[Port]:
    """Bind again the ports on `host` whose binding failed (an agent registered there or
    came back); each port that binds now is stored, DOWN, with its change recorded."""
    rebound = []
    nets: dict[str, Network | None] = {}
    for old in repo.failed_on_host(tx, host):
        if old.network_id not in nets:
            nets[old.network_id] = net_repo.crud.get(tx, old.network_id, with_tags=False)
        net = nets[old.network_id]
        if net is None:
            continue
        binding = bind(tx, env, net, old)
        if binding == old.binding:
            continue
        stored = repo.crud.update(tx, old, replace(old, binding=binding, status="DOWN"))
        tx.record(Change.of(Op.UPDATE, RESOURCE, stored))
        rebound.append(stored)
    return rebound


def _security_groups(
    tx: Tx, env: Env, ctx: Context, project_id: str, requested: Any, port_security: bool,
    device_owner: str,
) -> tuple[str, ...]:
    if requested is UNSET:
        if not port_security or device_owner.startswith(NETWORK_OWNER_PREFIX):
            return ()
        return (security_groups.ensure_default(tx, env, project_id),)
    groups: tuple[str, ...] = requested
    if groups:
        found = sg_repo.groups_exist_visible(tx, groups, None if ctx.is_admin else project_id)
        missing = [g for g in groups if g not in found]
        if missing:
            raise not_found("security_group", missing[0])
    return groups


def _check_port_security(port_security: bool, groups: tuple[str, ...], pairs: tuple[Any, ...]
                         ) -> None:
    if port_security:
        return
    if groups:
        raise Conflict(
            "Port has security group associated. Cannot disable port security or ip address "
            "until security group is removed.", type_name="PortSecurityPortHasSecurityGroup")
    if pairs:
        raise Conflict(
            "Port Security must be enabled in order to have allowed address pairs on a port.",
            type_name="AddressPairAndPortSecurityRequired")


def _mac(tx: Tx, env: Env, network_id: str, requested: Any) -> str:
    """The requested MAC if free on the network (409 MacAddressInUse), else a random one
    under the base MAC. Three candidates per query keep collisions (likely past ~4k ports
    on one network with 24 random bits) from costing extra round trips."""
    if requested is not UNSET:
        if repo.macs_in_use(tx, network_id, [requested]):
            raise Conflict(
                f"Unable to complete operation for network {network_id}. The mac address "
                f"{requested} is in use.", type_name="MacAddressInUse")
        return str(requested)
    prefix = env.config.base_mac[:9]
    for _ in range(5):
        candidates = [prefix + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
                      for _ in range(3)]
        used = repo.macs_in_use(tx, network_id, candidates)
        for mac in candidates:
            if mac not in used:
                return mac
    raise Conflict(f"Unable to generate a unique mac on network {network_id}.",
                   type_name="MacAddressGenerationFailure")


def get(env: Env, ctx: Context, port_id: str) -> Port:
    with env.db.read() as tx:
        return load_visible(tx, ctx, port_id)


def load_visible(tx: Tx, ctx: Context, port_id: str, *, for_update: bool = False) -> Port:
    """The port if the caller owns it, owns its network, or is admin; else 404."""
    port = repo.get(tx, port_id, for_update=for_update)
    if port is None:
        raise not_found(RESOURCE, port_id)
    if ctx.is_admin or port.project_id == ctx.project_id:
        return port
    net = net_repo.crud.get(tx, port.network_id)  # another's port: 404 PortNotFound, no leak
    if net is None or net.project_id != ctx.project_id:
        raise not_found(RESOURCE, port_id)
    return port


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[Port]:
    with env.db.read() as tx:
        return repo.list_(tx, query, common.scope(ctx))


def update(
    env: Env, ctx: Context, port_id: str, req: PortUpdate, if_match: int | None = None
) -> Port:
    with env.db.write() as tx:
        return update_in(tx, env, ctx, port_id, req, if_match)


def update_in(
    tx: Tx, env: Env, ctx: Context, port_id: str, req: PortUpdate, if_match: int | None = None
) -> Port:
    old = load_visible(tx, ctx, port_id, for_update=True)
    common.check_revision(old, if_match)
    changes = changed_fields(req)
    if "mac_address" in changes and changes["mac_address"] != old.mac_address:
        if old.binding.vif_type not in (VIF_UNBOUND, VIF_BINDING_FAILED):
            raise Conflict(f"Port {old.id} is bound, mac_address cannot be changed.",
                           type_name="PortBound")
        _mac(tx, env, old.network_id, changes["mac_address"])
    port_security = changes.get("port_security_enabled", old.port_security_enabled)
    groups = old.security_groups
    if "security_groups" in changes:
        groups = _security_groups(tx, env, ctx, old.project_id, changes["security_groups"],
                                  port_security, old.device_owner)
    pairs = changes.get("allowed_address_pairs", old.allowed_address_pairs)
    _check_port_security(port_security, groups, pairs)
    if "allowed_address_pairs" in changes:
        changes["allowed_address_pairs"] = pairs_with_mac(
            pairs, changes.get("mac_address", old.mac_address))
    if "extra_dhcp_opts" in changes:
        changes["extra_dhcp_opts"] = merged_dhcp_opts(old.extra_dhcp_opts,
                                                      changes["extra_dhcp_opts"])
    if "dns_name" in changes:
        if dns.names_ports(env.config.dns_domain):
            changes["dns_name"] = dns.kept_dns_name(changes["dns_name"], env.config.dns_domain)
        else:  # under the default domain a port's name is not kept, nor changed (Neutron)
            del changes["dns_name"]
    new = replace(
        old,
        **{k: v for k, v in changes.items()
           if k not in ("fixed_ips", "security_groups") and not k.startswith("binding_")},
        security_groups=groups,
    )
    if "fixed_ips" in changes:
        subnets = subnet_repo.by_network(tx, old.network_id, with_tags=False)
        addresses = fixed_ips.reallocate(tx, env, subnets, old.network_id, new.mac_address,
                                         old.fixed_ips, changes["fixed_ips"], new.device_owner)
        repo.remove_fixed_ips(tx, old, [f for f in old.fixed_ips if f not in addresses])
        repo.add_fixed_ips(tx, old, [f for f in addresses if f not in old.fixed_ips])
        new = replace(new, fixed_ips=addresses)
    if any(k.startswith("binding_") for k in changes):
        b = old.binding
        wanted = Binding(host_id=changes.get("binding_host_id", b.host_id),
                         vnic_type=changes.get("binding_vnic_type", b.vnic_type),
                         profile=changes.get("binding_profile", b.profile))
        net = net_repo.crud.get(tx, old.network_id, with_tags=False)
        if net is not None:
            new = replace(new, binding=bind(tx, env, net, replace(new, binding=wanted)))
        if new.binding != old.binding:  # plugged elsewhere (or unplugged): not up yet
            new = replace(new, status="DOWN")
    if new == old:
        return old
    if groups != old.security_groups:
        sg_repo.set_port_bindings(tx, old.id, groups)
    stored = repo.crud.update(tx, old, new)
    stored = replace(stored, fixed_ips=new.fixed_ips, security_groups=groups)
    tx.record(Change.of(Op.UPDATE, RESOURCE, stored))
    return stored


def delete(env: Env, ctx: Context, port_id: str) -> None:
    with env.db.write() as tx:
        port = load_visible(tx, ctx, port_id, for_update=True)
        if port.device_owner in PROTECTED_OWNERS and port.device_id:
            raise Conflict(
                f"Port {port.id} cannot be deleted directly via the port API: has device "
                f"owner {port.device_owner}.", type_name="L3PortInUse")
        delete_in(tx, env, port)


def delete_in(tx: Tx, env: Env, port: Port) -> None:
    """Release the port's addresses and remove it (callers checked who may)."""
    from neutrino.services import floatingips  # import cycle: floating IPs create ports

    floatingips.disassociate_port(tx, port)  # its floating IPs stay, unassociated (Neutron)
    subnets = subnet_repo.by_network(tx, port.network_id, with_tags=False)
    repo.delete(tx, port)
    # Last: releasing locks the subnets' free ranges until commit, and every allocation on
    # those subnets waits for that lock; the less work after it, the less they wait.
    fixed_ips.release(tx, env, subnets, port.fixed_ips)
    tx.record(Change.of(Op.DELETE, RESOURCE, port))


PORT_STATUSES = ("ACTIVE", "DOWN", "ERROR")


def report_status(env: Env, ctx: Context, report: PortStatus) -> tuple[Port, bool]:
    """An agent reports what it achieved for a port: (the port as it now is, accepted).

    A report about an older revision than the port's is stale (the port changed since the
    agent looked; it will report on the new revision) and is ignored, not refused: the
    agent's next pass fixes it anyway. A report that changes nothing writes nothing; a real
    change bumps the revision and is recorded like any port update."""
    if not ctx.is_service:
        raise PolicyNotAuthorized("(update_port:status) is disallowed by policy")
    if report.status not in PORT_STATUSES:
        raise BadRequest(f"Invalid port status {report.status}: must be one of "
                         f"{', '.join(PORT_STATUSES)}")
    with env.db.write() as tx:
        old = repo.get(tx, report.port_id, for_update=True)
        if old is None:
            raise not_found(RESOURCE, report.port_id)
        if report.revision < old.revision_number or report.status == old.status:
            return old, report.revision >= old.revision_number
        stored = repo.crud.update(tx, old, replace(old, status=report.status))
        tx.record(Change.of(Op.UPDATE, RESOURCE, stored))
        return stored, True
