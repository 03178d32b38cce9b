"""Pure IP arithmetic for subnets and IPAM: gateways, allocation pools, EUI-64, free ranges.

Everything works on integers over inclusive ranges, never by iterating addresses, so a /64 is as
cheap as a /30. Errors carry Neutron's exception type names and messages.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final

from neutrino.domain.errors import BadRequest, Conflict, InvalidInput
from neutrino.domain.values import HostRoute, IPAddress, IPNetwork, IpRange, ip_str, net_str

MAX_DNS_NAMESERVERS: Final = 5
MAX_SUBNET_HOST_ROUTES: Final = 20
NEW_SUBNET: Final = "new subnet"
#: Device owners that may hold an IPv6 subnet's network (Subnet-Router anycast) address.
ROUTER_PORT_OWNERS: Final = (
    "network:router_interface",
    "network:ha_router_replicated_interface",
    "network:router_interface_distributed",
    "network:router_centralized_snat",
    "network:router_gateway",
)


def _address(value: int, version: int) -> IPAddress:
    """An address of the given version from its integer value."""
    if version == 4:
        return ipaddress.IPv4Address(value)
    return ipaddress.IPv6Address(value)


# --------------------------------------------------------------------------- subnets


def default_gateway(cidr: IPNetwork, *, from_subnetpool: bool = False) -> IPAddress:
    """The gateway Neutron picks when none is given.

    IPv4: the first host (network + 1). IPv6 with an explicit cidr: the network address itself
    (the Subnet-Router anycast address, ipam_backend_mixin._gateway_ip_str); IPv6 carved from a
    subnet pool by prefixlen: network + 1 (subnet_alloc)."""
    if cidr.version == 6 and not from_subnetpool:
        return cidr.network_address
    return cidr.network_address + 1


def pool_bounds(cidr: IPNetwork) -> tuple[int, int]:
    """The first and last address a pool may use: IPv4 drops network and broadcast (except in
    /31 and /32), IPv6 drops only the network (Subnet-Router anycast) address."""
    first, last = int(cidr.network_address), int(cidr.broadcast_address)
    if cidr.version == 4:
        return (first + 1, last - 1) if cidr.prefixlen <= 30 else (first, last)
    return first + 1, last


def _cut(first: int, last: int, hole: int) -> list[tuple[int, int]]:
    """The inclusive range [first, last] minus one address."""
    if not first <= hole <= last:
        return [(first, last)]
    return [(lo, hi) for lo, hi in ((first, hole - 1), (hole + 1, last)) if lo <= hi]


def default_allocation_pools(cidr: IPNetwork, gateway_ip: IPAddress | None) -> tuple[IpRange, ...]:
    """Neutron's generate_pools: the usable range of the cidr with the gateway cut out.

    A single-address subnet (/32, /128) is one pool holding that address, gateway or not."""
    if cidr.num_addresses == 1:
        only = int(cidr.network_address)
        return (IpRange.from_ints(only, only, cidr.version),)
    first, last = pool_bounds(cidr)
    spans = [(first, last)] if first <= last else []
    if gateway_ip is not None and gateway_ip.version == cidr.version:
        spans = [piece for lo, hi in spans for piece in _cut(lo, hi, int(gateway_ip))]
    return tuple(IpRange.from_ints(lo, hi, cidr.version) for lo, hi in spans)


def _version_mismatch(name: str, addr: str, version: int) -> InvalidInput:
    """Neutron's _validate_ip_version error."""
    return InvalidInput(f"{name} '{addr}' does not match the ip_version '{version}'")


def validate_subnet_cidr(
    cidr: IPNetwork,
    ip_version: int,
    *,
    enable_dhcp: bool = False,
    dhcp_was_enabled: bool = False,
    prefix_delegation: bool = False,
) -> None:
    """The cidr checks of Neutron's _validate_subnet (version, '::', DHCP-incompatible ranges)."""
    if cidr.version != ip_version:
        raise _version_mismatch("cidr", net_str(cidr), ip_version)
    if cidr.version == 6 and int(cidr.network_address) == 0 and not prefix_delegation:
        raise InvalidInput("IPv6 subnet '::' is not supported")
    if enable_dhcp and not dhcp_was_enabled:
        _check_dhcp_cidr(cidr)


def _check_dhcp_cidr(cidr: IPNetwork) -> None:
    """Subnets DHCP cannot serve: too small, multicast, loopback, or starting at 0.0.0.0."""
    if cidr.prefixlen > (30 if cidr.version == 4 else 126):
        raise InvalidInput(
            "Subnet has a prefix length that is incompatible with DHCP service enabled"
        )
    if cidr.is_multicast:
        raise InvalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
    if cidr.is_loopback:
        raise InvalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
    if cidr.version == 4 and int(cidr.network_address) == 0:
        raise InvalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")


def validate_gateway(cidr: IPNetwork, gateway_ip: IPAddress) -> None:
    """The gateway must match the subnet's version; inside an IPv4 cidr it may be neither the
    network nor the broadcast address. Outside the cidr it is allowed (on-link gateway)."""
    if gateway_ip.version != cidr.version:
        raise _version_mismatch("gateway_ip", ip_str(gateway_ip), cidr.version)
    if cidr.version == 4 and gateway_ip in (cidr.network_address, cidr.broadcast_address):
        raise InvalidInput("Gateway is not valid on subnet")


def ip_valid_for_subnet(cidr: IPNetwork, ip: IPAddress, *, device_owner: str = "") -> bool:
    """Neutron's check_subnet_ip for a requested fixed IP: IPv4 never network/broadcast; IPv6
    network address only for router ports (or when the owner is unknown, '')."""
    if ip.version != cidr.version or ip not in cidr:
        return False
    if cidr.version == 4:
        return ip not in (cidr.network_address, cidr.broadcast_address)
    return device_owner in (*ROUTER_PORT_OWNERS, "") or ip != cidr.network_address


def validate_allocation_pools(
    pools: Sequence[IpRange], cidr: IPNetwork, gateway_ip: IPAddress | None = None
) -> None:
    """Neutron's validate_allocation_pools + validate_gw_out_of_pools, in its order."""
    first, last = pool_bounds(cidr)
    for pool in pools:
        if pool.version != cidr.version:
            raise BadRequest(
                f"The allocation pool {pool} is not valid.", type_name="InvalidAllocationPool"
            )
        if pool.first < first or pool.last > last:
            raise BadRequest(
                f"The allocation pool {pool} spans beyond the subnet cidr {net_str(cidr)}.",
                type_name="OutOfBoundsAllocationPool",
            )
    clash = first_overlap(pools)
    if clash is not None:
        raise Conflict(
            f"Found overlapping allocation pools: {clash[0]} {clash[1]} "
            f"for subnet {net_str(cidr)}.",
            type_name="OverlappingAllocationPools",
        )
    if gateway_ip is not None:
        validate_gateway_outside_pools(gateway_ip, pools)


def first_overlap(ranges: Sequence[IpRange]) -> tuple[IpRange, IpRange] | None:
    """The first pair (in request order) of ranges sharing an address, or None."""
    for i, left in enumerate(ranges):
        for right in ranges[i + 1 :]:
            if ranges_overlap(left, right):
                return left, right
    return None


def validate_gateway_outside_pools(gateway_ip: IPAddress, pools: Iterable[IpRange]) -> None:
    """The gateway may not sit inside an allocation pool (409 in Neutron)."""
    for pool in pools:
        if gateway_ip in pool:
            raise Conflict(
                f"Gateway ip {ip_str(gateway_ip)} conflicts with allocation pool {pool}.",
                type_name="GatewayConflictWithAllocationPools",
            )


def validate_host_routes(
    routes: Sequence[HostRoute],
    ip_version: int,
    *,
    max_routes: int = MAX_SUBNET_HOST_ROUTES,
    subnet_id: str = NEW_SUBNET,
) -> None:
    """At most `max_routes` routes, each with nexthop and destination of the subnet's version."""
    if len(routes) > max_routes:
        raise BadRequest(
            f"Unable to complete operation for {subnet_id}. "
            f"The number of host routes exceeds the limit {max_routes}.",
            type_name="HostRoutesExhausted",
        )
    for route in routes:
        if route.nexthop.version != ip_version:
            raise _version_mismatch("nexthop", ip_str(route.nexthop), ip_version)
        if route.destination.version != ip_version:
            raise _version_mismatch("destination", net_str(route.destination), ip_version)


def validate_dns(
    ip_version: int,
    nameservers: Sequence[str],
    *,
    max_nameservers: int = MAX_DNS_NAMESERVERS,
    subnet_id: str = NEW_SUBNET,
) -> None:
    """At most `max_nameservers` nameservers, each of the subnet's IP version."""
    if len(nameservers) > max_nameservers:
        raise BadRequest(
            f"Unable to complete operation for {subnet_id}. "
            f"The number of DNS nameservers exceeds the limit {max_nameservers}.",
            type_name="DNSNameServersExhausted",
        )
    for server in nameservers:
        try:
            version = ipaddress.ip_address(server).version
        except ValueError:
            raise InvalidInput(f"Error parsing dns address {server}") from None
        if version != ip_version:
            raise _version_mismatch("dns_nameserver", server, ip_version)


# --------------------------------------------------------------------------- EUI-64

_UL_BIT: Final = 1 << 57  # the universal/local bit of the interface identifier


def _mac_value(mac: str) -> int:
    """A colon/dash separated 48-bit MAC as an integer."""
    digits = mac.replace(":", "").replace("-", "")
    if len(digits) != 12:
        raise ValueError(f"not a 48-bit MAC: {mac!r}")
    return int(digits, 16)


def _raw_eui64(mac: str) -> int:
    """The EUI-64 of a MAC: ff:fe inserted between the OUI and the NIC part."""
    value = _mac_value(mac)
    return (value >> 24) << 40 | 0xFFFE << 24 | value & 0xFFFFFF


def eui64_interface_id(mac: str) -> int:
    """The RFC 4291 modified EUI-64 interface identifier of a MAC (U/L bit flipped)."""
    return _raw_eui64(mac) ^ _UL_BIT


def eui64_address(prefix: ipaddress.IPv6Network, mac: str) -> ipaddress.IPv6Address:
    """The SLAAC address of `mac` in `prefix`, computed as oslo's get_ipv6_addr_by_EUI64:
    (prefix + EUI-64) with the U/L bit flipped -- for a /64 simply prefix | interface id."""
    if prefix.version != 6:
        raise ValueError("Unable to generate IP address by EUI64 for IPv4 prefix")
    return ipaddress.IPv6Address((int(prefix.network_address) + _raw_eui64(mac)) ^ _UL_BIT)


def is_eui64_address(ip: IPAddress) -> bool:
    """Whether an address looks EUI-64 derived (ff:fe in the middle of the interface id)."""
    return ip.version == 6 and (int(ip) & 0xFFFF000000) == 0xFFFE000000


def mac_from_eui64(ip: ipaddress.IPv6Address) -> str:
    """The MAC an EUI-64 address was derived from."""
    interface_id = (int(ip) & (2**64 - 1)) ^ _UL_BIT
    value = (interface_id >> 40) << 24 | interface_id & 0xFFFFFF
    raw = f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


# --------------------------------------------------------------------------- ranges


def range_size(r: IpRange) -> int:
    """How many addresses an inclusive range holds."""
    return r.last - r.first + 1


def ranges_overlap(a: IpRange, b: IpRange) -> bool:
    """Whether two ranges share an address."""
    return a.version == b.version and a.first <= b.last and b.first <= a.last


def cidrs_overlap(a: IPNetwork, b: IPNetwork) -> bool:
    """Whether two networks of the same version share an address."""
    return a.version == b.version and a.overlaps(b)


def ranges_contain(ranges: Iterable[IpRange], ip: IPAddress) -> bool:
    """Whether any of the ranges holds `ip`."""
    return any(ip in r for r in ranges)


def merge_ranges(ranges: Iterable[IpRange]) -> tuple[IpRange, ...]:
    """Sorted, non-overlapping, non-adjacent ranges covering the same addresses (one version)."""
    spans = sorted((r.first, r.last, r.version) for r in ranges)
    merged: list[list[int]] = []
    for first, last, version in spans:
        if merged and merged[-1][2] == version and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last, version])
    return tuple(IpRange.from_ints(lo, hi, v) for lo, hi, v in merged)


def _sorted_used(used: Iterable[IPAddress | int]) -> list[int]:
    """Distinct used addresses as sorted integers."""
    return sorted({int(u) for u in used})


def free_ranges(ranges: Iterable[IpRange], used: Iterable[IPAddress | int]) -> tuple[IpRange, ...]:
    """The parts of `ranges` not in `used`, as sorted merged ranges (cost ~ #used, not #addrs)."""
    taken = _sorted_used(used)
    out: list[IpRange] = []
    for r in merge_ranges(ranges):
        cursor = r.first
        start = bisect.bisect_left(taken, r.first)
        stop = bisect.bisect_right(taken, r.last)
        for address in taken[start:stop]:
            if cursor < address:
                out.append(IpRange.from_ints(cursor, address - 1, r.version))
            cursor = address + 1
        if cursor <= r.last:
            out.append(IpRange.from_ints(cursor, r.last, r.version))
    return tuple(out)


def first_free(ranges: Iterable[IpRange], used: Iterable[IPAddress | int]) -> IPAddress | None:
    """The lowest address in `ranges` that is not used, or None when they are exhausted."""
    taken = _sorted_used(used)
    for r in merge_ranges(ranges):
        cursor = r.first
        index = bisect.bisect_left(taken, cursor)
        while index < len(taken) and taken[index] == cursor and cursor <= r.last:
            cursor += 1
            index += 1
        if cursor <= r.last:
            return _address(cursor, r.version)
    return None


def free_count(ranges: Iterable[IpRange], used: Iterable[IPAddress | int]) -> int:
    """How many addresses of `ranges` are not used."""
    return sum(range_size(r) for r in free_ranges(ranges, used))
