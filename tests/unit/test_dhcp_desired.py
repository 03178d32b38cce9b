"""dhcp_networks (pure): which networks this host serves and what each server knows; and the
DHCP parts of the L2 spec and the firewall."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.desired import FLOOD_MAC, HostConfig, Tap, host_spec
from neutrino.agent.dhcp import DhcpPeer
from neutrino.agent.dhcp.codec import DhcpMessage, MessageType, Opt, mac_to_chaddr
from neutrino.agent.dhcp.desired import dhcp_networks, hostname
from neutrino.agent.dhcp.plumbing import ns_interface
from neutrino.agent.dhcp.responder import answer
from neutrino.agent.dhcp.served import Served
from neutrino.agent.firewall.render import render
from neutrino.agent.firewall.spec import firewall_spec
from neutrino.agent.names import IFNAMSIZ, bridge_name, dhcp_netns, dhcp_network_of, tap_name
from neutrino.wire.snapshot import (
    HostSnapshot,
    RemotePort,
    SnapshotNetwork,
    SnapshotPeer,
    SnapshotPort,
    SnapshotSubnet,
)

V4 = SnapshotSubnet("s4", "10.0.0.0/24", 4, "10.0.0.1", True)
V6 = SnapshotSubnet("s6", "2001:db8::/64", 6, None, True, ipv6_address_mode="dhcpv6-stateful")
OFF = SnapshotSubnet("s4off", "10.9.0.0/16", 4, "10.9.0.1", False)


def port(i: int, net: str, ips: tuple[tuple[str, str], ...] = (), **kw: object
         ) -> SnapshotPort:
    base = SnapshotPort(id=f"{i:08x}-2222-4000-8000-000000000000", network_id=net,
                        mac_address=f"FA:16:3E:00:01:{i:02X}", fixed_ips=ips,
                        admin_state_up=True, device_owner="compute:nova",
                        port_security_enabled=True, security_groups=(),
                        allowed_address_pairs=(), revision_number=1, status="DOWN")
    return replace(base, **kw)  # type: ignore[arg-type]


def network(i: int, dhcp: bool = True, subnets: tuple[SnapshotSubnet, ...] = (V4, V6, OFF),
            **kw: object) -> SnapshotNetwork:
    net_id = f"{i:08x}-3333-4000-8000-000000000000"
    dp = port(0xF0 + i, net_id, (("s4", "10.0.0.2"), ("s6", "2001:db8::2"),
                                 ("s4off", "10.9.0.2")),
              device_owner="network:dhcp", mac_address=f"FA:16:3E:FF:00:{i:02X}")
    base = SnapshotNetwork(id=net_id, network_type="local", physical_network=None,
                           segmentation_id=None, mtu=1450, subnets=subnets,
                           dhcp_port=dp if dhcp else None, dns_domain="example.org.")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_agents_in_their_own_namespaces_never_share_a_dhcp_namespace() -> None:
    """Two agents on one machine (each in its own namespace) serving one network: their DHCP
    namespaces differ (machine-wide names; they used to fight over one), and each agent
    recognises only its own as stale-or-served."""
    served = network(1)
    p = port(1, served.id, (("s4", "10.0.0.10"),))
    snap = HostSnapshot("h", 1, networks=(served,), ports=(p,))
    (one,) = dhcp_networks(snap, host_netns="nqt-1-host1")
    (two,) = dhcp_networks(snap, host_netns="nqt-1-host2")
    (root,) = dhcp_networks(snap)
    assert len({one.netns, two.netns, root.netns}) == 3
    assert root.netns == "nqdhcp-" + served.id  # a single agent per machine: Neutron's shape
    assert dhcp_network_of(one.netns, "nqt-1-host1") == served.id
    assert dhcp_network_of(one.netns, "nqt-1-host2") is None
    assert dhcp_network_of(one.netns, None) is None
    assert dhcp_network_of(root.netns, "nqt-1-host1") is None
    assert dhcp_network_of("qdhcp-" + served.id, None) is None  # Neutron's are not ours


@given(st.uuids().map(str), st.one_of(st.none(), st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True)))
def test_a_dhcp_namespace_name_gives_back_its_network(network_id: str,
                                                     host_netns: str | None) -> None:
    assert dhcp_network_of(dhcp_netns(network_id, host_netns), host_netns) == network_id


def test_one_server_per_network_with_a_dhcp_port_and_local_ports() -> None:
    served, no_dhcp, no_ports = network(1), network(2, dhcp=False), network(3)
    p = port(1, served.id, (("s4", "10.0.0.10"), ("s6", "2001:db8::10"), ("s4off", "10.9.0.10")))
    q = port(2, no_dhcp.id, (("s4", "10.0.0.11"),))
    snap = HostSnapshot("h", 1, networks=(served, no_dhcp, no_ports), ports=(p, q))
    (got,) = dhcp_networks(snap, lease_time=600)
    assert got.network_id == served.id and got.netns == dhcp_netns(served.id)
    assert got.interface == tap_name(served.dhcp_port.id)  # type: ignore[union-attr]
    assert got.bridge == bridge_name(served.id)
    assert got.server_mac == "fa:16:3e:ff:00:01"
    assert got.server_addresses == ("10.0.0.2/24", "2001:db8::2/64")  # not the DHCP-off one
    assert got.subnets == (V4, V6)
    assert got.mtu == 1450 and got.dns_domain == "example.org." and got.lease_time == 600
    (host,) = got.hosts
    assert host.port_id == p.id and host.mac_address == "fa:16:3e:00:01:01"
    assert host.ip_addresses == ("10.0.0.10", "2001:db8::10")
    assert host.hostname == "host-10-0-0-10"


def test_hostname_is_dns_name_else_neutrons() -> None:
    p = port(1, "n")
    assert hostname(p, "10.0.0.5") == "host-10-0-0-5"
    assert hostname(p, "2001:db8::5") == "host-2001-db8--5"
    assert hostname(replace(p, dns_name="web1"), "10.0.0.5") == "web1"


def test_extra_opts_travel_and_ports_without_dhcp_addresses_are_left_out() -> None:
    net = network(1)
    opts = (("bootfile-name", "pxe.0", 4),)
    a = port(1, net.id, (("s4", "10.0.0.10"),), extra_dhcp_opts=opts)
    b = port(2, net.id, (("s4off", "10.9.0.10"),))
    (got,) = dhcp_networks(HostSnapshot("h", 1, networks=(net,), ports=(a, b)))
    assert [h.port_id for h in got.hosts] == [a.id]
    assert got.hosts[0].extra_opts == opts


def test_the_dhcp_port_itself_is_no_client_and_no_reason_to_serve() -> None:
    net = network(1)
    assert net.dhcp_port is not None
    snap = HostSnapshot("h", 1, networks=(net,), ports=(net.dhcp_port,))
    assert dhcp_networks(snap) == ()
    assert len(host_spec(snap, HostConfig()).taps) == 1  # as any bound port; never twice


def test_no_dhcp_subnet_no_server() -> None:
    net = network(1, subnets=(OFF,))
    snap = HostSnapshot("h", 1, networks=(net,), ports=(port(1, net.id, (("s4off", "10.9.0.3"),)),))
    assert dhcp_networks(snap) == ()
    assert len(host_spec(snap, HostConfig()).taps) == 1


def peer(i: int, ips: tuple[tuple[str, str], ...], dns_name: str = "") -> SnapshotPeer:
    return SnapshotPeer(port_id=f"{i:08x}-4444-4000-8000-000000000000", fixed_ips=ips,
                        dns_name=dns_name)


def test_peers_are_named_as_clients_are_for_dns_only() -> None:
    """The network's ports bound elsewhere (peers) get names by the clients' rule, from
    their DHCP addresses; they are never clients, and never a reason to serve."""
    elsewhere = peer(3, (("s4", "10.0.0.30"), ("s6", "2001:db8::30"), ("s4off", "10.9.0.30")))
    named = peer(2, (("s4off", "10.9.0.20"), ("s6", "2001:db8::20")), dns_name="db")
    nothing = peer(4, (("s4off", "10.9.0.40"),))  # no DHCP address: no name
    net = network(1, peers=(elsewhere, nothing, named))
    vm = port(1, net.id, (("s4", "10.0.0.10"),))
    (got,) = dhcp_networks(HostSnapshot("h", 1, networks=(net,), ports=(vm,)))
    assert [h.port_id for h in got.hosts] == [vm.id]
    assert got.peers == (DhcpPeer(named.port_id, ("2001:db8::20",), "db"),
                         DhcpPeer(elsewhere.port_id, ("10.0.0.30", "2001:db8::30"),
                                  "host-10-0-0-30"))
    client = replace(vm, dns_name="", fixed_ips=elsewhere.fixed_ips)  # were it bound here
    assert got.peers[1].hostname == hostname(client, "10.0.0.30") == dhcp_networks(
        HostSnapshot("h", 1, networks=(net,), ports=(client,)))[0].hosts[0].hostname
    # peers alone are no reason to serve
    assert dhcp_networks(HostSnapshot("h", 1, networks=(net,))) == ()


def test_a_peer_mac_is_not_served_dhcp() -> None:
    """A VXLAN network: the other host's port is both FDB material (remote_ports, with its
    MAC) and a peer (its name); our DHCP servers know no such MAC."""
    remote_mac = "fa:16:3e:00:09:09"
    elsewhere = peer(9, (("s4", "10.0.0.99"),))
    net = network(1, network_type="vxlan", segmentation_id=100, peers=(elsewhere,),
                  remote_vteps=("192.0.2.2",),
                  remote_ports=(RemotePort(remote_mac, ("10.0.0.99",), "192.0.2.2"),))
    vm = port(1, net.id, (("s4", "10.0.0.10"),))
    snap = HostSnapshot("h", 1, networks=(net,), ports=(vm,))
    (got,) = dhcp_networks(snap)
    served = Served.of(got)
    assert served.for_mac(remote_mac) is None and served.for_mac(vm.mac_address) is not None
    discover = DhcpMessage(op=1, xid=1, chaddr=mac_to_chaddr(remote_mac), options=(
        (Opt.MESSAGE_TYPE, bytes([MessageType.DISCOVER])),))
    assert answer(discover, got, 0.0).reply is None
    ours = replace(discover, chaddr=mac_to_chaddr(vm.mac_address))
    assert answer(ours, got, 0.0).reply is not None  # the same DISCOVER from our client
    assert [p.port_id for p in got.peers] == [elsewhere.port_id]  # but it has its name
    spec = host_spec(snap, HostConfig(local_ip="192.0.2.1"))
    assert {(e.mac, e.dst) for e in spec.fdb} == {(FLOOD_MAC, "192.0.2.2"),
                                                  (remote_mac, "192.0.2.2")}


@st.composite
def snapshots(draw: st.DrawFn) -> HostSnapshot:
    nets = [network(i, dhcp=draw(st.booleans()), peers=tuple(
        peer(0x80 + 8 * i + k, tuple(draw(st.lists(st.sampled_from(
            [("s4", f"10.0.0.{100 + 8 * i + k}"), ("s4off", f"10.9.0.{100 + 8 * i + k}")]),
            unique=True))), draw(st.sampled_from(["", f"peer{k}"])))
        for k in range(draw(st.integers(0, 3)))))
        for i in range(draw(st.integers(0, 4)))]
    ports = []
    for j in range(draw(st.integers(0, 10))):
        if not nets:
            break
        net = nets[draw(st.integers(0, len(nets) - 1))]
        ips = draw(st.lists(st.sampled_from([("s4", f"10.0.0.{10 + j}"),
                                             ("s6", f"2001:db8::{10 + j:x}"),
                                             ("s4off", f"10.9.0.{10 + j}")]), unique=True))
        ports.append(port(j, net.id, tuple(ips)))
    return HostSnapshot("h", 1, networks=tuple(nets), ports=tuple(ports))


@given(snapshots(), st.randoms())
def test_deterministic_and_order_free(snap: HostSnapshot, rnd: random.Random) -> None:
    nets, ports = list(snap.networks), list(snap.ports)
    rnd.shuffle(nets)
    rnd.shuffle(ports)
    nets = [replace(n, peers=tuple(rnd.sample(n.peers, len(n.peers)))) for n in nets]
    shuffled = replace(snap, networks=tuple(nets), ports=tuple(ports))
    assert dhcp_networks(shuffled) == dhcp_networks(snap)


@given(snapshots())
def test_served_exactly_where_l2_puts_a_dhcp_tap_and_the_firewall_keeps_it_local(
        snap: HostSnapshot) -> None:
    got = dhcp_networks(snap)
    local = {p.network_id for p in snap.ports}
    assert {n.network_id for n in got} == {n.id for n in snap.networks
                                           if n.dhcp_port is not None and n.id in local}
    taps = {t.name: t for t in host_spec(snap, HostConfig()).taps}
    for n in got:
        assert taps[n.interface] == Tap(n.interface, n.bridge, n.mtu, True)
        assert len(ns_interface(n.interface)) <= IFNAMSIZ
        macs = [h.mac_address for h in n.hosts]
        assert len(set(macs)) == len(macs)
        for h in n.hosts:  # clients are local ports of the network, with DHCP addresses
            p = next(p for p in snap.ports if p.id == h.port_id)
            assert p.network_id == n.network_id and h.ip_addresses
            assert Served.of(n).for_mac(h.mac_address.upper()) is not None
        assert not {p.port_id for p in n.peers} & {h.port_id for h in n.hosts}
        assert all(p.ip_addresses for p in n.peers)  # only peers with a name to answer
    assert firewall_spec(snap).dhcp_devices == tuple(sorted(n.interface for n in got))


def test_network_owned_ports_are_not_filtered() -> None:
    net = network(1)
    router = port(5, net.id, (("s4", "10.0.0.1"),), device_owner="network:router_interface")
    vm = port(6, net.id, (("s4", "10.0.0.6"),))
    spec = firewall_spec(HostSnapshot("h", 1, networks=(net,), ports=(router, vm)))
    assert [p.id for p in spec.filtered] == [vm.id]
    assert tap_name(router.id) not in render(spec)


def test_dhcp_taps_talk_only_to_local_taps() -> None:
    net = network(1)
    vm = port(6, net.id, (("s4", "10.0.0.6"),))
    script = render(firewall_spec(HostSnapshot("h", 1, networks=(net,), ports=(vm,))))
    dhcp = tap_name(net.dhcp_port.id)  # type: ignore[union-attr]
    forward = script[script.index("chain forward {", script.index("table bridge")):]
    assert f'iifname {{ "{dhcp}" }} oifname != "tap*" drop' in forward
    assert f'iifname != "tap*" oifname {{ "{dhcp}" }} drop' in forward
    assert forward.index("drop") < forward.index("oifname vmap @to_port")
    none = render(firewall_spec(HostSnapshot("h", 1, ports=(vm,))))
    assert '"tap*"' not in none
