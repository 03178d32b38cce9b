"""Ports: a network attachment with a MAC, fixed IPs, security groups and a binding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from neutrino.domain.standard import UNSET, Standard
from neutrino.domain.values import AddressPair, DhcpOpt

IPAddress = IPv4Address | IPv6Address

# Device owners whose ports belong to the service, not to a workload.
NETWORK_OWNER_PREFIX = "network:"
DHCP_OWNER = "network:dhcp"
# The network's DHCP port (services.dhcp): Neutron's agent names it "dhcp<host uuid>-<net id>";
# ours serves on every host, so it names no host.
DHCP_DEVICE_PREFIX = "dhcp-"
ROUTER_INTERFACE_OWNERS = frozenset({
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
})
ROUTER_GATEWAY_OWNER = "network:router_gateway"
FLOATINGIP_OWNER = "network:floatingip"

VIF_UNBOUND = "unbound"
VIF_BINDING_FAILED = "binding_failed"
VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder",
              "smart-nic", "vdpa", "accelerator-direct", "accelerator-direct-physical",
              "remote-managed")


@dataclass(frozen=True, slots=True)
class FixedIp:
    """`text` is the address as stored, when known: formatting an address costs more than
    any other step of a large port listing, and the stored text is already canonical."""

    subnet_id: str
    ip_address: IPAddress
    text: str = field(default="", compare=False, repr=False)

    def to_json(self) -> dict[str, str]:
        return {"subnet_id": self.subnet_id, "ip_address": self.text or str(self.ip_address)}


@dataclass(frozen=True, slots=True)
class Binding:
    """Where and how the port is plugged (Neutron's binding:* attributes)."""

    host_id: str = ""
    vnic_type: str = "normal"
    profile: dict[str, Any] = field(default_factory=dict)
    vif_type: str = VIF_UNBOUND
    vif_details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Port(Standard):
    network_id: str
    mac_address: str
    admin_state_up: bool = True
    status: str = "DOWN"
    device_id: str = ""
    device_owner: str = ""
    fixed_ips: tuple[FixedIp, ...] = ()
    security_groups: tuple[str, ...] = ()
    port_security_enabled: bool = True
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    extra_dhcp_opts: tuple[DhcpOpt, ...] = ()
    binding: Binding = field(default_factory=Binding)
    ip_allocation: str = "immediate"
    dns_name: str = ""  # as kept (`domain.dns.kept_dns_name`); dns_assignment derives from it

    @property
    def binding_host_id(self) -> str:
        return self.binding.host_id

    @property
    def binding_vnic_type(self) -> str:
        return self.binding.vnic_type

    @property
    def binding_profile(self) -> dict[str, Any]:
        return self.binding.profile

    @property
    def binding_vif_type(self) -> str:
        return self.binding.vif_type

    @property
    def binding_vif_details(self) -> dict[str, Any]:
        return self.binding.vif_details

    @property
    def is_service_port(self) -> bool:
        return self.device_owner.startswith(NETWORK_OWNER_PREFIX)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortCreate:
    network_id: str
    project_id: Any = UNSET
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    mac_address: Any = UNSET
    fixed_ips: Any = UNSET  # tuple[FixedIpRequest, ...]; UNSET = allocate automatically
    device_id: str = ""
    device_owner: str = ""
    security_groups: Any = UNSET  # tuple[str, ...]; UNSET = the project's default group
    port_security_enabled: Any = UNSET  # UNSET = the network's setting
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    extra_dhcp_opts: tuple[DhcpOpt, ...] = ()
    binding_host_id: str = ""
    binding_vnic_type: str = "normal"
    binding_profile: Any = UNSET
    dns_name: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PortUpdate:
    name: Any = UNSET
    description: Any = UNSET
    admin_state_up: Any = UNSET
    mac_address: Any = UNSET
    fixed_ips: Any = UNSET
    device_id: Any = UNSET
    device_owner: Any = UNSET
    security_groups: Any = UNSET
    port_security_enabled: Any = UNSET
    allowed_address_pairs: Any = UNSET
    extra_dhcp_opts: Any = UNSET
    binding_host_id: Any = UNSET
    binding_vnic_type: Any = UNSET
    binding_profile: Any = UNSET
    status: Any = UNSET
    dns_name: Any = UNSET



def dhcp_device_id(network_id: str) -> str:
    """The device_id of the network's DHCP port."""
    return DHCP_DEVICE_PREFIX + network_id


def is_dhcp_port(port: Port) -> bool:
    """Whether `port` is its network's DHCP port (`services.dhcp`)."""
    return port.device_owner == DHCP_OWNER and port.device_id == dhcp_device_id(port.network_id)


def pairs_with_mac(pairs: Sequence[AddressPair], mac: str) -> tuple[AddressPair, ...]:
    """Allowed address pairs as stored: a pair without a MAC takes the port's (Neutron's
    `_process_create_allowed_address_pairs`)."""
    return tuple(p if p.mac_address is not None else replace(p, mac_address=mac) for p in pairs)


def created_dhcp_opts(opts: Sequence[DhcpOpt]) -> tuple[DhcpOpt, ...]:
    """On create, an option without a value is no option."""
    return tuple(o for o in opts if o.opt_value is not None)


def merged_dhcp_opts(old: Sequence[DhcpOpt], updates: Sequence[DhcpOpt]) -> tuple[DhcpOpt, ...]:
    """Neutron's extra_dhcp_opt update: options are keyed by (name, ip_version); a given value
    replaces or adds one, a null value removes one, and options not named are kept."""
    merged = {(o.opt_name, o.ip_version): o for o in old}
    for opt in updates:
        key = (opt.opt_name, opt.ip_version)
        if opt.opt_value is None:
            merged.pop(key, None)
        else:
            merged[key] = opt
    return tuple(merged.values())
