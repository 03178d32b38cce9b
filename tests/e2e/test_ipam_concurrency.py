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


def test_deletes_and_creates_racing_on_a_full_subnet(pg_server: LiveServer) -> None:
    """Releases take no lock (they wait in ipam_released until the next allocation merges
    them): 16 clients delete ports of a full /26 while 16 others create, each create
    retrying on 409 until it gets an address. Nothing is handed out twice, every deleted
    address is reusable, nothing answers 500."""
    base = pg_server.url + "/v2.0"
    with httpx.Client(headers=ADMIN, timeout=60) as c:
        c.put(f"{base}/quotas/fill", json={"quota": {"port": -1}}).raise_for_status()
        net = c.post(f"{base}/networks", json={"network": {"name": "churn"}}).json()["network"]
        sub = c.post(f"{base}/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.78.0.0/26", "ip_version": 4,
            "enable_dhcp": False}}).json()["subnet"]
        first = [c.post(f"{base}/ports", json={"port": {"network_id": net["id"]}})
                 for _ in range(61)]  # a /26: 61 addresses besides the gateway
        assert [r.status_code for r in first] == [201] * 61
        full = c.post(f"{base}/ports", json={"port": {"network_id": net["id"]}})
        assert full.status_code == 409
    victims = [r.json()["port"]["id"] for r in first]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def deleter(ids: list[str]) -> None:
        with httpx.Client(headers=ADMIN, timeout=60) as c:
            for port_id in ids:
                r = c.delete(f"{base}/ports/{port_id}")
                with lock:
                    statuses[r.status_code] += 1

    def creator(count: int) -> None:
        with httpx.Client(headers=ADMIN, timeout=60) as c:
            made = 0
            while made < count:
                r = c.post(f"{base}/ports", json={"port": {"network_id": net["id"]}})
                with lock:
                    statuses[r.status_code] += 1
                made += r.status_code == 201

    threads = [threading.Thread(target=deleter, args=(victims[i::16],)) for i in range(16)]
    threads += [threading.Thread(target=creator, args=(3,)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses[500] == 0 and statuses[204] == 61 and statuses[201] == 48, statuses
    with httpx.Client(headers=ADMIN, timeout=60) as c:
        listed = c.get(f"{base}/ports", params={"network_id": net["id"]}).json()["ports"]
        got = [f["ip_address"] for p in listed for f in p["fixed_ips"]]
        assert len(got) == len(set(got)) == 48
        # the 13 addresses not retaken are free again: exactly that many more fit
        more = [c.post(f"{base}/ports", json={"port": {"network_id": net["id"]}})
                for _ in range(14)]
    assert [r.status_code for r in more] == [201] * 13 + [409]
    hosts = {str(h) for h in ipaddress.ip_network(sub["cidr"]).hosts()} - {sub["gateway_ip"]}
    assert set(got) | {r.json()["port"]["fixed_ips"][0]["ip_address"] for r in more[:13]} \
        == hosts
