"""Router advertisements: modes -> flags, options, round trips, checksum, fuzzing."""

from __future__ import annotations

import contextlib
import ipaddress
import struct
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.dhcp.ra import (
    PrefixInfo,
    RaDecodeError,
    RouterAdvertisement,
    build,
    decode,
    encode,
    is_router_solicitation,
    with_checksum,
)
from neutrino.wire import SnapshotSubnet

MAC = "fa:16:3e:00:00:02"
BASE = SnapshotSubnet(id="s", cidr="2001:db8:1::/64", ip_version=6, gateway_ip="2001:db8:1::1",
                      enable_dhcp=True, dns_nameservers=("2001:db8::53", "8.8.8.8"),
                      ipv6_ra_mode="slaac", ipv6_address_mode="slaac")


@pytest.mark.parametrize(("mode", "managed", "other", "autonomous"), [
    ("slaac", False, False, True),
    ("dhcpv6-stateless", False, True, True),
    ("dhcpv6-stateful", True, True, False),
])
def test_modes(mode: str, managed: bool, other: bool, autonomous: bool) -> None:
    ra = build([replace(BASE, ipv6_ra_mode=mode, ipv6_address_mode=mode)], source_mac=MAC,
               mtu=1450, dns_domain="example.org.")
    assert ra is not None
    got = decode(encode(ra))
    assert got == ra
    assert (got.managed, got.other, got.router_lifetime) == (managed, other, 0)
    assert got.prefixes == (PrefixInfo("2001:db8:1::/64", True, autonomous),)
    assert got.mtu == 1450 and got.source_mac == MAC
    assert got.rdnss == ("2001:db8::53",) and got.dnssl == ("example.org",)


def test_wire_layout() -> None:
    ra = build([BASE], source_mac=MAC, mtu=1500, router_lifetime=1800)
    assert ra is not None
    raw = encode(ra)
    assert raw[:4] == bytes([134, 0, 0, 0])  # the kernel fills the checksum
    assert struct.unpack_from("!BBH", raw, 4) == (64, 0, 1800)
    assert raw[16:24] == bytes([1, 1]) + bytes.fromhex("fa163e000002")
    assert raw[24:32] == bytes([5, 1, 0, 0]) + (1500).to_bytes(4, "big")
    assert raw[32:36] == bytes([3, 4, 64, 0xC0])  # L and A
    assert raw[48:64] == ipaddress.IPv6Address("2001:db8:1::").packed
    assert raw[64:66] == bytes([25, 3])  # RDNSS with one address


def test_nothing_to_advertise() -> None:
    assert build([replace(BASE, ipv6_ra_mode=None)], source_mac=MAC, mtu=1500) is None
    assert build([], source_mac=MAC, mtu=1500) is None


def test_checksum() -> None:
    ra = build([BASE], source_mac=MAC, mtu=1500)
    assert ra is not None
    src, dst = "fe80::f816:3eff:fe00:2", "ff02::1"
    raw = with_checksum(encode(ra), src, dst)
    pseudo = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
              + struct.pack("!I3xB", len(raw), 58))
    data = pseudo + raw + b"\0" * (len(raw) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF


def test_router_solicitation() -> None:
    assert is_router_solicitation(bytes([133, 0, 0x12, 0x34, 0, 0, 0, 0]))
    assert not is_router_solicitation(bytes([134, 0, 0, 0, 0, 0, 0, 0]))


v6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
prefixes = st.builds(
    lambda n, length, on, auto, valid, pref: PrefixInfo(
        str(ipaddress.IPv6Network((n, length), strict=False)), on, auto, valid, pref),
    st.integers(0, 2**128 - 1), st.integers(0, 128), st.booleans(), st.booleans(),
    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
domains = st.lists(labels, min_size=1, max_size=4).map(".".join)
ras = st.builds(
    RouterAdvertisement, st.booleans(), st.booleans(), st.integers(0, 65535),
    st.integers(0, 255), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
    st.none() | st.builds(lambda b: ":".join(f"{x:02x}" for x in b), st.binary(min_size=6,
                                                                              max_size=6)),
    st.none() | st.integers(0, 2**32 - 1), st.lists(prefixes, max_size=3).map(tuple),
    st.lists(v6, max_size=3).map(tuple), st.lists(domains, max_size=3).map(tuple),
    st.integers(0, 2**32 - 1))


@given(ras)
def test_round_trip(ra: RouterAdvertisement) -> None:
    got = decode(encode(ra))
    if not ra.rdnss and not ra.dnssl:
        got = replace(got, dns_lifetime=ra.dns_lifetime)  # not on the wire then
    assert got == ra


@given(st.binary(max_size=300))
def test_decode_arbitrary_bytes(raw: bytes) -> None:
    with contextlib.suppress(RaDecodeError):
        decode(bytes([134, 0]) + raw)


@given(ras, st.data())
def test_decode_mutations(ra: RouterAdvertisement, data: st.DataObject) -> None:
    raw = bytearray(encode(ra))
    raw = raw[:data.draw(st.integers(0, len(raw)))]
    for _ in range(data.draw(st.integers(0, 4))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(RaDecodeError):
        decode(bytes(raw))
