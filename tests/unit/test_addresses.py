"""Subnet/IPAM arithmetic: gateways, pools, EUI-64, free ranges."""

from __future__ import annotations

import ipaddress
import time
from ipaddress import IPv4Network, IPv6Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.domain import addresses as a
from neutrino.domain.errors import BadRequest, Conflict, InvalidInput, Kind
from neutrino.domain.values import HostRoute, IpRange

IP4 = ipaddress.IPv4Address
IP6 = ipaddress.IPv6Address
NET4 = ipaddress.IPv4Network
NET6 = ipaddress.IPv6Network


def r4(start: str, end: str) -> IpRange:
    return IpRange(IP4(start), IP4(end))


def r6(start: str, end: str) -> IpRange:
    return IpRange(IP6(start), IP6(end))


def addresses_of(ranges: tuple[IpRange, ...] | list[IpRange]) -> set[int]:
    return {i for r in ranges for i in range(r.first, r.last + 1)}


# --------------------------------------------------------------------------- gateway & pools


def test_default_gateway() -> None:
    assert a.default_gateway(NET4("10.0.0.0/24")) == IP4("10.0.0.1")
    # Neutron gives an explicit-cidr IPv6 subnet its Subnet-Router anycast address...
    assert a.default_gateway(NET6("2001:db8::/64")) == IP6("2001:db8::")
    # ...but network + 1 when the subnet pool picked the prefix.
    assert a.default_gateway(NET6("2001:db8::/64"), from_subnetpool=True) == IP6("2001:db8::1")


@pytest.mark.parametrize(
    ("cidr", "gateway", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.1", [("10.0.0.2", "10.0.0.254")]),
        ("10.0.0.0/24", None, [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/24", "10.0.0.254", [("10.0.0.1", "10.0.0.253")]),
        ("10.0.0.0/24", "10.0.0.100", [("10.0.0.1", "10.0.0.99"), ("10.0.0.101", "10.0.0.254")]),
        ("10.0.0.0/24", "192.168.0.1", [("10.0.0.1", "10.0.0.254")]),  # off-link gateway
        ("10.0.0.0/24", "10.0.0.0", [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/30", "10.0.0.1", [("10.0.0.2", "10.0.0.2")]),
        ("10.0.0.0/31", None, [("10.0.0.0", "10.0.0.1")]),
        ("10.0.0.0/31", "10.0.0.1", [("10.0.0.0", "10.0.0.0")]),
        ("10.0.0.0/32", "10.0.0.0", [("10.0.0.0", "10.0.0.0")]),  # gateway NOT removed
        ("10.0.0.0/32", "10.0.0.1", [("10.0.0.0", "10.0.0.0")]),
    ],
)
def test_default_allocation_pools_v4(
    cidr: str, gateway: str | None, expected: list[tuple[str, str]]
) -> None:
    gw = IP4(gateway) if gateway else None
    assert a.default_allocation_pools(NET4(cidr), gw) == tuple(r4(s, e) for s, e in expected)


def test_default_allocation_pools_v6() -> None:
    net = NET6("2001:db8::/64")
    assert a.default_allocation_pools(net, a.default_gateway(net)) == (
        r6("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff"),
    )
    assert a.default_allocation_pools(net, IP6("2001:db8::1")) == (
        r6("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff"),
    )
    assert a.default_allocation_pools(NET6("2001:db8::/127"), IP6("2001:db8::1")) == ()
    assert a.default_allocation_pools(NET6("2001:db8::/128"), None) == (
        r6("2001:db8::", "2001:db8::"),
    )


@given(
    st.integers(min_value=20, max_value=30),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.one_of(st.none(), st.integers(min_value=0, max_value=2**12)),
)
def test_default_pools_cover_exactly_the_hosts_minus_gateway(
    prefixlen: int, seed: int, gw_offset: int | None
) -> None:
    net = NET4((seed, prefixlen), strict=False)
    gateway = None
    if gw_offset is not None:
        gateway = IP4(int(net.network_address) + gw_offset % net.num_addresses)
    pools = a.default_allocation_pools(net, gateway)
    covered = addresses_of(pools)
    hosts = set(range(int(net.network_address) + 1, int(net.broadcast_address)))
    assert covered == hosts - ({int(gateway)} if gateway else set())
    assert int(net.network_address) not in covered
    assert int(net.broadcast_address) not in covered
    assert all(p.version == 4 for p in pools)
    assert [p.first for p in pools] == sorted(p.first for p in pools)
    assert sum(a.range_size(p) for p in pools) == len(covered)  # disjoint
    a.validate_allocation_pools(pools, net, gateway)  # Neutron accepts its own defaults


# --------------------------------------------------------------------------- pool validation


def test_validate_allocation_pools_accepts() -> None:
    net = NET4("10.0.0.0/24")
    a.validate_allocation_pools([r4("10.0.0.2", "10.0.0.9"), r4("10.0.0.10", "10.0.0.254")], net)
    a.validate_allocation_pools([r4("10.0.0.0", "10.0.0.1")], NET4("10.0.0.0/31"))
    a.validate_allocation_pools([r6("2001:db8::1", "2001:db8::ff")], NET6("2001:db8::/64"))
    a.validate_allocation_pools([], net, IP4("10.0.0.1"))


@pytest.mark.parametrize(
    ("pool", "cidr"),
    [
        (r4("10.0.0.0", "10.0.0.10"), "10.0.0.0/24"),  # network address
        (r4("10.0.0.2", "10.0.0.255"), "10.0.0.0/24"),  # broadcast address
        (r4("10.0.1.2", "10.0.1.5"), "10.0.0.0/24"),
        (r6("2001:db8::", "2001:db8::5"), "2001:db8::/64"),  # subnet-router anycast
    ],
)
def test_validate_allocation_pools_out_of_bounds(pool: IpRange, cidr: str) -> None:
    with pytest.raises(BadRequest) as exc:
        a.validate_allocation_pools([pool], ipaddress.ip_network(cidr))
    assert exc.value.type == "OutOfBoundsAllocationPool"
    assert exc.value.message == f"The allocation pool {pool} spans beyond the subnet cidr {cidr}."
    assert exc.value.kind is Kind.BAD_REQUEST


def test_validate_allocation_pools_wrong_version() -> None:
    with pytest.raises(BadRequest) as exc:
        a.validate_allocation_pools([r6("::1", "::5")], NET4("10.0.0.0/24"))
    assert exc.value.type == "InvalidAllocationPool"
    assert exc.value.message == "The allocation pool ::1-::5 is not valid."


def test_validate_allocation_pools_overlap_is_a_conflict() -> None:
    pools = [r4("10.0.0.2", "10.0.0.5"), r4("10.0.0.20", "10.0.0.30"), r4("10.0.0.5", "10.0.0.9")]
    with pytest.raises(Conflict) as exc:
        a.validate_allocation_pools(pools, NET4("10.0.0.0/24"))
    assert exc.value.type == "OverlappingAllocationPools"
    assert exc.value.kind is Kind.CONFLICT
    assert exc.value.message == (
        "Found overlapping allocation pools: 10.0.0.2-10.0.0.5 10.0.0.5-10.0.0.9 "
        "for subnet 10.0.0.0/24."
    )


def test_validate_allocation_pools_gateway_conflict() -> None:
    with pytest.raises(Conflict) as exc:
        a.validate_allocation_pools(
            [r4("10.0.0.2", "10.0.0.9"), r4("10.0.0.100", "10.0.0.200")],
            NET4("10.0.0.0/24"),
            IP4("10.0.0.150"),
        )
    assert exc.value.type == "GatewayConflictWithAllocationPools"
    assert exc.value.message == (
        "Gateway ip 10.0.0.150 conflicts with allocation pool 10.0.0.100-10.0.0.200."
    )
    # a gateway outside the pools (or the cidr) is fine
    a.validate_allocation_pools([r4("10.0.0.2", "10.0.0.9")], NET4("10.0.0.0/24"), IP4("10.0.0.1"))


POOL_NET = NET4("10.0.0.0/27")
OFFSETS = st.tuples(st.integers(1, 30), st.integers(1, 30)).map(sorted)


@given(st.lists(OFFSETS, min_size=1, max_size=5))
def test_overlap_detection_matches_set_model(offsets: list[list[int]]) -> None:
    base = int(POOL_NET.network_address)
    pools = [IpRange.from_ints(base + lo, base + hi, 4) for lo, hi in offsets]
    sets = [set(range(lo, hi + 1)) for lo, hi in offsets]
    clashes = [
        (i, j) for i in range(len(sets)) for j in range(i + 1, len(sets)) if sets[i] & sets[j]
    ]
    if not clashes:
        a.validate_allocation_pools(pools, POOL_NET)
        assert a.first_overlap(pools) is None
        return
    i, j = clashes[0]
    with pytest.raises(Conflict) as exc:
        a.validate_allocation_pools(pools, POOL_NET)
    assert exc.value.message.startswith(
        f"Found overlapping allocation pools: {pools[i]} {pools[j]}"
    )


# --------------------------------------------------------------------------- subnet checks


def test_validate_gateway() -> None:
    a.validate_gateway(NET4("10.0.0.0/24"), IP4("10.0.0.1"))
    a.validate_gateway(NET4("10.0.0.0/24"), IP4("192.168.1.1"))  # off-link is allowed
    a.validate_gateway(NET6("2001:db8::/64"), IP6("2001:db8::"))  # v6 network address is ok
    for bad in ("10.0.0.0", "10.0.0.255"):
        with pytest.raises(InvalidInput) as exc:
            a.validate_gateway(NET4("10.0.0.0/24"), IP4(bad))
        assert exc.value.reason == "Gateway is not valid on subnet"
    with pytest.raises(InvalidInput) as exc2:
        a.validate_gateway(NET4("10.0.0.0/24"), IP6("2001:db8::1"))
    assert exc2.value.reason == "gateway_ip '2001:db8::1' does not match the ip_version '4'"


def test_validate_subnet_cidr() -> None:
    a.validate_subnet_cidr(NET4("10.0.0.0/24"), 4, enable_dhcp=True)
    a.validate_subnet_cidr(NET4("10.0.0.0/31"), 4, enable_dhcp=False)
    a.validate_subnet_cidr(NET4("10.0.0.0/31"), 4, enable_dhcp=True, dhcp_was_enabled=True)
    cases: list[tuple[IPv4Network | IPv6Network, int, dict[str, bool], str]] = [
        (NET4("10.0.0.0/24"), 6, {}, "cidr '10.0.0.0/24' does not match the ip_version '6'"),
        (NET6("::/64"), 6, {}, "IPv6 subnet '::' is not supported"),
        (NET4("10.0.0.0/31"), 4, {"enable_dhcp": True},
         "Subnet has a prefix length that is incompatible with DHCP service enabled"),
        (NET6("2001:db8::/127"), 6, {"enable_dhcp": True},
         "Subnet has a prefix length that is incompatible with DHCP service enabled"),
        (NET4("224.0.0.0/24"), 4, {"enable_dhcp": True},
         "Multicast IP subnet is not supported if enable_dhcp is True"),
        (NET4("127.0.0.0/24"), 4, {"enable_dhcp": True},
         "Loopback IP subnet is not supported if enable_dhcp is True"),
        (NET4("0.0.0.0/24"), 4, {"enable_dhcp": True},
         "First IP '0.0.0.0' of network is not supported if enable_dhcp is True."),
    ]  # fmt: skip
    for cidr, version, flags, message in cases:
        with pytest.raises(InvalidInput) as exc:
            a.validate_subnet_cidr(cidr, version, **flags)
        assert exc.value.reason == message
    a.validate_subnet_cidr(NET6("::/64"), 6, prefix_delegation=True)


def test_ip_valid_for_subnet() -> None:
    net4, net6 = NET4("10.0.0.0/24"), NET6("2001:db8::/64")
    assert a.ip_valid_for_subnet(net4, IP4("10.0.0.5"))
    assert not a.ip_valid_for_subnet(net4, IP4("10.0.0.0"))
    assert not a.ip_valid_for_subnet(net4, IP4("10.0.0.255"))
    assert not a.ip_valid_for_subnet(net4, IP4("10.0.1.5"))
    assert not a.ip_valid_for_subnet(net4, IP6("2001:db8::5"))
    assert a.ip_valid_for_subnet(net6, IP6("2001:db8::"))  # owner unknown
    assert a.ip_valid_for_subnet(net6, IP6("2001:db8::"), device_owner="network:router_interface")
    assert not a.ip_valid_for_subnet(net6, IP6("2001:db8::"), device_owner="compute:nova")
    assert a.ip_valid_for_subnet(net6, IP6("2001:db8::ffff:ffff:ffff:ffff"), device_owner="x")


def test_validate_host_routes() -> None:
    routes = [HostRoute(NET4("10.1.0.0/16"), IP4("10.0.0.1"))]
    a.validate_host_routes(routes, 4)
    with pytest.raises(InvalidInput) as exc:
        a.validate_host_routes(routes, 6)
    assert exc.value.reason == "nexthop '10.0.0.1' does not match the ip_version '6'"
    mixed = [HostRoute(NET6("2001:db8::/64"), IP4("10.0.0.1"))]
    with pytest.raises(InvalidInput) as exc2:
        a.validate_host_routes(mixed, 4)
    assert exc2.value.reason == "destination '2001:db8::/64' does not match the ip_version '4'"
    with pytest.raises(BadRequest) as exc3:
        a.validate_host_routes(routes * 21, 4)
    assert exc3.value.type == "HostRoutesExhausted"
    assert exc3.value.message == (
        "Unable to complete operation for new subnet. "
        "The number of host routes exceeds the limit 20."
    )


def test_validate_dns() -> None:
    a.validate_dns(4, ["8.8.8.8", "1.1.1.1"])
    with pytest.raises(InvalidInput) as exc:
        a.validate_dns(4, ["2001:4860:4860::8888"])
    assert exc.value.reason == (
        "dns_nameserver '2001:4860:4860::8888' does not match the ip_version '4'"
    )
    with pytest.raises(BadRequest) as exc2:
        a.validate_dns(4, [f"10.0.0.{i}" for i in range(6)], subnet_id="abc")
    assert exc2.value.type == "DNSNameServersExhausted"
    assert exc2.value.message == (
        "Unable to complete operation for abc. The number of DNS nameservers exceeds the limit 5."
    )


# --------------------------------------------------------------------------- EUI-64


def test_eui64_known_vector() -> None:
    got = a.eui64_address(NET6("2001:db8::/64"), "fa:16:3e:12:34:56")
    assert got == IP6("2001:db8::f816:3eff:fe12:3456")
    assert a.is_eui64_address(got)
    assert not a.is_eui64_address(IP6("2001:db8::1"))
    assert not a.is_eui64_address(IP4("10.0.0.1"))
    assert a.eui64_interface_id("00:00:00:00:00:00") == 0x020000FFFE000000


def test_eui64_rejects_ipv4_prefix() -> None:
    with pytest.raises(ValueError, match="IPv4 prefix"):
        a.eui64_address(NET4("10.0.0.0/24"), "fa:16:3e:12:34:56")  # type: ignore[arg-type]


@given(
    st.integers(min_value=0, max_value=2**48 - 1),
    st.integers(min_value=0, max_value=2**64 - 1),
)
def test_eui64_round_trips_the_mac(mac_value: int, prefix_bits: int) -> None:
    raw = f"{mac_value:012x}"
    mac = ":".join(raw[i : i + 2] for i in range(0, 12, 2))
    prefix = NET6((prefix_bits << 64, 64))
    address = a.eui64_address(prefix, mac)
    assert address in prefix
    assert a.mac_from_eui64(address) == mac
    assert a.is_eui64_address(address)
    assert int(address) & (2**64 - 1) == a.eui64_interface_id(mac)


# --------------------------------------------------------------------------- ranges


def test_range_helpers() -> None:
    pool = r4("10.0.0.2", "10.0.0.9")
    assert a.range_size(pool) == 8
    assert a.ranges_contain([pool], IP4("10.0.0.9"))
    assert not a.ranges_contain([pool], IP4("10.0.0.10"))
    assert not a.ranges_contain([pool], IP6("::a"))
    assert a.ranges_overlap(pool, r4("10.0.0.9", "10.0.0.20"))
    assert not a.ranges_overlap(pool, r4("10.0.0.10", "10.0.0.20"))
    assert a.merge_ranges([r4("10.0.0.10", "10.0.0.12"), pool, r4("10.0.0.4", "10.0.0.5")]) == (
        r4("10.0.0.2", "10.0.0.12"),
    )
    assert str(pool) == "10.0.0.2-10.0.0.9"


def test_cidrs_overlap() -> None:
    assert a.cidrs_overlap(NET4("10.0.0.0/8"), NET4("10.1.0.0/16"))
    assert not a.cidrs_overlap(NET4("10.0.0.0/24"), NET4("10.0.1.0/24"))
    assert not a.cidrs_overlap(NET4("0.0.0.0/0"), NET6("::/0"))


@given(st.integers(0, 255), st.integers(24, 32), st.integers(0, 255), st.integers(24, 32))
def test_cidrs_overlap_matches_set_model(x: int, px: int, y: int, py: int) -> None:
    n1 = NET4((0x0A000000 + x, px), strict=False)
    n2 = NET4((0x0A000000 + y, py), strict=False)
    s1 = set(range(int(n1.network_address), int(n1.broadcast_address) + 1))
    s2 = set(range(int(n2.network_address), int(n2.broadcast_address) + 1))
    assert a.cidrs_overlap(n1, n2) == bool(s1 & s2)


@given(
    st.lists(OFFSETS, min_size=0, max_size=4),
    st.sets(st.integers(0, 40), max_size=30),
)
def test_free_ranges_and_first_free_match_set_model(
    offsets: list[list[int]], used: set[int]
) -> None:
    base = int(POOL_NET.network_address)
    pools = [IpRange.from_ints(base + lo, base + hi, 4) for lo, hi in offsets]
    used_addrs = [IP4(base + u) for u in used]
    free = addresses_of(pools) - {base + u for u in used}
    got = a.free_ranges(pools, used_addrs)
    assert addresses_of(got) == free
    assert sum(a.range_size(r) for r in got) == len(free) == a.free_count(pools, used_addrs)
    assert list(got) == sorted(got, key=lambda r: r.first)
    first = a.first_free(pools, sorted(used_addrs))
    assert first == (IP4(min(free)) if free else None)


def test_first_free_on_a_slash_64_is_arithmetic() -> None:
    net = NET6("2001:db8::/64")
    pools = a.default_allocation_pools(net, a.default_gateway(net))
    used = [IP6(int(net.network_address) + i) for i in range(1, 5001)]
    started = time.perf_counter()
    assert a.first_free(pools, used) == IP6("2001:db8::1389")
    free = a.free_ranges(pools, used)
    assert free == (r6("2001:db8::1389", "2001:db8::ffff:ffff:ffff:ffff"),)
    assert a.free_count(pools, used) == 2**64 - 1 - 5000
    assert time.perf_counter() - started < 2.0
    assert a.first_free([r6("::1", "::2")], [IP6("::1"), IP6("::2")]) is None


@settings(max_examples=50)
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_first_free_skips_a_used_prefix_of_the_pool(count: int) -> None:
    net = NET6("2001:db8::/64")
    pool = IpRange.from_ints(int(net.network_address) + 1, int(net.broadcast_address), 6)
    used = [int(net.network_address) + 1 + i for i in range(min(count, 50))]
    assert a.first_free([pool], used) == IP6(int(net.network_address) + 1 + min(count, 50))
