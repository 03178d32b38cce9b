"""DHCPv6 responder (pure): stateful vs stateless, rapid commit, renew after a port update,
server id rules, relays, identification by DUID or link-local MAC."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, DhcpPeer
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
)
from neutrino.agent.dhcp.responder6 import CLIENT_PORT, SERVER_PORT, answer6
from neutrino.wire import SnapshotSubnet

MAC, SERVER_MAC = "fa:16:3e:00:00:01", "fa:16:3e:00:00:02"
LINK_LOCAL = "fe80::f816:3eff:fe00:1"
S_FUL = SnapshotSubnet(id="s6", cidr="2001:db8:1::/64", ip_version=6,
                       gateway_ip="2001:db8:1::1", enable_dhcp=True,
                       dns_nameservers=("2001:db8::53", "8.8.8.8"),
                       ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
S_LESS = replace(S_FUL, id="s6b", cidr="2001:db8:2::/64", ipv6_address_mode="dhcpv6-stateless",
                 ipv6_ra_mode="dhcpv6-stateless")
HOST = DhcpHost(port_id="p1", mac_address=MAC, hostname="h",
                ip_addresses=("10.0.0.5", "2001:db8:1::5", "2001:db8:2::f816:3eff:fe00:1"))
NET = DhcpNetwork(network_id="n", netns="ns", interface="tap", bridge="br",
                  server_mac=SERVER_MAC, server_addresses=("2001:db8:1::2/64",),
                  subnets=(S_FUL,), hosts=(HOST,), mtu=1450, dns_domain="example.org.",
                  lease_time=3600)
SERVER_ID = duid_ll(SERVER_MAC)


def msg(kind: MsgType, *options: tuple[int, bytes], mac: str = MAC, ia: bool = True
        ) -> Dhcp6Message:
    opts = [(Opt6.CLIENTID, duid_ll(mac))]
    if ia:
        opts.append((Opt6.IA_NA, encode_ia_na(IaNa(9))))
    got = decode(encode(Dhcp6Message(kind, 0xABCDEF, (*opts, *options))))
    assert isinstance(got, Dhcp6Message)
    return got


def reply_of(out: object) -> Dhcp6Message:
    reply = getattr(out, "reply", None)
    assert reply is not None and reply.dest_port == CLIENT_PORT
    message = decode(encode(reply.message))
    assert isinstance(message, Dhcp6Message) and message.transaction_id == 0xABCDEF
    return message


def test_solicit_advertise_request_reply() -> None:
    adv = reply_of(answer6(msg(MsgType.SOLICIT), NET))
    assert adv.msg_type == MsgType.ADVERTISE and adv.server_id == SERVER_ID
    assert adv.client_id == duid_ll(MAC)
    (ia,) = adv.ia_nas
    assert ia.iaid == 9 and (ia.t1, ia.t2) == (1800, 2880)
    assert [(a.address, a.preferred, a.valid) for a in ia.addresses] == [
        ("2001:db8:1::5", 3600, 3600)]
    assert adv.get(Opt6.DNS_SERVERS) == bytes.fromhex("20010db8" + "0" * 20 + "0053")
    assert adv.get(Opt6.DOMAIN_LIST) == b"\x07example\x03org\x00"
    rep = reply_of(answer6(msg(MsgType.REQUEST, (Opt6.SERVERID, SERVER_ID)), NET))
    assert rep.msg_type == MsgType.REPLY and rep.ia_nas[0].addresses[0].address == "2001:db8:1::5"


def test_rapid_commit() -> None:
    rep = reply_of(answer6(msg(MsgType.SOLICIT, (Opt6.RAPID_COMMIT, b"")), NET))
    assert rep.msg_type == MsgType.REPLY and rep.rapid_commit


def test_stateless_gets_information_only() -> None:
    net = replace(NET, subnets=(S_LESS,))
    info = reply_of(answer6(msg(MsgType.INFORMATION_REQUEST, ia=False), net))
    assert info.msg_type == MsgType.REPLY and info.ia_nas == ()
    assert info.get(Opt6.DNS_SERVERS) is not None and info.get(Opt6.DOMAIN_LIST) is not None
    adv = reply_of(answer6(msg(MsgType.SOLICIT), net))
    assert adv.ia_nas[0].addresses == () and adv.ia_nas[0].status == Status.NO_ADDRS_AVAIL


def test_no_nameservers_means_our_own_dns() -> None:
    """As dnsmasq: a subnet without dns_nameservers gets the server's address on it; `::`
    alone announces none."""
    net = replace(NET, subnets=(replace(S_FUL, dns_nameservers=()),))
    adv = reply_of(answer6(msg(MsgType.SOLICIT), net))
    assert adv.get(Opt6.DNS_SERVERS) == bytes.fromhex("20010db80001" + "0" * 16 + "0002")
    net = replace(NET, subnets=(replace(S_FUL, dns_nameservers=("::",)),))
    assert reply_of(answer6(msg(MsgType.SOLICIT), net)).get(Opt6.DNS_SERVERS) is None


def test_slaac_only_network_gets_nothing() -> None:
    slaac = replace(S_FUL, ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    assert answer6(msg(MsgType.INFORMATION_REQUEST, ia=False),
                   replace(NET, subnets=(slaac,))).reply is None


def test_unknown_client_and_other_server() -> None:
    assert answer6(msg(MsgType.SOLICIT, mac="fa:16:3e:99:99:99"), NET).reply is None
    other = duid_ll("fa:16:3e:99:99:98")
    assert answer6(msg(MsgType.REQUEST, (Opt6.SERVERID, other)), NET).reply is None
    assert answer6(msg(MsgType.REQUEST), NET).reply is None  # REQUEST needs a server id
    assert answer6(msg(MsgType.SOLICIT, (Opt6.SERVERID, SERVER_ID)), NET).reply is None


def test_a_peer_is_no_client() -> None:
    moved = replace(NET, hosts=(), peers=(DhcpPeer(HOST.port_id, HOST.ip_addresses,
                                                   HOST.hostname),))
    assert answer6(msg(MsgType.SOLICIT), moved).reply is None
    assert answer6(msg(MsgType.INFORMATION_REQUEST, ia=False), moved).reply is None


def test_identified_by_link_local_mac_when_duid_is_not_ll() -> None:
    duid_en = bytes.fromhex("000200000009aabbccdd")
    request = Dhcp6Message(MsgType.INFORMATION_REQUEST, 0xABCDEF, ((Opt6.CLIENTID, duid_en),))
    assert answer6(request, NET).reply is None
    rep = reply_of(answer6(request, NET, source_mac="fa:16:3e:00:00:01"))
    assert rep.client_id == duid_en


def test_renew_after_port_update() -> None:
    moved = replace(NET, hosts=(replace(HOST, ip_addresses=("2001:db8:1::9",)),))
    old = IaNa(9, 0, 0, (ia_address("2001:db8:1::5", 3600, 3600),))
    renew = msg(MsgType.RENEW, (Opt6.SERVERID, SERVER_ID), ia=False)
    renew = replace(renew, options=(*renew.options, (Opt6.IA_NA, encode_ia_na(old))))
    (ia,) = reply_of(answer6(renew, moved)).ia_nas
    assert [(a.address, a.valid) for a in ia.addresses] == [
        ("2001:db8:1::9", 3600), ("2001:db8:1::5", 0)]


def test_confirm_release_decline() -> None:
    here = IaNa(9, 0, 0, (ia_address("2001:db8:1::5", 0, 0),))
    away = IaNa(9, 0, 0, (ia_address("2001:db8:7::5", 0, 0),))
    for ia, status in ((here, Status.SUCCESS), (away, Status.NOT_ON_LINK)):
        confirm = Dhcp6Message(MsgType.CONFIRM, 0xABCDEF, (
            (Opt6.CLIENTID, duid_ll(MAC)), (Opt6.IA_NA, encode_ia_na(ia))))
        rep = reply_of(answer6(confirm, NET))
        assert rep.get(Opt6.STATUS_CODE) == status.to_bytes(2, "big")
    for kind in (MsgType.RELEASE, MsgType.DECLINE):
        request = Dhcp6Message(kind, 0xABCDEF, ((Opt6.CLIENTID, duid_ll(MAC)),
                                                (Opt6.SERVERID, SERVER_ID),
                                                (Opt6.IA_NA, encode_ia_na(here))))
        out = answer6(request, NET)
        assert reply_of(out).get(Opt6.STATUS_CODE) == b"\0\0"
        assert out.event is not None and out.event.kind == kind.name.lower()
        assert out.event.address == "2001:db8:1::5"


def test_relay_forward_gets_relay_reply() -> None:
    inner = Dhcp6Message(MsgType.SOLICIT, 0xABCDEF, (
        (Opt6.CLIENTID, bytes.fromhex("0004") + b"u" * 16),  # DUID-UUID: no MAC in it
        (Opt6.IA_NA, encode_ia_na(IaNa(1)))))
    relay = RelayMessage(MsgType.RELAY_FORW, 0, "2001:db8:1::1", LINK_LOCAL,
                         ((Opt6.INTERFACE_ID, b"port7"), (Opt6.RELAY_MSG, encode(inner))))
    out = answer6(relay, NET)
    assert out.reply is not None and out.reply.dest_port == SERVER_PORT
    got = decode(encode(out.reply.message))
    assert isinstance(got, RelayMessage) and got.msg_type == MsgType.RELAY_REPL
    assert got.get(Opt6.INTERFACE_ID) == b"port7" and got.peer_address == LINK_LOCAL
    adv = got.relayed
    assert isinstance(adv, Dhcp6Message) and adv.msg_type == MsgType.ADVERTISE
    assert adv.ia_nas[0].addresses[0].address == "2001:db8:1::5"
    # a relay on another link: none of our subnets
    far = replace(relay, link_address="2001:db8:9::1")
    assert answer6(far, NET).reply is None


def test_extra_opts_v6() -> None:
    host = replace(HOST, extra_opts=(("dns-server", "2001:db8::99", 6),
                                     ("bootfile-url", "http://x/b.efi", 6),
                                     ("dns-server", "1.1.1.1", 4)))
    rep = reply_of(answer6(msg(MsgType.SOLICIT), replace(NET, hosts=(host,))))
    assert rep.get(Opt6.DNS_SERVERS) == bytes.fromhex("20010db8" + "0" * 20 + "0099")
    assert rep.get(Opt6.BOOTFILE_URL) == b"http://x/b.efi"


@given(st.sampled_from(list(MsgType)), st.binary(max_size=40), st.booleans())
def test_never_crashes(kind: MsgType, junk: bytes, with_server: bool) -> None:
    options = [(Opt6.CLIENTID, duid_ll(MAC)), (Opt6.IA_NA, encode_ia_na(IaNa(1))),
               (99, junk)]
    if with_server:
        options.append((Opt6.SERVERID, SERVER_ID))
    out = answer6(Dhcp6Message(kind, 1, tuple(options)), NET, source_mac=MAC)
    if out.reply is not None:
        decode(encode(out.reply.message))
