"""Subnets through the real ASGI app on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from neutrino.services._env import Env
from tests.conftest import as_project

ALICE = as_project("alice")
BOB = as_project("bob")


def err(resp: Any) -> str:
    return str(resp.json()["NeutronError"]["type"])


def net(client: TestClient, headers: dict[str, str] | None = None, **attrs: Any) -> str:
    r = client.post("/v2.0/networks", json={"network": attrs}, headers=headers or {})
    assert r.status_code == 201, r.text
    return str(r.json()["network"]["id"])


def post(client: TestClient, headers: dict[str, str] | None = None, **attrs: Any) -> Any:
    return client.post("/v2.0/subnets", json={"subnet": attrs}, headers=headers or {})


def subnet(client: TestClient, network_id: str, cidr: str, version: int = 4,
           headers: dict[str, str] | None = None, **attrs: Any) -> dict[str, Any]:
    r = post(client, headers, network_id=network_id, cidr=cidr, ip_version=version, **attrs)
    assert r.status_code == 201, r.text
    return dict(r.json()["subnet"])


def rows(env: Env, table: str) -> int:
    with env.db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_ipv4_defaults(client: TestClient) -> None:
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", headers=ALICE, name="s1")
    assert s["cidr"] == "10.0.0.0/24" and s["ip_version"] == 4
    assert s["gateway_ip"] == "10.0.0.1"
    assert s["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert s["dns_nameservers"] == [] and s["host_routes"] == []
    assert s["enable_dhcp"] is True and s["subnetpool_id"] is None
    assert s["ipv6_ra_mode"] is None and s["ipv6_address_mode"] is None
    assert s["project_id"] == s["tenant_id"] == "alice" and s["revision_number"] == 0
    assert "prefixlen" not in s and "use_default_subnetpool" not in s and "shared" not in s
    assert client.get(f"/v2.0/subnets/{s['id']}", headers=ALICE).json()["subnet"] == s
    shown = client.get(f"/v2.0/networks/{n}", headers=ALICE).json()["network"]
    assert shown["subnets"] == [s["id"]]
    listed = client.get(f"/v2.0/networks?id={n}", headers=ALICE).json()["networks"]
    assert listed[0]["subnets"] == [s["id"]]


def test_host_bits_are_dropped_and_explicit_values_kept(client: TestClient) -> None:
    n = net(client)
    s = subnet(client, n, "10.1.0.77/24", gateway_ip="10.1.0.254",
               allocation_pools=[{"start": "10.1.0.10", "end": "10.1.0.20"}],
               dns_nameservers=["8.8.8.8", "1.1.1.1"],
               host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.1.0.9"}],
               enable_dhcp=False)
    assert s["cidr"] == "10.1.0.0/24" and s["gateway_ip"] == "10.1.0.254"
    assert s["allocation_pools"] == [{"start": "10.1.0.10", "end": "10.1.0.20"}]
    assert s["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]
    assert s["host_routes"] == [{"destination": "192.168.0.0/16", "nexthop": "10.1.0.9"}]
    assert s["enable_dhcp"] is False
    nogw = subnet(client, n, "10.2.0.0/29", gateway_ip=None)
    assert nogw["gateway_ip"] is None
    assert nogw["allocation_pools"] == [{"start": "10.2.0.1", "end": "10.2.0.6"}]


def test_ipv6(client: TestClient) -> None:
    n = net(client)
    s = subnet(client, n, "2001:DB8::/64", 6, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert s["cidr"] == "2001:db8::/64" and s["gateway_ip"] == "2001:db8::"
    assert s["allocation_pools"] == [{"start": "2001:db8::1",
                                      "end": "2001:db8::ffff:ffff:ffff:ffff"}]
    assert s["ipv6_ra_mode"] == s["ipv6_address_mode"] == "slaac"
    stateful = subnet(client, n, "2001:db8:1::/80", 6, ipv6_address_mode="dhcpv6-stateful")
    assert stateful["ipv6_ra_mode"] is None
    cases = [
        ({"cidr": "2001:db8:2::/80", "ipv6_ra_mode": "slaac"}, "InvalidInput"),  # not a /64
        ({"cidr": "2001:db8:2::/64", "ipv6_ra_mode": "slaac",
          "ipv6_address_mode": "dhcpv6-stateful"}, "InvalidInput"),
        ({"cidr": "2001:db8:2::/64", "ipv6_ra_mode": "slaac", "enable_dhcp": False},
         "InvalidInput"),
        ({"cidr": "2001:db8:2::/64", "ipv6_ra_mode": "bogus"}, "HTTPBadRequest"),
        ({"cidr": "::/64"}, "InvalidInput"),
        ({"cidr": "2001:db8:2::/64", "gateway_ip": "10.0.0.1"}, "InvalidInput"),
    ]
    for attrs, kind in cases:
        r = post(client, network_id=n, ip_version=6, **attrs)
        assert r.status_code == 400 and err(r) == kind, (attrs, r.text)
    r = post(client, network_id=n, ip_version=4, cidr="10.0.0.0/24", ipv6_ra_mode="slaac")
    assert r.status_code == 400 and err(r) == "InvalidInput"


def test_pool_and_gateway_rules(client: TestClient) -> None:
    n = net(client)
    base = {"network_id": n, "ip_version": 4, "cidr": "10.0.0.0/24"}
    cases = [
        ({"allocation_pools": [{"start": "10.0.0.250", "end": "10.0.1.5"}]}, 400,
         "OutOfBoundsAllocationPool"),
        ({"allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.20"},
                               {"start": "10.0.0.20", "end": "10.0.0.30"}]}, 409,
         "OverlappingAllocationPools"),
        ({"allocation_pools": [{"start": "10.0.0.1", "end": "10.0.0.20"}]}, 409,
         "GatewayConflictWithAllocationPools"),
        ({"allocation_pools": [{"start": "10.0.0.20", "end": "10.0.0.2"}]}, 400,
         "InvalidAllocationPool"),
        ({"allocation_pools": [{"start": "10.0.0.2"}]}, 400, "HTTPBadRequest"),
        ({"gateway_ip": "10.0.0.255"}, 400, "InvalidInput"),
        ({"gateway_ip": "10.0.0.0"}, 400, "InvalidInput"),
        ({"gateway_ip": "bogus"}, 400, "HTTPBadRequest"),
        ({"dns_nameservers": [f"10.0.0.{i}" for i in range(1, 7)]}, 400,
         "DNSNameServersExhausted"),
        ({"dns_nameservers": ["2001:db8::1"]}, 400, "InvalidInput"),
        ({"host_routes": [{"destination": "2001:db8::/64", "nexthop": "2001:db8::1"}]}, 400,
         "InvalidInput"),
        ({"cidr": "10.0.0.0/31"}, 400, "InvalidInput"),  # too small for DHCP
        ({"cidr": "0.0.0.0/0", "enable_dhcp": False}, 400, "InvalidInput"),
        ({"cidr": "2001:db8::/64"}, 400, "InvalidInput"),  # version mismatch
        ({"cidr": "10.0.0.0"}, 400, "HTTPBadRequest"),
        ({"prefixlen": 24}, 400, "BadRequest"),  # with a cidr
    ]
    for attrs, status, kind in cases:
        r = post(client, **{**base, **attrs})
        assert (r.status_code, err(r)) == (status, kind), (attrs, r.text)
    assert client.get("/v2.0/subnets").json()["subnets"] == []
    gateway_outside = subnet(client, n, "10.9.0.0/24", gateway_ip="192.168.1.1")
    assert gateway_outside["gateway_ip"] == "192.168.1.1"
    tiny = subnet(client, n, "10.8.0.0/31", enable_dhcp=False)
    assert tiny["gateway_ip"] == "10.8.0.1"
    assert tiny["allocation_pools"] == [{"start": "10.8.0.0", "end": "10.8.0.0"}]


def test_required_and_unknown_attributes(client: TestClient) -> None:
    n = net(client)
    for attrs in ({"cidr": "10.0.0.0/24", "ip_version": 4},
                  {"network_id": n, "cidr": "10.0.0.0/24"},
                  {"network_id": n, "cidr": "10.0.0.0/24", "ip_version": 5},
                  {"network_id": n, "cidr": "10.0.0.0/24", "ip_version": 4, "bogus": 1},
                  {"network_id": n, "cidr": "10.0.0.0/24", "ip_version": 4, "shared": True}):
        r = post(client, **attrs)
        assert r.status_code == 400, (attrs, r.text)
    r = post(client, network_id=n, ip_version=4)
    assert r.status_code == 400 and err(r) == "BadRequest"
    r = post(client, network_id="00000000-0000-0000-0000-000000000000", ip_version=4,
             cidr="10.0.0.0/24")
    assert r.status_code == 404 and err(r) == "NetworkNotFound"
    r = client.get("/v2.0/subnets/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and err(r) == "SubnetNotFound"


def test_overlapping_cidrs_on_one_network(client: TestClient) -> None:
    n, other = net(client), net(client)
    subnet(client, n, "10.0.0.0/24")
    r = post(client, network_id=n, ip_version=4, cidr="10.0.0.128/25")
    assert r.status_code == 400 and err(r) == "InvalidInput"
    assert "overlaps with another subnet" in r.json()["NeutronError"]["message"]
    r = post(client, network_id=n, ip_version=4, cidr="10.0.0.0/16")
    assert r.status_code == 400
    subnet(client, other, "10.0.0.0/24")  # another network may reuse it
    subnet(client, n, "10.0.1.0/24")


def test_projects_and_sharing(client: TestClient) -> None:
    mine = net(client, ALICE)
    shared = net(client, shared=True)
    private = subnet(client, mine, "10.0.0.0/24", headers=ALICE)
    open_ = subnet(client, shared, "10.1.0.0/24")
    r = post(client, BOB, network_id=mine, ip_version=4, cidr="10.5.0.0/24")
    assert r.status_code == 404 and err(r) == "NetworkNotFound"
    r = post(client, BOB, network_id=shared, ip_version=4, cidr="10.6.0.0/24")
    assert r.status_code == 403
    seen = {s["id"] for s in client.get("/v2.0/subnets", headers=BOB).json()["subnets"]}
    assert seen == {open_["id"]}
    assert client.get(f"/v2.0/subnets/{private['id']}", headers=BOB).status_code == 404
    assert client.get(f"/v2.0/subnets/{open_['id']}", headers=BOB).status_code == 200
    r = client.put(f"/v2.0/subnets/{open_['id']}", json={"subnet": {"name": "x"}}, headers=BOB)
    assert r.status_code == 403
    assert client.delete(f"/v2.0/subnets/{open_['id']}", headers=BOB).status_code == 403
    assert client.delete(f"/v2.0/subnets/{private['id']}", headers=BOB).status_code == 404
    shared_ids = client.get("/v2.0/subnets?shared=true").json()["subnets"]
    assert [s["id"] for s in shared_ids] == [open_["id"]]
    # An admin may create a subnet for a project on another project's network.
    r = post(client, network_id=mine, ip_version=4, cidr="10.7.0.0/24", project_id="carol")
    assert r.status_code == 201 and r.json()["subnet"]["project_id"] == "carol"


def test_update(client: TestClient) -> None:
    n = net(client)
    s = subnet(client, n, "10.0.0.0/24")
    url = f"/v2.0/subnets/{s['id']}"

    def put(expect: int = 200, headers: dict[str, str] | None = None, **attrs: Any) -> Any:
        r = client.put(url, json={"subnet": attrs}, headers=headers or {})
        assert r.status_code == expect, r.text
        return r.json()["subnet"] if expect == 200 else r

    u = put(name="renamed", dns_nameservers=["10.0.0.53"],
            host_routes=[{"destination": "10.10.0.0/16", "nexthop": "10.0.0.9"}])
    assert u["name"] == "renamed" and u["revision_number"] == 1
    assert u["dns_nameservers"] == ["10.0.0.53"]
    u = put(allocation_pools=[{"start": "10.0.0.100", "end": "10.0.0.200"}],
            gateway_ip="10.0.0.254")
    assert u["allocation_pools"] == [{"start": "10.0.0.100", "end": "10.0.0.200"}]
    assert u["gateway_ip"] == "10.0.0.254"
    assert err(put(409, gateway_ip="10.0.0.150")) == "GatewayConflictWithAllocationPools"
    assert err(put(409, allocation_pools=[{"start": "10.0.0.250", "end": "10.0.0.254"}])) == (
        "GatewayConflictWithAllocationPools")
    assert err(put(400, allocation_pools=[{"start": "10.0.1.1", "end": "10.0.1.2"}])) == (
        "OutOfBoundsAllocationPool")
    assert err(put(400, gateway_ip="10.0.0.255")) == "InvalidInput"
    put(400, cidr="10.0.1.0/24")
    put(400, ip_version=6)
    u = put(gateway_ip=None, enable_dhcp=False)
    assert u["gateway_ip"] is None and u["enable_dhcp"] is False
    rev = u["revision_number"]
    assert put(name="renamed")["revision_number"] == rev  # no change, no new revision
    r = client.put(url, json={"subnet": {"name": "x"}},
                   headers={"If-Match": f"revision_number={rev - 1}"})
    assert r.status_code == 412
    v6 = subnet(client, n, "2001:db8::/64", 6, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    r = client.put(f"/v2.0/subnets/{v6['id']}", json={"subnet": {"enable_dhcp": False}})
    assert r.status_code == 400 and err(r) == "InvalidInput"


def test_delete_and_network_cascade(client: TestClient, env: Env) -> None:
    n = net(client)
    a = subnet(client, n, "10.0.0.0/24")
    b = subnet(client, n, "2001:db8::/64", 6)
    assert rows(env, "ipam_subnets") == 2 and rows(env, "ipam_free_ranges") == 2
    assert client.delete(f"/v2.0/subnets/{a['id']}").status_code == 204
    assert client.get(f"/v2.0/subnets/{a['id']}").status_code == 404
    assert client.delete(f"/v2.0/subnets/{a['id']}").status_code == 404
    assert client.get(f"/v2.0/networks/{n}").json()["network"]["subnets"] == [b["id"]]
    assert client.delete(f"/v2.0/networks/{n}").status_code == 204
    assert client.get(f"/v2.0/subnets/{b['id']}").status_code == 404
    for table in ("subnets", "ipam_subnets", "ipam_free_ranges", "ipam_allocations"):
        assert rows(env, table) == 0, table


def test_delete_refused_while_a_user_port_holds_an_address(client: TestClient) -> None:
    n = net(client)
    s = subnet(client, n, "10.0.0.0/24")
    r = client.post("/v2.0/ports", json={"port": {"network_id": n}})
    assert r.status_code == 201, r.text
    port = r.json()["port"]
    r = client.delete(f"/v2.0/subnets/{s['id']}")
    assert r.status_code == 409 and err(r) == "SubnetInUse"
    r = client.delete(f"/v2.0/networks/{n}")
    assert r.status_code == 409 and err(r) == "NetworkInUse"
    dhcp = client.post("/v2.0/ports", json={"port": {"network_id": n,
                                                      "device_owner": "network:dhcp"}})
    assert dhcp.status_code == 201, dhcp.text
    assert client.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    # Only the DHCP port is left: it loses its address and the subnet goes.
    assert client.delete(f"/v2.0/subnets/{s['id']}").status_code == 204
    left = client.get(f"/v2.0/ports/{dhcp.json()['port']['id']}").json()["port"]
    assert left["fixed_ips"] == []
    assert client.delete(f"/v2.0/networks/{n}").status_code == 204


def test_quota_bulk_and_rollback(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    r = post(client, BOB, network_id=n, ip_version=4, cidr="10.0.0.0/24")
    assert r.status_code == 404
    r = client.post("/v2.0/subnets", json={"subnets": [
        {"network_id": n, "ip_version": 4, "cidr": "10.0.0.0/24"},
        {"network_id": n, "ip_version": 4, "cidr": "10.0.0.0/25"},  # overlaps the first
    ]}, headers=ALICE)
    assert r.status_code == 400
    assert rows(env, "subnets") == 0 and rows(env, "ipam_subnets") == 0
    assert rows(env, "ipam_free_ranges") == 0
    r = client.post("/v2.0/subnets", json={"subnets": [
        {"network_id": n, "ip_version": 4, "cidr": "10.0.0.0/24"},
        {"network_id": n, "ip_version": 4, "cidr": "10.0.1.0/24"},
    ]}, headers=ALICE)
    assert r.status_code == 201 and len(r.json()["subnets"]) == 2
    assert client.put("/v2.0/quotas/alice", json={"quota": {"subnet": 2}}).status_code == 200
    r = post(client, ALICE, network_id=n, ip_version=4, cidr="10.0.2.0/24")
    assert r.status_code == 409 and err(r) == "OverQuota"


def test_mtu_too_small_for_ipv6(client: TestClient) -> None:
    n = net(client, mtu=1200)
    subnet(client, n, "10.0.0.0/24")
    r = post(client, network_id=n, ip_version=6, cidr="2001:db8::/64")
    assert r.status_code == 409 and err(r) == "NetworkMTUSubnetConflict"


def test_list_filters_sort_fields_and_tags(client: TestClient) -> None:
    n1, n2 = net(client), net(client)
    a = subnet(client, n1, "10.0.0.0/24", name="a", tags=["red"])
    b = subnet(client, n2, "10.0.1.0/24", name="b", enable_dhcp=False)
    c = subnet(client, n1, "2001:db8::/64", 6, name="c")

    def ids(query: str) -> list[str]:
        r = client.get(f"/v2.0/subnets?{query}")
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["subnets"]]

    assert set(ids(f"network_id={n1}")) == {a["id"], c["id"]}
    assert ids("ip_version=6") == [c["id"]]
    assert ids("cidr=10.0.1.0/24") == [b["id"]]
    assert ids("gateway_ip=10.0.0.1") == [a["id"]]
    assert ids("enable_dhcp=false") == [b["id"]]
    assert ids("tags=red") == [a["id"]]
    assert ids("sort_key=name&sort_dir=desc") == [c["id"], b["id"], a["id"]]
    r = client.get("/v2.0/subnets?fields=id&fields=cidr&name=a").json()["subnets"]
    assert r == [{"id": a["id"], "cidr": "10.0.0.0/24"}]
    assert client.get("/v2.0/subnets?allocation_pools=x").status_code == 400
    url = f"/v2.0/subnets/{b['id']}/tags"
    assert client.put(url, json={"tags": ["blue"]}).json() == {"tags": ["blue"]}
    assert ids("tags=blue") == [b["id"]]


@pytest.mark.parametrize("version,cidr", [(4, "10.0.0.0/24"), (6, "2001:db8::/64")])
def test_change_log_records_subnet_mutations(
    client: TestClient, env: Env, version: int, cidr: str
) -> None:
    n = net(client)
    s = subnet(client, n, cidr, version)
    client.put(f"/v2.0/subnets/{s['id']}", json={"subnet": {"name": "x"}})
    client.delete(f"/v2.0/subnets/{s['id']}")
    with env.db.engine.connect() as conn:
        logged = conn.execute(sa.text(
            "SELECT op, revision FROM change_log WHERE resource = 'subnet' ORDER BY seq"
        )).all()
    assert [tuple(r) for r in logged] == [("create", 0), ("update", 1), ("delete", 1)]


def test_slaac_subnet_goes_even_with_user_ports(client: TestClient) -> None:
    n = net(client)
    v4 = subnet(client, n, "10.0.0.0/24")
    v6 = subnet(client, n, "2001:db8::/64", 6, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    r = client.post("/v2.0/ports", json={"port": {"network_id": n}})
    assert r.status_code == 201, r.text
    port = r.json()["port"]
    assert {f["subnet_id"] for f in port["fixed_ips"]} == {v4["id"], v6["id"]}
    assert client.delete(f"/v2.0/subnets/{v6['id']}").status_code == 204
    left = client.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert [f["subnet_id"] for f in left["fixed_ips"]] == [v4["id"]]
    assert left["revision_number"] == port["revision_number"] + 1
    r = client.delete(f"/v2.0/subnets/{v4['id']}")
    assert r.status_code == 409 and err(r) == "SubnetInUse"
