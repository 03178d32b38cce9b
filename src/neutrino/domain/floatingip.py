"""Floating IPs: an address on an external network, NATed to a port's fixed IPv4 address
through a router that connects both.

The address is held by a service port (device_owner `network:floatingip`) on the external
network; the floating IP records that port and, when associated, the internal port, its fixed
address and the router that carries the traffic (derived, never chosen by the client).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from neutrino.domain.errors import BadRequest, Conflict, NotFound
from neutrino.domain.standard import UNSET, Standard
from neutrino.domain.values import IPAddress, IPNetwork, ip_str

STATUS_DOWN: Final = "DOWN"


@dataclass(frozen=True, slots=True)
class PortDetails:
    """fip-port-details: a summary of the associated port."""

    name: str
    network_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_id: str
    device_owner: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "network_id": self.network_id,
            "mac_address": self.mac_address,
            "admin_state_up": self.admin_state_up,
            "status": self.status,
            "device_id": self.device_id,
            "device_owner": self.device_owner,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatingIp(Standard):
    floating_network_id: str
    floating_ip_address: IPAddress
    floating_port_id: str
    port_id: str | None = None
    fixed_ip_address: IPAddress | None = None
    router_id: str | None = None
    status: str = STATUS_DOWN
    # Filled on read from the associated port (None when not associated).
    port_details: PortDetails | None = None
    # dns-integration: the name to publish the address under, set on create only.
    dns_name: str = ""
    dns_domain: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatingIpCreate:
    floating_network_id: str
    project_id: Any = UNSET
    description: str = ""
    floating_ip_address: IPAddress | None = None
    subnet_id: str | None = None
    port_id: str | None = None
    fixed_ip_address: IPAddress | None = None
    dns_name: str = ""
    dns_domain: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatingIpUpdate:
    description: Any = UNSET
    port_id: Any = UNSET  # str | None (None disassociates)
    fixed_ip_address: Any = UNSET  # IPAddress | None


@dataclass(frozen=True, slots=True)
class Association:
    """Where a floating IP points: the internal port, its fixed address, the router."""

    port_id: str
    fixed_ip_address: IPAddress
    router_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatingIpPool:
    """floatingip-pools: an IPv4 subnet of an external network addresses may come from."""

    subnet_id: str
    subnet_name: str
    network_id: str
    cidr: IPNetwork
    project_id: str

    @property
    def id(self) -> str:  # pagination markers are subnet ids
        return self.subnet_id


# --------------------------------------------------------------------------- errors


def bad_floatingip_request(msg: str) -> BadRequest:
    """Neutron's generic `BadRequest(resource='floatingip', msg=...)`."""
    return BadRequest(f"Bad floatingip request: {msg}.", type_name="BadRequest")


def check_dns(req: FloatingIpCreate) -> None:
    """A floating IP's dns_name and dns_domain come together or not at all (Neutron's
    `_validate_floatingip_dns`)."""
    if req.dns_domain and not req.dns_name:
        raise bad_floatingip_request("dns_domain cannot be specified without a dns_name")
    if req.dns_name and not req.dns_domain:
        raise bad_floatingip_request("dns_name cannot be specified without a dns_domain")


def no_gateway_for(subnet_id: str, network_id: str, port_id: str) -> NotFound:
    return NotFound(
        f"External network {network_id} is not reachable from subnet {subnet_id}.  "
        f"Therefore, cannot associate Port {port_id} with a Floating IP.",
        type_name="ExternalGatewayForFloatingIPNotFound")


def already_associated(fip: FloatingIp, port_id: str, fixed_ip: IPAddress) -> Conflict:
    return Conflict(
        f"Cannot associate floating IP {ip_str(fip.floating_ip_address)} ({fip.id}) with port "
        f"{port_id} using fixed IP {ip_str(fixed_ip)}, as that fixed IP already has a floating "
        f"IP on external network {fip.floating_network_id}.",
        type_name="FloatingIPPortAlreadyAssociated")


def address_exhausted(network_id: str) -> BadRequest:
    return BadRequest(f"Unable to find any IP address on external network {network_id}.",
                      type_name="ExternalIpAddressExhausted")


def pick_fixed_ip(port_id: str, fixed: list[tuple[str, IPAddress]],
                  requested: IPAddress | None) -> tuple[str, IPAddress]:
    """The (subnet, address) of the port a floating IP maps to (Neutron's
    `_internal_fip_assoc_data`): the requested IPv4 address, else the port's only one."""
    if requested is not None:
        if requested.version != 4:
            raise bad_floatingip_request(
                f"Cannot process floating IP association with {ip_str(requested)}, since that "
                "is not an IPv4 address")
        for subnet_id, address in fixed:
            if address == requested:
                return subnet_id, address
        raise bad_floatingip_request(
            f"Port {port_id} does not have fixed ip {ip_str(requested)}")
    ipv4 = [(s, a) for s, a in fixed if a.version == 4]
    if not ipv4:
        raise bad_floatingip_request(
            f"Cannot add floating IP to port {port_id} that has no fixed IPv4 addresses")
    if len(ipv4) > 1:
        raise bad_floatingip_request(
            f"Port {port_id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 "
            "address when assigning a floating IP")
    return ipv4[0]
