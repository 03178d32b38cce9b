"""Small immutable values that validated request bodies are made of.

Addresses are `ipaddress` objects; `to_json()` renders each value in Neutron's JSON shape, with
addresses formatted as Neutron (netaddr) prints them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TypeAlias

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4_MAPPED_PREFIX = 0xFFFF


def ip_str(ip: IPAddress) -> str:
    """Format an address as netaddr does: compact IPv6, dotted tail for IPv4-mapped/compatible."""
    if ip.version == 4:
        return str(ip)
    value = int(ip)
    if value >> 32 == _V4_MAPPED_PREFIX:
        return f"::ffff:{ipaddress.IPv4Address(value & 0xFFFFFFFF)}"
    if 0xFFFF < value <= 0xFFFFFFFF:
        return f"::{ipaddress.IPv4Address(value)}"
    return str(ip)


def net_str(net: IPNetwork) -> str:
    """Format a network as `<address>/<prefixlen>` using `ip_str` for the address."""
    return f"{ip_str(net.network_address)}/{net.prefixlen}"


@dataclass(frozen=True, slots=True)
class HostRoute:
    """A subnet host route: traffic for `destination` goes via `nexthop`."""

    destination: IPNetwork
    nexthop: IPAddress

    def to_json(self) -> dict[str, str]:
        """Neutron's `{"destination": ..., "nexthop": ...}` shape."""
        return {"destination": net_str(self.destination), "nexthop": ip_str(self.nexthop)}


@dataclass(frozen=True, slots=True)
class IpRange:
    """An inclusive range of addresses of one IP version (an allocation pool)."""

    start: IPAddress
    end: IPAddress

    def __post_init__(self) -> None:
        if self.start.version != self.end.version:
            raise ValueError("IpRange bounds must share an IP version")
        if int(self.start) > int(self.end):
            raise ValueError("IpRange start must not exceed its end")

    @classmethod
    def from_ints(cls, first: int, last: int, version: int) -> IpRange:
        """Build a range from integer bounds of the given IP version."""
        return cls(_address(first, version), _address(last, version))

    @property
    def version(self) -> int:
        """4 or 6."""
        return self.start.version

    @property
    def first(self) -> int:
        """The first address as an integer."""
        return int(self.start)

    @property
    def last(self) -> int:
        """The last address as an integer."""
        return int(self.end)

    @property
    def size(self) -> int:
        """How many addresses the range holds."""
        return self.last - self.first + 1

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return ip.version == self.version and self.first <= int(ip) <= self.last

    def __str__(self) -> str:
        return f"{ip_str(self.start)}-{ip_str(self.end)}"

    def to_json(self) -> dict[str, str]:
        """Neutron's `{"start": ..., "end": ...}` shape."""
        return {"start": ip_str(self.start), "end": ip_str(self.end)}


@dataclass(frozen=True, slots=True)
class FixedIpRequest:
    """One requested fixed IP of a port: a subnet, an address, or both."""

    subnet_id: str | None = None
    ip_address: IPAddress | None = None

    def to_json(self) -> dict[str, str]:
        """Only the keys that were requested, as Neutron echoes them."""
        out: dict[str, str] = {}
        if self.subnet_id is not None:
            out["subnet_id"] = self.subnet_id
        if self.ip_address is not None:
            out["ip_address"] = ip_str(self.ip_address)
        return out


@dataclass(frozen=True, slots=True)
class AddressPair:
    """An allowed address pair; strings are kept exactly as the client sent them, as Neutron does.

    `mac_address` None means "use the port's MAC" (filled in by the service).
    """

    ip_address: str
    mac_address: str | None = None

    def to_json(self) -> dict[str, str]:
        """Neutron's `{"ip_address": ..., "mac_address": ...}` shape."""
        out = {"ip_address": self.ip_address}
        if self.mac_address is not None:
            out["mac_address"] = self.mac_address
        return out


@dataclass(frozen=True, slots=True)
class DhcpOpt:
    """An extra DHCP option of a port; `opt_value` None asks to delete the option on update."""

    opt_name: str
    opt_value: str | None
    ip_version: int = 4

    def to_json(self) -> dict[str, str | int | None]:
        """Neutron's `{"opt_name", "opt_value", "ip_version"}` shape."""
        return {
            "opt_name": self.opt_name,
            "opt_value": self.opt_value,
            "ip_version": self.ip_version,
        }


def _address(value: int, version: int) -> IPAddress:
    """An address of the given version from its integer value."""
    if version == 4:
        return ipaddress.IPv4Address(value)
    return ipaddress.IPv6Address(value)
