"""DHCPv4 codec: round trips, hand-built vectors, and fuzzing (decode raises DhcpDecodeError
or nothing)."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.dhcp.codec import (
    MAGIC_COOKIE,
    DhcpDecodeError,
    DhcpMessage,
    MessageType,
    Opt,
    classless_routes,
    decode,
    dns_name,
    encode,
    mac_to_chaddr,
    parse_classless_routes,
    parse_opt_name,
    tags_match,
)

MAC = "fa:16:3e:12:34:56"


def discover_bytes() -> bytes:
    """A DISCOVER built by hand per RFC 2131 section 2 and RFC 2132."""
    head = struct.pack("!BBBBIHH", 1, 1, 6, 0, 0x12345678, 3, 0x8000)
    head += b"\0" * 16  # ciaddr yiaddr siaddr giaddr
    head += bytes.fromhex("fa163e123456") + b"\0" * 10 + b"\0" * 64 + b"\0" * 128
    opts = bytes([53, 1, 1, 61, 7, 1]) + bytes.fromhex("fa163e123456")
    opts += bytes([50, 4, 10, 0, 0, 5]) + bytes([55, 4, 1, 3, 6, 121]) + bytes([0, 0, 255])
    return (head + MAGIC_COOKIE + opts).ljust(300, b"\0")


def test_known_discover() -> None:
    msg = decode(discover_bytes())
    assert (msg.op, msg.xid, msg.secs, msg.mac, msg.broadcast) == (1, 0x12345678, 3, MAC, True)
    assert msg.message_type == MessageType.DISCOVER
    assert msg.client_id == b"\x01" + bytes.fromhex("fa163e123456")
    assert msg.requested_ip == "10.0.0.5"
    assert msg.parameter_request_list == (1, 3, 6, 121)
    assert msg.server_id is None and msg.hostname is None and msg.lease_time is None
    assert msg.ciaddr == msg.giaddr == "0.0.0.0"
    assert encode(msg) == discover_bytes().replace(b"\0\0\xff", b"\xff\0\0", 1)  # pads gone
    assert decode(encode(msg)) == msg


def test_encode_pads_to_bootp_minimum_and_ends() -> None:
    raw = encode(DhcpMessage(op=1, xid=1, options=((53, b"\x01"),)))
    assert len(raw) == 300 and raw[236:240] == MAGIC_COOKIE and raw[240:244] == b"\x35\x01\x01\xff"


def test_long_option_is_split_and_concatenated() -> None:
    value = bytes(range(256)) * 2
    raw = encode(DhcpMessage(op=2, xid=9, options=((43, value),)))
    assert raw[240:242] == bytes([43, 255]) and raw[497:499] == bytes([43, 255])
    assert decode(raw).get(43) == value


def test_overload_reads_file_then_sname() -> None:
    raw = bytearray(encode(DhcpMessage(op=1, xid=1, options=((53, b"\x03"), (50, b"1234")))))
    raw[243:249] = bytes([52, 1, 3, 0, 0, 0])  # option 50 becomes 52 = 3, then pads
    raw[108:108 + 6] = bytes([12, 2]) + b"ab" + bytes([255, 0])  # file: hostname "ab"
    raw[44:44 + 5] = bytes([12, 1]) + b"c" + bytes([255, 0])  # sname: more hostname
    msg = decode(bytes(raw))
    assert msg.hostname == "abc" and msg.file == b"" and msg.sname == b""
    assert msg.get(52) is None


@pytest.mark.parametrize("raw", [
    b"", b"\x01" * 239,
    discover_bytes()[:236] + b"\x63\x82\x53\x64" + discover_bytes()[240:],  # cookie
    discover_bytes()[:240] + bytes([53, 1, 1, 61, 200]),  # overrun
    discover_bytes()[:240] + bytes([53, 1, 1]),  # no End
    discover_bytes()[:240] + bytes([53, 1, 1, 12]),  # no length
    discover_bytes()[:240] + bytes([53, 2, 1, 1, 255]),  # bad message type length
    discover_bytes()[:240] + bytes([52, 1, 7, 255]),  # bad overload value
    discover_bytes()[:240] + bytes([52, 1, 1, 255]),  # overloaded file has no End
    bytes([9]) + discover_bytes()[1:],  # bad op
])
def test_malformed(raw: bytes) -> None:
    with pytest.raises(DhcpDecodeError):
        decode(raw)


def test_classless_routes_vectors() -> None:
    # RFC 3442 section 3 examples
    raw = classless_routes([("0.0.0.0/0", "10.0.0.1"), ("10.0.0.0/8", "10.0.0.1"),
                            ("10.17.0.0/16", "10.0.0.1"), ("10.27.129.0/24", "0.0.0.0")])
    assert raw == bytes([0, 10, 0, 0, 1, 8, 10, 10, 0, 0, 1, 16, 10, 17, 10, 0, 0, 1,
                         24, 10, 27, 129, 0, 0, 0, 0])
    assert parse_classless_routes(raw)[3] == ("10.27.129.0/24", "0.0.0.0")


def test_names_and_tags() -> None:
    assert dns_name("example.org.") == b"\x07example\x03org\x00"
    assert parse_opt_name("tag:!ipxe,option:bootfile-name") == (("!ipxe",), "bootfile-name")
    assert parse_opt_name("67") == ((), "67")
    assert tags_match(("!ipxe",), set()) and not tags_match(("ipxe",), set())
    assert tags_match(("ipxe",), {"ipxe"}) and not tags_match(("other",), {"ipxe"})


ips = st.builds(lambda n: ".".join(str(b) for b in n.to_bytes(4, "big")),
                st.integers(0, 2**32 - 1))
_RESERVED = {0, 52, 255, 1, 3, 6, 12, 50, 51, 53, 54, 55, 57, 58, 59, 61, 26}
free_options = st.dictionaries(
    st.integers(1, 254).filter(lambda c: c not in _RESERVED), st.binary(max_size=600),
    max_size=6)
messages = st.builds(
    lambda op, xid, chaddr, hops, secs, flags, ci, yi, si, gi, sname, file_, mtype, opts,
    prl: DhcpMessage(
        op=op, xid=xid, chaddr=chaddr, hops=hops, secs=secs, flags=flags, ciaddr=ci,
        yiaddr=yi, siaddr=si, giaddr=gi, sname=sname, file=file_,
        options=((53, bytes([mtype])), (55, prl), *opts.items())),
    st.sampled_from([1, 2]), st.integers(0, 2**32 - 1), st.binary(min_size=16, max_size=16),
    st.integers(0, 255), st.integers(0, 65535), st.integers(0, 65535), ips, ips, ips, ips,
    st.binary(max_size=64).map(lambda b: b.rstrip(b"\0")),
    st.binary(max_size=128).map(lambda b: b.rstrip(b"\0")),
    st.integers(1, 8), free_options, st.binary(min_size=1, max_size=300))


@given(messages)
def test_round_trip(msg: DhcpMessage) -> None:
    assert decode(encode(msg)) == msg


@given(st.binary(max_size=800))
def test_decode_arbitrary_bytes(raw: bytes) -> None:
    with contextlib.suppress(DhcpDecodeError):
        decode(raw)


@given(st.binary(max_size=400))
def test_decode_arbitrary_options_after_valid_header(tail: bytes) -> None:
    with contextlib.suppress(DhcpDecodeError):
        decode(discover_bytes()[:240] + tail)


@given(messages, st.data())
def test_decode_mutations(msg: DhcpMessage, data: st.DataObject) -> None:
    raw = bytearray(encode(msg))
    kind = data.draw(st.sampled_from(["truncate", "flip", "huge"]))
    if kind == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    else:
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] = 0xFF if kind == "huge" else raw[at] ^ (1 << data.draw(st.integers(0, 7)))
    try:
        decoded = decode(bytes(raw))
    except DhcpDecodeError:
        return
    # whatever decodes, the accessors work and it encodes again
    _ = (decoded.message_type, decoded.requested_ip, decoded.server_id, decoded.lease_time,
         decoded.parameter_request_list, decoded.hostname, decoded.client_id, decoded.mac)
    if all(c not in (Opt.PAD, Opt.END, Opt.OVERLOAD) for c, _ in decoded.options):
        encode(decoded)


def test_mac_to_chaddr() -> None:
    assert mac_to_chaddr(MAC) == bytes.fromhex("fa163e123456") + b"\0" * 10
