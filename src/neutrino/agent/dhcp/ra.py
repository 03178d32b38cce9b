"""IPv6 router advertisements (RFC 4861 4.2, RFC 8106), sans-I/O.

`build(subnets, ...)` turns a network's IPv6 subnets into a `RouterAdvertisement` by
`ipv6_ra_mode`: slaac -> a prefix with the A flag; dhcpv6-stateless -> A and the O flag;
dhcpv6-stateful -> the M flag (and O), the prefix without A. Subnets with no ra mode are not
advertised. `encode` gives the whole ICMPv6 message (type 134, code 0) with the checksum field
zero: a raw ICMPv6 socket (socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)) has the kernel fill it
in (RFC 3542 3.1, always on for ICMPv6 in Linux). Senders that build the IPv6 header
themselves (packet sockets) use `with_checksum`. Send it from the interface's link-local
address with hop limit 255 to ff02::1 (periodic) or to the soliciting address.

Who sends: Neutron sends RAs from the router's interface on the subnet (radvd in the router
namespace), never from the DHCP port, and sets a router lifetime (it is the default router).
That is the model here: the l3 agent calls `build` with the router's MAC and a lifetime. The
DHCP agent may use the same builder from the DHCP port only for subnets that have no router,
and then must keep `router_lifetime=0` (the DHCP port does not forward), so clients get
prefixes, M/O and RDNSS but no default route from it.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from neutrino.wire import SnapshotSubnet

ICMPV6_RS, ICMPV6_RA = 133, 134
ALL_NODES = "ff02::1"
MIN_RTR_ADV_INTERVAL, MAX_RTR_ADV_INTERVAL = 200.0, 600.0  # s, RFC 4861 6.2.1 defaults
VALID_LIFETIME, PREFERRED_LIFETIME = 86400, 14400  # radvd's defaults, as Neutron's radvd
DNS_LIFETIME = int(3 * MAX_RTR_ADV_INTERVAL)  # RFC 8106 5.1: >= MaxRtrAdvInterval
OPT_SLLA, OPT_PREFIX, OPT_MTU, OPT_RDNSS, OPT_DNSSL = 1, 3, 5, 25, 31
SLAAC, STATELESS, STATEFUL = "slaac", "dhcpv6-stateless", "dhcpv6-stateful"
_HEADER = struct.Struct("!BBHBBHII")


class RaDecodeError(ValueError):
    """The bytes are not a well-formed router advertisement."""


@dataclass(frozen=True, slots=True)
class PrefixInfo:
    prefix: str  # "2001:db8::/64"
    on_link: bool = True
    autonomous: bool = True
    valid_lifetime: int = VALID_LIFETIME
    preferred_lifetime: int = PREFERRED_LIFETIME


@dataclass(frozen=True, slots=True)
class RouterAdvertisement:
    managed: bool = False  # M: addresses by DHCPv6
    other: bool = False  # O: other configuration by DHCPv6
    router_lifetime: int = 0  # s; 0 = not a default router
    hop_limit: int = 64
    reachable_time: int = 0
    retrans_timer: int = 0
    source_mac: str | None = None
    mtu: int | None = None
    prefixes: tuple[PrefixInfo, ...] = ()
    rdnss: tuple[str, ...] = ()
    dnssl: tuple[str, ...] = ()
    dns_lifetime: int = DNS_LIFETIME


def build(subnets: Sequence[SnapshotSubnet], *, source_mac: str, mtu: int | None,
          router_lifetime: int = 0, dns_domain: str = "") -> RouterAdvertisement | None:
    """The RA for these subnets of one link, or None when none of them has an ra mode."""
    advertised = [s for s in subnets if s.ip_version == 6 and s.ipv6_ra_mode in
                  (SLAAC, STATELESS, STATEFUL)]
    if not advertised:
        return None
    modes = {s.ipv6_ra_mode for s in advertised}
    dns = [d for s in advertised for d in s.dns_nameservers
           if ipaddress.ip_address(d).version == 6]
    return RouterAdvertisement(
        managed=STATEFUL in modes, other=bool(modes & {STATELESS, STATEFUL}),
        router_lifetime=router_lifetime, source_mac=source_mac,
        mtu=mtu if mtu and mtu >= 1280 else None,
        prefixes=tuple(PrefixInfo(str(ipaddress.IPv6Network(s.cidr)),
                                  autonomous=s.ipv6_ra_mode != STATEFUL) for s in advertised),
        rdnss=tuple(dict.fromkeys(dns)),
        dnssl=(dns_domain.strip("."),) if dns_domain.strip(".") else ())


# --------------------------------------------------------------------------- encode
def encode(ra: RouterAdvertisement) -> bytes:
    flags = (0x80 if ra.managed else 0) | (0x40 if ra.other else 0)
    out = bytearray(_HEADER.pack(ICMPV6_RA, 0, 0, ra.hop_limit, flags, ra.router_lifetime,
                                 ra.reachable_time, ra.retrans_timer))
    if ra.source_mac is not None:
        out += bytes([OPT_SLLA, 1]) + bytes(int(x, 16) for x in ra.source_mac.split(":"))
    if ra.mtu is not None:
        out += struct.pack("!BBHI", OPT_MTU, 1, 0, ra.mtu)
    for p in ra.prefixes:
        net = ipaddress.IPv6Network(p.prefix)
        pflags = (0x80 if p.on_link else 0) | (0x40 if p.autonomous else 0)
        out += struct.pack("!BBBBIII", OPT_PREFIX, 4, net.prefixlen, pflags, p.valid_lifetime,
                           p.preferred_lifetime, 0) + net.network_address.packed
    if ra.rdnss:
        out += struct.pack("!BBHI", OPT_RDNSS, 1 + 2 * len(ra.rdnss), 0, ra.dns_lifetime)
        out += b"".join(ipaddress.IPv6Address(a).packed for a in ra.rdnss)
    if ra.dnssl:
        names = b"".join(_name(n) for n in ra.dnssl)
        names += b"\0" * (-(len(names) + 8) % 8)
        out += struct.pack("!BBHI", OPT_DNSSL, (len(names) + 8) // 8, 0, ra.dns_lifetime)
        out += names
    return bytes(out)


def _name(name: str) -> bytes:
    labels = [label.encode("idna") for label in name.strip(".").split(".")]
    if any(not 0 < len(label) < 64 for label in labels):
        raise ValueError(f"bad domain name {name!r}")
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0"


def with_checksum(message: bytes, source: str, destination: str) -> bytes:
    """The ICMPv6 message with its checksum (RFC 4443 2.3), for senders without the kernel's
    help; `message` has the checksum field zero."""
    pseudo = (ipaddress.IPv6Address(source).packed + ipaddress.IPv6Address(destination).packed
              + struct.pack("!I3xB", len(message), 58))
    data = pseudo + message + b"\0" * (len(message) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return message[:2] + struct.pack("!H", ~total & 0xFFFF) + message[4:]


def is_router_solicitation(message: bytes) -> bool:
    """An ICMPv6 router solicitation (as a raw ICMPv6 socket returns it: no IPv6 header)."""
    return len(message) >= 8 and message[0] == ICMPV6_RS and message[1] == 0


# --------------------------------------------------------------------------- decode
def decode(message: bytes) -> RouterAdvertisement:
    """Parse an RA (for tests and diagnostics); raises RaDecodeError only."""
    if len(message) < _HEADER.size:
        raise RaDecodeError("truncated")
    kind, code, _, hop_limit, flags, lifetime, reachable, retrans = _HEADER.unpack_from(message)
    if kind != ICMPV6_RA or code != 0:
        raise RaDecodeError(f"not a router advertisement: {kind}/{code}")
    mac, mtu, prefixes, rdnss, dnssl, dns_lifetime = None, None, [], [], [], DNS_LIFETIME
    for opt, body in _options(message[_HEADER.size:]):
        if opt == OPT_SLLA and len(body) == 6:
            mac = ":".join(f"{b:02x}" for b in body)
        elif opt == OPT_MTU:
            mtu = struct.unpack_from("!I", body, 2)[0]
        elif opt == OPT_PREFIX:
            if len(body) != 30:
                raise RaDecodeError("bad prefix information option")
            length, pflags, valid, preferred = struct.unpack_from("!BBII", body)
            if length > 128:
                raise RaDecodeError("bad prefix length")
            net = ipaddress.IPv6Network((body[14:30], length), strict=False)
            prefixes.append(PrefixInfo(str(net), bool(pflags & 0x80), bool(pflags & 0x40),
                                       valid, preferred))
        elif opt == OPT_RDNSS:
            dns_lifetime = struct.unpack_from("!I", body, 2)[0]
            rdnss += [str(ipaddress.IPv6Address(body[i:i + 16]))
                      for i in range(6, len(body) - 15, 16)]
        elif opt == OPT_DNSSL:
            dns_lifetime = struct.unpack_from("!I", body, 2)[0]
            dnssl += _names(body[6:])
    return RouterAdvertisement(
        managed=bool(flags & 0x80), other=bool(flags & 0x40), router_lifetime=lifetime,
        hop_limit=hop_limit, reachable_time=reachable, retrans_timer=retrans, source_mac=mac,
        mtu=mtu, prefixes=tuple(prefixes), rdnss=tuple(rdnss), dnssl=tuple(dnssl),
        dns_lifetime=dns_lifetime)


def _options(buf: bytes) -> Iterable[tuple[int, bytes]]:
    i = 0
    while i < len(buf):
        if i + 2 > len(buf) or buf[i + 1] == 0:
            raise RaDecodeError("truncated option or option length 0")
        end = i + 8 * buf[i + 1]
        if end > len(buf):
            raise RaDecodeError(f"option {buf[i]} overruns the message")
        yield buf[i], buf[i + 2:end]
        i = end


def _names(buf: bytes) -> list[str]:
    names: list[str] = []
    labels: list[str] = []
    i = 0
    while i < len(buf):
        length = buf[i]
        if length == 0:
            if not labels:
                break  # padding
            names.append(".".join(labels))
            labels, i = [], i + 1
            continue
        if length > 63 or i + 1 + length > len(buf):
            raise RaDecodeError("bad domain name")
        labels.append(buf[i + 1:i + 1 + length].decode("ascii", "replace"))
        i += 1 + length
    if labels:
        raise RaDecodeError("unterminated domain name")
    return names
