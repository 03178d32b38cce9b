"""DHCPv4 wire format (RFC 2131/2132), sans-I/O: `decode(bytes) -> DhcpMessage`, `encode`.

`decode` raises `DhcpDecodeError` and nothing else on any malformed input: a short header, a
bad magic cookie, an option running past the buffer, a missing End option, a bad overload
(option 52) value, or a well-known option with the wrong length (53, 50, 54, 51, 57, 55 ...),
so the typed accessors of a decoded message never fail. Pad (0) bytes are skipped. Options
that appear more than once are concatenated in order (RFC 3396): first the `options` field,
then `file`, then `sname` when option 52 overloads them; the overloaded header fields then
decode as empty. `encode` never overloads; it splits a value longer than 255 bytes into
consecutive instances of its code (RFC 3396) and pads the packet to the 300-byte BOOTP minimum.

Addresses are dotted-quad strings; `chaddr` is the raw 16-byte field (`mac` formats it).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import IntEnum

MAGIC_COOKIE = b"\x63\x82\x53\x63"
HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # 236 bytes, then the cookie
MIN_SIZE = 300
BROADCAST_FLAG = 0x8000
BOOTREQUEST, BOOTREPLY = 1, 2
ZERO = "0.0.0.0"


class DhcpDecodeError(ValueError):
    """The bytes are not a well-formed DHCP message (v4 or v6: `codec6` raises it too)."""


class MessageType(IntEnum):
    DISCOVER = 1
    OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = 2, 3, 4, 5, 6, 7, 8


class Opt(IntEnum):
    """The option codes the responder reads or writes (RFC 2132, 3046, 3442, 4578)."""

    PAD = 0
    SUBNET_MASK = 1
    ROUTER = 3
    DNS = 6
    HOSTNAME = 12
    DOMAIN_NAME = 15
    MTU = 26
    BROADCAST = 28
    REQUESTED_IP = 50
    LEASE_TIME = 51
    OVERLOAD = 52
    MESSAGE_TYPE = 53
    SERVER_ID = 54
    PARAMETER_REQUEST_LIST = 55
    MESSAGE = 56
    MAX_MESSAGE_SIZE = 57
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    CLIENT_ID = 61
    BOOTFILE_NAME = 67
    RELAY_AGENT_INFO = 82
    CLASSLESS_ROUTES = 121
    IPXE_ENCAP = 175
    MS_CLASSLESS_ROUTES = 249
    END = 255


# Options whose value must have this exact length, or a multiple of 4 (-4) / nonzero (-1).
_LENGTHS: dict[int, int] = {
    Opt.MESSAGE_TYPE: 1, Opt.REQUESTED_IP: 4, Opt.SERVER_ID: 4, Opt.LEASE_TIME: 4,
    Opt.RENEWAL_TIME: 4, Opt.REBINDING_TIME: 4, Opt.MAX_MESSAGE_SIZE: 2, Opt.SUBNET_MASK: 4,
    Opt.OVERLOAD: 1, Opt.MTU: 2, Opt.ROUTER: -4, Opt.DNS: -4, Opt.PARAMETER_REQUEST_LIST: -1,
    Opt.CLIENT_ID: -1, Opt.HOSTNAME: -1}

Options = tuple[tuple[int, bytes], ...]


@dataclass(frozen=True, slots=True)
class DhcpMessage:
    op: int
    xid: int
    chaddr: bytes = b"\0" * 16
    htype: int = 1
    hlen: int = 6
    hops: int = 0
    secs: int = 0
    flags: int = 0
    ciaddr: str = ZERO
    yiaddr: str = ZERO
    siaddr: str = ZERO
    giaddr: str = ZERO
    sname: bytes = b""
    file: bytes = b""
    options: Options = field(default=())  # (code, value) in order, each code once

    # --- typed accessors (safe on a decoded message: decode checked the lengths)
    def get(self, code: int) -> bytes | None:
        for c, value in self.options:
            if c == code:
                return value
        return None

    @property
    def message_type(self) -> int | None:
        value = self.get(Opt.MESSAGE_TYPE)
        return value[0] if value else None

    @property
    def mac(self) -> str:
        return ":".join(f"{b:02x}" for b in self.chaddr[:min(self.hlen, 16)])

    @property
    def broadcast(self) -> bool:
        return bool(self.flags & BROADCAST_FLAG)

    @property
    def requested_ip(self) -> str | None:
        return _ip_or_none(self.get(Opt.REQUESTED_IP))

    @property
    def server_id(self) -> str | None:
        return _ip_or_none(self.get(Opt.SERVER_ID))

    @property
    def client_id(self) -> bytes | None:
        return self.get(Opt.CLIENT_ID)

    @property
    def parameter_request_list(self) -> tuple[int, ...]:
        return tuple(self.get(Opt.PARAMETER_REQUEST_LIST) or b"")

    @property
    def hostname(self) -> str | None:
        value = self.get(Opt.HOSTNAME)
        return None if value is None else value.decode("utf-8", "replace")

    @property
    def lease_time(self) -> int | None:
        value = self.get(Opt.LEASE_TIME)
        return None if value is None or len(value) != 4 else int.from_bytes(value, "big")

    def with_options(self, options: Iterable[tuple[int, bytes]]) -> DhcpMessage:
        return replace(self, options=tuple(options))


def mac_to_chaddr(mac: str) -> bytes:
    raw = bytes(int(part, 16) for part in mac.split(":"))
    return raw.ljust(16, b"\0")


def _ip_or_none(value: bytes | None) -> str | None:
    return None if value is None or len(value) != 4 else str(ipaddress.IPv4Address(value))


def _ip(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


# --------------------------------------------------------------------------- decode
def decode(data: bytes) -> DhcpMessage:
    if len(data) < HEADER.size + 4:
        raise DhcpDecodeError(f"truncated: {len(data)} bytes")
    (op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, chaddr, sname, file_
     ) = HEADER.unpack_from(data)
    if data[HEADER.size:HEADER.size + 4] != MAGIC_COOKIE:
        raise DhcpDecodeError("bad magic cookie")
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise DhcpDecodeError(f"bad op {op}")
    chunks: dict[int, list[bytes]] = {}
    order: list[int] = []
    _parse_options(data[HEADER.size + 4:], chunks, order, "options")
    overload = b"".join(chunks.pop(Opt.OVERLOAD, []))
    if overload:
        order.remove(Opt.OVERLOAD)
        if len(overload) != 1 or overload[0] not in (1, 2, 3):
            raise DhcpDecodeError(f"bad overload option {overload.hex()}")
        if overload[0] & 1:
            _parse_options(file_, chunks, order, "file", overloaded=True)
            file_ = b""
        if overload[0] & 2:
            _parse_options(sname, chunks, order, "sname", overloaded=True)
            sname = b""
    options = tuple((code, b"".join(chunks[code])) for code in order)
    for code, value in options:
        want = _LENGTHS.get(code)
        if want is None:
            continue
        if (want > 0 and len(value) != want) or (want == -4 and (not value or len(value) % 4)) \
                or (want == -1 and not value):
            raise DhcpDecodeError(f"option {code}: bad length {len(value)}")
    return DhcpMessage(
        op=op, htype=htype, hlen=hlen, hops=hops, xid=xid, secs=secs, flags=flags,
        ciaddr=_addr(ci), yiaddr=_addr(yi), siaddr=_addr(si), giaddr=_addr(gi), chaddr=chaddr,
        sname=sname.rstrip(b"\0"), file=file_.rstrip(b"\0"), options=options)


def _addr(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(raw))


def _parse_options(buf: bytes, chunks: dict[int, list[bytes]], order: list[int], where: str,
                   overloaded: bool = False) -> None:
    i = 0
    while i < len(buf):
        code = buf[i]
        if code == Opt.PAD:
            i += 1
            continue
        if code == Opt.END:
            return
        if i + 1 >= len(buf):
            raise DhcpDecodeError(f"{where}: option {code} has no length")
        end = i + 2 + buf[i + 1]
        if end > len(buf):
            raise DhcpDecodeError(f"{where}: option {code} overruns the buffer")
        if not (overloaded and code == Opt.OVERLOAD):  # 52 inside file/sname is meaningless
            if code not in chunks:
                chunks[code] = []
                order.append(code)
            chunks[code].append(buf[i + 2:end])
        i = end
    raise DhcpDecodeError(f"{where}: no End option")


# --------------------------------------------------------------------------- encode
def encode(msg: DhcpMessage) -> bytes:
    if len(msg.chaddr) > 16 or len(msg.sname) > 64 or len(msg.file) > 128:
        raise ValueError("chaddr, sname or file too long")
    head = HEADER.pack(msg.op, msg.htype, msg.hlen, msg.hops, msg.xid, msg.secs, msg.flags,
                       _ip(msg.ciaddr), _ip(msg.yiaddr), _ip(msg.siaddr), _ip(msg.giaddr),
                       msg.chaddr, msg.sname, msg.file)
    body = b"".join(_encode_option(code, value) for code, value in msg.options)
    packet = head + MAGIC_COOKIE + body + bytes([Opt.END])
    return packet.ljust(MIN_SIZE, b"\0")


def _encode_option(code: int, value: bytes) -> bytes:
    if code in (Opt.PAD, Opt.END, Opt.OVERLOAD) or not 0 <= code <= 255:
        raise ValueError(f"option code {code} cannot be encoded as an option")
    if not value:
        return bytes([code, 0])
    return b"".join(bytes([code, len(part)]) + part for part in _split(value, 255))


def _split(value: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(value), size):
        yield value[start:start + size]


# --------------------------------------------------------------------------- option values
def ips(addresses: Iterable[str]) -> bytes:
    return b"".join(_ip(a) for a in addresses)


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def classless_routes(routes: Iterable[tuple[str, str]]) -> bytes:
    """RFC 3442: each route is the prefix length, the significant octets of the destination,
    then the router (0.0.0.0 = on-link)."""
    out = bytearray()
    for destination, nexthop in routes:
        net = ipaddress.IPv4Network(destination, strict=False)
        significant = (net.prefixlen + 7) // 8
        out += bytes([net.prefixlen]) + net.network_address.packed[:significant] + _ip(nexthop)
    return bytes(out)


def parse_classless_routes(value: bytes) -> tuple[tuple[str, str], ...]:
    """The inverse of `classless_routes` (for tests and logs); raises DhcpDecodeError."""
    routes, i = [], 0
    while i < len(value):
        width = value[i]
        significant = (width + 7) // 8
        if width > 32 or i + 1 + significant + 4 > len(value):
            raise DhcpDecodeError("bad classless static route")
        dest = value[i + 1:i + 1 + significant].ljust(4, b"\0")
        router = value[i + 1 + significant:i + 5 + significant]
        routes.append((f"{ipaddress.IPv4Address(dest)}/{width}", _addr(router)))
        i += 5 + significant
    return tuple(routes)


def dns_name(name: str) -> bytes:
    """A domain name in DNS wire format, uncompressed (RFC 1035 3.1), for options 119 and the
    DHCPv6 domain list."""
    out = bytearray()
    for label in name.strip(".").split("."):
        raw = label.encode("idna") if label else b""
        if not raw or len(raw) > 63:
            raise ValueError(f"bad domain name {name!r}")
        out += bytes([len(raw)]) + raw
    return bytes(out + b"\0")


# --------------------------------------------------------------------------- extra_dhcp_opts
# Neutron hands a port's extra_dhcp_opts to dnsmasq as `option:<name>,<value>` (or a bare
# code); these are dnsmasq's names for the options worth having, with how to encode a value.
NAMED: dict[str, tuple[int, str]] = {
    "netmask": (1, "ip"), "time-offset": (2, "i32"), "router": (3, "ips"),
    "dns-server": (6, "ips"), "log-server": (7, "ips"), "lpr-server": (9, "ips"),
    "hostname": (12, "str"), "boot-file-size": (13, "u16"), "domain-name": (15, "str"),
    "swap-server": (16, "ip"), "root-path": (17, "str"), "extension-path": (18, "str"),
    "ip-forward-enable": (19, "bool"), "non-local-source-routing": (20, "bool"),
    "max-datagram-reassembly": (22, "u16"), "default-ttl": (23, "u8"), "mtu": (26, "u16"),
    "all-subnets-local": (27, "bool"), "broadcast": (28, "ip"), "static-route": (33, "ips"),
    "arp-timeout": (35, "u32"), "tcp-ttl": (37, "u8"), "tcp-keepalive": (38, "u32"),
    "nis-domain": (40, "str"), "nis-server": (41, "ips"), "ntp-server": (42, "ips"),
    "netbios-ns": (44, "ips"), "netbios-dd": (45, "ips"), "netbios-nodetype": (46, "u8"),
    "netbios-scope": (47, "str"), "lease-time": (51, "u32"), "message": (56, "str"),
    "T1": (58, "u32"), "T2": (59, "u32"), "nis+-domain": (64, "str"),
    "nis+-server": (65, "ips"), "tftp-server": (66, "str"), "bootfile-name": (67, "str"),
    "smtp-server": (69, "ips"), "pop3-server": (70, "ips"), "nntp-server": (71, "ips"),
    "irc-server": (74, "ips"), "posix-timezone": (100, "str"), "tzdb-timezone": (101, "str"),
    "domain-search": (119, "names"), "classless-static-route": (121, "routes"),
    "tftp-server-address": (150, "ips"), "server-ip-address": (-1, "ip"),  # -> siaddr
}
BY_CODE = {code: kind for code, kind in NAMED.values() if code > 0} | {249: "routes"}


def parse_opt_name(name: str) -> tuple[tuple[str, ...], str]:
    """'tag:!ipxe,option:bootfile-name' -> (('!ipxe',), 'bootfile-name')."""
    parts = [p.strip() for p in name.split(",")]
    tags = tuple(p[4:] for p in parts[:-1] if p.startswith("tag:"))
    opt = parts[-1]
    for prefix in ("option:", "option6:"):
        opt = opt.removeprefix(prefix)
    return tags, opt


def tags_match(tags: Iterable[str], present: set[str]) -> bool:
    """dnsmasq semantics: `tag:x` needs x set, `tag:!x` needs it unset. The responder sets
    only `ipxe` (option 175 in the request, as Neutron's `--dhcp-match=set:ipxe,175`)."""
    return all((t[1:] not in present) if t.startswith("!") else (t in present) for t in tags)
