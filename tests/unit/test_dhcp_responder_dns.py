"""Internal DNS responder (pure): names, addresses and PTRs of the network's hosts; NXDOMAIN
inside the domain, REFUSED outside; flags, EDNS, truncation; never crashes on any bytes."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, DhcpPeer
from neutrino.agent.dhcp.responder_dns import TTL, Names, respond, reverse_address
from neutrino.wire import SnapshotSubnet

V4 = SnapshotSubnet(id="s4", cidr="10.0.0.0/24", ip_version=4, gateway_ip="10.0.0.1",
                    enable_dhcp=True)
V6 = SnapshotSubnet(id="s6", cidr="2001:db8::/64", ip_version=6, gateway_ip=None,
                    enable_dhcp=True, ipv6_address_mode="dhcpv6-stateful")
DUAL = DhcpHost(port_id="p1", mac_address="fa:16:3e:00:00:01", hostname="host-10-0-0-5",
                ip_addresses=("10.0.0.5", "2001:db8::5"))
WEB = DhcpHost(port_id="p2", mac_address="fa:16:3e:00:00:02", hostname="Web",
               ip_addresses=("10.0.0.6",))
ONLY6 = DhcpHost(port_id="p3", mac_address="fa:16:3e:00:00:03", hostname="six",
                 ip_addresses=("2001:DB8:0::6",))  # not canonical: answered canonical
NET = DhcpNetwork(network_id="n1", netns="ns", interface="tap", bridge="br",
                  server_mac="fa:16:3e:00:00:99", server_addresses=("10.0.0.2/24",),
                  subnets=(V4, V6), hosts=(DUAL, WEB, ONLY6), mtu=1450,
                  dns_domain="Example.TEST.")
NAMES = Names.of(NET)


def ask(name: str, rdtype: str = "A", names: Names = NAMES, tcp: bool = False,
        **kw: object) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]
    wire = respond(query.to_wire(), names, tcp)
    assert wire is not None
    reply = dns.message.from_wire(wire)
    assert reply.id == query.id and reply.flags & dns.flags.QR
    assert not reply.flags & dns.flags.RA  # we never recurse
    return reply


def records(reply: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in reply.answer for rd in rrset)


def authoritative(reply: dns.message.Message, rcode: dns.rcode.Rcode) -> bool:
    return reply.rcode() == rcode and bool(reply.flags & dns.flags.AA)


# --------------------------------------------------------------------------- answers
def test_a_for_the_fqdn() -> None:
    reply = ask("host-10-0-0-5.example.test.")
    assert authoritative(reply, dns.rcode.NOERROR) and records(reply) == ["10.0.0.5"]
    assert reply.answer[0].ttl == TTL == 0
    assert reply.flags & dns.flags.RD  # echoed


def test_aaaa_for_the_fqdn() -> None:
    assert records(ask("host-10-0-0-5.example.test", "AAAA")) == ["2001:db8::5"]


def test_the_bare_name_and_any_case() -> None:
    assert records(ask("host-10-0-0-5")) == ["10.0.0.5"]
    assert records(ask("WEB.example.Test")) == ["10.0.0.6"]
    reply = ask("wEb")
    assert records(reply) == ["10.0.0.6"]
    assert reply.answer[0].name == dns.name.from_text("wEb")  # the owner as asked


def test_a_on_an_ipv6_only_host_is_nodata() -> None:
    reply = ask("six.example.test", "A")
    assert authoritative(reply, dns.rcode.NOERROR) and reply.answer == []
    assert records(ask("six.example.test", "AAAA")) == ["2001:db8::6"]


def test_any_gives_both_families_and_other_types_nodata() -> None:
    assert records(ask("host-10-0-0-5.example.test", "ANY")) == ["10.0.0.5", "2001:db8::5"]
    for rdtype in ("MX", "TXT", "PTR", "SOA"):
        reply = ask("host-10-0-0-5.example.test", rdtype)
        assert authoritative(reply, dns.rcode.NOERROR) and reply.answer == []


def test_ptr_v4_and_v6() -> None:
    v4 = ask(dns.reversename.from_address("10.0.0.6").to_text(), "PTR")
    assert authoritative(v4, dns.rcode.NOERROR)
    assert records(v4) == ["Web.example.test."]
    v6 = ask(dns.reversename.from_address("2001:db8::5").to_text().upper(), "PTR")
    assert records(v6) == ["host-10-0-0-5.example.test."]
    assert records(ask(dns.reversename.from_address("2001:db8::6").to_text(), "PTR")) == [
        "six.example.test."]


def test_ptr_unknown_inside_our_subnets_is_nxdomain_outside_refused() -> None:
    inside = ask(dns.reversename.from_address("10.0.0.77").to_text(), "PTR")
    assert authoritative(inside, dns.rcode.NXDOMAIN)
    assert ask(dns.reversename.from_address("2001:db8::77").to_text(),
               "PTR").rcode() == dns.rcode.NXDOMAIN
    outside = ask(dns.reversename.from_address("192.0.2.1").to_text(), "PTR")
    assert outside.rcode() == dns.rcode.REFUSED and not outside.flags & dns.flags.AA
    assert ask("0.0.10.in-addr.arpa", "PTR").rcode() == dns.rcode.REFUSED  # not an address


def test_unknown_name_in_the_domain_is_nxdomain() -> None:
    assert authoritative(ask("nosuch.example.test"), dns.rcode.NXDOMAIN)
    assert authoritative(ask("a.host-10-0-0-5.example.test"), dns.rcode.NXDOMAIN)
    apex = ask("example.test", "SOA")  # the domain itself exists: it holds the hosts
    assert authoritative(apex, dns.rcode.NOERROR) and apex.answer == []


def test_anything_else_is_refused() -> None:
    for name in ("www.example.com", "nosuch", "test", "example.test.evil", "."):
        reply = ask(name)
        assert reply.rcode() == dns.rcode.REFUSED and not reply.flags & dns.flags.AA, name
        assert reply.answer == []


def test_other_classes_zone_transfers_and_opcodes_are_turned_away() -> None:
    chaos = dns.message.make_query("version.bind", "TXT", rdclass=dns.rdataclass.CH)
    assert from_wire(respond(chaos.to_wire(), NAMES)).rcode() == dns.rcode.REFUSED
    assert ask("example.test", "AXFR", tcp=True).rcode() == dns.rcode.REFUSED
    notify = dns.message.make_query("example.test", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert from_wire(respond(notify.to_wire(), NAMES)).rcode() == dns.rcode.NOTIMP


def test_no_domain_means_bare_names_only() -> None:
    names = Names.of(replace(NET, dns_domain=""))
    assert records(ask("host-10-0-0-5", names=names)) == ["10.0.0.5"]
    assert ask("host-10-0-0-5.example.test", names=names).rcode() == dns.rcode.REFUSED
    assert records(ask(dns.reversename.from_address("10.0.0.6").to_text(), "PTR",
                       names=names)) == ["Web."]


def test_a_qualified_dns_name_keeps_its_own_domain() -> None:
    host = replace(WEB, hostname="vm1.example.org.")
    names = Names.of(replace(NET, hosts=(host,)))
    assert records(ask("vm1.example.org", names=names)) == ["10.0.0.6"]
    assert records(ask("vm1", names=names)) == ["10.0.0.6"]
    assert ask("vm1.example.test", names=names).rcode() == dns.rcode.NXDOMAIN


def test_an_invalid_dns_name_falls_back_to_the_generated_one() -> None:
    names = Names.of(replace(NET, hosts=(replace(WEB, hostname="bad name"),)))
    assert records(ask("host-10-0-0-6.example.test", names=names)) == ["10.0.0.6"]


def test_peers_ports_bound_elsewhere_are_answered_as_clients_are() -> None:
    """DHCP is distributed, DNS is not: a port of the network on another host (a peer)
    has its name, bare name and PTR here too."""
    peer = DhcpPeer(port_id="p9", ip_addresses=("10.0.0.9", "2001:db8::9"),
                    hostname="host-10-0-0-9")
    named = DhcpPeer(port_id="p8", ip_addresses=("10.0.0.8",), hostname="db")
    names = Names.of(replace(NET, peers=(peer, named)))
    fqdn = ask("host-10-0-0-9.example.test", names=names)
    assert authoritative(fqdn, dns.rcode.NOERROR) and records(fqdn) == ["10.0.0.9"]
    assert records(ask("host-10-0-0-9.example.test", "AAAA", names=names)) == ["2001:db8::9"]
    assert records(ask("DB", names=names)) == ["10.0.0.8"]
    ptr = ask(dns.reversename.from_address("10.0.0.9").to_text(), "PTR", names=names)
    assert authoritative(ptr, dns.rcode.NOERROR)
    assert records(ptr) == ["host-10-0-0-9.example.test."]
    assert records(ask(dns.reversename.from_address("2001:db8::9").to_text(), "PTR",
                       names=names)) == ["host-10-0-0-9.example.test."]
    assert records(ask("web.example.test", names=names)) == ["10.0.0.6"]  # clients still
    # without the peers, the same names are ours (the domain, the subnet) but unknown
    assert authoritative(ask("host-10-0-0-9.example.test"), dns.rcode.NXDOMAIN)
    assert authoritative(ask(dns.reversename.from_address("10.0.0.9").to_text(), "PTR"),
                         dns.rcode.NXDOMAIN)


def test_a_client_names_its_address_before_a_peer_does() -> None:
    """A stale peer entry for a client's address (a port moving between hosts): one PTR,
    the client's; the forward names both resolve."""
    stale = DhcpPeer(port_id="p7", ip_addresses=("10.0.0.6",), hostname="old")
    names = Names.of(replace(NET, peers=(stale,)))
    assert records(ask(dns.reversename.from_address("10.0.0.6").to_text(), "PTR",
                       names=names)) == ["Web.example.test."]
    assert records(ask("old.example.test", names=names)) == ["10.0.0.6"]


# --------------------------------------------------------------------------- the protocol
def test_edns_is_answered_with_edns_and_newer_versions_get_badvers() -> None:
    reply = ask("web.example.test", use_edns=0, payload=4096)
    assert reply.edns == 0 and reply.payload == 1232
    reply = ask("web.example.test", use_edns=1)
    assert reply.rcode() == dns.rcode.BADVERS


def test_a_reply_too_big_for_udp_is_truncated_and_whole_over_tcp() -> None:
    many = tuple(str(ipaddress.IPv6Address("2001:db8::1000") + i) for i in range(60))
    names = Names.of(replace(NET, hosts=(replace(WEB, ip_addresses=many),)))
    udp = ask("web.example.test", "AAAA", names=names)
    assert udp.flags & dns.flags.TC and udp.answer == []
    assert len(records(ask("web.example.test", "AAAA", names=names, tcp=True))) == 60
    edns = ask("web.example.test", "AAAA", names=names, use_edns=0, payload=4096)
    assert edns.flags & dns.flags.TC  # 60 * 28 bytes exceed our 1232 too


def test_two_questions_are_a_format_error() -> None:
    query = dns.message.make_query("web.example.test", "A")
    query.question.append(query.question[0])
    assert from_wire(respond(query.to_wire(), NAMES)).rcode() == dns.rcode.FORMERR


def test_responses_and_junk_get_nothing_a_broken_query_formerr() -> None:
    query = dns.message.make_query("web.example.test", "A")
    response = dns.message.make_response(query)
    assert respond(response.to_wire(), NAMES) is None
    assert respond(b"", NAMES) is None
    assert respond(b"\x12\x34\x01", NAMES) is None
    broken = query.to_wire()[:-3]  # the question cut short
    reply = from_wire(respond(broken, NAMES))
    assert reply.id == query.id and reply.rcode() == dns.rcode.FORMERR
    assert respond(broken[:2] + b"\x80" + broken[3:], NAMES) is None  # a broken response


@pytest.mark.parametrize(("name", "address"), [
    ("5.0.0.10.in-addr.arpa", "10.0.0.5"),
    ("255.255.255.255.in-addr.arpa", "255.255.255.255"),
    ("256.0.0.10.in-addr.arpa", None), ("05.0.0.10.in-addr.arpa", None),
    ("0.0.10.in-addr.arpa", None), ("1.5.0.0.10.in-addr.arpa", None),
    (dns.reversename.from_address("2001:db8::5").to_text(omit_final_dot=True), "2001:db8::5"),
    ("x." + dns.reversename.from_address("::").to_text(omit_final_dot=True)[2:], None),
    ("example.test", None),
])
def test_reverse_names(name: str, address: str | None) -> None:
    got = reverse_address(name)
    assert (None if got is None else str(got)) == address


# --------------------------------------------------------------------------- robustness
def from_wire(wire: bytes | None) -> dns.message.Message:
    assert wire is not None
    return dns.message.from_wire(wire)


def check(wire: bytes, tcp: bool) -> None:
    """Whatever comes in: no exception, and a reply (if any) is a well-formed response to
    that query id, small enough for its transport."""
    reply = respond(wire, NAMES, tcp)
    if reply is None:
        return
    assert len(reply) <= (65535 if tcp else 1232)
    parsed = dns.message.from_wire(reply)
    assert parsed.flags & dns.flags.QR and not parsed.flags & dns.flags.RA
    assert parsed.id == int.from_bytes(wire[:2], "big")


QUERIES = [dns.message.make_query(name, rdtype, use_edns=edns).to_wire()
           for name in ("host-10-0-0-5.example.test", "web", "nosuch.example.test",
                        "5.0.0.10.in-addr.arpa", "www.example.com")
           for rdtype in ("A", "AAAA", "PTR", "ANY") for edns in (None, 0)]


@settings(max_examples=500)
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes_never_crash(wire: bytes, tcp: bool) -> None:
    check(wire, tcp)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    wire = bytearray(draw(st.sampled_from(QUERIES)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(wire)))
        kind = draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        if kind == "set" and at < len(wire):
            wire[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            wire[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del wire[at:at + draw(st.integers(1, 4))]
        else:
            del wire[at:]
    return bytes(wire)


@settings(max_examples=1000)
@given(mutated(), st.booleans())
def test_mutated_queries_never_crash(wire: bytes, tcp: bool) -> None:
    check(wire, tcp)


@given(st.sampled_from(QUERIES), st.integers(0, 0xFFFF), st.binary(max_size=40))
def test_any_header_flags_and_trailing_options_never_crash(query: bytes, flags: int,
                                                            tail: bytes) -> None:
    check(query[:2] + flags.to_bytes(2, "big") + query[4:] + tail, tcp=False)


def test_edns_options_are_tolerated() -> None:
    cookie = dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"\x01" * 8)
    reply = ask("web.example.test", use_edns=0, options=[cookie])
    assert records(reply) == ["10.0.0.6"]
