"""The dnsmasq driver's files and command line, line for line what Neutron's DHCP agent
writes for the same network (neutron.agent.linux.dhcp.Dnsmasq, Neutron 29)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, DhcpPeer
from neutrino.agent.dhcp.dnsmasq_files import (
    Files,
    addn_hosts_file,
    command_line,
    format_option,
    hosts_file,
    init_leases_file,
    opts_file,
    ranged_subnets,
)
from neutrino.agent.dhcp.hostnames import hostname_and_fqdn
from neutrino.wire import SnapshotSubnet

NET = "0b3cc1a2-5d6e-4f70-8192-a3b4c5d6e7f8"
V4 = SnapshotSubnet(id="s4", cidr="10.0.0.0/24", ip_version=4, gateway_ip="10.0.0.1",
                    enable_dhcp=True, dns_nameservers=("8.8.8.8", "8.8.4.4"))
V4B = SnapshotSubnet(id="s4b", cidr="10.1.0.0/24", ip_version=4, gateway_ip=None,
                     enable_dhcp=True)
V6 = SnapshotSubnet(id="s6", cidr="fd00::/64", ip_version=6, gateway_ip="fd00::1",
                    enable_dhcp=True, ipv6_address_mode="dhcpv6-stateful",
                    ipv6_ra_mode="dhcpv6-stateful", dns_nameservers=("fd00::53",))
SLAAC = SnapshotSubnet(id="sl", cidr="fd01::/64", ip_version=6, gateway_ip="fd01::1",
                       enable_dhcp=True, ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
STATELESS = SnapshotSubnet(id="st", cidr="fd02::/64", ip_version=6, gateway_ip="fd02::1",
                           enable_dhcp=True, ipv6_address_mode="dhcpv6-stateless",
                           ipv6_ra_mode="dhcpv6-stateless")
FILES = Files(Path("/var/lib/neutrino/dnsmasq") / NET)


def host(port: str, mac: str, *ips: str, name: str = "",
         opts: tuple[tuple[str, str, int], ...] = ()) -> DhcpHost:
    return DhcpHost(port_id=port, mac_address=mac, ip_addresses=ips, hostname=name,
                    extra_opts=opts)


def network(*subnets: SnapshotSubnet, hosts: tuple[DhcpHost, ...] = (), mtu: int = 1450,
            domain: str = "", lease: int = 86400) -> DhcpNetwork:
    return DhcpNetwork(network_id=NET, netns=f"nqdhcp-{NET}", interface="tapdhcp",
                       bridge="brq0b3cc1a2-5d", server_mac="fa:16:3e:00:00:02",
                       server_addresses=("10.0.0.2/24",), subnets=subnets, hosts=hosts,
                       mtu=mtu, dns_domain=domain, lease_time=lease)


# --------------------------------------------------------------------------- hosts file
def test_hosts_file_is_mac_fqdn_ip_per_port() -> None:
    net = network(V4, hosts=(host("p1", "FA:16:3E:00:00:01", "10.0.0.5"),
                             host("p2", "fa:16:3e:00:00:02", "10.0.0.6", name="web")),
                  domain="openstacklocal.")
    assert hosts_file(net) == ("fa:16:3e:00:00:01,host-10-0-0-5.openstacklocal,10.0.0.5\n"
                               "fa:16:3e:00:00:02,web.openstacklocal,10.0.0.6\n")


def test_hosts_file_without_domain_has_bare_names() -> None:
    net = network(V4, hosts=(host("p1", "fa:16:3e:00:00:01", "10.0.0.5"),))
    assert hosts_file(net) == "fa:16:3e:00:00:01,host-10-0-0-5,10.0.0.5\n"


def test_addresses_outside_dhcp_subnets_are_left_out() -> None:
    net = network(V4, hosts=(host("p1", "fa:16:3e:00:00:01", "10.0.0.5", "192.168.9.9"),))
    assert hosts_file(net) == "fa:16:3e:00:00:01,host-10-0-0-5,10.0.0.5\n"


def test_a_port_with_extra_opts_sets_its_tag() -> None:
    net = network(V4, hosts=(host("p1", "fa:16:3e:00:00:01", "10.0.0.5",
                                  opts=(("bootfile-name", "pxelinux.0", 4),)),))
    assert hosts_file(net) == "fa:16:3e:00:00:01,host-10-0-0-5,10.0.0.5,set:port-p1\n"


def test_client_id_names_the_client() -> None:
    only = network(V4, hosts=(host("p1", "fa:16:3e:00:00:01", "10.0.0.5",
                                   opts=(("client-id", "cid1", 4),)),))
    assert hosts_file(only) == "fa:16:3e:00:00:01,id:cid1,host-10-0-0-5,10.0.0.5\n"
    more = network(V4, hosts=(host("p1", "fa:16:3e:00:00:01", "10.0.0.5",
                                   opts=(("client-id", "cid1", 4), ("mtu", "9000", 4))),))
    assert hosts_file(more) == ("fa:16:3e:00:00:01,id:cid1,host-10-0-0-5,10.0.0.5,"
                                "set:port-p1\n")


def test_ipv6_hosts_are_tagged_bracketed_and_merged_per_stateful_subnet() -> None:
    net = network(V4, V6, SLAAC, STATELESS, hosts=(
        host("p1", "fa:16:3e:00:00:01", "10.0.0.5", "fd00::5", "fd00::6", "fd01::5",
             "fd02::5", opts=(("dns-server", "[fd00::53]", 6),)),))
    assert hosts_file(net).splitlines() == [
        "fa:16:3e:00:00:01,tag:dhcpv6,set:port-p1",  # stateless first, options only
        "fa:16:3e:00:00:01,host-10-0-0-5,10.0.0.5,set:port-p1",
        "fa:16:3e:00:00:01,tag:dhcpv6,host-fd00--5,[fd00::5],[fd00::6],set:port-p1",
    ]


def test_a_name_dnsmasq_would_reject_falls_back_to_the_generated_one() -> None:
    odd = host("p1", "fa:16:3e:00:00:01", "10.0.0.5", name="bad name,x")
    assert hostname_and_fqdn(odd, "10.0.0.5", "") == ("host-10-0-0-5", "host-10-0-0-5")
    fq = host("p1", "fa:16:3e:00:00:01", "10.0.0.5", name="vm1.example.org.")
    assert hostname_and_fqdn(fq, "10.0.0.5", "other") == ("vm1", "vm1.example.org")


def test_addn_hosts_name_every_address_fqdn_first() -> None:
    net = network(V4, V6, SLAAC, hosts=(
        host("p1", "fa:16:3e:00:00:01", "10.0.0.5", "fd00::5", "fd01::5"),
        host("p2", "fa:16:3e:00:00:02", "10.0.0.6", name="web")), domain="openstacklocal.")
    assert addn_hosts_file(net) == (
        "10.0.0.5\thost-10-0-0-5.openstacklocal host-10-0-0-5\n"
        "fd00::5\thost-fd00--5.openstacklocal host-fd00--5\n"  # no name: one per address
        "fd01::5\thost-fd01--5.openstacklocal host-fd01--5\n"
        "10.0.0.6\tweb.openstacklocal web\n")


def test_addn_hosts_without_domain_repeat_the_bare_name() -> None:
    net = network(V4, hosts=(host("p1", "fa:16:3e:00:00:01", "10.0.0.5", name="Web"),))
    assert addn_hosts_file(net) == "10.0.0.5\tWeb Web\n"


def test_peers_are_named_in_addn_hosts_only() -> None:
    """Ports bound elsewhere: dnsmasq's DNS answers for them, its DHCP never (no hosts-file
    line, no lease, no options), as our clients' hosts file has none of them."""
    client = host("p1", "fa:16:3e:00:00:01", "10.0.0.5", opts=(("mtu", "1400", 4),))
    peers = (DhcpPeer("p2", ("10.0.0.6", "fd00::6"), "host-10-0-0-6"),
             DhcpPeer("p3", ("10.0.0.7",), "db"))
    alone = network(V4, V6, hosts=(client,), domain="openstacklocal")
    net = replace(alone, peers=peers)
    assert addn_hosts_file(net) == addn_hosts_file(alone) + (
        "10.0.0.6\thost-10-0-0-6.openstacklocal host-10-0-0-6\n"
        "fd00::6\thost-10-0-0-6.openstacklocal host-10-0-0-6\n"
        "10.0.0.7\tdb.openstacklocal db\n")
    assert hosts_file(net) == hosts_file(alone)
    assert init_leases_file(net) == init_leases_file(alone)
    assert opts_file(net) == opts_file(alone)
    assert command_line(net, FILES) == command_line(alone, FILES)


def test_init_leases_are_infinite_ipv4_only() -> None:
    net = network(V4, V6, hosts=(host("p1", "FA:16:3E:00:00:01", "10.0.0.5", "fd00::5"),))
    assert init_leases_file(net) == "0 fa:16:3e:00:00:01 10.0.0.5 * *\n"


# --------------------------------------------------------------------------- opts file
def test_subnet_options_dns_router_and_no_routes_when_only_the_default() -> None:
    assert opts_file(network(V4)).split("\n") == [
        "tag:subnet-s4,option:dns-server,8.8.8.8,8.8.4.4",
        "tag:subnet-s4,option:router,10.0.0.1",
    ]


def test_no_gateway_means_an_empty_router_option() -> None:
    # dnsmasq would otherwise announce its own address as the router
    assert opts_file(network(V4B)) == "tag:subnet-s4b,option:router"


def test_host_routes_become_121_and_249_with_the_default_last() -> None:
    sub = SnapshotSubnet(id="s4", cidr="10.0.0.0/24", ip_version=4, gateway_ip="10.0.0.1",
                         enable_dhcp=True,
                         host_routes=(("198.51.100.0/24", "10.0.0.9"),))
    routes = "198.51.100.0/24,10.0.0.9,0.0.0.0/0,10.0.0.1"
    assert opts_file(network(sub)).split("\n") == [
        f"tag:subnet-s4,option:classless-static-route,{routes}",
        f"tag:subnet-s4,249,{routes}",
        "tag:subnet-s4,option:router,10.0.0.1",
    ]


def test_a_default_host_route_stands_in_for_a_missing_gateway() -> None:
    sub = SnapshotSubnet(id="s4", cidr="10.0.0.0/24", ip_version=4, gateway_ip=None,
                         enable_dhcp=True, host_routes=(("0.0.0.0/0", "10.0.0.254"),))
    assert opts_file(network(sub)) == "tag:subnet-s4,option:router,10.0.0.254"


def test_other_ipv4_subnets_are_on_link_routes_first() -> None:
    lines = opts_file(network(V4, V4B)).split("\n")
    assert ("tag:subnet-s4,option:classless-static-route,10.1.0.0/24,0.0.0.0,"
            "0.0.0.0/0,10.0.0.1") in lines
    assert "tag:subnet-s4b,option:classless-static-route,10.0.0.0/24,0.0.0.0" in lines
    assert "tag:subnet-s4b,option:router" in lines


def test_any_address_nameserver_announces_none() -> None:
    sub = SnapshotSubnet(id="s4", cidr="10.0.0.0/24", ip_version=4, gateway_ip=None,
                         enable_dhcp=True, dns_nameservers=("0.0.0.0",))
    assert opts_file(network(sub)).split("\n")[0] == "tag:subnet-s4,option:dns-server"


def test_ipv6_options_are_dns_and_domain_search_only_and_slaac_gets_none() -> None:
    assert opts_file(network(V6, SLAAC, domain="example.org.")).split("\n") == [
        "tag:subnet-s6,option6:dns-server,[fd00::53]",
        "tag:subnet-s6,option6:domain-search,example.org",
    ]


def test_port_options_are_keyed_on_the_port_tag_per_ip_version() -> None:
    opts = (("bootfile-name", "pxelinux.0", 4), ("tag:ipxe,bootfile-name", "boot.ipxe", 4),
            ("150", "10.0.0.9", 4), ("dns-server", "[fd00::53]", 6),
            ("client-id", "cid", 4))
    net = network(V4B, hosts=(host("p1", "fa:16:3e:00:00:01", "10.1.0.5", opts=opts),))
    assert opts_file(net).split("\n")[1:] == [
        "tag:port-p1,option:bootfile-name,pxelinux.0",
        "tag:port-p1,tag:ipxe,option:bootfile-name,boot.ipxe",
        "tag:port-p1,150,10.0.0.9",
        # the IPv6 option is dropped: the port has no IPv6 address
    ]


def test_a_value_cannot_inject_a_line() -> None:
    assert format_option(4, "port-p1", "domain-name", "a\ndhcp-range=evil") == (
        "tag:port-p1,option:domain-name,a")


# --------------------------------------------------------------------------- command line
def test_command_line_as_neutron_builds_it() -> None:
    argv = command_line(network(V4, V6, SLAAC, domain="openstacklocal"), FILES)
    d = FILES.directory
    assert argv == [
        "dnsmasq", "--no-hosts", "--no-resolv", f"--pid-file={d}/pid",
        f"--dhcp-hostsfile={d}/host", f"--addn-hosts={d}/addn_hosts",
        f"--dhcp-optsfile={d}/opts", f"--dhcp-leasefile={d}/leases",
        "--dhcp-match=set:ipxe,175", "--dhcp-userclass=set:ipxe6,iPXE", "--local-service",
        "--bind-dynamic",
        "--dhcp-range=set:subnet-s4,10.0.0.0,static,255.255.255.0,86400s",
        "--dhcp-range=set:subnet-s6,fd00::,static,64,86400s",
        "--dhcp-option-force=option:mtu,1450",
        f"--dhcp-lease-max={2**24}",
        "--conf-file=/dev/null",
        "--domain=openstacklocal",
    ]


def test_lease_max_is_the_ranged_size_and_lease_may_be_infinite() -> None:
    argv = command_line(network(V4, mtu=0, lease=-1), FILES, "ns-eth", user="root")
    assert argv[argv.index("--local-service") + 1:][:2] == ["--interface=ns-eth",
                                                             "--bind-dynamic"]
    assert "--port=0" not in argv  # DNS is on
    assert "--dhcp-range=set:subnet-s4,10.0.0.0,static,255.255.255.0,infinite" in argv
    assert "--dhcp-lease-max=256" in argv
    assert not any(a.startswith("--dhcp-option-force") for a in argv)  # unknown MTU
    assert argv[-1] == "--user=root"


@pytest.mark.parametrize(("subnet", "ranged"), [
    (V4, True), (V6, True), (STATELESS, True), (SLAAC, False),
    (SnapshotSubnet(id="x", cidr="fd03::/56", ip_version=6, gateway_ip=None,
                    enable_dhcp=True, ipv6_address_mode="dhcpv6-stateful"), False),
    (SnapshotSubnet(id="x", cidr="fd03::/64", ip_version=6, gateway_ip=None,
                    enable_dhcp=True), True),  # no modes: Neutron's old default, static
])
def test_which_subnets_get_a_range(subnet: SnapshotSubnet, ranged: bool) -> None:
    assert bool(ranged_subnets(network(subnet))) is ranged
