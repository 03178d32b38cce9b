"""Routers: L3 between tenant subnets, with an optional gateway to an external network.

A router's interfaces and its gateway are ports (device_owner `network:router_interface` /
`network:router_gateway`); the router only records which ports are its own. The rules here
are pure and follow Neutron's `l3_db` / `extraroute_db` checks and wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Final

from neutrino.domain.addresses import cidrs_overlap
from neutrino.domain.errors import BadRequest, Conflict, NotFound, OverQuota
from neutrino.domain.port import FixedIp
from neutrino.domain.standard import UNSET, Standard
from neutrino.domain.values import FixedIpRequest, HostRoute, IPAddress, IPNetwork, net_str

ENABLE_SNAT_DEFAULT: Final = True
# Neutron's quota_router_route default: routes per router.
MAX_ROUTES: Final = 30


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    """`external_gateway_info` as shown: derived from the gateway port and the SNAT flag."""

    network_id: str
    enable_snat: bool = ENABLE_SNAT_DEFAULT
    external_fixed_ips: tuple[FixedIp, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "enable_snat": self.enable_snat,
            "external_fixed_ips": [f.to_json() for f in self.external_fixed_ips],
        }


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    """A requested gateway. `None` fields were not given (SNAT then takes its default,
    addresses are allocated automatically)."""

    network_id: str
    enable_snat: bool | None = None
    external_fixed_ips: tuple[FixedIpRequest, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Router(Standard):
    admin_state_up: bool = True
    status: str = "ACTIVE"
    enable_snat: bool = ENABLE_SNAT_DEFAULT
    gw_port_id: str | None = None
    # Filled on read from the gateway port (None without one).
    external_gateway_info: GatewayInfo | None = None
    routes: tuple[HostRoute, ...] = ()
    # dvr / l3-ha: admin-only flags; they change only while the router is down.
    distributed: bool = False
    ha: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterCreate:
    project_id: Any = UNSET
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    external_gateway_info: GatewayRequest | None = None
    distributed: Any = UNSET  # bool; UNSET (or null) takes the default, False
    ha: Any = UNSET  # bool
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterUpdate:
    name: Any = UNSET
    description: Any = UNSET
    admin_state_up: Any = UNSET
    external_gateway_info: Any = UNSET  # GatewayRequest | None (None clears the gateway)
    routes: Any = UNSET  # tuple[HostRoute, ...]
    distributed: Any = UNSET  # bool
    ha: Any = UNSET  # bool


@dataclass(frozen=True, slots=True)
class InterfaceRequest:
    """The body of add/remove_router_interface: a subnet, a port, or (removal) both."""

    subnet_id: str | None = None
    port_id: str | None = None


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """What add/remove_router_interface answer (Neutron's `_make_router_interface_info`)."""

    router_id: str
    project_id: str
    port_id: str
    network_id: str
    subnet_ids: tuple[str, ...]
    # Deprecated by multi-prefix ports: the last subnet added, or the first one removed.
    subnet_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.router_id,
            "tenant_id": self.project_id,
            "project_id": self.project_id,
            "port_id": self.port_id,
            "network_id": self.network_id,
            "subnet_id": self.subnet_id,
            "subnet_ids": list(self.subnet_ids),
        }


# --------------------------------------------------------------------------- errors


def bad_router_request(msg: str) -> BadRequest:
    """Neutron's generic `BadRequest(resource='router', msg=...)`."""
    return BadRequest(f"Bad router request: {msg}.", type_name="BadRequest")


def router_in_use(router_id: str, reason: str = "still has ports") -> Conflict:
    return Conflict(f"Router {router_id} {reason}", type_name="RouterInUse")


def interface_not_found(router_id: str, port_id: str) -> NotFound:
    return NotFound(f"Router {router_id} does not have an interface with id {port_id}",
                    type_name="RouterInterfaceNotFound")


def interface_not_found_for_subnet(router_id: str, subnet_id: str) -> NotFound:
    return NotFound(f"Router {router_id} has no interface on subnet {subnet_id}",
                    type_name="RouterInterfaceNotFoundForSubnet")


def interface_in_use_by_floatingip(router_id: str, subnet_id: str) -> Conflict:
    return Conflict(
        f"Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, "
        "as it is required by one or more floating IPs.",
        type_name="RouterInterfaceInUseByFloatingIP")


def interface_in_use_by_route(router_id: str, subnet_id: str) -> Conflict:
    return Conflict(
        f"Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, "
        "as it is required by one or more routes.",
        type_name="RouterInterfaceInUseByRoute")


def gateway_in_use_by_floatingip(router_id: str, network_id: str) -> Conflict:
    return Conflict(
        f"Gateway cannot be updated for router {router_id}, since a gateway to external "
        f"network {network_id} is required by one or more floating IPs.",
        type_name="RouterExternalGatewayInUseByFloatingIp")


def port_in_use(port_id: str, network_id: str, device_id: str) -> Conflict:
    return Conflict(
        f"Unable to complete operation on port {port_id} for network {network_id}. "
        f"Port already has an attached device {device_id}.", type_name="PortInUse")


def check_mode_change(old: Router, changes: dict[str, Any]) -> None:
    """Neutron's DVR and HA migration checks: `distributed` and `ha` change only on a router
    that is administratively down (after this update)."""
    admin_up = changes.get("admin_state_up", old.admin_state_up)
    if not admin_up:
        return
    if "distributed" in changes and changes["distributed"] != old.distributed:
        raise bad_router_request(
            "Cannot change the 'distributed' attribute of active routers. Please set router "
            "admin_state_up to False prior to upgrade")
    if "ha" in changes and changes["ha"] != old.ha:
        raise bad_router_request(
            "Cannot change HA attribute of active routers. Please set router admin_state_up "
            "to False prior to upgrade")


# --------------------------------------------------------------------------- interfaces


def check_interface_request(req: InterfaceRequest, *, for_removal: bool) -> None:
    """Neutron's `_validate_interface_info`: a subnet or a port, not both when adding."""
    if req.subnet_id is None and req.port_id is None:
        raise bad_router_request("Either subnet_id or port_id must be specified")
    if not for_removal and req.subnet_id is not None and req.port_id is not None:
        raise bad_router_request("Cannot specify both subnet-id and port-id")


def check_no_overlap(existing: Iterable[tuple[str, IPNetwork]],
                     new: Iterable[tuple[str, IPNetwork]]) -> None:
    """No new subnet may overlap a subnet the router is already on (by id, cidr)."""
    for sub_id, cidr in existing:
        for new_id, new_cidr in new:
            if cidrs_overlap(cidr, new_cidr):
                raise bad_router_request(
                    f"Cidr {net_str(new_cidr)} of subnet {new_id} overlaps with cidr "
                    f"{net_str(cidr)} of subnet {sub_id}")


def check_pairwise_no_overlap(subnets: Sequence[tuple[str, IPNetwork]]) -> None:
    for (a_id, a), (b_id, b) in combinations(subnets, 2):
        check_no_overlap([(a_id, a)], [(b_id, b)])


# --------------------------------------------------------------------------- routes


def check_routes(routes: Sequence[HostRoute], cidrs: Sequence[IPNetwork],
                 addresses: Sequence[IPAddress]) -> None:
    """Every nexthop must be on a subnet the router is connected to and not be one of the
    router's own addresses (Neutron's `_validate_routes_nexthop`)."""
    if len(routes) > MAX_ROUTES:
        raise OverQuota("Quota exceeded for resources: ['router_route'].")
    for route in routes:
        hop = route.nexthop
        if not any(hop.version == c.version and hop in c for c in cidrs):
            raise invalid_routes(routes, "the nexthop is not connected with router")
        if hop in addresses:
            raise invalid_routes(routes, "the nexthop is used by router")


def invalid_routes(routes: Sequence[HostRoute], reason: str) -> BadRequest:
    shown = [r.to_json() for r in routes]
    return BadRequest(f"Invalid input for operation: Invalid format for routes: {shown}, "
                      f"{reason}.", type_name="InvalidRoutes")


def add_routes(old: Sequence[HostRoute], add: Sequence[HostRoute]) -> tuple[HostRoute, ...]:
    """extraroute-atomic add: union, exact duplicates merged."""
    return tuple(dict.fromkeys((*old, *add)))


def remove_routes(old: Sequence[HostRoute], remove: Sequence[HostRoute]) -> tuple[HostRoute, ...]:
    """extraroute-atomic remove: what is asked to go is gone; missing ones are no error."""
    gone = set(remove)
    return tuple(r for r in old if r not in gone)


def routes_via(routes: Iterable[HostRoute], cidr: IPNetwork) -> bool:
    """Whether any route's nexthop lies in `cidr` (the interface is then needed)."""
    return any(r.nexthop.version == cidr.version and r.nexthop in cidr for r in routes)
