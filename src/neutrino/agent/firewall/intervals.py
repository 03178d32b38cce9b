"""Set element arithmetic (pure): addresses and networks as half-open integer intervals, the
way an nft interval set stores them, and the element changes between two sets."""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["Interval", "changes", "covers", "from_keys", "interval", "merged", "text", "to_keys"]

Interval = tuple[int, int]  # [low, high) as integers; high is 2**bits at the top of the space


def bits(version: int) -> int:
    return 32 if version == 4 else 128


@lru_cache(maxsize=1 << 16)
def interval(address: str) -> Interval:
    """The interval of one address or network text ("10.0.0.1", "10.0.0.0/24")."""
    net = ipaddress.ip_network(address, strict=False)
    return int(net.network_address), int(net.broadcast_address) + 1


def text(span: Interval, version: int) -> str:
    """An interval in nft syntax: an address, a network, or a `low-high` range."""
    low, high = span
    factory = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    size = high - low
    if size == 1:
        return str(factory(low))
    if size & (size - 1) == 0 and low % size == 0:
        return f"{factory(low)}/{bits(version) - size.bit_length() + 1}"
    return f"{factory(low)}-{factory(high - 1)}"


def to_keys(span: Interval, version: int) -> list[tuple[int, bool]]:
    """The elements nft writes for an interval: its start, and the first address after it
    flagged as an interval end -- left out when the interval reaches the top."""
    low, high = span
    return [(low, False)] if high >= 1 << bits(version) else [(low, False), (high, True)]


def from_keys(keys: Iterable[tuple[int, bool]], version: int) -> set[Interval]:
    """The intervals of (key, is interval end) elements as the kernel dumps them, any order.
    At equal keys the end of one interval comes before the start of the next."""
    out: set[Interval] = set()
    start: int | None = None
    for key, is_start in sorted((k, not end) for k, end in keys):
        if is_start:
            if start is None:
                start = key
        elif start is not None:
            out.add((start, key))
            start = None
    if start is not None:
        out.add((start, 1 << bits(version)))
    return out


def changes(have: set[Interval], want: Iterable[str]) -> tuple[list[Interval], list[Interval]]:
    """(intervals to delete, intervals to add), each sorted, turning `have` into `want`."""
    wanted = {interval(a) for a in want}
    return sorted(have - wanted), sorted(wanted - have)


def merged(spans: Iterable[Interval]) -> tuple[Interval, ...]:
    """The same addresses as sorted, non-overlapping, non-adjacent intervals."""
    out: list[Interval] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return tuple(out)


def covers(spans: tuple[Interval, ...], address: int) -> bool:
    """Whether `address` is in `spans`, which must be `merged`."""
    i = bisect.bisect_right(spans, (address, 1 << 129)) - 1
    return i >= 0 and spans[i][0] <= address < spans[i][1]
