"""The firewall against a real kernel: a "host" namespace with a network's bridge, three
workload namespaces plugged by veths named like real ports (tap<port id>), and a "remote"
namespace behind a non-port bridge member that stands in for the VXLAN device. Traffic is
real sockets and ping; every assertion is about packets passing or not."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest

from neutrino.agent.firewall import Firewall, firewall_spec
from neutrino.agent.names import bridge_name, tap_name
from neutrino.wire.snapshot import HostSnapshot, SnapshotPort, SnapshotRule
from tests.linux.netns import namespaces, requires_netns, run

pytestmark = requires_netns

PROBE = r'''
import json, socket, sys, threading
def serve(ports: list[str]) -> None:
    for spec in ports:
        proto, port = spec.split(":")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", int(port)))
        if proto == "tcp":
            sock.listen(16)
        threading.Thread(target=_answer, args=(sock, proto), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def _answer(sock: socket.socket, proto: str) -> None:
    while True:
        if proto == "tcp":
            conn, _ = sock.accept()
            conn.sendall(b"ok")
            conn.close()
        else:
            data, peer = sock.recvfrom(100)
            sock.sendto(data, peer)


def probe(src: str, spec: str, results: list[bool], i: int) -> None:
    proto, ip, port = spec.split(":")
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(0.6)
        if src != "-":
            sock.bind((src, 0))
        try:
            if proto == "tcp":
                sock.connect((ip, int(port)))
                results[i] = sock.recv(2) == b"ok"
            else:
                sock.sendto(b"hi", (ip, int(port)))
                results[i] = sock.recv(2) == b"hi"
        except OSError:
            results[i] = False


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        specs = sys.argv[3:]
        results = [False] * len(specs)
        threads = [threading.Thread(target=probe, args=(sys.argv[2], s, results, i))
                   for i, s in enumerate(specs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(json.dumps(results))
'''

NET = "5d3c2b1a-0f00-4e00-8000-000000000001"
SUBNET = "5d3c2b1a-0f00-4e00-8000-000000000002"
SERVED = ("tcp:22", "tcp:80", "tcp:8080", "udp:53", "udp:5353")
WEB, OPEN, PEERS = "sg-web", "sg-open", "sg-peers"


@dataclass
class Host:
    """The topology, the snapshot that describes it, and the firewall under test."""

    ns: dict[str, str]
    ips: dict[str, str]
    macs: dict[str, str]
    ids: dict[str, str]
    fw: Firewall
    snap: HostSnapshot
    servers: list[subprocess.Popen[str]] = field(default_factory=list)

    def apply(self, **changes: object) -> str | None:
        self.snap = replace(self.snap, **changes)  # type: ignore[arg-type]
        self.fw.apply(firewall_spec(self.snap))
        return self.fw.last_script

    def port(self, role: str, **changes: object) -> tuple[SnapshotPort, ...]:
        """The snapshot's ports with `role`'s port changed."""
        return tuple(replace(p, **changes) if p.id == self.ids[role] else p  # type: ignore[arg-type]
                     for p in self.snap.ports)

    def probe(self, src: str, *targets: str, bind: str = "-") -> list[bool]:
        """`targets` like "tcp:w1:22": whether each gets its answer from `src`'s namespace."""
        specs = []
        for t in targets:
            proto, role, port = t.split(":")
            specs.append(f"{proto}:{self.ips[role]}:{port}")
        out = run(self.ns[src], sys.executable, "-c", PROBE, "probe", bind, *specs).stdout
        return list(json.loads(out))

    def ping(self, src: str, dst: str) -> bool:
        return run(self.ns[src], "ping", "-c1", "-W0.5", "-q", self.ips[dst],
                   check=False).returncode == 0


def _rule(group: str, direction: str, protocol: str | None = None, low: int | None = None,
          high: int | None = None, prefix: str | None = None, remote: str | None = None,
          ethertype: str = "IPv4") -> SnapshotRule:
    return SnapshotRule(str(uuid.uuid4()), group, direction, ethertype, protocol, low, high,
                        prefix, remote)


BASE_RULES = (
    # web: ssh and dns from anywhere, ping; talks to anyone
    _rule(WEB, "ingress", "tcp", 22, 22), _rule(WEB, "ingress", "udp", 53, 53),
    _rule(WEB, "ingress", "icmp"), _rule(WEB, "egress"),
    # peers: 8080 only from members of peers
    _rule(PEERS, "ingress", "tcp", 8080, 8080, remote=PEERS), _rule(PEERS, "egress"),
    # open: egress only (replies must still come back: stateful)
    _rule(OPEN, "egress"),
)


@pytest.fixture
def host() -> Iterator[Host]:
    roles = ("w1", "w2", "w3", "remote")
    with namespaces("host", *roles) as ns:
        h = ns["host"]
        br = bridge_name(NET)
        run(h, "ip", "link", "add", br, "type", "bridge")
        run(h, "ip", "link", "set", br, "up")
        ids = {r: str(uuid.uuid4()) for r in roles[:3]}
        ips = {r: f"10.77.0.{i}" for i, r in enumerate(roles, start=1)}
        macs = {r: f"fa:16:3e:00:00:{i:02x}" for i, r in enumerate(roles, start=1)}
        for role in roles:
            # "remote" hangs off a plain bridge member, as a VXLAN device would
            dev = tap_name(ids[role]) if role in ids else "vxlan-77"
            run(h, "ip", "link", "add", dev, "type", "veth", "peer", "name", "eth0",
                "netns", ns[role])
            run(h, "ip", "link", "set", dev, "master", br, "up")
            run(ns[role], "ip", "link", "set", "eth0", "address", macs[role])
            run(ns[role], "ip", "addr", "add", f"{ips[role]}/24", "dev", "eth0")
            run(ns[role], "ip", "link", "set", "eth0", "up")
        groups = {"w1": (WEB,), "w2": (OPEN, PEERS), "w3": (OPEN,)}
        ports = tuple(SnapshotPort(
            id=ids[r], network_id=NET, mac_address=macs[r], fixed_ips=((SUBNET, ips[r]),),
            admin_state_up=True, device_owner="compute:nova", port_security_enabled=True,
            security_groups=groups[r], allowed_address_pairs=(), revision_number=1,
            status="ACTIVE") for r in ids)
        snap = HostSnapshot(host="h", seq=1, ports=ports, rules=BASE_RULES,
                            group_members={PEERS: (ips["w2"],)})
        topo = Host(ns, ips, macs, ids, Firewall(netns=h), snap)
        try:
            for role in roles:
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", ns[role], sys.executable, "-c", PROBE, "serve",
                     *SERVED], stdout=subprocess.PIPE, text=True)
                topo.servers.append(proc)
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            topo.fw.apply(firewall_spec(snap))
            yield topo
        finally:
            for proc in topo.servers:
                proc.kill()
                proc.wait()


def test_rules_allow_and_deny_tcp_udp_icmp(host: Host) -> None:
    assert host.probe("w2", "tcp:w1:22", "udp:w1:53", "tcp:w1:80", "udp:w1:5353") == [
        True, True, False, False]
    assert host.ping("w2", "w1")
    # w2 and w3 allow no ingress at all: replies above came back through conntrack only
    assert host.probe("w1", "tcp:w2:22", "udp:w3:53") == [False, False]
    assert not host.ping("w1", "w3")


def test_remote_side_of_the_tunnel_is_filtered_on_this_host(host: Host) -> None:
    assert host.probe("remote", "tcp:w1:22", "tcp:w1:80", "tcp:w3:22") == [True, False, False]
    assert host.probe("w3", "tcp:remote:80") == [True]  # egress allowed, reply stateful
    host.apply(rules=tuple(r for r in host.snap.rules if r.security_group_id != OPEN))
    assert host.probe("w3", "tcp:remote:80", "udp:remote:53") == [False, False]


def test_spoofed_ip_and_mac_are_dropped_and_allowed_pairs_pass(host: Host) -> None:
    assert host.probe("w2", "tcp:w1:22") == [True]  # w2 learns w1's MAC with a valid ARP
    run(host.ns["w2"], "ip", "addr", "add", "10.77.0.50/24", "dev", "eth0")
    run(host.ns["w2"], "ip", "addr", "add", "10.77.0.60/24", "dev", "eth0")
    assert host.probe("w2", "tcp:w1:22", bind="10.77.0.50") == [False]
    assert host.probe("w2", "tcp:w1:22", bind="10.77.0.60") == [False]
    script = host.apply(ports=host.port("w2", allowed_address_pairs=(("10.77.0.60/31", ""),)))
    assert script is not None and script.startswith("add table")
    assert host.probe("w2", "tcp:w1:22", bind="10.77.0.60") == [True]
    assert host.probe("w2", "tcp:w1:22", bind="10.77.0.50") == [False]
    assert host.probe("w2", "tcp:w1:22") == [True]
    run(host.ns["w2"], "ip", "link", "set", "eth0", "address", "fa:16:3e:00:00:99")
    assert host.probe("w2", "tcp:w1:22") == [False]


def test_port_security_disabled_passes_everything(host: Host) -> None:
    assert host.probe("w1", "tcp:w3:80") == [False]
    host.apply(ports=host.port("w3", port_security_enabled=False, security_groups=()))
    assert host.probe("w1", "tcp:w3:80", "udp:w3:5353") == [True, True]
    run(host.ns["w3"], "ip", "addr", "add", "10.77.0.70/24", "dev", "eth0")
    assert host.probe("w3", "tcp:remote:8080", bind="10.77.0.70") == [True]


def test_rule_change_takes_effect(host: Host) -> None:
    assert host.probe("w2", "tcp:w1:80") == [False]
    host.apply(rules=(*host.snap.rules, _rule(WEB, "ingress", "tcp", 80, 80)))
    assert host.probe("w2", "tcp:w1:80") == [True]


def test_remote_group_member_change_is_a_set_update(host: Host) -> None:
    # w3 (not in peers) and w1 -> w2:8080 denied; w2 is the only member
    host.apply(ports=host.port("w3", security_groups=(OPEN, PEERS)))
    assert host.probe("w3", "tcp:w2:8080") == [False]
    script = host.apply(group_members={PEERS: (host.ips["w2"], host.ips["w3"])})
    assert script == f"add element inet neutrino sg_{PEERS}_v4 {{ {host.ips['w3']} }}\n"
    assert host.probe("w3", "tcp:w2:8080") == [True]
    script = host.apply(group_members={PEERS: (host.ips["w2"], "10.77.0.0/30")})
    assert script == (f"delete element inet neutrino sg_{PEERS}_v4 {{ 10.77.0.2, 10.77.0.3 }}\n"
                      f"add element inet neutrino sg_{PEERS}_v4 {{ 10.77.0.0/30 }}\n")
    assert host.probe("w3", "tcp:w2:8080") == [True]
    script = host.apply(group_members={PEERS: (host.ips["w2"],)})
    assert script is not None and script.startswith("delete element")
    assert "add element" in script and "add table" not in script
    assert host.probe("w3", "tcp:w2:8080") == [False]


def test_apply_is_idempotent_and_restores_a_flushed_ruleset(host: Host) -> None:
    host.fw.apply(firewall_spec(host.snap))
    assert host.fw.last_script is None  # the kernel already matches
    run(host.ns["host"], "nft", "flush", "ruleset")
    assert host.probe("w2", "tcp:w1:80") == [True]  # unfiltered now
    host.fw.apply(firewall_spec(host.snap))
    assert host.fw.last_script is not None and host.fw.last_script.startswith("add table")
    assert host.probe("w2", "tcp:w1:80", "tcp:w1:22") == [False, True]


def test_remove_leaves_nothing_and_other_tables_alone(host: Host) -> None:
    run(host.ns["host"], "nft", "add table inet theirs; add chain inet theirs c")
    host.fw.remove()
    tables = run(host.ns["host"], "nft", "list", "tables").stdout.split("\n")
    assert [t for t in tables if t] == ["table inet theirs"]
    host.fw.remove()  # twice is fine
    assert host.probe("w2", "tcp:w1:80") == [True]
