#!/usr/bin/env python3
"""Listing many ports through the API: `GET /v2.0/ports` of N ports whole, with `fields=`,
and page by page. Works against any Neutron-API server with noauth headers (neutrino or real
Neutron); standard library only. The ports are made with bulk creates (100 per request) on a
fresh network and deleted with it at the end.

    python3 bench/list_bench.py --url http://127.0.0.1:9696 [--ports 10000] [--repeats 5]

Prints p50/min/max milliseconds per kind of listing; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from _neutron_http import Client  # bench/ is on sys.path when run as a script

PROJECT = "listbench00000000000000000000001"


def timed(client: Client, path: str, repeats: int) -> tuple[list[float], int]:
    times, count = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        status, body = client.call("GET", path)
        times.append((time.perf_counter() - t0) * 1000)
        assert status == 200, body
        count = len(body["ports"])
    return times, count


def paged(client: Client, net_id: str, page: int) -> tuple[float, int]:
    """Walk every page with `limit`/`marker`; total milliseconds and ports seen."""
    t0, seen, marker = time.perf_counter(), 0, None
    while True:
        path = f"/ports?network_id={net_id}&limit={page}" + (f"&marker={marker}" if marker else "")
        status, body = client.call("GET", path)
        assert status == 200, body
        seen += len(body["ports"])
        if len(body["ports"]) < page:
            return (time.perf_counter() - t0) * 1000, seen
        marker = body["ports"][-1]["id"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:9696")
    ap.add_argument("--ports", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--page", type=int, default=1000)
    a = ap.parse_args()
    c = Client(a.url, PROJECT, timeout=600)
    c.call("PUT", f"/quotas/{PROJECT}", {"quota": {"port": -1, "network": -1, "subnet": -1}})
    _, net = c.call("POST", "/networks", {"network": {"name": "list-bench",
                                                      "project_id": PROJECT}})
    net_id = net["network"]["id"]
    st, sub = c.call("POST", "/subnets", {"subnet": {
        "network_id": net_id, "cidr": "10.128.0.0/16", "ip_version": 4, "project_id": PROJECT}})
    assert st == 201, sub
    try:
        t0 = time.perf_counter()
        for done in range(0, a.ports, 100):
            batch = [{"network_id": net_id, "project_id": PROJECT, "name": f"p{done + i}"}
                     for i in range(min(100, a.ports - done))]
            st, body = c.call("POST", "/ports", {"ports": batch})
            assert st == 201, body
        print(f"created {a.ports} ports (bulk) in {time.perf_counter() - t0:.1f} s")
        rows = [
            ("all ports, every attribute", f"/ports?network_id={net_id}"),
            ("all ports, fields=id,mac_address,fixed_ips",
             f"/ports?network_id={net_id}&fields=id&fields=mac_address&fields=fixed_ips"),
        ]
        summary: dict[str, Any] = {"ports": a.ports}
        for label, path in rows:
            times, count = timed(c, path, a.repeats)
            assert count == a.ports, (label, count)
            p50 = statistics.median(times)
            summary[label] = round(p50, 1)
            print(f"{label:<45} p50 {p50:8.1f} ms  min {min(times):8.1f}  "
                  f"max {max(times):8.1f}  ({count} ports)")
        ms, seen = paged(c, net_id, a.page)
        assert seen == a.ports, seen
        summary[f"paged by {a.page}"] = round(ms, 1)
        print(f"{f'every page of {a.page} (limit/marker)':<45} total {ms:6.1f} ms")
        print("SUMMARY " + json.dumps(summary))
    finally:
        c = Client(a.url, PROJECT, timeout=600)
        _, listed = c.call("GET", f"/ports?network_id={net_id}&fields=id")
        for p in listed["ports"]:
            c.call("DELETE", f"/ports/{p['id']}")
        c.call("DELETE", f"/networks/{net_id}")


if __name__ == "__main__":
    main()
