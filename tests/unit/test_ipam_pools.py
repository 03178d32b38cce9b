"""Pure IPAM arithmetic: allocatable spans of a subnet, prefix sets, prefix choice."""

from __future__ import annotations

import ipaddress
import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from neutrino.domain import prefixes as pfx
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import IpRange
from neutrino.ipam import pools

NET = ipaddress.IPv4Network("10.0.0.0/26")
BASE = int(NET.network_address)


def subnet(pool_list: list[tuple[int, int]], gateway: int | None) -> Subnet:
    return Subnet(
        id=str(uuid.uuid4()),
        project_id="p",
        network_id="n",
        ip_version=4,
        cidr=NET,
        gateway_ip=None if gateway is None else ipaddress.IPv4Address(BASE + gateway),
        allocation_pools=tuple(IpRange.from_ints(BASE + a, BASE + b, 4) for a, b in pool_list),
    )


offsets = st.integers(min_value=0, max_value=63)
pool_lists = st.lists(st.tuples(offsets, offsets).map(sorted).map(tuple), max_size=4)


@given(pool_lists, st.one_of(st.none(), offsets), st.sets(offsets))
def test_free_spans_match_a_set_model(
    pool_list: list[tuple[int, int]], gateway: int | None, used: set[int]
) -> None:
    s = subnet(pool_list, gateway)  # type: ignore[arg-type]
    model = {a for lo, hi in pool_list for a in range(lo, hi + 1)}
    model -= {0, 63} | used | ({gateway} if gateway is not None else set())
    spans = pools.free_spans(s, [BASE + u for u in used])
    got = [a - BASE for lo, hi in spans for a in range(lo, hi + 1)]
    assert got == sorted(model)
    assert all(hi + 1 < lo2 for (_, hi), (lo2, _) in itertools.pairwise(spans))


def test_usable_bounds() -> None:
    assert pools.usable_bounds(ipaddress.ip_network("10.0.0.0/24")) == (
        int(ipaddress.ip_address("10.0.0.1")), int(ipaddress.ip_address("10.0.0.254")))
    assert pools.usable_bounds(ipaddress.ip_network("10.0.0.0/31")) == (
        int(ipaddress.ip_address("10.0.0.0")), int(ipaddress.ip_address("10.0.0.1")))
    only = int(ipaddress.ip_address("2001:db8::7"))
    assert pools.usable_bounds(ipaddress.ip_network("2001:db8::7/128")) == (only, only)
    v6 = ipaddress.ip_network("2001:db8::/64")
    assert pools.usable_bounds(v6)[0] == int(v6.network_address) + 1


def nets(*cidrs: str) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(c) for c in cidrs]


def test_prefix_sets() -> None:
    assert pfx.compact(nets("10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25"), 4) == tuple(
        nets("10.0.0.0/23"))
    assert pfx.difference(nets("10.0.0.0/23"), nets("10.0.0.0/24"), 4) == tuple(
        nets("10.0.1.0/24"))
    assert pfx.difference(nets("10.0.0.0/24"), nets("10.0.0.64/26"), 4) == tuple(
        nets("10.0.0.0/26", "10.0.0.128/25"))
    assert pfx.intersects(nets("10.0.0.0/24"), nets("10.0.0.255/32"))
    assert not pfx.intersects(nets("10.0.0.0/24"), nets("10.0.1.0/24"))
    assert pfx.is_subset(nets("10.0.0.0/25", "10.0.0.128/25"), nets("10.0.0.0/24"))
    assert not pfx.is_subset(nets("10.0.0.0/23"), nets("10.0.0.0/24"))


def test_prefix_choice_is_best_fit_then_lowest() -> None:
    blocks = pools.available_blocks(nets("10.0.0.0/16", "192.168.0.0/26"),
                                    nets("10.0.0.0/24"), 4)
    assert blocks[:2] == nets("192.168.0.0/26", "10.0.1.0/24")
    assert pools.choose_prefix(blocks, 26) == ipaddress.IPv4Network("192.168.0.0/26")
    assert pools.choose_prefix(blocks, 25) == ipaddress.IPv4Network("10.0.1.0/25")
    assert pools.choose_prefix(blocks, 20) == ipaddress.IPv4Network("10.0.16.0/20")
    assert pools.choose_prefix(blocks, 8) is None
    assert pools.prefix_is_free(ipaddress.IPv4Network("10.0.1.0/24"), nets("10.0.0.0/16"),
                                nets("10.0.0.0/24"))
    assert not pools.prefix_is_free(ipaddress.IPv4Network("10.0.0.0/23"), nets("10.0.0.0/16"),
                                    nets("10.0.0.0/24"))
    assert not pools.prefix_is_free(ipaddress.IPv4Network("10.1.0.0/24"), nets("10.0.0.0/16"),
                                    [])


@given(st.lists(st.integers(min_value=0, max_value=255), max_size=12),
       st.integers(min_value=24, max_value=30))
def test_chosen_prefixes_never_overlap(taken_octets: list[int], prefixlen: int) -> None:
    pool = nets("10.0.0.0/24")
    allocated = nets(*{f"10.0.0.{o}/32" for o in taken_octets})
    chosen = []
    while True:
        blocks = pools.available_blocks(pool, [*allocated, *chosen], 4)
        cidr = pools.choose_prefix(blocks, prefixlen)
        if cidr is None:
            break
        assert not pfx.intersects([cidr], [*allocated, *chosen])
        assert pfx.is_subset([cidr], pool)
        chosen.append(cidr)
    assert len(chosen) <= 2 ** (prefixlen - 24)
