"""DHCPv6 codec: round trips, vectors, fuzzing (DhcpDecodeError or nothing)."""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.dhcp.codec import DhcpDecodeError
from neutrino.agent.dhcp.codec6 import (
    Dhcp6Message,
    IaNa,
    MsgType,
    Opt6,
    RelayMessage,
    Status,
    decode,
    duid_ll,
    encode,
    encode_ia_na,
    ia_address,
    mac_from_duid,
    mac_from_link_local,
    status_code,
)

MAC = "fa:16:3e:12:34:56"


def solicit_bytes() -> bytes:
    """A SOLICIT by hand (RFC 8415 8, 21): xid 0x123456, client id DUID-LL, IA_NA, ORO,
    elapsed time, rapid commit."""
    duid = bytes.fromhex("00030001fa163e123456")
    ia = bytes.fromhex("00000001" "00000000" "00000000")
    return (bytes([1, 0x12, 0x34, 0x56]) + bytes.fromhex("0001000a") + duid
            + bytes.fromhex("0003000c") + ia + bytes.fromhex("00060004" "00170018")
            + bytes.fromhex("00080002" "0000") + bytes.fromhex("000e0000"))


def test_known_solicit() -> None:
    msg = decode(solicit_bytes())
    assert isinstance(msg, Dhcp6Message)
    assert (msg.msg_type, msg.transaction_id) == (MsgType.SOLICIT, 0x123456)
    assert msg.client_id == duid_ll(MAC) and mac_from_duid(msg.client_id) == MAC
    assert msg.ia_nas == (IaNa(1),) and msg.oro == (23, 24) and msg.rapid_commit
    assert msg.server_id is None
    assert encode(msg) == solicit_bytes()


def test_ia_na_with_address() -> None:
    ia = IaNa(7, 100, 160, (ia_address("2001:db8::5", 300, 400), status_code(Status.SUCCESS)))
    msg = decode(encode(Dhcp6Message(MsgType.REPLY, 1, ((Opt6.IA_NA, encode_ia_na(ia)),))))
    assert isinstance(msg, Dhcp6Message)
    (got,) = msg.ia_nas
    assert got == ia and got.status == Status.SUCCESS
    assert [(a.address, a.preferred, a.valid) for a in got.addresses] == [
        ("2001:db8::5", 300, 400)]


def test_relay_round_trip() -> None:
    inner = solicit_bytes()
    relay = RelayMessage(MsgType.RELAY_FORW, 0, "2001:db8::1", "fe80::f816:3eff:fe12:3456",
                         ((Opt6.INTERFACE_ID, b"eth0"), (Opt6.RELAY_MSG, inner)))
    got = decode(encode(relay))
    assert got == relay and isinstance(got, RelayMessage)
    assert encode(got.relayed) == inner


def test_identities() -> None:
    llt = bytes.fromhex("00010001" "2a2b2c2d") + bytes.fromhex("fa163e123456")
    assert mac_from_duid(llt) == MAC
    assert mac_from_duid(bytes.fromhex("0002000000090102")) is None  # DUID-EN
    assert mac_from_link_local("fe80::f816:3eff:fe12:3456%tap0") == MAC
    assert mac_from_link_local("fe80::1") is None
    assert mac_from_link_local("2001:db8::f816:3eff:fe12:3456") is None
    assert mac_from_link_local("garbage") is None


@pytest.mark.parametrize("raw", [
    b"", b"\x01\x00\x00",
    bytes([1, 0, 0, 1]) + bytes.fromhex("00010010") + b"x",  # overrun
    bytes([1, 0, 0, 1]) + bytes.fromhex("000100"),  # truncated header
    bytes([1, 0, 0, 1]) + bytes.fromhex("00030004") + b"\0" * 4,  # short IA_NA
    bytes([1, 0, 0, 1]) + bytes.fromhex("00080001") + b"\0",  # elapsed time length
    bytes([1, 0, 0, 1]) + bytes.fromhex("000e0001") + b"\0",  # rapid commit length
    bytes([12, 0]) + b"\0" * 32,  # relay without a message
    bytes([12, 0]) + b"\0" * 32 + bytes.fromhex("00090002") + b"\x01\x00",  # bad inner
    bytes([0, 0, 0, 1]),
])
def test_malformed(raw: bytes) -> None:
    with pytest.raises(DhcpDecodeError):
        decode(raw)


def test_relay_nesting_is_bounded() -> None:
    raw = solicit_bytes()
    for _ in range(12):
        raw = bytes([12, 0]) + b"\0" * 32 + bytes.fromhex("0009") + len(raw).to_bytes(2, "big") \
            + raw
    with pytest.raises(DhcpDecodeError):
        decode(raw)


addrs = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
ias = st.builds(IaNa, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                st.integers(0, 2**32 - 1),
                st.lists(st.builds(ia_address, addrs, st.integers(0, 2**32 - 1),
                                   st.integers(0, 2**32 - 1)), max_size=3).map(tuple))
free = st.tuples(st.integers(0, 65535).filter(lambda c: c not in {1, 2, 3, 6, 8, 9, 13, 14, 23}),
                 st.binary(max_size=80))
messages = st.builds(
    lambda kind, xid, duid, ia_list, others: Dhcp6Message(kind, xid, (
        (Opt6.CLIENTID, duid), *((Opt6.IA_NA, encode_ia_na(ia)) for ia in ia_list),
        *others)),
    st.integers(1, 11), st.integers(0, 2**24 - 1), st.binary(min_size=2, max_size=130),
    st.lists(ias, max_size=3), st.lists(free, max_size=4))


@given(messages)
def test_round_trip(msg: Dhcp6Message) -> None:
    assert decode(encode(msg)) == msg


@given(messages, addrs, addrs, st.integers(0, 8))
def test_relay_round_trip_generated(msg: Dhcp6Message, link: str, peer: str, hops: int) -> None:
    relay = RelayMessage(MsgType.RELAY_FORW, hops, link, peer, ((Opt6.RELAY_MSG, encode(msg)),))
    assert decode(encode(relay)) == relay


@given(st.binary(max_size=400))
def test_decode_arbitrary_bytes(raw: bytes) -> None:
    with contextlib.suppress(DhcpDecodeError):
        decode(raw)


@given(messages, st.data())
def test_decode_mutations(msg: Dhcp6Message, data: st.DataObject) -> None:
    raw = bytearray(encode(msg))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    else:
        for _ in range(data.draw(st.integers(1, 6))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] = data.draw(st.sampled_from([0, 0xFF, raw[at] ^ 0x10]))
    try:
        got = decode(bytes(raw))
    except DhcpDecodeError:
        return
    if isinstance(got, Dhcp6Message):  # the accessors never fail on what decodes
        _ = (got.client_id, got.server_id, got.oro, got.rapid_commit,
             [(ia.addresses, ia.status) for ia in got.ia_nas])
    encode(got)
