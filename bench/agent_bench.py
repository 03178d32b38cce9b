"""Agent convergence: time from `POST /ports` + plug to the first successful ping, phase by
phase, and the agent's CPU while idle.

Two hosts (namespaces, tests/linux/topology.py), a live server (SQLite) on the loopback of
this namespace and an agent per host (`--netns`). A probe workload on host1 pings each new
port, created one after another on host2 (so each needs a bridge port, an FDB entry on host1
and a firewall set element): p50/p99 over N ports. Then the agents' CPU (utime+stime from
/proc/<pid>/stat) over 30 s of nothing. Root only; everything is removed on exit.

The probe is a raw (AF_PACKET) socket in the probe's namespace that sends an ARP request,
then an ICMP echo, every `--probe-interval` (5 ms): the time of the first echo reply is when
the dataplane first carried the ping. (`ping` itself would measure the kernel's ARP retry
timer instead: a neighbour entry that went INCOMPLETE before the path existed is retried
once a second.) The agents run with their `neutrino.agent.trace` logger at DEBUG, and the
bench reads from their logs when host2's agent was poked for the port's tap and when it had
applied the kernel, to split the time into phases:

    POST      POST /ports returned
    plug      plug_port returned: its GETs (port, network, subnets), then the kernel part
              (veth into a new namespace, MAC, MTU, addresses, routes)
    wait      the trigger that made the port ACTIVE -> its reconcile started
    reconcile that reconcile: snapshot fetched -> kernel applied
    ping      kernel applied (or plug returned, if later) -> first echo reply

    .venv/bin/python bench/agent_bench.py [--ports 100] [--idle 30] [--profile out.svg]
"""

from __future__ import annotations

import argparse
import os
import re
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from pyroute2 import netns
from pyroute2.netns import popns, pushns
from tests.e2e.conftest import start, stop
from tests.linux.test_agent_e2e import Cluster, network
from tests.linux.topology import topology

import neutrino.agent.linux.plug as plug_module
from neutrino.agent.names import dhcp_network_of
from neutrino.cmd.agent import plug_port

ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806
AGENT_MAIN = ("import logging, sys; "
              "logging.getLogger('neutrino.agent.trace').setLevel(logging.DEBUG); "
              "from neutrino.cmd.main import main; sys.exit(main(sys.argv[1:]))")


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


class Probe:
    """ARP + ICMP echo over a packet socket opened in namespace `ns` on `ifname`."""

    def __init__(self, ns: str, ifname: str, mac: str, ip: str) -> None:
        pushns(ns)
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((ifname, 0))
        finally:
            popns()
        self.sock.setblocking(False)
        self.mac = bytes.fromhex(mac.replace(":", ""))
        self.ip = socket.inet_aton(ip)
        self.ident = os.getpid() & 0xFFFF
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def _arp(self, target: bytes) -> bytes:
        return (b"\xff" * 6 + self.mac + struct.pack("!H", ETH_P_ARP)
                + struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1)
                + self.mac + self.ip + b"\0" * 6 + target)

    def _echo(self, target: bytes, mac: bytes) -> bytes:
        self.seq = (self.seq + 1) & 0xFFFF
        icmp = struct.pack("!BBHHH", 8, 0, 0, self.ident, self.seq) + b"neutrino-bench"
        icmp = icmp[:2] + struct.pack("!H", _csum(icmp)) + icmp[4:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), self.seq, 0, 64, 1, 0,
                         self.ip, target)
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
        return mac + self.mac + struct.pack("!H", ETH_P_IP) + ip + icmp

    def first_reply(self, address: str, interval: float, timeout: float = 30.0) -> float:
        """Monotonic time of the first echo reply from `address` (ARP resolved on the way)."""
        target = socket.inet_aton(address)
        mac: bytes | None = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.send(self._arp(target) if mac is None else self._echo(target, mac))
            until = time.monotonic() + interval
            while (left := until - time.monotonic()) > 0:
                if not select.select([self.sock], [], [], left)[0]:
                    break
                while True:
                    try:
                        frame = self.sock.recv(2048)
                    except BlockingIOError:
                        break
                    now = time.monotonic()
                    kind = struct.unpack("!H", frame[12:14])[0]
                    if (kind == ETH_P_ARP and frame[20:22] == b"\0\x02"
                            and frame[28:32] == target and mac is None):
                        mac = frame[22:28]
                        self.sock.send(self._echo(target, mac))
                    elif (kind == ETH_P_IP and frame[23] == 1 and frame[26:30] == target
                          and frame[30:34] == self.ip):
                        ihl = (frame[14] & 0x0F) * 4
                        icmp = frame[14 + ihl:]
                        if icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == self.ident:
                            return now
        raise RuntimeError(f"{address} never answered")


@dataclass(frozen=True)
class Reconcile:
    """One `trace reconcile` line of an agent log (monotonic seconds)."""

    dirty: float
    start: float
    snapshot: float
    applied: float
    end: float
    active: frozenset[str]
    l2: float  # of applied - snapshot: the L2 applier's read, diff and writes
    firewall: float  # and the firewall's


TRACE = re.compile(r"trace reconcile dirty=(\S+) start=(\S+) snapshot=(\S+) applied=(\S+) "
                   r"end=(\S+) active=(\S*)")
APPLY = re.compile(r"trace apply spec=(\S+) l2=(\S+) firewall=(\S+)")


def reconciles(log: Path) -> list[Reconcile]:
    """Each reconcile line, with the apply line the kernel thread logged just before it."""
    out = []
    l2 = fw = 0.0
    for text in log.read_text().splitlines():
        if m := APPLY.search(text):
            l2, fw = float(m.group(2)), float(m.group(3))
        elif m := TRACE.search(text):
            d, s, sn, a, e = (float(x) for x in m.groups()[:5])
            out.append(Reconcile(d, s, sn, a, e, frozenset(filter(None, m.group(6).split(","))),
                                 l2, fw))
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def line(name: str, xs: list[float]) -> str:
    return (f"  {name:<10} p50 {statistics.median(xs) * 1e3:6.1f} ms   "
            f"p99 {pct(xs, 0.99) * 1e3:6.1f} ms")


KERNEL_PLUG: list[float] = []  # start and end of each plug() inside plug_port
_plug = plug_module.plug


def timed_plug(*args: object, **kw: object) -> None:
    KERNEL_PLUG.append(time.monotonic())
    _plug(*args, **kw)  # type: ignore[arg-type]
    KERNEL_PLUG.append(time.monotonic())


plug_module.plug = timed_plug  # type: ignore[assignment]


def start_agent(c: Cluster, role: str) -> None:
    """As `Cluster.start_agent`, with the trace logger on."""
    host = c.topo.hosts[role]
    log = (c.tmp / f"agent-{role}.log").open("ab")
    c.agents[role] = subprocess.Popen(
        [sys.executable, "-c", AGENT_MAIN, "agent", "--host", role, "--server", c.server.url,
         "--local-ip", host.underlay_ip, "--netns", host.ns,
         "--report-interval", "1", "--resync-interval", "30"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", type=int, default=100)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--probe-interval", type=float, default=0.005)
    ap.add_argument("--timeline", help="write each port's times and host2's reconciles here")
    ap.add_argument("--profile", help="py-spy record host2's agent into this file "
                    "(.svg: flame graph, .txt: collapsed stacks)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, \
            topology(["host1", "host2"], workloads=["probe"]) as topo:
        tmp = Path(tmpdir)
        server = start(tmp, f"sqlite:///{tmp / 'neutrino.sqlite'}")
        c = Cluster(server, topo, httpx.Client(base_url=server.url, timeout=30), tmp, {})
        made_ns: list[str] = []
        spy: subprocess.Popen[bytes] | None = None
        probe: Probe | None = None
        try:
            start_agent(c, "host1")
            start_agent(c, "host2")
            net_id = network(c)
            anchor = c.port(net_id, "host1")
            c.plug(anchor, "host1", "probe")
            probe = Probe(topo.workloads["probe"], "eth0", anchor["mac_address"],
                          anchor["fixed_ips"][0]["ip_address"])
            if args.profile:
                fmt = "speedscope" if args.profile.endswith(".json") else (
                    "raw" if args.profile.endswith(".txt") else "flamegraph")
                spy = subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                     str(c.agents["host2"].pid), "--rate", "1000", "--format", fmt,
                     "--output", args.profile, "--threads"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            rows: list[tuple[str, float, float, float, float]] = []  # id, t0, post, plug, ping
            api_reads: list[float] = []  # plug_port's GETs (port, network, subnets)
            kernel_plug: list[float] = []  # plug_port's plug(): veth, addresses, routes
            for i in range(args.ports):
                ns = f"{topo.workloads['probe']}-{i}"  # the same unique prefix: never collides
                t0 = time.monotonic()
                port = c.port(net_id, "host2")
                t_post = time.monotonic()
                made_ns.append(ns)
                done = plug_port(server.url, port["id"], ns, host="host2",
                                 host_netns=topo.hosts["host2"].ns)
                t_plug = time.monotonic()
                api_reads.append(KERNEL_PLUG[-2] - t_post)
                kernel_plug.append(KERNEL_PLUG[-1] - KERNEL_PLUG[-2])
                try:
                    t_ping = probe.first_reply(done.addresses[0].split("/")[0],
                                               args.probe_interval)
                except RuntimeError:
                    shown = c.api.get(f"/v2.0/ports/{port['id']}").json()["port"]
                    print(f"port {port['id']} {shown['status']} at {time.monotonic():.3f}",
                          file=sys.stderr)
                    raise
                rows.append((port["id"], t0, t_post, t_plug, t_ping))
                time.sleep(0.05)  # let status echoes settle: ports one after another
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=60)
                spy = None
            all_rec = reconciles(tmp / "agent-host2.log")
            by_port = {pid: r for r in all_rec for pid in r.active}
            if args.timeline:
                with open(args.timeline, "w") as out:
                    events = [(t0, f"port {pid[:8]} POST") for pid, t0, *_ in rows]
                    events += [(t, f"port {pid[:8]} {what}") for pid, _, tp, tg, tq in rows
                               for t, what in ((tp, "posted"), (tg, "plugged"), (tq, "ping"))]
                    events += [(t, "  plug(): kernel part starts") for t in KERNEL_PLUG[0::2]]
                    events += [(r.dirty, f"  rec dirty ({r.start - r.dirty:.4f} wait, "
                                f"snap {r.snapshot - r.start:.4f} apply "
                                f"{r.applied - r.snapshot:.4f} status {r.end - r.applied:.4f}) "
                                f"active {[p[:8] for p in r.active]}") for r in all_rec]
                    events += [(r.applied, "  rec applied") for r in all_rec]
                    base = rows[0][1]
                    for t, what in sorted(events):
                        if t >= base:
                            out.write(f"{(t - base) * 1e3:10.1f} {what}\n")
            total, post, plug, wait, rec, ping, snap, appl, l2, fw = ([] for _ in range(10))
            for pid, t0, t_post, t_plug, t_ping in rows:
                total.append(t_ping - t0)
                post.append(t_post - t0)
                plug.append(t_plug - t_post)
                r = by_port.get(pid)
                if r is None:
                    continue
                wait.append(r.start - r.dirty)
                rec.append(r.applied - r.start)
                snap.append(r.snapshot - r.start)
                appl.append(r.applied - r.snapshot)
                l2.append(r.l2)
                fw.append(r.firewall)
                ping.append(t_ping - max(t_plug, r.applied))
            print(f"port create + plug -> first ping, {len(total)} ports "
                  f"(probe every {args.probe_interval * 1e3:.0f} ms): "
                  f"p50 {statistics.median(total) * 1e3:.1f} ms, "
                  f"p99 {pct(total, 0.99) * 1e3:.1f} ms, max {max(total) * 1e3:.1f} ms")
            for name, xs in (("POST", post), ("plug", plug), ("  GETs", api_reads),
                             ("  kernel", kernel_plug), ("wait", wait),
                             ("reconcile", rec), ("  snapshot", snap), ("  apply", appl),
                             ("    L2", l2), ("    firewall", fw), ("ping", ping)):
                if xs:
                    print(line(name, xs))
            others = [r for r in all_rec if not r.active]
            if others:
                print(f"host2's other reconciles ({len(others)}): "
                      + ", ".join(f"{n} p50 {statistics.median(xs) * 1e3:.1f} ms" for n, xs in (
                          ("total", [r.applied - r.start for r in others]),
                          ("snapshot", [r.snapshot - r.start for r in others]),
                          ("L2", [r.l2 for r in others]),
                          ("firewall", [r.firewall for r in others]))))
            time.sleep(3)  # let status reports and their echoes settle
            pids = {role: proc.pid for role, proc in c.agents.items()}
            before = {role: cpu_seconds(pid) for role, pid in pids.items()}
            time.sleep(args.idle)
            for role, pid in pids.items():
                used = cpu_seconds(pid) - before[role]
                print(f"agent {role} idle {args.idle:.0f} s with {args.ports + 1} ports on the "
                      f"network: {used:.2f} s CPU ({100 * used / args.idle:.2f}%)")
        except BaseException:
            for role in c.agents:  # what the agents saw: the temporary directory goes
                lines = (tmp / f"agent-{role}.log").read_text(errors="replace").splitlines()
                print(f"--- agent {role}, last lines:", *lines[-40:], sep="\n", file=sys.stderr)
            raise
        finally:
            if spy is not None:
                spy.kill()
                spy.wait()
            if probe is not None:
                probe.close()
            for role in list(c.agents):
                c.stop_agent(role)
            c.api.close()
            stop(server)
            # a stopped agent leaves its DHCP namespaces serving (as Neutron's): ours go too
            hosts = {h.ns for h in topo.hosts.values()}
            made_ns += [name for name in netns.listnetns()
                        if any(dhcp_network_of(name, h) for h in hosts)]
            for ns in made_ns:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
