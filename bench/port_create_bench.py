#!/usr/bin/env python3
"""Port-create throughput through the API at 1, 8 and 32 concurrent clients, on a /16 and on
a /24 that fills up (requests past full must be clean 409s). Works against any Neutron-API
server with noauth headers (neutrino or real Neutron), standard library only:

    python3 bench/port_create_bench.py --url http://127.0.0.1:9696 [--ports 1000]

Prints one line per (cidr, clients) and a JSON summary on the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter
from typing import Any

from _neutron_http import Client  # bench/ is on sys.path when run as a script

PROJECT = "portbench000000000000000000000001"


def run(url: str, cidr: str, clients: int, total: int) -> dict[str, Any]:
    admin = Client(url, PROJECT)
    _, net = admin.call("POST", "/networks", {"network": {"name": f"pb-{cidr}-{clients}",
                                                          "project_id": PROJECT}})
    net_id = net["network"]["id"]
    st, sub = admin.call("POST", "/subnets", {"subnet": {
        "network_id": net_id, "cidr": cidr, "ip_version": 4, "project_id": PROJECT}})
    assert st == 201, sub
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    ips: list[str] = []
    lock = threading.Lock()
    per_client = total // clients

    def work() -> None:
        c = Client(url, PROJECT)
        for _ in range(per_client):
            t0 = time.perf_counter()
            st, body = c.call("POST", "/ports", {"port": {"network_id": net_id,
                                                         "project_id": PROJECT}})
            dt = time.perf_counter() - t0
            with lock:
                statuses[st] += 1
                if st == 201:
                    latencies.append(dt)
                    ips.extend(f["ip_address"] for f in body["port"]["fixed_ips"])

    threads = [threading.Thread(target=work) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    # clean up: ports then network (the subnet goes with it); a fresh connection, since the
    # server may have closed the idle one
    admin = Client(url, PROJECT)
    st, listed = admin.call("GET", f"/ports?network_id={net_id}&fields=id")
    for p in listed["ports"]:
        admin.call("DELETE", f"/ports/{p['id']}")
    admin.call("DELETE", f"/networks/{net_id}")
    lat = sorted(latencies)
    return {
        "cidr": cidr, "clients": clients, "requests": sum(statuses.values()),
        "created": statuses[201], "status": dict(statuses),
        "created_per_s": round(statuses[201] / wall, 1),
        "p50_ms": round(1000 * statistics.median(lat), 2) if lat else None,
        "p99_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 2) if lat else None,
        "duplicates": len(ips) - len(set(ips)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:9696")
    ap.add_argument("--ports", type=int, default=960, help="requests per run (/16 runs)")
    ap.add_argument("--clients", default="1,8,32")
    a = ap.parse_args()
    admin = Client(a.url, PROJECT)
    admin.call("PUT", f"/quotas/{PROJECT}", {"quota": {"port": -1, "network": -1,
                                                      "subnet": -1}})
    results = []
    for cidr, total in (("10.60.0.0/16", a.ports), ("10.61.0.0/24", 320)):
        for clients in (int(c) for c in a.clients.split(",")):
            r = run(a.url, cidr, clients, total - total % clients)
            results.append(r)
            print(f"{cidr:>14} C={clients:<3} created {r['created']:5d} "
                  f"{r['created_per_s']:8.1f}/s p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms "
                  f"status {r['status']} duplicates {r['duplicates']}", flush=True)
    print("SUMMARY " + json.dumps(results))


if __name__ == "__main__":
    main()
