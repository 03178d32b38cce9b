"""The firewall against a real kernel: a "host" namespace with a network's bridge, three
workload namespaces plugged by veths named like real ports (tap<port id>), and a "remote"
namespace behind a non-port bridge member that stands in for the VXLAN device. Traffic is
real sockets and ping; every assertion is about packets passing or not."""

from __future__ import annotations

import json
import subprocess
import sys
import time
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


# --------------------------------------------------------------------------- conntrack, IPv6

ECHO = r'''
import socket, sys, threading
def serve(port: int) -> None:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)  # dual stack: v4 and v6
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::", port))
    sock.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()
def echo(conn: socket.socket) -> None:
    while data := conn.recv(100):
        conn.sendall(data)
def client(host: str, port: int, bind: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(1.0)
    if bind != "-":
        sock.bind((bind, 0))
    try:
        sock.connect((host, port))
    except OSError:
        print("fail", flush=True)
        return
    print("connected", flush=True)
    for line in sys.stdin:
        try:
            sock.sendall(line.encode())
            ok = sock.recv(100) == line.encode()
        except OSError:
            ok = False
        print("ok" if ok else "fail", flush=True)
if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "-")
'''


def _echo_server(host: Host, role: str, port: int) -> None:
    proc = subprocess.Popen(["ip", "netns", "exec", host.ns[role], sys.executable, "-c", ECHO,
                             "serve", str(port)], stdout=subprocess.PIPE, text=True)
    host.servers.append(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"


class _Conn:
    """A long-lived TCP connection from a namespace; `alive()` sends a line and waits for
    its echo."""

    def __init__(self, host: Host, role: str, address: str, port: int, bind: str = "-"):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", host.ns[role], sys.executable, "-c", ECHO, "client",
             address, str(port), bind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        host.servers.append(self.proc)
        assert self.proc.stdout is not None
        self.connected = self.proc.stdout.readline().strip() == "connected"

    def alive(self) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("ping\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip() == "ok"


def test_removing_a_rule_ends_the_connections_it_allowed(host: Host) -> None:
    _echo_server(host, "w1", 7000)
    allow = _rule(WEB, "ingress", "tcp", 7000, 7000)
    host.apply(rules=(*host.snap.rules, allow))
    conn = _Conn(host, "w2", host.ips["w1"], 7000)
    other = _Conn(host, "w2", host.ips["w1"], 22)  # allowed by another rule: untouched
    assert conn.connected and conn.alive() and other.connected
    host.apply(rules=tuple(r for r in host.snap.rules if r is not allow))
    assert not conn.alive()
    assert host.fw.forgotten == 1
    assert host.probe("w2", "tcp:w1:22") == [True]


def test_a_member_leaving_ends_the_connections_it_allowed(host: Host) -> None:
    _echo_server(host, "w2", 7001)
    host.apply(ports=host.port("w3", security_groups=(OPEN, PEERS)),
               rules=(*host.snap.rules, _rule(PEERS, "ingress", "tcp", 7001, 7001,
                                              remote=PEERS)),
               group_members={PEERS: (host.ips["w2"], host.ips["w3"])})
    conn = _Conn(host, "w3", host.ips["w2"], 7001)
    assert conn.connected and conn.alive()
    script = host.apply(group_members={PEERS: (host.ips["w2"],)})
    assert script is not None and script.startswith("delete element")
    assert not conn.alive()
    assert host.fw.forgotten == 1
    assert _Conn(host, "w3", host.ips["w2"], 7001).connected is False


V6 = {"w1": "2001:db8:77::1", "w2": "2001:db8:77::2", "w3": "2001:db8:77::3"}


def _ipv6(host: Host) -> None:
    """Give the ports IPv6 fixed addresses and let their link-local addresses settle."""
    for role, address in V6.items():
        run(host.ns[role], "ip", "addr", "add", f"{address}/64", "dev", "eth0", "nodad")
    for role in V6:
        for _ in range(40):
            if not run(host.ns[role], "ip", "-6", "addr", "show", "dev", "eth0",
                       "tentative").stdout.strip():
                break
            time.sleep(0.1)
    ports = tuple(replace(p, fixed_ips=(*p.fixed_ips, (SUBNET + "6", V6[role])))
                  for p in host.snap.ports for role in V6 if p.id == host.ids[role])
    host.apply(ports=ports, rules=(
        *host.snap.rules, _rule(WEB, "ingress", "tcp", 7000, 7000, ethertype="IPv6"),
        _rule(WEB, "ingress", "icmp", ethertype="IPv6"), _rule(WEB, "egress", ethertype="IPv6"),
        _rule(OPEN, "egress", ethertype="IPv6")))
    _echo_server(host, "w1", 7000)
    _echo_server(host, "w1", 7002)


def test_ipv6_rules_neighbour_discovery_and_spoofing(host: Host) -> None:
    _ipv6(host)
    w1, w2, w3 = V6["w1"], V6["w2"], V6["w3"]
    assert run(host.ns["w2"], "ping", "-6", "-c1", "-W1", w1, check=False).returncode == 0
    assert _Conn(host, "w2", w1, 7000).connected  # allowed
    assert not _Conn(host, "w2", w1, 7002).connected  # no rule for 7002
    # w3 allows no ingress: ping fails, but neighbour discovery still resolves it
    assert run(host.ns["w1"], "ping", "-6", "-c1", "-W1", w3, check=False).returncode != 0
    neigh = run(host.ns["w1"], "ip", "-6", "neigh", "show", w3).stdout
    assert host.macs["w3"] in neigh and "FAILED" not in neigh
    # the EUI-64 link-local address passes the spoof check
    lladdr = run(host.ns["w1"], "ip", "-6", "addr", "show", "dev", "eth0", "scope",
                 "link").stdout.split("inet6 ")[1].split("/")[0]
    assert run(host.ns["w2"], "ping", "-6", "-c1", "-W1", f"{lladdr}%eth0",
               check=False).returncode == 0
    # a source address the port does not own is dropped
    run(host.ns["w2"], "ip", "addr", "add", "2001:db8:77::50/64", "dev", "eth0", "nodad")
    assert not _Conn(host, "w2", w1, 7000, bind="2001:db8:77::50").connected
    assert _Conn(host, "w2", w1, 7000, bind=w2).connected
    # removing the IPv6 rule ends the IPv6 connection it allowed
    conn = _Conn(host, "w2", w1, 7000, bind=w2)
    assert conn.connected and conn.alive()
    host.apply(rules=tuple(r for r in host.snap.rules
                           if not (r.ethertype == "IPv6" and r.port_range_min == 7000)))
    assert not conn.alive()
    assert host.fw.forgotten == 3  # this one and the two opened above, all to :7000
