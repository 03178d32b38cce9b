"""The DHCP-driver contract: every driver registered in `neutrino.dhcp_drivers`, against the
real kernel and a real client (ISC dhclient), through the `DhcpDriver` protocol only.

What every driver must do, seen from a workload on the network's bridge: its port gets
exactly its fixed IP with the subnet's router, DNS servers (the DHCP server itself when the
subnet names none), MTU, classless routes and domain; an unknown MAC gets nothing; a port
update is served on the client's next exchange without restarting the server (same
processes); a network dropped from `sync` loses its server and its namespace; `close()`
leaves no process behind. And the DHCP server's address is a nameserver for the network's
names: glibc's resolver (`getent hosts`, through a resolv.conf that `ip netns exec` mounts
for the workload) finds a port by `<hostname>.<dns_domain>`, by its bare name through the
search domain, and by its address; an unknown name is not found; a port update is answered
on the next query, again without a restart.

The topology stands in for one compute host: namespace `host` holds the network's bridge
(the L2 applier's job, done here by hand) and `vm` the workload, whose veth is on the bridge.
The driver builds the DHCP namespace and its veth; the test enslaves the veth's host end to
the bridge, as the L2 applier does for every tap. dhclient runs only inside `vm`, with its
pid, lease and script files in the test's tmp dir; its script records what it was given.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from neutrino.agent.dhcp import DhcpDriver, DhcpHost, DhcpNetwork, DhcpPeer
from neutrino.agent.names import bridge_name, dhcp_netns, tap_name
from neutrino.wire import SnapshotSubnet
from tests.linux.netns import namespaces, requires_netns, run
from tests.processes import alive, cmdline, stop_by_pidfile

GROUP = "neutrino.dhcp_drivers"
DRIVERS = sorted(ep.name for ep in entry_points(group=GROUP))
BINARIES = {"dnsmasq": "dnsmasq"}  # drivers that need a program besides dhclient

pytestmark = [
    requires_netns,
    pytest.mark.skipif(shutil.which("dhclient") is None,
                       reason="needs `dhclient` (scripts/ensure-host-tools.sh installs it)"),
]

PORT_MAC, STRANGER_MAC = "fa:16:3e:aa:bb:01", "fa:16:3e:aa:bb:99"
DOMAIN = "example.test"
SUBNET = SnapshotSubnet(id=str(uuid.uuid4()), cidr="10.20.0.0/24", ip_version=4,
                        gateway_ip="10.20.0.1", enable_dhcp=True,
                        dns_nameservers=("192.0.2.53", "192.0.2.54"),
                        host_routes=(("198.51.100.0/24", "10.20.0.254"),))
SUBNET6 = SnapshotSubnet(id=str(uuid.uuid4()), cidr="2001:db8:20::/64", ip_version=6,
                         gateway_ip="2001:db8:20::1", enable_dhcp=True,
                         ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
PORT_IP6 = "2001:db8:20::10"
SERVER_IP, SERVER_IP6 = "10.20.0.2", "2001:db8:20::2"
NETNS_ETC = Path("/etc/netns")  # `ip netns exec <ns>` bind-mounts /etc/netns/<ns>/* on /etc
# dhclient's rendering of option 121: width, significant octets, router, ... (RFC 3442)
ROUTES_121 = "24 198 51 100 10 20 0 254 0 10 20 0 1"

DHCLIENT_CONF = """\
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
timeout {timeout}; retry 1; initial-interval 1;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,
        host-name, interface-mtu, rfc3442-classless-static-routes;
"""
# Records each event's variables; brings the link up as Debian's script does, nothing more.
DHCLIENT_SCRIPT = """\
#!/bin/sh
{{ echo ---; env | grep -E '^(reason|new_[a-z0-9_]+)='; }} >> {events}
[ "$reason" = PREINIT ] && ip link set dev "$interface" up
exit 0
"""
DHCLIENT6_CONF = "timeout {timeout}; retry 1; initial-interval 1;\n"


def network(network_id: str, host_netns: str) -> DhcpNetwork:
    """The network as the agent in `host_netns` would serve it (`dhcp_networks`)."""
    return DhcpNetwork(
        network_id=network_id, netns=dhcp_netns(network_id, host_netns),
        interface=tap_name(str(uuid.uuid4())), bridge=bridge_name(network_id),
        server_mac="fa:16:3e:aa:bb:02", server_addresses=("10.20.0.2/24",), subnets=(SUBNET,),
        hosts=(port_host(str(uuid.uuid4()), "10.20.0.10"),), mtu=1400, dns_domain=DOMAIN)


def port_host(port_id: str, address: str) -> DhcpHost:
    return DhcpHost(port_id=port_id, mac_address=PORT_MAC, ip_addresses=(address,),
                    hostname="host-" + address.replace(".", "-"))


@dataclass
class World:
    driver: DhcpDriver
    net: DhcpNetwork
    host: str
    vm: str
    tmp: Path
    seen: dict[int, bytes] = field(default_factory=dict)  # every server pid, its cmdline

    def sync(self, *networks: DhcpNetwork) -> None:
        self.driver.sync(list(networks))
        for net in networks:  # the L2 applier's part: every tap on its bridge, up
            run(self.host, "ip", "link", "set", net.interface, "master", net.bridge, "up")

    def server_pids(self, net: DhcpNetwork | None = None) -> set[int]:
        """The processes in the network's DHCP namespace (none for an in-agent server)."""
        done = run(None, "ip", "netns", "pids", (net or self.net).netns, check=False)
        pids = {int(p) for p in done.stdout.split()} if done.returncode == 0 else set()
        self.seen.update({p: cmdline(p) for p in pids})
        return pids

    def kill_leftovers(self) -> None:
        """SIGKILL what the driver left running, by pid, when it is still the same program."""
        for pid, argv in self.seen.items():
            if argv and cmdline(pid) == argv:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def dhcp(self, mac: str = PORT_MAC, timeout: int = 10,
             keep_lease: bool = False) -> dict[str, str] | None:
        """One `dhclient -1` exchange from `vm` with `mac`: the variables of the event that
        bound it, or None when no server answered."""
        run(self.vm, "ip", "link", "set", "eth0", "address", mac)
        events, lease, pidf = (self.tmp / n for n in ("events", "dhclient.leases",
                                                      "dhclient.pid"))
        events.unlink(missing_ok=True)
        if not keep_lease:
            lease.unlink(missing_ok=True)
        conf, script = self.tmp / "dhclient.conf", self.tmp / "dhclient-script"
        conf.write_text(DHCLIENT_CONF.format(timeout=timeout))
        script.write_text(DHCLIENT_SCRIPT.format(events=events))
        script.chmod(0o755)
        try:
            done = run(self.vm, "dhclient", "-4", "-1", "-v", "-cf", str(conf),
                       "-pf", str(pidf), "-lf", str(lease), "-sf", str(script), "eth0",
                       check=False, timeout=timeout + 20)
        finally:  # once bound, dhclient stays in the background to renew: not ours to keep
            stop_by_pidfile(pidf)
        if done.returncode != 0:
            return None
        bound = [e for e in parse_events(events) if e.get("reason") in ("BOUND", "REBOOT")]
        assert bound, f"dhclient exited 0 without binding:\n{done.stderr}"
        return bound[-1]


    def dhcp6(self, mac: str = PORT_MAC, timeout: int = 10) -> dict[str, str] | None:
        """One `dhclient -6 -1` (stateful: IA_NA) exchange from `vm` with `mac`: the
        variables of the event that bound it, or None when no server answered. The link is
        up first with DAD off, so that its link-local address is usable at once."""
        run(self.vm, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
        run(self.vm, "ip", "link", "set", "eth0", "address", mac)
        run(self.vm, "ip", "link", "set", "eth0", "up")
        events, lease, pidf, duid = (self.tmp / n for n in (
            "events6", "dhclient6.leases", "dhclient6.pid", "dhclient6.duid"))
        for path in (events, lease, duid):
            path.unlink(missing_ok=True)
        conf, script = self.tmp / "dhclient6.conf", self.tmp / "dhclient6-script"
        conf.write_text(DHCLIENT6_CONF.format(timeout=timeout))
        script.write_text(DHCLIENT_SCRIPT.format(events=events))
        script.chmod(0o755)
        try:
            done = run(self.vm, "dhclient", "-6", "-1", "-v", "-cf", str(conf),
                       "-pf", str(pidf), "-lf", str(lease), "-df", str(duid),
                       "-sf", str(script), "eth0", check=False, timeout=timeout + 20)
        finally:
            stop_by_pidfile(pidf)
        if done.returncode != 0:
            return None
        bound = [e for e in parse_events(events) if e.get("reason") in ("BOUND6", "REBOOT6")]
        assert bound, f"dhclient -6 exited 0 without binding:\n{done.stderr}"
        return bound[-1]


    def resolve(self, name: str) -> list[tuple[str, ...]] | None:
        """`getent hosts <name>` in `vm`, through glibc's resolver: (address, names...) per
        line, or None when nothing was found."""
        done = run(self.vm, "getent", "hosts", name, check=False, timeout=30)
        if done.returncode != 0:
            return None
        return [tuple(line.split()) for line in done.stdout.splitlines() if line.strip()]

    def address_vm(self, *interfaces: str) -> None:
        """Give `vm` addresses by hand ("ip/prefix"): the DNS tests need no DHCP."""
        run(self.vm, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
        run(self.vm, "ip", "link", "set", "eth0", "up")
        for interface in interfaces:
            run(self.vm, "ip", "addr", "add", interface, "dev", "eth0")


@contextlib.contextmanager
def resolv_conf(vm: str, nameserver: str, domain: str = DOMAIN,
                options: str = "") -> Iterator[None]:
    """The workload's resolv.conf: only the DHCP server as nameserver, `domain` to search.
    Removed on exit (and /etc/netns with it when no other test has a file there)."""
    directory = NETNS_ETC / vm
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "resolv.conf").write_text(
            f"nameserver {nameserver}\nsearch {domain}\n"
            f"options timeout:2 attempts:2 {options}\n")
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(OSError):
            NETNS_ETC.rmdir()  # only when empty


def parse_events(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    chunks = path.read_text().split("---\n")
    return [dict(line.split("=", 1) for line in chunk.splitlines() if "=" in line)
            for chunk in chunks if chunk.strip()]


def make_driver(name: str, host_netns: str, state_dir: Path) -> DhcpDriver:
    [ep] = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    cls = ep.load()
    kwargs: dict[str, Any] = {"host_netns": host_netns}
    if "state_dir" in inspect.signature(cls).parameters:
        kwargs["state_dir"] = state_dir
    driver: DhcpDriver = cls(**kwargs)
    return driver


@contextlib.contextmanager
def state_dir() -> Iterator[Path]:
    """A world-traversable state dir, as the agent's data dir is in production: a server that
    drops root (dnsmasq becomes `nobody`) must still read its files. pytest's tmp_path is
    private to root, so this one lives in /var/tmp, and goes with the test."""
    path = Path(tempfile.mkdtemp(prefix="neutrino-dhcp-test-", dir="/var/tmp"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=DRIVERS or [pytest.param("none", marks=pytest.mark.skip(
    reason=f"no driver registered in {GROUP}"))])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    name: str = request.param
    if (binary := BINARIES.get(name)) and shutil.which(binary) is None:
        pytest.skip(f"needs `{binary}` (scripts/ensure-host-tools.sh installs it)")
    with namespaces("host", "vm") as ns, state_dir() as state:
        net = network(str(uuid.uuid4()), ns["host"])
        run(ns["host"], "ip", "link", "add", net.bridge, "type", "bridge")
        run(ns["host"], "ip", "link", "set", net.bridge, "up")
        run(ns["host"], "ip", "link", "add", "wl", "type", "veth", "peer", "name", "eth0",
            "netns", ns["vm"])
        run(ns["host"], "ip", "link", "set", "wl", "master", net.bridge, "up")
        driver = make_driver(name, ns["host"], state)
        world = World(driver, net, ns["host"], ns["vm"], tmp_path)
        try:
            yield world
        finally:
            world.server_pids()
            with contextlib.suppress(Exception):
                driver.sync([])
            with contextlib.suppress(Exception):
                driver.close()
            world.kill_leftovers()
            subprocess.run(["ip", "netns", "del", net.netns], capture_output=True)


# --------------------------------------------------------------------------- the contract
def test_the_port_gets_its_address_and_options(world: World) -> None:
    world.sync(world.net)
    got = world.dhcp()
    assert got is not None, "no lease"
    assert got["new_ip_address"] == "10.20.0.10"
    assert got["new_subnet_mask"] == "255.255.255.0"
    assert got["new_routers"] == "10.20.0.1"
    assert got["new_domain_name_servers"] == "192.0.2.53 192.0.2.54"
    assert got["new_interface_mtu"] == "1400"
    assert got["new_rfc3442_classless_static_routes"] == ROUTES_121
    assert got["new_domain_name"] == DOMAIN
    assert got["new_host_name"] == "host-10-20-0-10"
    assert got["new_dhcp_server_identifier"] == "10.20.0.2"


def test_an_unknown_mac_gets_no_lease(world: World) -> None:
    world.sync(world.net)
    assert world.dhcp(STRANGER_MAC, timeout=3) is None
    assert world.dhcp() is not None  # while the port itself is served


def test_a_port_update_is_served_without_a_restart(world: World) -> None:
    world.sync(world.net)
    first = world.dhcp()
    assert first is not None and first["new_ip_address"] == "10.20.0.10"
    before = world.server_pids()
    updated = replace(world.net, hosts=(port_host(world.net.hosts[0].port_id, "10.20.0.11"),))
    world.sync(updated)
    world.sync(updated)  # idempotent
    assert world.server_pids() == before, "the server was restarted"
    # The client still holds 10.20.0.10: INIT-REBOOT asks for it, is refused, rediscovers.
    again = world.dhcp(keep_lease=True)
    assert again is not None and again["new_ip_address"] == "10.20.0.11"


def test_a_dropped_network_loses_its_server_and_namespace(world: World) -> None:
    world.sync(world.net)
    assert world.dhcp() is not None
    pids = world.server_pids()
    world.driver.sync([])
    assert world.net.netns not in run(None, "ip", "netns", "list").stdout
    assert not alive(pids)
    assert world.dhcp(timeout=3) is None


def test_close_leaves_no_process(world: World) -> None:
    world.sync(world.net)
    assert world.dhcp() is not None
    pids = world.server_pids()
    world.driver.close()
    assert not alive(pids)
    assert not alive(world.server_pids())


def test_a_namespace_deleted_behind_its_back_is_served_again(world: World) -> None:
    world.sync(world.net)
    world.server_pids()  # remembered for the cleanup: the old server may linger
    run(None, "ip", "netns", "del", world.net.netns)
    world.sync(world.net)
    got = world.dhcp()
    assert got is not None and got["new_ip_address"] == "10.20.0.10"


def test_dhcpv6_stateful_gives_the_port_exactly_its_address(world: World) -> None:
    host = world.net.hosts[0]
    dual = replace(world.net, subnets=(SUBNET, SUBNET6),
                   server_addresses=("10.20.0.2/24", "2001:db8:20::2/64"),
                   hosts=(replace(host, ip_addresses=(*host.ip_addresses, PORT_IP6)),))
    world.sync(dual)
    got = world.dhcp6()
    assert got is not None, "no DHCPv6 lease"
    assert got["new_ip6_address"] == PORT_IP6
    assert got.get("new_ip6_prefixlen") == "128"
    assert world.dhcp6(STRANGER_MAC, timeout=3) is None


def test_a_subnet_without_nameservers_gets_the_server_as_its_dns(world: World) -> None:
    world.sync(replace(world.net, subnets=(replace(SUBNET, dns_nameservers=()),)))
    got = world.dhcp()
    assert got is not None, "no lease"
    assert got["new_domain_name_servers"] == SERVER_IP
    assert got["new_domain_name"] == DOMAIN


def test_the_server_answers_for_the_ports_names(world: World) -> None:
    world.sync(world.net)
    world.address_vm("10.20.0.10/24")
    with resolv_conf(world.vm, SERVER_IP):
        fqdn = f"host-10-20-0-10.{DOMAIN}"
        assert world.resolve(fqdn) == [("10.20.0.10", fqdn)]
        assert world.resolve(fqdn.upper() + ".") == [("10.20.0.10", fqdn.upper())]
        assert world.resolve("host-10-20-0-10") == [("10.20.0.10", fqdn)]  # search domain
        assert world.resolve("10.20.0.10") == [("10.20.0.10", fqdn)]  # PTR
        assert world.resolve(f"nosuch.{DOMAIN}") is None
        assert world.resolve("nosuch") is None


def test_a_port_update_is_answered_without_a_restart(world: World) -> None:
    world.sync(world.net)
    world.address_vm("10.20.0.10/24")
    with resolv_conf(world.vm, SERVER_IP):
        assert world.resolve(f"host-10-20-0-10.{DOMAIN}") is not None
        before = world.server_pids()
        host = world.net.hosts[0]
        world.sync(replace(world.net, hosts=(replace(host, ip_addresses=("10.20.0.11",),
                                                     hostname="web"),)))
        assert world.resolve(f"web.{DOMAIN}") == [("10.20.0.11", f"web.{DOMAIN}")]
        assert world.resolve("web") == [("10.20.0.11", f"web.{DOMAIN}")]
        assert world.resolve("10.20.0.11") == [("10.20.0.11", f"web.{DOMAIN}")]
        assert world.server_pids() == before, "the server was restarted"
        # Not asserted: that the old name is gone. dnsmasq keeps answering it from the
        # lease of the old address (Neutron releases such leases with dhcp_release);
        # the builtin driver's own test checks it (tests/linux/test_dhcp_builtin.py).


def test_names_resolve_over_tcp(world: World) -> None:
    world.sync(world.net)
    world.address_vm("10.20.0.10/24")
    with resolv_conf(world.vm, SERVER_IP, options="use-vc"):  # glibc: queries over TCP
        fqdn = f"host-10-20-0-10.{DOMAIN}"
        assert world.resolve("host-10-20-0-10") == [("10.20.0.10", fqdn)]
        assert world.resolve("10.20.0.10") == [("10.20.0.10", fqdn)]
        assert world.resolve(f"nosuch.{DOMAIN}") is None


def test_names_resolve_over_ipv6_too(world: World) -> None:
    host = world.net.hosts[0]
    world.sync(replace(world.net, subnets=(SUBNET, SUBNET6),
                       server_addresses=(f"{SERVER_IP}/24", f"{SERVER_IP6}/64"),
                       hosts=(replace(host, ip_addresses=(*host.ip_addresses, PORT_IP6)),)))
    world.address_vm(f"{PORT_IP6}/64")
    with resolv_conf(world.vm, SERVER_IP6):
        fqdn = f"host-10-20-0-10.{DOMAIN}"
        assert world.resolve(fqdn) == [(PORT_IP6, fqdn)]  # getent asks AAAA first
        assert world.resolve(PORT_IP6) == [(PORT_IP6, fqdn)]


# --------------------------------------------------------------------------- peers
def with_peers(net: DhcpNetwork, *names: tuple[str, str]) -> DhcpNetwork:
    """`net` plus ports of the network bound to other hosts: (address, hostname) each."""
    return replace(net, peers=tuple(DhcpPeer(str(uuid.uuid4()), (address,), hostname)
                                    for address, hostname in names))


def test_the_names_of_ports_on_other_hosts_resolve_too(world: World) -> None:
    """DHCP is distributed, DNS knows the whole network: a port bound to another host
    (a peer) resolves by name, bare name and address, as the local port does; a peer
    added later is answered without a restart."""
    world.sync(with_peers(world.net, ("10.20.0.30", "host-10-20-0-30")))
    world.address_vm("10.20.0.10/24")
    with resolv_conf(world.vm, SERVER_IP):
        fqdn = f"host-10-20-0-30.{DOMAIN}"
        assert world.resolve(fqdn) == [("10.20.0.30", fqdn)]
        assert world.resolve("host-10-20-0-30") == [("10.20.0.30", fqdn)]
        assert world.resolve("10.20.0.30") == [("10.20.0.30", fqdn)]  # PTR
        local = f"host-10-20-0-10.{DOMAIN}"
        assert world.resolve("host-10-20-0-10") == [("10.20.0.10", local)]  # still
        before = world.server_pids()
        world.sync(with_peers(world.net, ("10.20.0.30", "host-10-20-0-30"),
                              ("10.20.0.31", "db")))
        assert world.resolve("db") == [("10.20.0.31", f"db.{DOMAIN}")]
        assert world.resolve("10.20.0.31") == [("10.20.0.31", f"db.{DOMAIN}")]
        assert world.server_pids() == before, "the server was restarted"


def test_a_port_that_moved_to_another_host_keeps_its_name_but_gets_no_lease(
        world: World) -> None:
    """Its MAC is no client of ours any more (its new host serves it); its name still
    resolves here."""
    host = world.net.hosts[0]
    moved = with_peers(replace(world.net, hosts=()), (host.ip_addresses[0], host.hostname))
    world.sync(moved)
    assert world.dhcp(PORT_MAC, timeout=3) is None
    world.address_vm("10.20.0.77/24")
    with resolv_conf(world.vm, SERVER_IP):
        fqdn = f"host-10-20-0-10.{DOMAIN}"
        assert world.resolve("host-10-20-0-10") == [("10.20.0.10", fqdn)]
        assert world.resolve("10.20.0.10") == [("10.20.0.10", fqdn)]
