"""Pure arithmetic for IPAM: which addresses of a subnet are allocatable, and which prefix a
subnet pool hands out. Integers and ranges only, so a /64 costs what a /30 costs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from neutrino.domain import addresses
from neutrino.domain import prefixes as pfx
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import IPNetwork, IpRange

Span = tuple[int, int]


def usable_bounds(cidr: IPNetwork) -> Span:
    """The lowest and highest address a pool may hand out: never an IPv4 network or broadcast
    address, never the IPv6 Subnet-Router anycast address (a /32 or /128 is its address)."""
    if cidr.num_addresses == 1:
        only = int(cidr.network_address)
        return only, only
    return addresses.pool_bounds(cidr)


def free_spans(subnet: Subnet, used: Iterable[int]) -> list[Span]:
    """The allocatable addresses of the subnet's pools: clipped to the usable bounds, minus
    the gateway and the `used` addresses, as sorted disjoint inclusive ranges."""
    low, high = usable_bounds(subnet.cidr)
    clipped = [
        IpRange.from_ints(max(p.first, low), min(p.last, high), subnet.ip_version)
        for p in subnet.allocation_pools
        if p.version == subnet.ip_version and max(p.first, low) <= min(p.last, high)
    ]
    holes = list(used)
    if subnet.gateway_ip is not None and subnet.gateway_ip.version == subnet.ip_version:
        holes.append(int(subnet.gateway_ip))
    return [(r.first, r.last) for r in addresses.free_ranges(clipped, holes)]


# --------------------------------------------------------------------------- prefixes


def available_blocks(
    pool_prefixes: Sequence[IPNetwork], allocated: Sequence[IPNetwork], version: int
) -> list[IPNetwork]:
    """The free part of a pool as CIDR blocks, smallest first, then by address (Neutron's
    `_get_available_prefix_list`: best fit keeps big blocks whole)."""
    free = pfx.difference(pool_prefixes, allocated, version)
    return sorted(free, key=lambda n: (-n.prefixlen, int(n.network_address)))


def choose_prefix(blocks: Sequence[IPNetwork], prefixlen: int) -> IPNetwork | None:
    """The first `/prefixlen` of the smallest free block that can hold one, or None."""
    for block in blocks:
        if block.prefixlen <= prefixlen:
            return ipaddress.ip_network(f"{block.network_address}/{prefixlen}")
    return None


def prefix_is_free(
    cidr: IPNetwork, pool_prefixes: Sequence[IPNetwork], allocated: Sequence[IPNetwork]
) -> bool:
    """Whether the requested cidr lies wholly in the pool's unallocated space."""
    free = pfx.subtract(pfx.spans(pool_prefixes), pfx.spans(allocated))
    first, last = int(cidr.network_address), int(cidr.broadcast_address)
    return any(lo <= first and last <= hi for lo, hi in free)
