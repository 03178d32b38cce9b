"""Sets of CIDR prefixes as sorted integer ranges (what netaddr's IPSet does for Neutron).

A subnet pool's prefixes, the subnets carved from it and an address scope's pools are all
prefix sets. Working on merged inclusive ranges keeps every operation linear in the number of
prefixes, never in the number of addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from neutrino.domain.values import IPNetwork

Span = tuple[int, int]


def spans(nets: Iterable[IPNetwork]) -> list[Span]:
    """Merged, sorted inclusive integer ranges covering `nets` (one IP version)."""
    return union((int(n.network_address), int(n.broadcast_address)) for n in nets)


def union(ranges: Iterable[Span]) -> list[Span]:
    """Inclusive ranges merged (overlapping or adjacent) and sorted."""
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(lo, hi) for lo, hi in merged]


def cidrs(ranges: Iterable[Span], version: int) -> tuple[IPNetwork, ...]:
    """The fewest CIDRs that cover exactly `ranges`, in address order."""
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    out: list[IPNetwork] = []
    for first, last in ranges:
        out.extend(ipaddress.summarize_address_range(make(first), make(last)))
    return tuple(out)


def compact(nets: Iterable[IPNetwork], version: int) -> tuple[IPNetwork, ...]:
    """Overlapping and adjacent prefixes merged into the fewest CIDRs."""
    return cidrs(spans(nets), version)


def subtract(base: Iterable[Span], holes: Iterable[Span]) -> list[Span]:
    """`base` minus `holes` (both merged and sorted), as merged sorted ranges."""
    out: list[Span] = []
    hole_list = list(holes)
    for first, last in base:
        cursor = first
        for lo, hi in hole_list:
            if hi < cursor or lo > last:
                continue
            if lo > cursor:
                out.append((cursor, lo - 1))
            cursor = max(cursor, hi + 1)
            if cursor > last:
                break
        if cursor <= last:
            out.append((cursor, last))
    return out


def difference(
    a: Iterable[IPNetwork], b: Iterable[IPNetwork], version: int
) -> tuple[IPNetwork, ...]:
    """The prefixes of `a` minus those of `b`, compacted."""
    return cidrs(subtract(spans(a), spans(b)), version)


def intersects(a: Iterable[IPNetwork], b: Iterable[IPNetwork]) -> bool:
    """Whether the two prefix sets share an address."""
    right = spans(b)
    return any(lo <= last and first <= hi for first, last in spans(a) for lo, hi in right)


def is_subset(inner: Iterable[IPNetwork], outer: Iterable[IPNetwork]) -> bool:
    """Whether every address of `inner` is in `outer`."""
    return not subtract(spans(inner), spans(outer))
