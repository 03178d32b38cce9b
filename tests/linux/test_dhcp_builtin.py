"""The built-in DHCP driver against real clients: a "host" namespace with the network's
bridge, the driver's DHCP namespace joined to it (`plumbing`), and workload namespaces
plugged on the bridge as ports. ISC dhclient is the client; its script only records what it
was offered (and applies the address, so renewals are real), never touching the machine's
own dhclient state (-pf/-lf/-df/-cf all in tmp)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from neutrino.agent.dhcp import plumbing
from neutrino.agent.dhcp.builtin import BuiltinDhcp
from neutrino.agent.dhcp.desired import dhcp_networks
from neutrino.agent.firewall import Firewall, firewall_spec
from neutrino.agent.inns import run_in_netns
from neutrino.agent.linux.plug import plug
from neutrino.agent.names import bridge_name, dhcp_netns, tap_name
from neutrino.wire.snapshot import HostSnapshot, SnapshotNetwork, SnapshotPort, SnapshotSubnet
from tests.linux.netns import namespaces, requires_netns, run
from tests.processes import stop_by_pidfile

pytestmark = [requires_netns,
              pytest.mark.skipif(not os.path.exists("/usr/sbin/dhclient")
                                 and not os.path.exists("/sbin/dhclient"),
                                 reason="needs ISC dhclient (isc-dhcp-client)")]

V4, V6, SLAAC = "sub-v4", "sub-v6", "sub-slaac"
SUBNETS = (
    SnapshotSubnet(V4, "10.20.0.0/24", 4, "10.20.0.1", True, ("10.20.0.53",),
                   (("192.168.50.0/24", "10.20.0.254"),)),
    SnapshotSubnet(V6, "2001:db8:20::/64", 6, "2001:db8:20::1", True, ("2001:db8:20::53",),
                   ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful"),
    SnapshotSubnet(SLAAC, "2001:db8:21::/64", 6, None, True,
                   ipv6_address_mode="slaac", ipv6_ra_mode="slaac"),
)
MTU = 1400
DOMAIN = "example.test"
SCRIPT = """#!/bin/sh
# Record the offer; apply the IPv4 address so that renewals come from it.
out={out}
case "$reason" in
  PREINIT) ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    ip -4 addr flush dev "$interface" scope global
    ip -4 addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
    env | grep -E '^new_' | sort > "$out/$reason.tmp" && mv "$out/$reason.tmp" "$out/$reason" ;;
  BOUND6|RENEW6|REBIND6)
    env | grep -E '^new_' | sort > "$out/$reason.tmp" && mv "$out/$reason.tmp" "$out/$reason" ;;
esac
exit 0
"""
CONF = """option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
timeout {timeout};
retry 1;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,
    host-name, interface-mtu, rfc3442-classless-static-routes,
    dhcp6.name-servers, dhcp6.domain-search;
"""


def _port(i: int, net: str, ips: tuple[tuple[str, str], ...], **kw: object) -> SnapshotPort:
    base = SnapshotPort(id=str(uuid.uuid4()), network_id=net, mac_address=f"fa:16:3e:20:00:{i:02x}",
                        fixed_ips=ips, admin_state_up=True, device_owner="compute:nova",
                        port_security_enabled=True, security_groups=(),
                        allowed_address_pairs=(), revision_number=1, status="DOWN")
    return replace(base, **kw)  # type: ignore[arg-type]


def _eui64(prefix: str, mac: str) -> str:
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 2
    iid = bytes([*b[:3], 255, 254, *b[3:]])
    net = ipaddress.IPv6Network(prefix)
    return str(ipaddress.IPv6Address(net.network_address.packed[:8] + iid))


@dataclass
class Lab:
    host: str
    workloads: dict[str, str]
    driver: BuiltinDhcp
    network: SnapshotNetwork
    ports: list[SnapshotPort]
    tmp: Path

    def snapshot(self) -> HostSnapshot:
        return HostSnapshot("h", 1, networks=(self.network,), ports=tuple(self.ports))

    def sync(self) -> None:
        self.driver.sync(dhcp_networks(self.snapshot(), host_netns=self.host))

    def plug(self, role: str, mac: str, port_id: str = "") -> None:
        """A port's veth into workload `role`, on the bridge, with no address."""
        port_id = port_id or f"{role}-{uuid.uuid4().hex[:8]}"
        plug(port_id, mac, MTU, (), netns_name=self.workloads[role], host_netns=self.host)
        run(self.host, "ip", "link", "set", tap_name(port_id), "master",
            bridge_name(self.network.id), "up")

    def plug_remote(self, role: str, mac: str, device: str) -> None:
        """Workload `role` behind bridge member `device` (a stand-in for the VXLAN device)."""
        run(self.host, "ip", "link", "add", device, "type", "veth", "peer", "name", "eth0",
            "netns", self.workloads[role])
        run(self.workloads[role], "ip", "link", "set", "eth0", "address", mac)
        run(self.host, "ip", "link", "set", device, "master", bridge_name(self.network.id), "up")

    def dhclient(self, role: str, *args: str, timeout: int = 10, check: bool = True,
                 fresh: bool = False) -> dict[str, str]:
        """Run `dhclient -1` in workload `role` until it is bound (or gives up); the
        variables of the last BOUND/RENEW/REBOOT (BOUND6 ... for -6). `fresh`: forget the
        leases of earlier runs."""
        d = self.tmp / role
        d.mkdir(exist_ok=True)
        if fresh:
            for f in d.glob("leases*"):
                f.unlink()
        script, conf = d / "script.sh", d / "dhclient.conf"
        script.write_text(SCRIPT.format(out=d))
        script.chmod(0o755)
        conf.write_text(CONF.format(timeout=timeout))
        for f in d.glob("BOUND*"):
            f.unlink()
        for f in d.glob("RE*"):
            f.unlink()
        family = "6" if "-6" in args else "4"
        pidfile = d / f"pid{family}"
        cmd = ["ip", "netns", "exec", self.workloads[role], "dhclient", *(args or ("-4",)),
               "-1", "-cf", str(conf), "-sf", str(script), "-pf", str(pidfile),
               "-lf", str(d / f"leases{family}"), "-df", str(d / "duid"), "eth0"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 20)
        finally:
            stop_by_pidfile(pidfile)
        if check and done.returncode != 0:
            raise AssertionError(f"dhclient failed: {done.stderr}")
        for name in ("BOUND6", "RENEW6", "REBIND6", "BOUND", "RENEW", "REBOOT", "REBIND"):
            path = d / name
            if path.exists():
                return dict(line.split("=", 1) for line in path.read_text().splitlines()
                            if "=" in line)
        return {}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    net_id = str(uuid.uuid4())
    dhcp = _port(0xFE, net_id, ((V4, "10.20.0.2"), (V6, "2001:db8:20::2")),
                 device_owner="network:dhcp", port_security_enabled=False)
    network = SnapshotNetwork(id=net_id, network_type="local", physical_network=None,
                              segmentation_id=None, mtu=MTU, subnets=SUBNETS, dhcp_port=dhcp,
                              dns_domain=DOMAIN)
    with namespaces("host", "w1", "w2", "w3") as ns:
        host = ns.pop("host")
        for w in ns.values():  # dhclient -6 binds the link-local address at once
            run(w, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        run(host, "ip", "link", "add", bridge_name(net_id), "type", "bridge")
        run(host, "ip", "link", "set", bridge_name(net_id), "up")
        driver = BuiltinDhcp(host_netns=host)
        try:
            yield Lab(host, ns, driver, network, [], tmp_path)
        finally:
            driver.close()
            plumbing.remove(net_id, host)


def _client(lab: Lab, i: int, v4: str, v6: str, **kw: object) -> SnapshotPort:
    mac = f"fa:16:3e:20:00:{i:02x}"
    port = _port(i, lab.network.id, ((V4, v4), (V6, v6), (SLAAC, _eui64("2001:db8:21::/64", mac))),
                 **kw)
    lab.ports.append(port)
    return port


def test_dhclient_gets_exactly_its_port(lab: Lab) -> None:
    port = _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    lab.sync()
    assert dhcp_netns(lab.network.id, lab.host) in subprocess.run(
        ["ip", "netns"], capture_output=True, text=True).stdout
    lab.plug("w1", port.mac_address)
    got = lab.dhclient("w1")
    assert got["new_ip_address"] == "10.20.0.10"
    assert got["new_subnet_mask"] == "255.255.255.0"
    assert got["new_routers"] == "10.20.0.1"
    assert got["new_domain_name_servers"] == "10.20.0.53"
    assert got["new_interface_mtu"] == str(MTU)
    assert got["new_domain_name"] == DOMAIN
    assert got["new_host_name"] == "host-10-20-0-10"
    assert got["new_rfc3442_classless_static_routes"].split() == [
        "24", "192", "168", "50", "10", "20", "0", "254", "0", "10", "20", "0", "1"]
    assert got["new_dhcp_server_identifier"] == "10.20.0.2"
    addr = run(lab.workloads["w1"], "ip", "-4", "-br", "addr", "show", "eth0").stdout
    assert "10.20.0.10/24" in addr


def test_an_unknown_mac_gets_nothing(lab: Lab) -> None:
    _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    lab.sync()
    lab.plug("w2", "fa:16:3e:99:99:99")
    started = time.monotonic()
    got = lab.dhclient("w2", timeout=3, check=False)
    assert got == {}
    assert time.monotonic() - started < 20
    stats = lab.driver.stats()[lab.network.id]
    assert stats.get("v4_unknown_client", 0) >= 1 and stats.get("v4_offer", 0) == 0


def test_a_port_update_is_served_without_restarting(lab: Lab) -> None:
    port = _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    lab.sync()
    lab.plug("w1", port.mac_address)
    assert lab.dhclient("w1")["new_ip_address"] == "10.20.0.10"
    before = lab.driver.stats()[lab.network.id]
    lab.ports[0] = replace(port, fixed_ips=((V4, "10.20.0.77"), *port.fixed_ips[1:]))
    lab.sync()
    # The same lease file: dhclient asks for its old address first (INIT-REBOOT), is NAKed
    # and rediscovers.
    got = lab.dhclient("w1")
    assert got["new_ip_address"] == "10.20.0.77"
    after = lab.driver.stats()[lab.network.id]
    assert after.get("v4_nak", 0) == before.get("v4_nak", 0) + 1
    assert after.get("v4_ack", 0) > before.get("v4_ack", 0)


def test_a_new_port_is_served_at_once(lab: Lab) -> None:
    first = _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    lab.sync()
    lab.plug("w1", first.mac_address)
    assert lab.dhclient("w1")["new_ip_address"] == "10.20.0.10"
    second = _client(lab, 2, "10.20.0.11", "2001:db8:20::11")
    lab.sync()
    lab.plug("w2", second.mac_address)
    assert lab.dhclient("w2")["new_ip_address"] == "10.20.0.11"


def test_malformed_packets_are_counted_and_dropped(lab: Lab) -> None:
    port = _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    lab.sync()
    lab.plug("w1", port.mac_address)
    junk = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')\n"
            "for p in (b'', b'x' * 10, b'\\x01' * 300, bytes(240) + b'\\x63\\x82\\x53\\x63'):\n"
            "    s.sendto(p, ('255.255.255.255', 67))\n")
    run(lab.workloads["w1"], "python3", "-c", junk)
    time.sleep(0.3)
    assert lab.dhclient("w1")["new_ip_address"] == "10.20.0.10"
    assert lab.driver.stats()[lab.network.id].get("v4_malformed", 0) >= 3


def test_dhcpv6_stateful_gives_the_port_its_address(lab: Lab) -> None:
    port = _client(lab, 3, "10.20.0.12", "2001:db8:20::12")
    lab.sync()
    lab.plug("w3", port.mac_address)
    got = lab.dhclient("w3", "-6")
    assert got.get("new_ip6_address") == "2001:db8:20::12", got
    assert got.get("new_dhcp6_name_servers") == "2001:db8:20::53"
    assert got.get("new_dhcp6_domain_search", "").rstrip(".") == DOMAIN


def test_slaac_from_the_router_advertisement(lab: Lab) -> None:
    port = _client(lab, 3, "10.20.0.12", "2001:db8:20::12")
    lab.sync()
    lab.plug("w3", port.mac_address)
    want = _eui64("2001:db8:21::/64", port.mac_address)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        out = run(lab.workloads["w3"], "ip", "-6", "addr", "show", "dev", "eth0").stdout
        if want in out:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"no SLAAC address {want}: {out}")
    assert lab.driver.stats()[lab.network.id].get("ra_sent", 0) >= 1


def test_sync_removes_what_is_no_longer_wanted(lab: Lab) -> None:
    _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    lab.sync()
    assert plumbing.present(lab.host) == {lab.network.id}
    lab.ports.clear()
    lab.sync()
    assert plumbing.present(lab.host) == set()
    assert lab.driver.stats() == {}


def test_the_firewall_keeps_dhcp_on_the_host(lab: Lab) -> None:
    """A client of this host's server whose frames come through a VXLAN device is not
    answered once the firewall is on (its own host answers it), a local port still is."""
    local = _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    remote = _client(lab, 2, "10.20.0.11", "2001:db8:20::11")
    lab.sync()
    lab.plug("w1", local.mac_address, local.id)
    lab.plug_remote("w2", remote.mac_address, "vxlan-77")
    assert lab.dhclient("w2")["new_ip_address"] == "10.20.0.11"  # no firewall yet
    fw = Firewall(netns=lab.host)
    try:
        fw.apply(firewall_spec(lab.snapshot()))
        assert lab.dhclient("w2", timeout=3, check=False, fresh=True) == {}
        assert lab.dhclient("w1")["new_ip_address"] == "10.20.0.10"
    finally:
        fw.close()


def _ask(lab: Lab, role: str, name: str, rdtype: str = "A", tcp: bool = False,
         server: str = "10.20.0.2") -> dns.message.Message:
    """One query from workload `role` to the DHCP port's `server` address, by dnspython
    (which insists that the reply comes from that very address)."""
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    reply: dns.message.Message = run_in_netns(
        lab.workloads[role], lambda: send(query, server, timeout=3))
    return reply


def _addresses(reply: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in reply.answer for rd in rrset)


def test_internal_dns_follows_port_updates_and_survives_junk(lab: Lab) -> None:
    port = _client(lab, 1, "10.20.0.10", "2001:db8:20::10")
    lab.sync()
    lab.plug("w1", port.mac_address)
    w1 = lab.workloads["w1"]
    run(w1, "ip", "addr", "add", "10.20.0.10/24", "dev", "eth0")
    fqdn = f"host-10-20-0-10.{DOMAIN}"
    for tcp in (False, True):
        reply = _ask(lab, "w1", fqdn, tcp=tcp)
        assert _addresses(reply) == ["10.20.0.10"] and reply.flags & dns.flags.AA
    slaac = _eui64("2001:db8:21::/64", port.mac_address)
    assert _addresses(_ask(lab, "w1", fqdn, "AAAA")) == sorted(["2001:db8:20::10", slaac])
    junk = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for p in (b'', b'x' * 10, b'\\x01' * 300, bytes(12) + b'\\xff' * 20):\n"
            "    s.sendto(p, ('10.20.0.2', 53))\n")
    run(w1, "python3", "-c", junk)
    lab.ports[0] = replace(port, fixed_ips=((V4, "10.20.0.77"), *port.fixed_ips[1:]),
                           dns_name="web")
    lab.sync()
    assert _addresses(_ask(lab, "w1", f"web.{DOMAIN}")) == ["10.20.0.77"]
    assert _ask(lab, "w1", fqdn).rcode() == dns.rcode.NXDOMAIN  # the old name is gone
    assert _ask(lab, "w1", "www.example.com").rcode() == dns.rcode.REFUSED
    stats = lab.driver.stats()[lab.network.id]
    assert stats.get("dns_received", 0) >= 10 and stats.get("dns_errors", 0) == 0
    assert stats.get("dns_dropped", 0) >= 2  # the datagrams too short to answer


def test_dns_replies_from_the_address_asked(lab: Lab) -> None:
    """With two IPv4 subnets, a client of one asking our address on the other (on-link via
    option 121) gets its reply from that address, not from ours on its own subnet."""
    other = SnapshotSubnet("sub-v4b", "10.30.0.0/24", 4, None, True)
    dhcp = lab.network.dhcp_port
    assert dhcp is not None
    lab.network = replace(lab.network, subnets=(*SUBNETS, other), dhcp_port=replace(
        dhcp, fixed_ips=(*dhcp.fixed_ips, ("sub-v4b", "10.30.0.2"))))
    port = _port(4, lab.network.id, (("sub-v4b", "10.30.0.5"),))
    lab.ports.append(port)
    lab.sync()
    lab.plug("w2", port.mac_address)
    got = lab.dhclient("w2")
    assert got["new_ip_address"] == "10.30.0.5"
    assert got["new_domain_name_servers"] == "10.30.0.2"  # no nameservers: ours
    run(lab.workloads["w2"], "ip", "route", "add", "10.20.0.0/24", "dev", "eth0")
    for server in ("10.30.0.2", "10.20.0.2"):
        reply = _ask(lab, "w2", f"host-10-30-0-5.{DOMAIN}", server=server)
        assert _addresses(reply) == ["10.30.0.5"]
