"""Two server processes on PostgreSQL, 32 concurrent clients filling one small subnet.

Every address must be handed out once, the subnet must end exactly full, nothing may answer
500, and every request past full gets a clean 409 IpAddressGenerationFailure.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter

import httpx
import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

ADMIN = {"X-Project-Id": "fill", "X-Roles": "admin"}
CLIENTS = 32
ATTEMPTS_PER_CLIENT = 5  # 160 requests for 125 addresses (a /25 minus gateway/network/bcast)


def test_32_clients_fill_a_subnet_exactly_once(pg_server: LiveServer) -> None:
    base = pg_server.url + "/v2.0"
    with httpx.Client(headers=ADMIN, timeout=60) as c:
        c.put(f"{base}/quotas/fill", json={"quota": {"port": -1}}).raise_for_status()
        net = c.post(f"{base}/networks", json={"network": {"name": "fill"}}).json()["network"]
        sub = c.post(f"{base}/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.77.0.0/25", "ip_version": 4,
            "enable_dhcp": False}}).json()["subnet"]  # no DHCP port: every address for us
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    addresses: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(headers=ADMIN, timeout=60) as c:
            for _ in range(ATTEMPTS_PER_CLIENT):
                r = c.post(f"{base}/ports", json={"port": {"network_id": net["id"]}})
                with lock:
                    statuses[r.status_code] += 1
                    if r.status_code == 201:
                        addresses.extend(f["ip_address"] for f in r.json()["port"]["fixed_ips"])
                    else:
                        errors[r.json()["NeutronError"]["type"]] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    hosts = {str(h) for h in ipaddress.ip_network(sub["cidr"]).hosts()} - {sub["gateway_ip"]}
    assert statuses[500] == 0, errors
    assert len(addresses) == len(set(addresses)), "an address was handed out twice"
    assert set(addresses) == hosts, "the subnet is not exactly full"
    assert statuses[201] == len(hosts)
    assert statuses[409] == CLIENTS * ATTEMPTS_PER_CLIENT - len(hosts)
    assert set(errors) == {"IpAddressGenerationFailure"}
    with httpx.Client(headers=ADMIN, timeout=60) as c:
        listed = c.get(f"{base}/ports", params={"network_id": net["id"]}).json()["ports"]
    assert sorted(f["ip_address"] for p in listed for f in p["fixed_ips"]) == sorted(addresses)
