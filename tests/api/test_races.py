"""Requests that race each other get the answers of some serial order: 2xx, 404 or 409 as the
winner's commit decides, never a 500 (on PostgreSQL a transaction that loses a deadlock or a
constraint check to a concurrent one runs again, `db.retry`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from neutrino.services._env import Env
from tests.api.helpers import ALICE, external, net, port, put_action, router, rows, subnet

ROUNDS = 6


def race(*requests: Callable[[], Any]) -> list[int]:
    """Start the requests together, each on its own thread; their status codes."""
    start = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def run(i: int) -> None:
        start.wait(timeout=10)
        statuses[i] = requests[i]().status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def group(client: TestClient, name: str) -> str:
    r = client.post("/v2.0/security-groups", json={"security_group": {"name": name}},
                    headers=ALICE)
    assert r.status_code == 201, r.text
    return str(r.json()["security_group"]["id"])


def remote_rule(client: TestClient, group_id: str, remote_group_id: str) -> None:
    body = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress",
                                    "ethertype": "IPv4", "remote_group_id": remote_group_id}}
    r = client.post("/v2.0/security-group-rules", json=body, headers=ALICE)
    assert r.status_code == 201, r.text


def test_groups_naming_each_other_deleted_together(client: TestClient, env: Env) -> None:
    """Each delete removes the other's rule and bumps the other group: opposite lock orders."""
    for _ in range(ROUNDS):
        a, b = group(client, "a"), group(client, "b")
        remote_rule(client, a, b)
        remote_rule(client, b, a)
        statuses = race(lambda g=a: client.delete(f"/v2.0/security-groups/{g}", headers=ALICE),
                        lambda g=b: client.delete(f"/v2.0/security-groups/{g}", headers=ALICE))
        assert statuses == [204, 204]
        assert rows(env, "SELECT id FROM securitygroups WHERE id IN (:a, :b)", a=a, b=b) == []


def test_a_port_created_in_a_group_being_deleted(client: TestClient, env: Env) -> None:
    """Either the port comes first (the delete is refused: in use) or the delete does (the port
    is refused: no such group); nothing half-made either way."""
    n = net(client, ALICE)
    subnet(client, n, "10.0.0.0/24", ALICE)
    for _ in range(ROUNDS):
        g = group(client, "doomed")
        body = {"port": {"network_id": n, "security_groups": [g]}}
        created, deleted = race(
            lambda body=body: client.post("/v2.0/ports", json=body, headers=ALICE),
            lambda g=g: client.delete(f"/v2.0/security-groups/{g}", headers=ALICE))
        assert (created, deleted) in ((201, 409), (404, 204))
        ports = rows(env, "SELECT port_id FROM security_group_port_bindings"
                     " WHERE security_group_id = :g",
                     g=g)
        assert len(ports) == (created == 201)


def test_two_floating_ips_associated_with_one_port_at_once(client: TestClient) -> None:
    """One fixed IP has one floating IP per external network: one wins, the other gets 409."""
    ext, _ = external(client)
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    r = router(client, ALICE, external_gateway_info={"network_id": ext})
    assert put_action(client, r["id"], "add_router_interface", {"subnet_id": s["id"]},
                      ALICE).status_code == 200
    for _ in range(ROUNDS):
        p = port(client, n, ALICE)
        fips = [client.post("/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": ext}}, headers=ALICE).json()["floatingip"]["id"]
            for _ in range(2)]
        body = {"floatingip": {"port_id": p["id"]}}
        statuses = race(*(lambda f=f, body=body: client.put(
            f"/v2.0/floatingips/{f}", json=body, headers=ALICE) for f in fips))
        assert sorted(statuses) == [200, 409]
        held = client.get(f"/v2.0/floatingips?port_id={p['id']}", headers=ALICE)
        assert len(held.json()["floatingips"]) == 1
