"""Agent convergence: time from `POST /ports` + plug to the first successful ping, and the
agent's CPU while idle.

Two hosts (namespaces, tests/linux/topology.py), a live server (SQLite) on the loopback of
this namespace and an agent per host (`--netns`). A probe workload on host1 pings each new
port, created one after another on host2 (so each needs a bridge port, an FDB entry on host1
and a firewall set element): p50/p99 over N ports. Then the agents' CPU (utime+stime from
/proc/<pid>/stat) over 30 s of nothing. Root only; everything is removed on exit.

    .venv/bin/python bench/agent_bench.py [--ports 100] [--idle 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.e2e.conftest import start, stop
from tests.linux.netns import run
from tests.linux.test_agent_e2e import Cluster, network
from tests.linux.topology import topology

from neutrino.cmd.agent import plug_port


def pings(ns: str, address: str) -> bool:
    """One echo with a short wait, so the figure is not rounded up to ping's 1 s default."""
    return run(ns, "ping", "-c", "1", "-W", "0.1", address, check=False).returncode == 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", type=int, default=100)
    ap.add_argument("--idle", type=float, default=30.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, \
            topology(["host1", "host2"], workloads=["probe"]) as topo:
        tmp = Path(tmpdir)
        server = start(tmp, f"sqlite:///{tmp / 'neutrino.sqlite'}")
        c = Cluster(server, topo, httpx.Client(base_url=server.url, timeout=30), tmp, {})
        made_ns: list[str] = []
        try:
            c.start_agent("host1")
            c.start_agent("host2")
            net_id = network(c)
            c.plug(c.port(net_id, "host1"), "host1", "probe")
            probe = topo.workloads["probe"]
            times: list[float] = []
            plugged: list[float] = []
            active: list[float] = []
            for i in range(args.ports):
                ns = f"{probe}-{i}"  # the same unique prefix: never collides
                t0 = time.monotonic()
                port = c.port(net_id, "host2")
                made_ns.append(ns)
                done = plug_port(server.url, port["id"], ns, host="host2",
                                 host_netns=topo.hosts["host2"].ns)
                t_plug = time.monotonic()
                ip = done.addresses[0].split("/")[0]
                while c.status(port["id"]) != "ACTIVE":
                    time.sleep(0.01)
                active.append(time.monotonic() - t0)
                while not pings(probe, ip):
                    if time.monotonic() - t0 > 30:
                        raise RuntimeError(f"port {i} never answered")
                times.append(time.monotonic() - t0)
                plugged.append(t_plug - t0)
            times.sort()
            p50 = statistics.median(times)
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"port create + plug -> first ping, {len(times)} ports: "
                  f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                  f"max {times[-1] * 1000:.0f} ms")
            print(f"  of which POST /ports + plug: p50 {statistics.median(plugged) * 1000:.0f} ms;"
                  f" port ACTIVE after p50 {statistics.median(active) * 1000:.0f} ms")
            time.sleep(3)  # let status reports and their echoes settle
            pids = {role: proc.pid for role, proc in c.agents.items()}
            before = {role: cpu_seconds(pid) for role, pid in pids.items()}
            time.sleep(args.idle)
            for role, pid in pids.items():
                used = cpu_seconds(pid) - before[role]
                print(f"agent {role} idle {args.idle:.0f} s with {args.ports + 1} ports on the "
                      f"network: {used:.2f} s CPU ({100 * used / args.idle:.2f}%)")
        finally:
            for role in list(c.agents):
                c.stop_agent(role)
            c.api.close()
            stop(server)
            for ns in made_ns:
                os.system(f"ip netns del {ns} 2>/dev/null")
    return 0


if __name__ == "__main__":
    sys.exit(main())
