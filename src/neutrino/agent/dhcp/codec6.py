"""DHCPv6 wire format (RFC 8415), sans-I/O: `decode(bytes)` -> `Dhcp6Message | RelayMessage`,
`encode`. `decode` raises `DhcpDecodeError` (shared with the v4 codec) and nothing else, and it
checks the options the responder reads (IA_NA with its IAADDRs, ORO, elapsed time, rapid
commit, status code, DUIDs, a relayed message) so that the typed accessors never fail.
Options keep their order and may repeat (several IA_NA). Addresses are canonical strings.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from neutrino.agent.dhcp.codec import DhcpDecodeError

HOP_COUNT_LIMIT = 8  # RFC 8415 section 7.6
Options6 = tuple[tuple[int, bytes], ...]


class MsgType(IntEnum):
    SOLICIT = 1
    ADVERTISE = 2
    REQUEST = 3
    CONFIRM = 4
    RENEW = 5
    REBIND = 6
    REPLY = 7
    RELEASE = 8
    DECLINE = 9
    RECONFIGURE = 10
    INFORMATION_REQUEST = 11
    RELAY_FORW = 12
    RELAY_REPL = 13


class Opt6(IntEnum):
    CLIENTID = 1
    SERVERID = 2
    IA_NA = 3
    IA_TA = 4
    IAADDR = 5
    ORO = 6
    PREFERENCE = 7
    ELAPSED_TIME = 8
    RELAY_MSG = 9
    STATUS_CODE = 13
    RAPID_COMMIT = 14
    INTERFACE_ID = 18
    DNS_SERVERS = 23
    DOMAIN_LIST = 24
    IA_PD = 25
    BOOTFILE_URL = 59
    BOOTFILE_PARAM = 60
    CLIENT_LINKLAYER_ADDR = 79  # RFC 6939, added by relays


class Status(IntEnum):
    SUCCESS = 0
    UNSPEC_FAIL = 1
    NO_ADDRS_AVAIL = 2
    NO_BINDING = 3
    NOT_ON_LINK = 4
    USE_MULTICAST = 5


def _get(options: Options6, code: int) -> bytes | None:
    return next((value for c, value in options if c == code), None)


@dataclass(frozen=True, slots=True)
class IaAddress:
    address: str
    preferred: int
    valid: int
    options: Options6 = ()


@dataclass(frozen=True, slots=True)
class IaNa:
    iaid: int
    t1: int = 0
    t2: int = 0
    options: Options6 = ()  # IAADDR and STATUS_CODE options, encoded

    @property
    def addresses(self) -> tuple[IaAddress, ...]:
        return tuple(_ia_address(v) for c, v in self.options if c == Opt6.IAADDR)

    @property
    def status(self) -> int | None:
        value = _get(self.options, Opt6.STATUS_CODE)
        return None if value is None else int.from_bytes(value[:2], "big")


@dataclass(frozen=True, slots=True)
class Dhcp6Message:
    msg_type: int
    transaction_id: int  # 24 bits
    options: Options6 = field(default=())

    def get(self, code: int) -> bytes | None:
        return _get(self.options, code)

    @property
    def client_id(self) -> bytes | None:
        return self.get(Opt6.CLIENTID)

    @property
    def server_id(self) -> bytes | None:
        return self.get(Opt6.SERVERID)

    @property
    def oro(self) -> tuple[int, ...]:
        value = self.get(Opt6.ORO) or b""
        return tuple(int.from_bytes(value[i:i + 2], "big") for i in range(0, len(value), 2))

    @property
    def rapid_commit(self) -> bool:
        return self.get(Opt6.RAPID_COMMIT) is not None

    @property
    def ia_nas(self) -> tuple[IaNa, ...]:
        return tuple(decode_ia_na(v) for c, v in self.options if c == Opt6.IA_NA)


@dataclass(frozen=True, slots=True)
class RelayMessage:
    msg_type: int  # RELAY_FORW or RELAY_REPL
    hop_count: int
    link_address: str
    peer_address: str
    options: Options6 = field(default=())

    def get(self, code: int) -> bytes | None:
        return _get(self.options, code)

    @property
    def relayed(self) -> Dhcp6Message | RelayMessage:
        """The message inside (decode checked it is there and well formed)."""
        return decode(self.get(Opt6.RELAY_MSG) or b"")


# --------------------------------------------------------------------------- decode
def decode(data: bytes) -> Dhcp6Message | RelayMessage:
    return _decode(data, depth=0)


def _decode(data: bytes, depth: int) -> Dhcp6Message | RelayMessage:
    if len(data) < 4:
        raise DhcpDecodeError(f"truncated: {len(data)} bytes")
    kind = data[0]
    if kind in (MsgType.RELAY_FORW, MsgType.RELAY_REPL):
        if len(data) < 34 or depth > HOP_COUNT_LIMIT:
            raise DhcpDecodeError("truncated or too deeply nested relay message")
        options = _options(data[34:])
        inner = _get(options, Opt6.RELAY_MSG)
        if inner is None:
            raise DhcpDecodeError("relay message without a Relay Message option")
        _decode(inner, depth + 1)
        return RelayMessage(kind, data[1], _v6(data[2:18]), _v6(data[18:34]), options)
    if kind == 0:
        raise DhcpDecodeError("message type 0")
    options = _options(data[4:])
    for code, value in options:
        _check(code, value)
    return Dhcp6Message(kind, int.from_bytes(data[1:4], "big"), options)


def _v6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def _options(buf: bytes) -> Options6:
    out, i = [], 0
    while i < len(buf):
        if i + 4 > len(buf):
            raise DhcpDecodeError("truncated option header")
        code, length = struct.unpack_from("!HH", buf, i)
        if i + 4 + length > len(buf):
            raise DhcpDecodeError(f"option {code} overruns the buffer")
        out.append((code, buf[i + 4:i + 4 + length]))
        i += 4 + length
    return tuple(out)


def _check(code: int, value: bytes) -> None:
    bad: dict[int, bool] = {
        Opt6.CLIENTID: not 2 <= len(value) <= 130, Opt6.SERVERID: not 2 <= len(value) <= 130,
        Opt6.ORO: len(value) % 2 == 1, Opt6.ELAPSED_TIME: len(value) != 2,
        Opt6.RAPID_COMMIT: len(value) != 0, Opt6.STATUS_CODE: len(value) < 2,
        Opt6.DNS_SERVERS: len(value) % 16 != 0,
    }
    if bad.get(code, False):
        raise DhcpDecodeError(f"option {code}: bad length {len(value)}")
    if code == Opt6.IA_NA:
        decode_ia_na(value)


def decode_ia_na(value: bytes) -> IaNa:
    if len(value) < 12:
        raise DhcpDecodeError("IA_NA too short")
    iaid, t1, t2 = struct.unpack_from("!III", value)
    options = _options(value[12:])
    for code, sub in options:
        if code == Opt6.IAADDR:
            _ia_address(sub)
        _check(code, sub)
    return IaNa(iaid, t1, t2, options)


def _ia_address(value: bytes) -> IaAddress:
    if len(value) < 24:
        raise DhcpDecodeError("IAADDR too short")
    preferred, valid = struct.unpack_from("!II", value, 16)
    return IaAddress(_v6(value[:16]), preferred, valid, _options(value[24:]))


# --------------------------------------------------------------------------- encode
def encode(msg: Dhcp6Message | RelayMessage) -> bytes:
    if isinstance(msg, RelayMessage):
        head = bytes([msg.msg_type, msg.hop_count]) + _packed(msg.link_address) \
            + _packed(msg.peer_address)
    else:
        head = bytes([msg.msg_type]) + msg.transaction_id.to_bytes(3, "big")
    return head + encode_options(msg.options)


def _packed(address: str) -> bytes:
    return ipaddress.IPv6Address(address).packed


def encode_options(options: Iterable[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack("!HH", code, len(value)) + value for code, value in options)


def encode_ia_na(ia: IaNa) -> bytes:
    return struct.pack("!III", ia.iaid, ia.t1, ia.t2) + encode_options(ia.options)


def ia_address(address: str, preferred: int, valid: int) -> tuple[int, bytes]:
    return Opt6.IAADDR, _packed(address) + struct.pack("!II", preferred, valid)


def status_code(code: Status, message: str = "") -> tuple[int, bytes]:
    return Opt6.STATUS_CODE, code.to_bytes(2, "big") + message.encode()


def addresses(values: Iterable[str]) -> bytes:
    return b"".join(_packed(v) for v in values)


# --------------------------------------------------------------------------- identities
DUID_LLT, DUID_EN, DUID_LL, DUID_UUID = 1, 2, 3, 4
HW_ETHERNET = 1


def duid_ll(mac: str) -> bytes:
    """DUID-LL (RFC 8415 11.4) of an Ethernet MAC: our server identifier."""
    return struct.pack("!HH", DUID_LL, HW_ETHERNET) + bytes(int(x, 16) for x in mac.split(":"))


def mac_from_duid(duid: bytes) -> str | None:
    """The Ethernet MAC inside a DUID-LL or DUID-LLT, else None (DUID-EN, DUID-UUID ...)."""
    if len(duid) < 4:
        return None
    kind, hw = struct.unpack_from("!HH", duid)
    start = {DUID_LL: 4, DUID_LLT: 8}.get(kind)
    if hw != HW_ETHERNET or start is None or len(duid) != start + 6:
        return None
    return ":".join(f"{b:02x}" for b in duid[start:])


def mac_from_link_local(address: str) -> str | None:
    """The MAC of a modified EUI-64 link-local address (fe80::f816:3eff:fe12:3456 ->
    fa:16:3e:12:34:56), else None (privacy or stable-opaque interface identifiers)."""
    try:
        ip = ipaddress.IPv6Address(address.split("%")[0])
    except ValueError:
        return None
    iid = ip.packed[8:]
    if not ip.is_link_local or iid[3:5] != b"\xff\xfe":
        return None
    raw = bytes([iid[0] ^ 0x02]) + iid[1:3] + iid[5:]
    return ":".join(f"{b:02x}" for b in raw)
