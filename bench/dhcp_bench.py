"""Built-in DHCP vs dnsmasq: port change -> ACK latency, and DORA transactions per second.

    sudo .venv/bin/python bench/dhcp_bench.py [--sizes 1000 10000 50000] [--runs 5] [--dnsmasq]

Builtin: a "host" namespace with a bridge, `BuiltinDhcp` serving one network of N ports
(the team anchor's addressing: 198.18.0.0/16, MACs fa:16:3e:xx:xx:xx, `dhcplib`), and a
client namespace on the bridge. The client is the team's generator, run from
/work/shared/bench/dataplane (never copied) in a subprocess inside the client namespace, so
it does not share our GIL: `dhcp_reload.dora` for latency (DISCOVER every 2 ms until an
OFFER, then REQUEST), `dhcp_load.load` for throughput (window 1 = serial latency, 64 =
throughput). Port change -> ACK: the client already retransmits DISCOVER for a MAC the
server does not know; we add the port (`sync` with N+1 hosts) and time from the start of
`sync` to the client's ACK (CLOCK_MONOTONIC is shared by both processes).

dnsmasq (--dnsmasq): the team's anchor scripts, as they are (dhcp_reload.py: Neutron's
file rewrite + SIGHUP -> ACK; dhcp_load.py), in their own anc-* namespaces.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, plumbing
from neutrino.agent.dhcp.builtin import BuiltinDhcp
from neutrino.agent.names import bridge_name, dhcp_netns, tap_name
from neutrino.wire.snapshot import SnapshotSubnet

ANCHOR = Path("/work/shared/bench/dataplane")
sys.path.insert(0, str(ANCHOR))
import dhcplib as D  # noqa: E402

CLIENT_IF = "eth0"
CLIENT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import dhcplib as D
from dhcp_reload import dora, drain
from dhcp_load import load
sock = D.client_socket(sys.argv[2])
if sys.argv[3] == "dora":
    print("ready", flush=True)
    t_ref = time.perf_counter()
    t_offer, t_ack, discovers = dora(sock, sys.argv[4], t_ref, timeout=120)
    print(json.dumps({"ack_at": t_ref + t_ack, "discovers": discovers}), flush=True)
else:
    n, m, window = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    step = max(1, n // m)
    macs = [D.port_mac(i) for i in range(0, n, step)][:m]
    print(json.dumps(load(sock, macs, window)), flush=True)
"""


def run(*argv: str, input: str | None = None) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True, input=input)


def network(net_id: str, dhcp_port_id: str, n: int, host_netns: str) -> DhcpNetwork:
    subnet = SnapshotSubnet(D.SUBNET_ID, str(D.NET), 4, D.SERVER_IP, True, (D.SERVER_IP,),
                            (("169.254.169.254/32", D.SERVER_IP),))
    hosts = tuple(DhcpHost(f"port-{i}", D.port_mac(i), (D.port_ip(i),),
                           "host-" + D.port_ip(i).replace(".", "-")) for i in range(n))
    return DhcpNetwork(network_id=net_id, netns=dhcp_netns(net_id, host_netns),
                       interface=tap_name(dhcp_port_id), bridge=bridge_name(net_id),
                       server_mac="fa:16:3e:ff:ff:fe",
                       server_addresses=(f"{D.SERVER_IP}/{D.NET.prefixlen}",),
                       subnets=(subnet,), hosts=hosts, mtu=1450, dns_domain=D.DOMAIN)


@contextmanager
def lab() -> Iterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:6]
    host, client = f"nqb-{tag}-host", f"nqb-{tag}-cl"
    try:
        for ns in (host, client):
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", host, "-batch", "-", input="\n".join([
            "link add br0 type bridge", "link set br0 up",
            f"link add tapbench type veth peer name {CLIENT_IF} netns {client}",
            "link set tapbench master br0 up"]) + "\n")
        run("ip", "-n", client, "addr", "add", f"{D.CLIENT_IP}/{D.NET.prefixlen}",
            "dev", CLIENT_IF)
        run("ip", "-n", client, "link", "set", CLIENT_IF, "up")
        yield host, client
    finally:
        for ns in (host, client):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def client(ns: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT,
                             str(ANCHOR), CLIENT_IF, *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def builtin(sizes: list[int], runs: int, m: int) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    with lab() as (host, cl):
        for n in sizes:
            net_id, dhcp_port = str(uuid.uuid4()), str(uuid.uuid4())
            desired = network(net_id, dhcp_port, n + runs, host)
            desired = DhcpNetwork(**{**_fields(desired), "bridge": "br0"})
            driver = BuiltinDhcp(host_netns=host)
            try:
                t0 = time.perf_counter()
                driver.sync([_first(desired, n)])
                first = time.perf_counter() - t0
                latencies, syncs = [], []
                for r in range(runs):
                    mac = D.port_mac(n + r)
                    proc = client(cl, "dora", mac)
                    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
                    time.sleep(0.05)  # the client is retransmitting DISCOVER for `mac`
                    change = _first(desired, n + r + 1)
                    t0 = time.perf_counter()
                    driver.sync([change])
                    syncs.append(time.perf_counter() - t0)
                    out = json.loads(proc.stdout.readline())
                    proc.wait(30)
                    latencies.append(out["ack_at"] - t0)
                results.append({"driver": "builtin", "n": n, "event": "port_change_to_ack",
                                "first_sync_ms": round(first * 1e3, 1),
                                "sync_ms_p50": _ms(statistics.median(syncs)),
                                "ack_ms_p50": _ms(statistics.median(latencies)),
                                "ack_ms_max": _ms(max(latencies)), "runs": runs})
                print(json.dumps(results[-1]), flush=True)
                for window in (1, 64):
                    proc = client(cl, "load", str(n), str(min(m, n)), str(window))
                    assert proc.stdout is not None
                    res = json.loads(proc.stdout.readline())
                    proc.wait(60)
                    res.update({"driver": "builtin", "n": n, "window": window, "event": "load"})
                    results.append(res)
                    print(json.dumps(res), flush=True)
                stats = driver.stats()[net_id]
                print(json.dumps({"driver": "builtin", "n": n, "event": "counters",
                                  **{k: v for k, v in sorted(stats.items())}}), flush=True)
            finally:
                driver.close()
                plumbing.remove(net_id, host)
    return results


def dnsmasq(sizes: list[int], runs: int, m: int) -> None:
    """The team's anchor, unchanged, in its own namespaces (see its README)."""
    setup = f"source {ANCHOR}/dhcp_ns.sh; dhcp_ns_down; dhcp_ns_up"
    subprocess.run(["bash", "-c", setup], check=True)
    state = "/var/lib/anc-dataplane/dhcp/bench"
    try:
        for n in sizes:
            for script, extra in (("dhcp_reload.py", ["--runs", str(runs)]),
                                  ("dhcp_load.py", ["--m", str(min(m, n)), "--runs", "1",
                                                    "--window", "1", "64"])):
                subprocess.run(["ip", "netns", "exec", "anc-dhc", "python3",
                                str(ANCHOR / script), "--dir", state, "--n", str(n), *extra],
                               check=True)
    finally:
        subprocess.run(["bash", "-c", f"source {ANCHOR}/dhcp_ns.sh; dhcp_ns_down"])
        subprocess.run(["rm", "-rf", "/var/lib/anc-dataplane"])


def _fields(n: DhcpNetwork) -> dict[str, object]:
    return {f: getattr(n, f) for f in DhcpNetwork.__dataclass_fields__}


def _first(n: DhcpNetwork, count: int) -> DhcpNetwork:
    return DhcpNetwork(**{**_fields(n), "hosts": n.hosts[:count]})  # type: ignore[arg-type]


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--m", type=int, default=1000, help="distinct MACs per load run")
    ap.add_argument("--dnsmasq", action="store_true", help="also run the dnsmasq anchor")
    a = ap.parse_args()
    builtin(a.sizes, a.runs, a.m)
    if a.dnsmasq:
        dnsmasq(a.sizes, a.runs, a.m)


if __name__ == "__main__":
    main()
