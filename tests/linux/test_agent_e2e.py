"""The whole path on real kernels: API -> change log -> agents -> bridges, VXLAN, nftables ->
ping; and status back through the API.

Two "hosts" (namespaces from `topology`), a live `neutrino serve` (SQLite) on a free port of
the test's own loopback, and one `neutrino agent --netns HOST` per host. The agents run in the
test's namespace (so they reach the server on loopback) and manage their host's namespace.
Every process is stopped by its PID and every namespace deleted, even when a test fails.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from neutrino.agent.names import dhcp_netns, tap_name
from neutrino.cmd.agent import plug_port
from tests.e2e.conftest import LiveServer, neutrino_command, start, stop
from tests.e2e.live import stop as stop_proc
from tests.linux.netns import requires_netns, run
from tests.linux.topology import Topology, topology
from tests.processes import stop_by_pidfile

pytestmark = requires_netns

CIDR = "10.77.0.0/24"


def wait(cond: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Cluster:
    server: LiveServer
    topo: Topology
    api: httpx.Client
    tmp: Path
    agents: dict[str, subprocess.Popen[bytes]]

    def start_agent(self, role: str, dhcp: str = "none") -> None:
        """DHCP off unless asked (most tests are about L2 and the firewall). An agent in a
        named namespace names its DHCP namespaces after it too, so two "hosts" on one machine
        can both serve a network (`names.dhcp_netns`)."""
        host = self.topo.hosts[role]
        log = (self.tmp / f"agent-{role}.log").open("ab")
        self.agents[role] = subprocess.Popen(
            [*neutrino_command(), "agent", "--host", role, "--server", self.server.url,
             "--local-ip", host.underlay_ip, "--netns", host.ns, "--dhcp-driver", dhcp,
             "--state-dir", str(self.tmp / f"state-{role}"),
             "--report-interval", "1", "--resync-interval", "30"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop_agent(self, role: str) -> None:
        stop_proc(self.agents.pop(role))

    def ok(self, response: httpx.Response) -> dict[str, Any]:
        assert response.is_success, f"{response.status_code} {response.text}"
        return response.json() if response.content else {}

    def port(self, network_id: str, role: str, **extra: Any) -> dict[str, Any]:
        body = {"network_id": network_id, "binding:host_id": role, **extra}
        port: dict[str, Any] = self.ok(self.api.post("/v2.0/ports", json={"port": body}))["port"]
        return port

    def status(self, port_id: str) -> str:
        return str(self.ok(self.api.get(f"/v2.0/ports/{port_id}"))["port"]["status"])

    def plug(self, port: dict[str, Any], role: str, workload: str, *, cli: bool = False) -> str:
        """Plug with the function, or with `neutrino plug` itself; wait until ACTIVE."""
        ns, host_ns = self.topo.workloads[workload], self.topo.hosts[role].ns
        if cli:
            run(None, *neutrino_command(), "plug", port["id"], "--netns", ns, "--server",
                self.server.url, "--host", role, "--host-netns", host_ns)
        else:
            plug_port(self.server.url, port["id"], ns, host=role, host_netns=host_ns)
        wait(lambda: self.status(port["id"]) == "ACTIVE", f"port {port['id']} ACTIVE")
        return str(port["fixed_ips"][0]["ip_address"])

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                         for p in sorted(self.tmp.glob("agent-*.log")))


def pings(ns: str, address: str) -> bool:
    return run(ns, "ping", "-c", "1", "-W", "1", address, check=False).returncode == 0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with topology(["host1", "host2"], workloads=["w1", "w2", "w3", "w4"]) as topo:
        server = start(tmp_path, f"sqlite:///{tmp_path / 'neutrino.sqlite'}")
        c = Cluster(server, topo, httpx.Client(base_url=server.url, timeout=15), tmp_path, {})
        try:
            c.start_agent("host1")
            c.start_agent("host2")
            yield c
        finally:
            print(c.logs())  # shown by pytest only when the test failed
            for role in list(c.agents):
                c.stop_agent(role)
            c.api.close()
            stop(server)


def network(c: Cluster) -> str:
    net = c.ok(c.api.post("/v2.0/networks", json={"network": {
        "name": "e2e", "provider:network_type": "vxlan"}}))["network"]
    c.ok(c.api.post("/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": CIDR, "ip_version": 4}}))
    return str(net["id"])


def test_two_hosts_converge_ping_and_clean_up(cluster: Cluster) -> None:
    c = cluster
    def alive() -> set[str]:
        return {a["host"] for a in c.ok(c.api.get("/v2.0/agents"))["agents"] if a["alive"]}

    wait(lambda: alive() == {"host1", "host2"}, "both agents listed alive")

    net_id = network(c)
    p1, p2, p3 = c.port(net_id, "host1"), c.port(net_id, "host2"), c.port(net_id, "host1")
    ip1, ip2 = c.plug(p1, "host1", "w1"), c.plug(p2, "host2", "w2")
    ip3 = c.plug(p3, "host1", "w3", cli=True)
    w = c.topo.workloads
    assert wait(lambda: pings(w["w1"], ip2), "ping across hosts")
    assert wait(lambda: pings(w["w1"], ip3), "ping on one host")
    assert pings(w["w2"], ip1)

    # Restart host2's agent: traffic keeps flowing, and it reconverges (ports stay ACTIVE).
    c.stop_agent("host2")
    assert pings(w["w1"], ip2)
    c.start_agent("host2")
    time.sleep(2)
    assert pings(w["w1"], ip2) and c.status(p2["id"]) == "ACTIVE"

    # Delete + unplug: no tap, no FDB entry for its MAC, no nft element for its address.
    host2 = c.topo.hosts["host2"].ns
    c.ok(c.api.delete(f"/v2.0/ports/{p2['id']}"))
    run(None, *neutrino_command(), "unplug", p2["id"], "--host-netns", host2)

    def traces() -> list[str]:
        """What the kernels still hold of the port: its tap, a static (VXLAN `dst`) FDB entry
        for its MAC on host1, its address in an nft set. (A MAC the bridge *learned* from
        traffic is the kernel's, not ours: it ages out by itself.)"""
        found = []
        if tap_name(p2["id"]) in run(host2, "ip", "-o", "link").stdout:
            found.append("tap")
        fdb1 = run(c.topo.hosts["host1"].ns, "bridge", "fdb", "show").stdout
        found += [f"fdb: {line}" for line in fdb1.splitlines()
                  if p2["mac_address"] in line and " dst " in line]
        for role in ("host1", "host2"):
            nft = run(c.topo.hosts[role].ns, "nft", "list", "ruleset").stdout
            found += [f"nft {role}: {line.strip()}" for line in nft.splitlines()
                      if ip2 in line.replace(",", " ").split() or p2["mac_address"] in line]
        return found

    try:
        wait(lambda: not traces(), "every trace of the deleted port gone")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; left: {traces()}") from None
    assert not pings(w["w1"], ip2)


def test_security_group_rule_change_takes_effect(cluster: Cluster) -> None:
    c = cluster
    net_id = network(c)
    sg = c.ok(c.api.post("/v2.0/security-groups", json={"security_group": {
        "name": "closed"}}))["security_group"]
    client = c.port(net_id, "host1")
    target = c.port(net_id, "host2", security_groups=[sg["id"]])
    c.plug(client, "host1", "w1")
    ip = c.plug(target, "host2", "w4")
    w1 = c.topo.workloads["w1"]
    assert not pings(w1, ip)  # no ingress rule: closed

    rule = c.ok(c.api.post("/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4",
        "protocol": "icmp", "remote_ip_prefix": "0.0.0.0/0"}}))["security_group_rule"]
    assert wait(lambda: pings(w1, ip), "ICMP allowed", timeout=10)

    c.ok(c.api.delete(f"/v2.0/security-group-rules/{rule['id']}"))
    wait(lambda: not pings(w1, ip), "ICMP refused again", timeout=10)


@pytest.mark.parametrize("driver", ["builtin", "dnsmasq"])
def test_a_plugged_workload_gets_its_port_by_dhcp(cluster: Cluster, driver: str) -> None:
    """The agent serves DHCP for its host's ports: real dhclient in the workload gets exactly
    the port's address and gateway; a new fixed IP is served on the next exchange."""
    c = cluster
    for role in ("host1", "host2"):  # both serve the network: each for its own port
        c.stop_agent(role)
        c.start_agent(role, dhcp=driver)
        (c.tmp / f"state-{role}").mkdir(exist_ok=True)
        (c.tmp / f"state-{role}").chmod(0o755)  # dnsmasq drops to nobody to read its files
    net = c.ok(c.api.post("/v2.0/networks", json={"network": {"name": "dhcp"}}))["network"]
    subnet = c.ok(c.api.post("/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": "10.78.0.0/24", "ip_version": 4,
        "dns_nameservers": ["10.78.0.53"]}}))["subnet"]
    dhcp_ns = {role: dhcp_netns(net["id"], c.topo.hosts[role].ns) for role in ("host1", "host2")}
    try:
        other = c.port(net["id"], "host2")
        c.plug(other, "host2", "w2")
        wait(lambda: dhcp_ns["host2"] in run(None, "ip", "netns", "list").stdout,
             "host2's DHCP namespace")
        port_id = _dhcp_exchange(c, net["id"], subnet)
        assert dhcp_ns["host2"] in run(None, "ip", "netns", "list").stdout
        c.ok(c.api.delete(f"/v2.0/ports/{port_id}"))
        c.ok(c.api.delete(f"/v2.0/ports/{other['id']}"))
        # The network goes: the agents stop their DHCP servers and remove the namespaces.
        c.ok(c.api.delete(f"/v2.0/networks/{net['id']}"))
        for ns in dhcp_ns.values():
            wait(lambda ns=ns: ns not in run(None, "ip", "netns", "list").stdout,
                 f"the DHCP namespace {ns} removed")
    finally:  # on failure too: nothing of the DHCP servers may outlive the test
        for pidfile in c.tmp.glob("state-host*/dnsmasq/*/pid"):  # the driver's layout
            pid = pidfile.read_text().strip()
            if pid.isdigit() and "dnsmasq" in Path(f"/proc/{pid}/cmdline").read_text(
                    errors="replace") if Path(f"/proc/{pid}").exists() else False:
                subprocess.run(["kill", pid], capture_output=True)
        for ns in dhcp_ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _dhcp_exchange(c: Cluster, network_id: str, subnet: dict[str, Any]) -> str:
    port = c.port(network_id, "host1")
    ns, host_ns = c.topo.workloads["w1"], c.topo.hosts["host1"].ns
    plug_port(c.server.url, port["id"], ns, host="host1", host_netns=host_ns, dhcp=True)
    wait(lambda: c.status(port["id"]) == "ACTIVE", "port ACTIVE")
    want = port["fixed_ips"][0]["ip_address"]

    def lease() -> dict[str, str]:
        """One dhclient exchange; the values its script saw when it BOUND (or REBOOTed)."""
        record, pidfile = c.tmp / "lease.env", c.tmp / "dhclient.pid"
        script, conf = c.tmp / "record.sh", c.tmp / "dhclient.conf"
        script.write_text(f"#!/bin/sh\ncase $reason in BOUND|REBOOT|RENEW) "
                          f"env | grep ^new_ > {record};; esac\n")
        script.chmod(0o755)
        conf.write_text("timeout 15;\n")
        record.unlink(missing_ok=True)
        try:
            done = run(ns, "dhclient", "-4", "-1", "-cf", str(conf), "-sf", str(script),
                       "-pf", str(pidfile), "-lf", str(c.tmp / "dhclient.leases"), "eth0",
                       check=False, timeout=40)
        finally:  # once bound, dhclient stays behind to renew: stop it by its PID
            stop_by_pidfile(pidfile)
        assert done.returncode == 0, done.stderr
        return dict(line.split("=", 1) for line in record.read_text().splitlines())

    got = lease()
    assert got["new_ip_address"] == want
    assert got["new_routers"] == subnet["gateway_ip"]
    assert got["new_domain_name_servers"] == "10.78.0.53"

    # A new fixed IP: served on the next exchange, with no restart of anything.
    new = "10.78.0.77"
    c.ok(c.api.put(f"/v2.0/ports/{port['id']}", json={"port": {
        "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": new}]}}))
    assert wait(lambda: lease()["new_ip_address"] == new, "the new address by DHCP")
    return str(port["id"])
