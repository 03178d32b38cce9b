"""L2 dataplane bench (root; everything inside throwaway `nqb-*` namespaces, deleted at exit).

A. plug -> first ping: for each of N ports on one host (one local network), plug a new
   workload, apply the host spec with it, ping an anchor workload until it answers.
   The apply is the full level-triggered one (read, diff, execute) over all ports so far.
B. 1,000 ports from scratch: 10 VXLAN networks x 100 ports, 20 remote VTEPs and 200
   remote ports each (2,200 FDB entries): apply from nothing, then a no-op apply right
   away and again 3 s later (right after 2,000 new links the kernel's dumps are slower).

    sudo .venv/bin/python bench/l2_bench.py [--ports 100] [--big 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
import uuid

from pyroute2 import IPRoute

from neutrino.agent.desired import HostConfig, host_spec
from neutrino.agent.linux.l2 import L2
from neutrino.agent.linux.plug import plug
from neutrino.agent.names import tap_name
from neutrino.wire.snapshot import HostSnapshot, RemotePort, SnapshotNetwork, SnapshotPort

TAG = uuid.uuid4().hex[:6]
made: list[str] = []


def netns(role: str) -> str:
    name = f"nqb-{TAG}-{role}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    made.append(name)
    return name


def pid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def port(n: int, net: str) -> SnapshotPort:
    return SnapshotPort(id=pid(n), network_id=net, mac_address=mac(n), fixed_ips=(),
                        admin_state_up=True, device_owner="", port_security_enabled=False,
                        security_groups=(), allowed_address_pairs=(), revision_number=1,
                        status="DOWN")


def mac(n: int) -> str:
    return f"fa:16:3e:{n >> 16 & 0xFF:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def bench_plug_to_ping(n: int) -> dict[str, object]:
    host = netns("host")
    net = SnapshotNetwork(id="aaaaaaaa-0000-4000-8000-000000000001", network_type="local",
                          physical_network=None, segmentation_id=None, mtu=1500)
    cfg = HostConfig()
    ports: list[SnapshotPort] = []
    wl: list[str] = []
    total, t_plug, t_apply, t_ping = [], [], [], []
    with L2(host) as l2:
        for i in range(n + 1):  # port 0 is the anchor everyone pings
            w = netns(f"w{i}")
            wl.append(w)
            t0 = time.perf_counter()
            plug(pid(i), mac(i), 1500, [f"10.0.{(i + 1) >> 8}.{(i + 1) & 0xFF}/16"],
                 netns_name=w, host_netns=host)
            t1 = time.perf_counter()
            ports.append(port(i, net.id))
            done = l2.apply(host_spec(HostSnapshot("h", i, networks=(net,), ports=tuple(ports)),
                                      cfg))
            assert not done.errors and not done.missing, done
            t2 = time.perf_counter()
            if i == 0:
                continue
            while subprocess.run(["ip", "netns", "exec", w, "ping", "-c1", "-W0.2", "10.0.0.1"],
                                 capture_output=True).returncode != 0:
                pass
            t3 = time.perf_counter()
            total.append(t3 - t0)
            t_plug.append(t1 - t0)
            t_apply.append(t2 - t1)
            t_ping.append(t3 - t2)
    ms = 1e3
    return {"bench": "plug+apply -> first ping", "ports": n,
            "p50_ms": round(statistics.median(total) * ms, 1),
            "p99_ms": round(pct(total, 0.99) * ms, 1),
            "max_ms": round(max(total) * ms, 1),
            "plug_p50_ms": round(statistics.median(t_plug) * ms, 1),
            "apply_p50_ms": round(statistics.median(t_apply) * ms, 1),
            "apply_last_ms": round(t_apply[-1] * ms, 1),
            "ping_p50_ms": round(statistics.median(t_ping) * ms, 1)}


def bench_big(n: int, nets: int = 10, vteps: int = 20, remote_per_net: int = 200
              ) -> dict[str, object]:
    host = netns("big")
    with IPRoute(netns=host) as ipr:  # the taps plug would make; their peers stay here
        t0 = time.perf_counter()
        for i in range(n):
            ipr.link("add", ifname=tap_name(pid(i)), kind="veth", peer=f"nqbp{i}")
            ipr.link("set", index=ipr.link_lookup(ifname=f"nqbp{i}")[0], state="up")
        t_veth = time.perf_counter() - t0
    networks = []
    for k in range(nets):
        remote = tuple(RemotePort(mac(0x100000 + k * 1000 + j), (), f"198.51.100.{2 + j % vteps}")
                       for j in range(remote_per_net))
        networks.append(SnapshotNetwork(
            id=f"{k:08x}-0000-4000-8000-000000000000", network_type="vxlan",
            physical_network=None, segmentation_id=1000 + k, mtu=1450,
            remote_vteps=tuple(f"198.51.100.{2 + j}" for j in range(vteps)),
            remote_ports=remote))
    snap = HostSnapshot("h", 1, networks=tuple(networks),
                        ports=tuple(port(i, networks[i % nets].id) for i in range(n)))
    t0 = time.perf_counter()
    spec = host_spec(snap, HostConfig(local_ip="198.51.100.1"))
    t_spec = time.perf_counter() - t0
    with L2(host) as l2:
        t0 = time.perf_counter()
        first = l2.apply(spec)
        t_first = time.perf_counter() - t0
        assert not first.errors and not first.missing, first.errors[:3]
        noop = []
        for _ in range(5):
            t0 = time.perf_counter()
            again = l2.apply(spec)
            noop.append(time.perf_counter() - t0)
            assert again.steps == ()
        time.sleep(3)  # the kernel is still busy with 2,000 new links for a while
        settled = []
        for _ in range(5):
            t0 = time.perf_counter()
            assert l2.apply(spec).steps == ()
            settled.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        l2.read_actual()
        t_read = time.perf_counter() - t0
    return {"bench": "apply host spec", "ports": n, "networks": nets,
            "fdb_entries": len(spec.fdb), "steps": len(first.steps),
            "veth_setup_s": round(t_veth, 2), "host_spec_ms": round(t_spec * 1e3, 1),
            "apply_from_scratch_s": round(t_first, 3),
            "noop_apply_ms_median": round(statistics.median(noop) * 1e3, 1),
            "noop_apply_ms_median_3s_later": round(statistics.median(settled) * 1e3, 1),
            "read_actual_ms": round(t_read * 1e3, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", type=int, default=100)
    ap.add_argument("--big", type=int, default=1000)
    args = ap.parse_args()
    try:
        print(json.dumps(bench_plug_to_ping(args.ports)))
        print(json.dumps(bench_big(args.big)))
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


if __name__ == "__main__":
    main()
