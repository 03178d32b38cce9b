"""DHCPv4 responder (pure): DORA, NAK, INFORM, RELEASE/DECLINE, relay, extra opts, updates."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, DhcpPeer
from neutrino.agent.dhcp.codec import (
    BROADCAST_FLAG,
    DhcpMessage,
    MessageType,
    Opt,
    decode,
    encode,
    mac_to_chaddr,
    parse_classless_routes,
)
from neutrino.agent.dhcp.responder import (
    BROADCAST_IP,
    BROADCAST_MAC,
    DECLINE_HOLD,
    Answer,
    Lease,
    answer,
    render_extra,
)
from neutrino.wire import SnapshotSubnet

MAC, OTHER = "fa:16:3e:00:00:01", "fa:16:3e:00:00:99"
SUBNET = SnapshotSubnet(id="s1", cidr="10.0.0.0/24", ip_version=4, gateway_ip="10.0.0.1",
                        enable_dhcp=True, dns_nameservers=("8.8.8.8", "2001:db8::53"),
                        host_routes=(("192.168.0.0/16", "10.0.0.254"),))
HOST = DhcpHost(port_id="p1", mac_address=MAC.upper(), ip_addresses=("10.0.0.5", "2001:db8::5"),
                hostname="host-10-0-0-5")
NET = DhcpNetwork(network_id="n1", netns="ns", interface="tap", bridge="br", server_mac=OTHER,
                  server_addresses=("10.0.0.2/24",), subnets=(SUBNET,), hosts=(HOST,), mtu=1450,
                  dns_domain="openstacklocal.", lease_time=3600)


def request(kind: MessageType, mac: str = MAC,
            options: tuple[tuple[int, bytes], ...] = (), **fields: object) -> DhcpMessage:
    prl = bytes([Opt.SUBNET_MASK, Opt.CLASSLESS_ROUTES, Opt.ROUTER, Opt.DNS, Opt.DOMAIN_NAME])
    msg = DhcpMessage(op=1, xid=42, chaddr=mac_to_chaddr(mac), flags=BROADCAST_FLAG,
                      options=((Opt.MESSAGE_TYPE, bytes([kind])),
                               (Opt.PARAMETER_REQUEST_LIST, prl), *options))
    # through the wire, as the shell does
    return decode(encode(replace(msg, **fields)))  # type: ignore[arg-type]


def opts(requested: str | None = None, server: str | None = None
         ) -> tuple[tuple[int, bytes], ...]:
    pairs = ((Opt.REQUESTED_IP, requested), (Opt.SERVER_ID, server))
    return tuple((code, ipaddress.IPv4Address(a).packed) for code, a in pairs if a is not None)


def test_dora() -> None:
    offer = answer(request(MessageType.DISCOVER), NET, now=100.0)
    assert offer.reply is not None and offer.leases == {}
    msg = decode(encode(offer.reply.message))
    assert msg.op == 2 and msg.xid == 42 and msg.yiaddr == "10.0.0.5"
    assert msg.message_type == MessageType.OFFER and msg.server_id == "10.0.0.2"
    assert [c for c, _ in msg.options][:7] == [53, 54, 1, 121, 3, 6, 15]  # PRL order first
    assert msg.get(Opt.SUBNET_MASK) == bytes([255, 255, 255, 0])
    assert msg.get(Opt.ROUTER) == bytes([10, 0, 0, 1])
    assert msg.get(Opt.DNS) == bytes([8, 8, 8, 8])  # the IPv6 resolver is left out
    assert msg.get(Opt.DOMAIN_NAME) == b"openstacklocal"
    assert msg.hostname == "host-10-0-0-5"
    assert msg.get(Opt.MTU) == (1450).to_bytes(2, "big")
    assert msg.get(Opt.BROADCAST) == bytes([10, 0, 0, 255])
    assert msg.lease_time == 3600
    assert msg.get(Opt.RENEWAL_TIME) == (1800).to_bytes(4, "big")
    assert msg.get(Opt.REBINDING_TIME) == (3150).to_bytes(4, "big")
    routes = parse_classless_routes(msg.get(Opt.CLASSLESS_ROUTES) or b"")
    assert routes == (("192.168.0.0/16", "10.0.0.254"), ("0.0.0.0/0", "10.0.0.1"))
    assert msg.get(Opt.MS_CLASSLESS_ROUTES) is None  # not requested
    assert (offer.reply.dest_ip, offer.reply.dest_port, offer.reply.dest_mac) == (
        BROADCAST_IP, 68, BROADCAST_MAC)

    selecting = opts(requested="10.0.0.5", server="10.0.0.2")
    ack = answer(request(MessageType.REQUEST, options=selecting), NET, now=100.0)
    assert ack.reply is not None
    assert ack.reply.message.message_type == MessageType.ACK
    assert ack.reply.message.yiaddr == "10.0.0.5"
    assert ack.leases == {MAC: Lease(MAC, "10.0.0.5", 3700.0)}
    assert ack.event is not None and (ack.event.kind, ack.event.port_id) == ("ack", "p1")


def test_unknown_mac_gets_nothing() -> None:
    assert answer(request(MessageType.DISCOVER, mac=OTHER), NET, 0.0) == Answer(None, {})


def test_a_peer_is_no_client_even_with_a_clients_mac() -> None:
    """The port moved to another host: it is a peer now (DNS only), its MAC gets nothing."""
    moved = replace(NET, hosts=(), peers=(DhcpPeer(HOST.port_id, HOST.ip_addresses,
                                                   HOST.hostname),))
    for kind in (MessageType.DISCOVER, MessageType.REQUEST, MessageType.INFORM):
        assert answer(request(kind, options=opts("10.0.0.5")), moved, 0.0) == Answer(None, {})
    assert answer(request(MessageType.DISCOVER), replace(NET, peers=moved.peers),
                  0.0).reply is not None  # a client is answered whatever the peers


def test_no_gateway_no_routes() -> None:
    net = replace(NET, subnets=(replace(SUBNET, gateway_ip=None, host_routes=()),))
    reply = answer(request(MessageType.DISCOVER), net, 0.0).reply
    assert reply is not None
    for code in (Opt.ROUTER, Opt.CLASSLESS_ROUTES):
        assert reply.message.get(code) is None


def test_no_nameservers_means_our_own_dns() -> None:
    """As dnsmasq: a subnet without dns_nameservers gets the server's address on it."""
    net = replace(NET, subnets=(replace(SUBNET, dns_nameservers=()),))
    reply = answer(request(MessageType.DISCOVER), net, 0.0).reply
    assert reply is not None and reply.message.get(Opt.DNS) == bytes([10, 0, 0, 2])
    assert reply.message.get(Opt.DOMAIN_NAME) == b"openstacklocal"


def test_any_address_nameserver_announces_none() -> None:
    net = replace(NET, subnets=(replace(SUBNET, dns_nameservers=("0.0.0.0",)),))
    reply = answer(request(MessageType.DISCOVER), net, 0.0).reply
    assert reply is not None and reply.message.get(Opt.DNS) is None


def test_request_for_another_address_is_naked_by_broadcast() -> None:
    init_reboot = opts(requested="10.0.0.77")
    out = answer(request(MessageType.REQUEST, options=init_reboot), NET, 0.0)
    assert out.reply is not None and out.reply.message.message_type == MessageType.NAK
    assert out.reply.message.yiaddr == "0.0.0.0" and out.reply.message.lease_time is None
    assert (out.reply.dest_ip, out.reply.dest_mac) == (BROADCAST_IP, BROADCAST_MAC)
    assert out.event is not None and out.event.address == "10.0.0.77"


def test_request_for_another_server_is_ignored() -> None:
    elsewhere = opts(requested="10.0.0.5", server="10.0.0.3")
    out = answer(request(MessageType.REQUEST, options=elsewhere), NET, 0.0)
    assert out.reply is None and out.event is not None and out.event.kind == "ignored"


def test_renewing_is_unicast_to_ciaddr() -> None:
    out = answer(request(MessageType.REQUEST, ciaddr="10.0.0.5", flags=0), NET, 0.0)
    assert out.reply is not None and out.reply.message.message_type == MessageType.ACK
    assert (out.reply.dest_ip, out.reply.dest_port, out.reply.dest_mac) == ("10.0.0.5", 68, None)


def test_unicast_offer_without_broadcast_flag() -> None:
    out = answer(request(MessageType.DISCOVER, flags=0), NET, 0.0)
    assert out.reply is not None
    assert (out.reply.dest_ip, out.reply.dest_mac) == ("10.0.0.5", MAC)


def test_port_update_is_served_on_the_next_renewal() -> None:
    moved = replace(NET, hosts=(replace(HOST, ip_addresses=("10.0.0.9",)),))
    renew = answer(request(MessageType.REQUEST, ciaddr="10.0.0.5", flags=0), moved, 10.0)
    assert renew.reply is not None and renew.reply.message.message_type == MessageType.NAK
    offer = answer(request(MessageType.DISCOVER), moved, 11.0)
    assert offer.reply is not None and offer.reply.message.yiaddr == "10.0.0.9"


def test_client_id_echoed_and_nak_fields() -> None:
    client_id = (Opt.CLIENT_ID, b"\x01" + bytes.fromhex("fa163e000001"))
    out = answer(request(MessageType.REQUEST, ciaddr="10.0.0.7", options=(client_id,)), NET, 0)
    assert out.reply is not None and out.reply.message.message_type == MessageType.NAK
    assert out.reply.message.get(Opt.CLIENT_ID) == client_id[1]
    assert out.reply.message.ciaddr == "0.0.0.0" and out.reply.dest_ip == BROADCAST_IP


def test_inform_without_ciaddr_is_broadcast() -> None:
    out = answer(request(MessageType.INFORM, flags=0), NET, 0.0)
    assert out.reply is not None and out.reply.dest_ip == BROADCAST_IP


def test_inform() -> None:
    out = answer(request(MessageType.INFORM, ciaddr="10.0.0.5", flags=0), NET, 0.0)
    assert out.reply is not None
    msg = out.reply.message
    assert msg.message_type == MessageType.ACK and msg.yiaddr == "0.0.0.0"
    assert msg.lease_time is None and msg.get(Opt.RENEWAL_TIME) is None
    assert msg.get(Opt.DNS) == bytes([8, 8, 8, 8]) and out.reply.dest_ip == "10.0.0.5"


def test_release_and_decline() -> None:
    leases = {MAC: Lease(MAC, "10.0.0.5", 5000.0)}
    ours = opts(server="10.0.0.2")
    out = answer(request(MessageType.RELEASE, ciaddr="10.0.0.5", options=ours), NET, 10.0, leases)
    assert out.reply is None and out.leases == {}
    assert out.event is not None and out.event.kind == "release"

    declined = opts(requested="10.0.0.5", server="10.0.0.2")
    out = answer(request(MessageType.DECLINE, options=declined), NET, 10.0)
    assert out.reply is None and out.event is not None and out.event.kind == "decline"
    assert out.leases[MAC].declined
    held = answer(request(MessageType.DISCOVER), NET, 20.0, out.leases)
    assert held.reply is None  # not offered again while held
    later = answer(request(MessageType.DISCOVER), NET, 11.0 + DECLINE_HOLD, out.leases)
    assert later.reply is not None and later.leases == {}


def test_relay() -> None:
    other = SnapshotSubnet(id="s2", cidr="10.1.0.0/24", ip_version=4, gateway_ip="10.1.0.1",
                           enable_dhcp=True)
    net = replace(NET, subnets=(SUBNET, other), server_addresses=("10.0.0.2/24", "10.1.0.2/24"),
                  hosts=(replace(HOST, ip_addresses=("10.0.0.5", "10.1.0.5")),))
    agent_info = bytes([1, 4]) + b"eth0"
    out = answer(request(MessageType.DISCOVER, giaddr="10.1.0.1", hops=1,
                         options=((Opt.RELAY_AGENT_INFO, agent_info),)), net, 0.0)
    assert out.reply is not None
    msg = out.reply.message
    assert msg.yiaddr == "10.1.0.5" and msg.server_id == "10.1.0.2" and msg.giaddr == "10.1.0.1"
    assert msg.options[-1] == (Opt.RELAY_AGENT_INFO, agent_info)
    assert (out.reply.dest_ip, out.reply.dest_port, out.reply.dest_mac) == ("10.1.0.1", 67, None)
    # the other subnets of the network are on-link routes in 121
    routes = parse_classless_routes(msg.get(Opt.CLASSLESS_ROUTES) or b"")
    assert routes == (("10.0.0.0/24", "0.0.0.0"), ("0.0.0.0/0", "10.1.0.1"))
    # a relay on a subnet where the client has no address: no answer
    stray = answer(request(MessageType.DISCOVER, giaddr="10.9.0.1"), net, 0.0)
    assert stray.reply is None


def test_extra_dhcp_opts_override_and_pxe() -> None:
    host = replace(HOST, extra_opts=(
        ("dns-server", "1.1.1.1,9.9.9.9", 4), ("mtu", "9000", 4), ("router", "10.0.0.3", 4),
        ("tag:!ipxe,bootfile-name", "pxelinux.0", 4), ("tag:ipxe,67", "http://x/boot.ipxe", 4),
        ("server-ip-address", "10.0.0.10", 4), ("tftp-server", "10.0.0.10", 4),
        ("dns-server", "2001:db8::1", 6), ("no-such-option", "x", 4), ("mtu", "big", 4),
        ("150", "10.0.0.10", 4), ("224", "7", 4), ("tag:efi,bootfile-name", "no", 4)))
    net = replace(NET, hosts=(host,))
    out = answer(request(MessageType.DISCOVER), net, 0.0)
    assert out.reply is not None
    msg = out.reply.message
    assert msg.get(Opt.DNS) == bytes([1, 1, 1, 1, 9, 9, 9, 9])
    assert msg.get(Opt.MTU) == (9000).to_bytes(2, "big")
    assert msg.get(Opt.ROUTER) == bytes([10, 0, 0, 3])
    assert msg.get(67) == b"pxelinux.0" and msg.file == b"pxelinux.0"
    assert msg.siaddr == "10.0.0.10" and msg.get(66) == b"10.0.0.10"
    assert msg.get(150) == bytes([10, 0, 0, 10]) and msg.get(224) == b"\x07"
    ipxe = answer(request(MessageType.DISCOVER, options=((Opt.IPXE_ENCAP, b"\x01\x01\x01"),)),
                  net, 0.0).reply
    assert ipxe is not None and ipxe.message.get(67) == b"http://x/boot.ipxe"


def test_render_extra_classless_routes() -> None:
    extra = render_extra([("classless-static-route", "169.254.169.254/32,10.0.0.2,"
                           "0.0.0.0/0,10.0.0.1", 4)], set())
    assert parse_classless_routes(extra.options[121])[0] == ("169.254.169.254/32", "10.0.0.2")


@given(st.binary(min_size=1, max_size=300), st.sampled_from(list(MessageType)),
       st.sampled_from(["0.0.0.0", "10.0.0.5", "10.0.0.1", "10.1.2.3"]))
def test_never_crashes_on_odd_requests(junk: bytes, kind: MessageType, addr: str) -> None:
    msg = request(kind, ciaddr=addr, giaddr=addr, options=((Opt.REQUESTED_IP, bytes(4)),
                                                           (Opt.IPXE_ENCAP, junk)))
    host = replace(HOST, extra_opts=(("61", "x", 4), ("82", "y", 4), ("53", "1", 4)))
    out = answer(msg, replace(NET, hosts=(host,)), 0.0)
    if out.reply is not None:
        codes = [c for c, _ in out.reply.message.options]
        assert len(codes) == len(set(codes)) and out.reply.dest_ip != "0.0.0.0"
        assert decode(encode(out.reply.message)).xid == 42
