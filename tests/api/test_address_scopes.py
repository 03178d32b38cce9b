"""Address scopes, and subnet pools in them, through the real ASGI app (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.test_subnetpools import from_pool, pool
from tests.api.test_subnets import err, net
from tests.conftest import as_project

ALICE = as_project("alice")
BOB = as_project("bob")


def scope(client: TestClient, headers: dict[str, str] | None = None, expect: int = 201,
          **attrs: Any) -> Any:
    body = {"name": "scope", "ip_version": 4, **attrs}
    r = client.post("/v2.0/address-scopes", json={"address_scope": body},
                    headers=headers or {})
    assert r.status_code == expect, r.text
    return r.json()["address_scope"] if expect == 201 else r


def test_crud(client: TestClient) -> None:
    s = scope(client, ALICE, name="s1")
    assert s["ip_version"] == 4 and s["shared"] is False and s["project_id"] == "alice"
    url = f"/v2.0/address-scopes/{s['id']}"
    assert client.get(url, headers=ALICE).json()["address_scope"] == s
    assert client.get(url, headers=BOB).status_code == 404
    assert err(client.get(url, headers=BOB)) == "AddressScopeNotFound"
    r = client.put(url, json={"address_scope": {"name": "s2"}}, headers=ALICE)
    assert r.status_code == 200 and r.json()["address_scope"]["name"] == "s2"
    assert r.json()["address_scope"]["revision_number"] == 1
    r = client.put(url, json={"address_scope": {"ip_version": 6}}, headers=ALICE)
    assert r.status_code == 400
    assert scope(client, ALICE, expect=403, shared=True)
    assert scope(client, expect=400, ip_version=5)
    assert scope(client, expect=400, name="x", ip_version=None)
    listed = client.get("/v2.0/address-scopes?ip_version=4", headers=ALICE).json()
    assert [x["id"] for x in listed["address_scopes"]] == [s["id"]]
    assert client.delete(url, headers=BOB).status_code == 404
    assert client.delete(url, headers=ALICE).status_code == 204
    assert client.get(url, headers=ALICE).status_code == 404


def test_shared_scope_cannot_be_unshared(client: TestClient) -> None:
    s = scope(client, shared=True)
    url = f"/v2.0/address-scopes/{s['id']}"
    r = client.put(url, json={"address_scope": {"shared": False}})
    assert r.status_code == 400 and err(r) == "AddressScopeUpdateError"
    assert client.get(url, headers=BOB).status_code == 200
    private = scope(client)
    r = client.put(f"/v2.0/address-scopes/{private['id']}",
                   json={"address_scope": {"shared": True}})
    assert r.status_code == 200 and r.json()["address_scope"]["shared"] is True


def test_pools_in_a_scope_never_overlap(client: TestClient) -> None:
    s = scope(client)
    a = pool(client, prefixes=["10.0.0.0/16"], address_scope_id=s["id"])
    assert a["address_scope_id"] == s["id"]
    r = pool(client, expect=409, prefixes=["10.0.128.0/17"], address_scope_id=s["id"])
    assert err(r) == "AddressScopePrefixConflict"
    b = pool(client, prefixes=["10.1.0.0/16"], address_scope_id=s["id"])
    r = client.put(f"/v2.0/subnetpools/{b['id']}/add_prefixes",
                   json={"prefixes": ["10.0.5.0/24"]})
    assert r.status_code == 409 and err(r) == "AddressScopePrefixConflict"
    outside = pool(client, prefixes=["10.0.0.0/16"])  # not in the scope: fine
    r = client.put(f"/v2.0/subnetpools/{outside['id']}",
                   json={"subnetpool": {"address_scope_id": s["id"]}})
    assert r.status_code == 409 and err(r) == "AddressScopePrefixConflict"
    v6 = scope(client, ip_version=6)
    r = pool(client, expect=400, prefixes=["10.2.0.0/16"], address_scope_id=v6["id"])
    assert err(r) == "IllegalSubnetPoolIpVersionAssociationToAddressScope"
    private = scope(client, ALICE)
    r = pool(client, BOB, expect=404, prefixes=["10.3.0.0/16"], address_scope_id=private["id"])
    assert err(r) == "AddressScopeNotFound"
    r = client.delete(f"/v2.0/address-scopes/{s['id']}")
    assert r.status_code == 409 and err(r) == "AddressScopeInUse"
    for p in (a, b):
        r = client.put(f"/v2.0/subnetpools/{p['id']}",
                       json={"subnetpool": {"address_scope_id": None}})
        assert r.status_code == 200 and r.json()["subnetpool"]["address_scope_id"] is None
    assert client.delete(f"/v2.0/address-scopes/{s['id']}").status_code == 204


def test_network_address_scope_affinity(client: TestClient) -> None:
    s1, s2 = scope(client), scope(client)
    a = pool(client, prefixes=["10.0.0.0/16"], default_prefixlen=24, address_scope_id=s1["id"])
    a2 = pool(client, prefixes=["10.1.0.0/16"], default_prefixlen=24, address_scope_id=s1["id"])
    b = pool(client, prefixes=["10.2.0.0/16"], default_prefixlen=24, address_scope_id=s2["id"])
    n = net(client)
    from_pool(client, n, a["id"])
    from_pool(client, n, a2["id"])  # another pool of the same scope is fine
    r = from_pool(client, n, b["id"], expect=400)
    assert err(r) == "NetworkAddressScopeAffinityError"
    # Moving pool a to another scope would split the network's subnets across scopes.
    r = client.put(f"/v2.0/subnetpools/{a['id']}",
                   json={"subnetpool": {"address_scope_id": s2["id"]}})
    assert r.status_code == 400 and err(r) == "NetworkAddressScopeAffinityError"


def test_pool_in_someone_elses_shared_scope(client: TestClient) -> None:
    shared = scope(client, shared=True)
    p = pool(client, ALICE, prefixes=["10.0.0.0/16"], address_scope_id=shared["id"])
    r = client.put(f"/v2.0/subnetpools/{p['id']}", json={"subnetpool": {"name": "x"}},
                   headers=ALICE)
    assert r.status_code == 400 and err(r) == "IllegalSubnetPoolUpdate"
    r = client.put(f"/v2.0/subnetpools/{p['id']}", json={"subnetpool": {"name": "x"}})
    assert r.status_code == 200
