"""Subnet pools, and subnets carved from them, through the real ASGI app (SQLite and
PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

from starlette.testclient import TestClient

from neutrino.domain.context import Context
from neutrino.domain.errors import NeutronError
from neutrino.domain.subnet import SubnetCreate
from neutrino.services import subnets
from neutrino.services._env import Env
from tests.api.test_subnets import err, net, post
from tests.conftest import as_project

ALICE = as_project("alice")
BOB = as_project("bob")


def pool(client: TestClient, headers: dict[str, str] | None = None, expect: int = 201,
         **attrs: Any) -> Any:
    body = {"name": "pool", **attrs}
    r = client.post("/v2.0/subnetpools", json={"subnetpool": body}, headers=headers or {})
    assert r.status_code == expect, r.text
    return r.json()["subnetpool"] if expect == 201 else r


def from_pool(client: TestClient, network_id: str, pool_id: str, version: int = 4,
              headers: dict[str, str] | None = None, expect: int = 201, **attrs: Any) -> Any:
    r = post(client, headers, network_id=network_id, subnetpool_id=pool_id,
             ip_version=version, **attrs)
    assert r.status_code == expect, r.text
    return r.json()["subnet"] if expect == 201 else r


def test_create_defaults_and_compaction(client: TestClient) -> None:
    p = pool(client, ALICE, prefixes=["10.0.1.0/24", "10.0.0.0/24", "10.0.0.128/25"])
    assert p["prefixes"] == ["10.0.0.0/23"] and p["ip_version"] == 4
    assert (p["min_prefixlen"], p["max_prefixlen"], p["default_prefixlen"]) == ("8", "32", "8")
    assert p["is_default"] is False and p["shared"] is False
    assert p["default_quota"] is None and p["address_scope_id"] is None
    assert p["project_id"] == "alice"
    assert client.get(f"/v2.0/subnetpools/{p['id']}", headers=ALICE).json()["subnetpool"] == p
    v6 = pool(client, prefixes=["2001:db8::/48"])
    assert (v6["min_prefixlen"], v6["max_prefixlen"], v6["default_prefixlen"]) == (
        "64", "128", "64")


def test_bad_pools(client: TestClient) -> None:
    cases = [
        ({"prefixes": []}, "EmptySubnetPoolPrefixList"),
        ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, "PrefixVersionMismatch"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16},
         "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "default_prefixlen": 4}, "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0"]}, "HTTPBadRequest"),
        ({"prefixes": ["10.0.0.0/8", "10.0.0.0/8"]}, "HTTPBadRequest"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": -1}, "HTTPBadRequest"),
        ({"prefixes": ["10.0.0.0/8"], "name": " "}, "HTTPBadRequest"),
    ]
    for attrs, kind in cases:
        r = pool(client, expect=400, **attrs)
        assert err(r) == kind, (attrs, r.text)
    r = client.post("/v2.0/subnetpools", json={"subnetpool": {"prefixes": ["10.0.0.0/8"]}})
    assert r.status_code == 400  # name is required
    assert pool(client, ALICE, expect=403, prefixes=["10.0.0.0/8"], shared=True)
    assert pool(client, ALICE, expect=403, prefixes=["10.0.0.0/8"], is_default=True)


def test_subnets_by_prefixlen_and_by_cidr(client: TestClient) -> None:
    p = pool(client, prefixes=["10.0.0.0/24"], min_prefixlen=24, max_prefixlen=28,
             default_prefixlen=26)
    n1, n2, n3, n4, n5 = (net(client) for _ in range(5))
    a = from_pool(client, n1, p["id"])
    assert a["cidr"] == "10.0.0.0/26" and a["subnetpool_id"] == p["id"]
    assert a["gateway_ip"] == "10.0.0.1"
    assert a["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.62"}]
    b = from_pool(client, n2, p["id"], prefixlen=28, gateway_ip=None)
    assert b["cidr"] == "10.0.0.64/28" and b["gateway_ip"] is None
    c = from_pool(client, n3, p["id"], cidr="10.0.0.128/25")
    assert c["cidr"] == "10.0.0.128/25"
    assert err(from_pool(client, n4, p["id"], expect=409, cidr="10.0.0.0/27")) == (
        "SubnetAllocationError")
    assert err(from_pool(client, n4, p["id"], expect=409, cidr="10.9.0.0/26")) == (
        "SubnetAllocationError")
    assert err(from_pool(client, n4, p["id"], expect=400, prefixlen=23)) == (
        "MinPrefixSubnetAllocationError")
    assert err(from_pool(client, n4, p["id"], expect=400, prefixlen=29)) == (
        "MaxPrefixSubnetAllocationError")
    d = from_pool(client, n4, p["id"], prefixlen=28)
    assert d["cidr"] == "10.0.0.80/28"  # best fit: the /28 next to b, not a new /26
    assert from_pool(client, n5, p["id"], prefixlen=27)["cidr"] == "10.0.0.96/27"
    r = from_pool(client, n5, p["id"], expect=409, prefixlen=26)
    assert "Insufficient prefix space" in r.json()["NeutronError"]["message"]
    r = from_pool(client, n5, p["id"], expect=400, prefixlen=28,
                  allocation_pools=[{"start": "10.0.0.2", "end": "10.0.0.3"}])
    assert err(r) == "BadRequest"
    assert err(from_pool(client, n5, p["id"], 6, expect=400)) == "BadRequest"
    r = from_pool(client, n5, "00000000-0000-0000-0000-000000000000", expect=404)
    assert err(r) == "SubnetPoolNotFound"


def test_ipv6_pool_gateway_is_first_host(client: TestClient) -> None:
    p = pool(client, prefixes=["2001:db8::/56"])
    s = from_pool(client, net(client), p["id"], 6)
    assert s["cidr"] == "2001:db8::/64" and s["gateway_ip"] == "2001:db8::1"
    assert s["allocation_pools"] == [{"start": "2001:db8::2",
                                      "end": "2001:db8::ffff:ffff:ffff:ffff"}]


def test_default_pool(client: TestClient) -> None:
    n = net(client)
    r = post(client, network_id=n, ip_version=4, use_default_subnetpool=True)
    assert r.status_code == 400 and "No default subnetpool" in r.json()["NeutronError"]["message"]
    p = pool(client, prefixes=["10.0.0.0/16"], default_prefixlen=24, is_default=True,
             shared=True)
    assert pool(client, expect=400, prefixes=["10.1.0.0/16"], is_default=True)
    other = pool(client, prefixes=["10.2.0.0/16"])
    r = client.put(f"/v2.0/subnetpools/{other['id']}", json={"subnetpool": {"is_default": True}})
    assert r.status_code == 400 and err(r) == "InvalidInput"
    mine = net(client, ALICE)
    r = post(client, ALICE, network_id=mine, ip_version=4, use_default_subnetpool=True)
    assert r.status_code == 201 and r.json()["subnet"]["cidr"] == "10.0.0.0/24"
    assert r.json()["subnet"]["subnetpool_id"] == p["id"]
    r = post(client, network_id=n, ip_version=4, use_default_subnetpool=True,
             subnetpool_id=p["id"])
    assert r.status_code == 400 and err(r) == "BadRequest"


def test_visibility_sharing_and_ownership(client: TestClient) -> None:
    private = pool(client, ALICE, prefixes=["10.0.0.0/16"])
    shared = pool(client, prefixes=["10.1.0.0/16"], shared=True, default_prefixlen=24)
    seen = {p["id"] for p in client.get("/v2.0/subnetpools", headers=BOB).json()["subnetpools"]}
    assert seen == {shared["id"]}
    assert client.get(f"/v2.0/subnetpools/{private['id']}", headers=BOB).status_code == 404
    bobs = net(client, BOB)
    r = from_pool(client, bobs, private["id"], headers=BOB, expect=404)
    assert err(r) == "SubnetPoolNotFound"
    s = from_pool(client, bobs, shared["id"], headers=BOB)
    assert s["project_id"] == "bob" and s["cidr"] == "10.1.0.0/24"
    r = client.put(f"/v2.0/subnetpools/{shared['id']}", json={"subnetpool": {"name": "x"}},
                   headers=BOB)
    assert r.status_code == 403
    assert client.delete(f"/v2.0/subnetpools/{shared['id']}", headers=BOB).status_code == 403
    assert client.get("/v2.0/subnetpools?shared=true").json()["subnetpools"][0]["id"] == (
        shared["id"])


def test_project_quota_in_the_pool(client: TestClient) -> None:
    p = pool(client, prefixes=["10.0.0.0/16"], default_prefixlen=26, default_quota=100,
             shared=True)
    n = net(client, ALICE)
    from_pool(client, n, p["id"], headers=ALICE)  # 64 addresses
    r = from_pool(client, n, p["id"], headers=ALICE, expect=409)
    assert err(r) == "SubnetPoolQuotaExceeded"
    from_pool(client, net(client, BOB), p["id"], headers=BOB)  # bob has his own quota


def test_update_prefixes_and_bounds(client: TestClient) -> None:
    p = pool(client, prefixes=["10.0.0.0/24"], default_prefixlen=26)
    url = f"/v2.0/subnetpools/{p['id']}"

    def put(expect: int = 200, **attrs: Any) -> Any:
        r = client.put(url, json={"subnetpool": attrs})
        assert r.status_code == expect, r.text
        return r.json()["subnetpool"] if expect == 200 else err(r)

    u = put(prefixes=["10.0.0.0/24", "10.0.1.0/24"], name="bigger", min_prefixlen=16)
    assert u["prefixes"] == ["10.0.0.0/23"] and u["name"] == "bigger"
    assert u["min_prefixlen"] == "16" and u["revision_number"] == 1
    assert put(400, prefixes=["10.0.0.0/24"]) == "IllegalSubnetPoolPrefixUpdate"
    assert put(400, prefixes=["2001:db8::/64"]) == "PrefixVersionMismatch"
    assert put(400, min_prefixlen=30) == "IllegalSubnetPoolPrefixBounds"
    assert put(400, ip_version=6) == "HTTPBadRequest"
    assert put(default_quota=5)["default_quota"] == 5


def test_prefix_operations(client: TestClient) -> None:
    p = pool(client, prefixes=["10.0.0.0/24"], default_prefixlen=25)
    url = f"/v2.0/subnetpools/{p['id']}"
    r = client.put(f"{url}/add_prefixes", json={"prefixes": ["10.0.1.0/24", "192.168.0.0/24"]})
    assert r.status_code == 200 and r.json() == {"prefixes": ["10.0.0.0/23", "192.168.0.0/24"]}
    from_pool(client, net(client), p["id"], cidr="10.0.1.0/25")
    r = client.put(f"{url}/remove_prefixes", json={"prefixes": ["10.0.1.0/24"]})
    assert r.status_code == 400 and err(r) == "IllegalSubnetPoolPrefixUpdate"
    r = client.put(f"{url}/remove_prefixes", json={"prefixes": ["10.0.0.0/24", "172.16.0.0/12"]})
    assert r.status_code == 200
    assert r.json() == {"prefixes": ["10.0.1.0/24", "192.168.0.0/24"]}
    shown = client.get(url).json()["subnetpool"]
    assert shown["prefixes"] == ["10.0.1.0/24", "192.168.0.0/24"]
    assert shown["revision_number"] == 2
    assert client.put(f"{url}/add_prefixes", json={"prefix": []}).status_code == 400
    assert client.put(f"{url}/add_prefixes", json={"prefixes": ["bad"]}).status_code == 400
    r = client.put(f"{url}/add_prefixes", json={"prefixes": ["2001:db8::/64"]})
    assert r.status_code == 400 and err(r) == "PrefixVersionMismatch"
    r = client.put(f"{url}/add_prefixes", json={"prefixes": ["10.5.0.0/24"]}, headers=BOB)
    assert r.status_code == 404


def test_delete_and_network_affinity(client: TestClient) -> None:
    a = pool(client, prefixes=["10.0.0.0/16"], default_prefixlen=24)
    b = pool(client, prefixes=["10.1.0.0/16"], default_prefixlen=24)
    n = net(client)
    s = from_pool(client, n, a["id"])
    assert err(from_pool(client, n, b["id"], expect=400)) == "NetworkSubnetPoolAffinityError"
    r = post(client, network_id=n, ip_version=4, cidr="192.168.0.0/24")
    assert r.status_code == 400 and err(r) == "NetworkSubnetPoolAffinityError"
    from_pool(client, n, a["id"])  # the same pool again is fine
    r = client.delete(f"/v2.0/subnetpools/{a['id']}")
    assert r.status_code == 400 and err(r) == "SubnetPoolDeleteError"
    assert client.delete(f"/v2.0/networks/{n}").status_code == 204
    assert client.delete(f"/v2.0/subnetpools/{a['id']}").status_code == 204
    assert client.get(f"/v2.0/subnetpools/{a['id']}").status_code == 404
    assert client.get(f"/v2.0/subnets/{s['id']}").status_code == 404


def test_concurrent_subnets_from_one_pool_never_overlap(client: TestClient, env: Env) -> None:
    p = pool(client, prefixes=["10.0.0.0/24"], default_prefixlen=28)
    nets = [net(client) for _ in range(20)]
    got: list[str] = []
    errors: list[str] = []
    start = threading.Barrier(len(nets))

    def create(network_id: str) -> None:
        start.wait()
        req = SubnetCreate(network_id=network_id, ip_version=4, subnetpool_id=p["id"])
        try:
            got.append(str(subnets.create(env, Context.admin("admin"), req).cidr))
        except NeutronError as exc:
            errors.append(exc.type)

    threads = [threading.Thread(target=create, args=(n,)) for n in nets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == 16 and len(set(got)) == 16
    assert errors == ["SubnetAllocationError"] * 4
