"""The internal DNS server's brain, pure: a query (wire bytes) and the network's `Names` in,
the reply (wire bytes) out. The shell (`server_dns`) only receives and sends.

What it answers is what Neutron's dnsmasq answers from its `--addn-hosts` file: for each
port of the network, `<hostname>.<dns_domain>` and the bare `<hostname>` (any case, the
trailing dot is the resolver's business) have A/AAAA records of its addresses, and each
address a PTR record (in-addr.arpa / ip6.arpa) to that FQDN. The names are
`hostnames.hostname_and_fqdn`'s, the ones the DHCP hostname option and the dnsmasq driver's
files carry.

We are authoritative for those names and nothing else: no recursion, no forwarding (RA is
never set). Within dns_domain (and the reverse zones of the network's subnets) a name no
client has is NXDOMAIN, a client's name without records of the asked type NOERROR with no
answer; both with AA. Everything else is REFUSED, so that a stub resolver moves on to the
next nameserver it knows; guests that need other names get them from the subnet's
dns_nameservers, which replace us in DHCP (`responder`).

Scope: every port of the network, on any host: the `DhcpNetwork`'s hosts (our DHCP clients,
the ports bound to this host) and its peers (the others: other hosts' ports, unbound ones
such as the DHCP port itself), which DHCP is distributed not to serve here but DNS names
all the same (see the package docstring). A client's name comes first when a peer has the
same address (a PTR names one FQDN).

TTL 0, as dnsmasq gives its hosts (`--local-ttl` is 0 unless configured), so the two drivers
answer alike: our answers change with any port update, served from the next packet, and a
positive TTL would let a guest's caching stub keep a renumbered or deleted port's address for
that long. Not caching costs a round trip to a server one bridge away.

Whatever the bytes, `respond` returns a reply or None and never raises: a query it cannot
parse gets FORMERR when its header is readable as a query, else nothing; a response
(QR set) is never answered, so two servers cannot ping-pong.
"""

from __future__ import annotations

import ipaddress
import string
import struct
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, DhcpPeer
from neutrino.agent.dhcp.hostnames import hostname_and_fqdn

TTL = 0
UDP_PAYLOAD = 1232  # the EDNS payload we offer (DNS flag day 2020: no IP fragmentation)
UDP_CLASSIC = 512  # RFC 1035, without EDNS
TCP_MAX = 65535
V4_REVERSE, V6_REVERSE = ".in-addr.arpa", ".ip6.arpa"
_HEX = frozenset(string.hexdigits.lower())

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Names:
    """A network's names (its hosts' and its peers'), indexed for `respond`. Build one per
    `DhcpNetwork`: O(hosts + peers), a few microseconds per address (0.15 s at 50,000)."""

    domain: str  # lower case, no trailing dot; "" when the network has none
    forward: dict[str, list[str]]  # lower-case name (no trailing dot) -> addresses
    reverse: dict[str, str]  # address (canonical text) -> the FQDN its PTR record names
    subnets: tuple[Network, ...]

    @staticmethod
    def of(network: DhcpNetwork) -> Names:
        domain = network.dns_domain.strip(".").lower()
        forward: dict[str, list[str]] = {}
        reverse: dict[str, str] = {}
        named: tuple[DhcpHost | DhcpPeer, ...] = (*network.hosts, *network.peers)
        for host in named:
            for text in host.ip_addresses:
                address = _canonical(text)
                if address is None:
                    continue
                hostname, fqdn = hostname_and_fqdn(host, text, domain)
                fqdn_key, hostname_key = fqdn.lower(), hostname.lower()
                forward.setdefault(fqdn_key, []).append(address)
                if hostname_key != fqdn_key:
                    forward.setdefault(hostname_key, []).append(address)
                reverse.setdefault(address, fqdn)
        subnets = []
        for subnet in network.subnets:
            try:
                subnets.append(ipaddress.ip_network(subnet.cidr, strict=False))
            except ValueError:
                continue
        return Names(domain, forward, reverse, tuple(subnets))


def _canonical(text: str) -> str | None:
    """An address as `str(ip_address(...))` writes it (what `lookup` compares with), without
    parsing IPv4 (Neutron's are canonical already; a bad one fails its own queries only)."""
    if ":" not in text:
        return text
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        return None


def respond(wire: bytes, names: Names, tcp: bool = False) -> bytes | None:
    """The reply to one query, None when there must be none. Pure; never raises."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:  # how dnspython's parser reports every malformation
        return _format_error(wire)
    if query.flags & dns.flags.QR:
        return None
    try:
        response = dns.message.make_response(query, our_payload=UDP_PAYLOAD)
        _fill(query, response, names)
        return _to_wire(response, _limit(query, tcp))
    except dns.exception.DNSException:  # a name of ours DNS cannot carry (a too long label)
        return _header_only(query.id, query.flags, dns.rcode.SERVFAIL)


def _fill(query: dns.message.Message, response: dns.message.Message, names: Names) -> None:
    if query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
        return
    if query.edns > 0:
        response.set_rcode(dns.rcode.BADVERS)
        return
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return
    question = query.question[0]
    qtype = question.rdtype
    if question.rdclass != dns.rdataclass.IN or (dns.rdatatype.is_metatype(qtype)
                                                 and qtype != dns.rdatatype.ANY):
        response.set_rcode(dns.rcode.REFUSED)  # CHAOS, zone transfers, ...
        return
    rcode, records = lookup(question.name.to_text(omit_final_dot=True).lower(), qtype, names)
    response.set_rcode(rcode)
    if rcode != dns.rcode.REFUSED:
        response.flags |= dns.flags.AA
    for rdtype, values in records:
        response.answer.append(dns.rrset.from_text_list(
            question.name, TTL, dns.rdataclass.IN, rdtype, values))


def lookup(name: str, qtype: int, names: Names
           ) -> tuple[dns.rcode.Rcode, list[tuple[dns.rdatatype.RdataType, list[str]]]]:
    """(rcode, [(record type, values)]) for `name` (lower case, no trailing dot)."""
    addresses = names.forward.get(name)
    if addresses is not None:
        records = []
        for rdtype, v6 in ((dns.rdatatype.A, False), (dns.rdatatype.AAAA, True)):
            values = [a for a in addresses if (":" in a) == v6]
            if values and qtype in (rdtype, dns.rdatatype.ANY):
                records.append((rdtype, values))
        return dns.rcode.NOERROR, records
    address = reverse_address(name)
    if address is not None:
        fqdn = names.reverse.get(str(address))
        if fqdn is not None:
            wanted = qtype in (dns.rdatatype.PTR, dns.rdatatype.ANY)
            return dns.rcode.NOERROR, [(dns.rdatatype.PTR, [fqdn + "."])] if wanted else []
        ours = any(n.version == address.version and address in n for n in names.subnets)
        return (dns.rcode.NXDOMAIN if ours else dns.rcode.REFUSED), []
    if names.domain and name == names.domain:
        return dns.rcode.NOERROR, []  # the domain exists (our hosts are in it): no records
    if names.domain and name.endswith("." + names.domain):
        return dns.rcode.NXDOMAIN, []
    return dns.rcode.REFUSED, []


def reverse_address(name: str) -> Address | None:
    """The address a full in-addr.arpa / ip6.arpa name (lower case, no trailing dot) stands
    for; None for any other name, partial reverse names included."""
    if name.endswith(V4_REVERSE):
        labels = name.removesuffix(V4_REVERSE).split(".")
        if len(labels) == 4:
            try:
                return ipaddress.IPv4Address(".".join(reversed(labels)))
            except ValueError:
                return None
    elif name.endswith(V6_REVERSE):
        labels = name.removesuffix(V6_REVERSE).split(".")
        if len(labels) == 32 and all(len(x) == 1 and x in _HEX for x in labels):
            return ipaddress.IPv6Address(int("".join(reversed(labels)), 16))
    return None


def _limit(query: dns.message.Message, tcp: bool) -> int:
    """How big our reply may be: RFC 1035's 512 over UDP, the client's EDNS payload (up to
    ours) when it sent one, 64 KiB over TCP."""
    if tcp:
        return TCP_MAX
    if query.edns >= 0:
        return max(UDP_CLASSIC, min(query.payload, UDP_PAYLOAD))
    return UDP_CLASSIC


def _to_wire(response: dns.message.Message, limit: int) -> bytes:
    """The reply, or when it does not fit, the reply without records and TC set (RFC 2181
    9: the client retries over TCP)."""
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer.clear()
        response.authority.clear()
        response.additional.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def _format_error(wire: bytes) -> bytes | None:
    """FORMERR for an unparsable query whose header reads as a standard query; else None
    (junk, or a response: nothing to answer)."""
    if len(wire) < 12:
        return None
    query_id, flags = struct.unpack("!HH", wire[:4])
    if flags & dns.flags.QR or dns.opcode.from_flags(flags) != dns.opcode.QUERY:
        return None
    return _header_only(query_id, flags, dns.rcode.FORMERR)


def _header_only(query_id: int, flags: int, rcode: dns.rcode.Rcode) -> bytes:
    reply = dns.message.Message(id=query_id)
    reply.flags = dns.flags.QR | (flags & dns.flags.RD)
    reply.set_rcode(rcode)
    return reply.to_wire()
