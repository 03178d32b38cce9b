"""Routers through the real ASGI app on SQLite and PostgreSQL: gateway, interfaces, routes."""

from __future__ import annotations

from starlette.testclient import TestClient

from neutrino.services._env import Env
from tests.api.helpers import (
    ALICE,
    BOB,
    changes,
    err,
    external,
    net,
    port,
    ports_of,
    put_action,
    router,
    rows,
    subnet,
)


def test_create_show_defaults(client: TestClient) -> None:
    r = router(client, ALICE, name="r1")
    assert r["name"] == "r1" and r["project_id"] == r["tenant_id"] == "alice"
    assert r["status"] == "ACTIVE" and r["admin_state_up"] is True
    assert r["external_gateway_info"] is None and r["routes"] == []
    assert r["revision_number"] == 0 and r["tags"] == []
    assert "distributed" not in r and "ha" not in r and "gw_port_id" not in r
    assert client.get(f"/v2.0/routers/{r['id']}", headers=ALICE).json()["router"] == r
    r2 = client.put(f"/v2.0/routers/{r['id']}", json={"router": {"name": "x"}}, headers=ALICE)
    assert r2.status_code == 200 and r2.json()["router"]["revision_number"] == 1
    bad = client.post("/v2.0/routers", json={"router": {"routes": []}}, headers=ALICE)
    assert bad.status_code == 400  # routes are set by update only


def test_gateway_lifecycle(client: TestClient, env: Env) -> None:
    ext, ext_sub = external(client)
    r = router(client, ALICE, external_gateway_info={"network_id": ext})
    gw = r["external_gateway_info"]
    assert gw["network_id"] == ext and gw["enable_snat"] is True
    assert [f["subnet_id"] for f in gw["external_fixed_ips"]] == [ext_sub["id"]]
    assert gw["external_fixed_ips"][0]["ip_address"] == "172.24.4.2"
    assert r["revision_number"] == 0
    (gw_port,) = ports_of(env, r["id"])
    assert gw_port.device_owner == "network:router_gateway" and gw_port.project_id == ""
    # the gateway port belongs to no project: the tenant does not see it
    assert client.get(f"/v2.0/ports/{gw_port.id}", headers=ALICE).status_code == 404
    url = f"/v2.0/routers/{r['id']}"
    cleared = client.put(url, json={"router": {"external_gateway_info": {}}}, headers=ALICE)
    assert cleared.status_code == 200 and cleared.json()["router"]["external_gateway_info"] is None
    assert ports_of(env, r["id"]) == []
    again = client.put(url, json={"router": {"external_gateway_info": {"network_id": ext}}},
                       headers=ALICE)
    assert again.status_code == 200
    assert again.json()["router"]["external_gateway_info"]["external_fixed_ips"][0][
        "ip_address"] == "172.24.4.2"  # released and handed out again
    assert changes(env, "router", r["id"]) == ["create", "update", "update"]
    assert client.delete(url, headers=ALICE).status_code == 204
    assert ports_of(env, r["id"]) == []
    assert rows(env, "SELECT * FROM router_ports") == []
    assert changes(env, "router", r["id"])[-1] == "delete"


def test_gateway_must_be_external(client: TestClient, env: Env) -> None:
    internal = net(client, ALICE)
    subnet(client, internal, "10.0.0.0/24", ALICE, enable_dhcp=False)
    r = client.post("/v2.0/routers", json={"router": {
        "external_gateway_info": {"network_id": internal}}}, headers=ALICE)
    assert r.status_code == 400 and err(r) == "BadRequest"
    assert "is not an external network" in r.json()["NeutronError"]["message"]
    r = client.post("/v2.0/routers", json={"router": {
        "external_gateway_info": {"network_id": "11111111-2222-3333-4444-555555555555"}}},
        headers=ALICE)
    assert r.status_code == 404 and err(r) == "NetworkNotFound"
    r = client.post("/v2.0/routers", json={"router": {
        "external_gateway_info": {"network_id": internal, "bogus": 1}}}, headers=ALICE)
    assert r.status_code == 400
    r = client.post("/v2.0/routers", json={"router": {"external_gateway_info": {
        "enable_snat": False}}}, headers=ALICE)
    assert r.status_code == 400
    assert rows(env, "SELECT * FROM routers") == []
    assert rows(env, "SELECT * FROM ports") == []


def test_snat_and_fixed_ips_are_admin_only(client: TestClient) -> None:
    ext, ext_sub = external(client)
    for extra in ({"enable_snat": False}, {"external_fixed_ips": [{"subnet_id": ext_sub["id"]}]}):
        r = client.post("/v2.0/routers", json={"router": {
            "external_gateway_info": {"network_id": ext, **extra}}}, headers=ALICE)
        assert r.status_code == 403 and err(r) == "PolicyNotAuthorized"
    r = router(client, external_gateway_info={
        "network_id": ext, "enable_snat": False,
        "external_fixed_ips": [{"subnet_id": ext_sub["id"], "ip_address": "172.24.4.50"}]})
    gw = r["external_gateway_info"]
    assert gw["enable_snat"] is False
    assert gw["external_fixed_ips"] == [{"subnet_id": ext_sub["id"], "ip_address": "172.24.4.50"}]
    # new addresses on the same network: the port is re-addressed, the router revised
    r2 = client.put(f"/v2.0/routers/{r['id']}", json={"router": {"external_gateway_info": {
        "network_id": ext, "external_fixed_ips": [{"ip_address": "172.24.4.60"}]}}})
    assert r2.status_code == 200, r2.text
    gw2 = r2.json()["router"]["external_gateway_info"]
    assert gw2["external_fixed_ips"][0]["ip_address"] == "172.24.4.60"
    assert gw2["enable_snat"] is True  # not given: back to the default, as Neutron
    r4 = client.put(f"/v2.0/routers/{r['id']}", json={"router": {"external_gateway_info": {
        "network_id": ext, "external_fixed_ips": [{"ip_address": "172.24.4.1"}]}}})
    assert r4.status_code == 400 and "same as the gateway IP" in r4.text
    r3 = client.post("/v2.0/routers", json={"router": {"external_gateway_info": {
        "network_id": ext, "external_fixed_ips": [{"ip_address": "172.24.4.1"}]}}})
    assert r3.status_code == 400 and "same as the gateway IP" in r3.text


def test_interface_by_subnet(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    r = router(client, ALICE)
    resp = put_action(client, r["id"], "add_router_interface", {"subnet_id": s["id"]}, ALICE)
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["id"] == r["id"] and info["subnet_id"] == s["id"]
    assert info["subnet_ids"] == [s["id"]] and info["network_id"] == n
    assert info["project_id"] == info["tenant_id"] == "alice"
    p = client.get(f"/v2.0/ports/{info['port_id']}", headers=ALICE).json()["port"]
    assert p["fixed_ips"] == [{"subnet_id": s["id"], "ip_address": "10.0.0.1"}]
    assert p["device_owner"] == "network:router_interface" and p["device_id"] == r["id"]
    assert p["project_id"] == "alice"
    assert client.get(f"/v2.0/routers/{r['id']}",
                      headers=ALICE).json()["router"]["revision_number"] == 1
    dup = put_action(client, r["id"], "add_router_interface", {"subnet_id": s["id"]}, ALICE)
    assert dup.status_code == 400 and "already has a port on subnet" in dup.text
    # a router interface is deleted through the router, never directly
    assert client.delete(f"/v2.0/ports/{p['id']}", headers=ALICE).status_code == 409
    gone = put_action(client, r["id"], "remove_router_interface", {"subnet_id": s["id"]},
                      ALICE)
    assert gone.status_code == 200 and gone.json()["port_id"] == p["id"]
    assert ports_of(env, r["id"]) == []
    again = put_action(client, r["id"], "remove_router_interface", {"subnet_id": s["id"]},
                       ALICE)
    assert again.status_code == 404 and err(again) == "RouterInterfaceNotFoundForSubnet"


def test_interface_errors_leave_nothing_behind(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    no_gw = subnet(client, n, "10.9.0.0/24", ALICE, gateway_ip=None)
    r = router(client, ALICE)
    url_ok = put_action(client, r["id"], "add_router_interface", {"subnet_id": no_gw["id"]},
                        ALICE)
    assert url_ok.status_code == 400 and "must have a gateway IP" in url_ok.text
    # someone holds the gateway address: 409, and no half-made interface remains
    port(client, n, ALICE, fixed_ips=[{"subnet_id": s["id"], "ip_address": "10.0.0.1"}])
    taken = put_action(client, r["id"], "add_router_interface", {"subnet_id": s["id"]}, ALICE)
    assert taken.status_code == 409 and err(taken) == "IpAddressAlreadyAllocated"
    assert ports_of(env, r["id"]) == [] and rows(env, "SELECT * FROM router_ports") == []
    assert client.get(f"/v2.0/routers/{r['id']}",
                      headers=ALICE).json()["router"]["revision_number"] == 0
    for body in ({}, {"subnet_id": s["id"], "port_id": s["id"]}, {"subnet_id": "nope"}):
        resp = put_action(client, r["id"], "add_router_interface", body, ALICE)
        assert resp.status_code == 400 and err(resp) == "BadRequest", body
    missing = put_action(client, r["id"], "add_router_interface",
                         {"subnet_id": "11111111-2222-3333-4444-555555555555"}, ALICE)
    assert missing.status_code == 404 and err(missing) == "SubnetNotFound"
    no_router = put_action(client, "11111111-2222-3333-4444-555555555555",
                           "add_router_interface", {"subnet_id": s["id"]}, ALICE)
    assert no_router.status_code == 404 and err(no_router) == "RouterNotFound"


def test_overlapping_interfaces_refused(client: TestClient) -> None:
    a, b = net(client, ALICE), net(client, ALICE)
    sa_ = subnet(client, a, "10.0.0.0/24", ALICE)
    sb = subnet(client, b, "10.0.0.0/16", ALICE, gateway_ip="10.0.200.1")
    r = router(client, ALICE)
    assert put_action(client, r["id"], "add_router_interface", {"subnet_id": sa_["id"]},
                      ALICE).status_code == 200
    resp = put_action(client, r["id"], "add_router_interface", {"subnet_id": sb["id"]}, ALICE)
    assert resp.status_code == 400 and "overlaps with cidr" in resp.text


def test_interface_by_port(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    r = router(client, ALICE)
    p = port(client, n, ALICE)
    resp = put_action(client, r["id"], "add_router_interface", {"port_id": p["id"]}, ALICE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["port_id"] == p["id"] and resp.json()["subnet_ids"] == [s["id"]]
    shown = client.get(f"/v2.0/ports/{p['id']}", headers=ALICE).json()["port"]
    assert shown["device_owner"] == "network:router_interface"
    assert shown["device_id"] == r["id"]
    other = router(client, ALICE)
    used = put_action(client, other["id"], "add_router_interface", {"port_id": p["id"]}, ALICE)
    assert used.status_code == 409 and err(used) == "PortInUse"
    bare = port(client, net(client, ALICE), ALICE)  # a network without subnets: no address
    resp = put_action(client, other["id"], "add_router_interface", {"port_id": bare["id"]},
                      ALICE)
    assert resp.status_code == 400 and "at least one fixed IP" in resp.text
    # removal by port: a wrong subnet is refused, an unknown port is not found
    wrong = put_action(client, r["id"], "remove_router_interface",
                       {"port_id": p["id"], "subnet_id": "11111111-2222-3333-4444-555555555555"},
                       ALICE)
    assert wrong.status_code == 400 and err(wrong) == "SubnetMismatchForPort"
    unknown = put_action(client, r["id"], "remove_router_interface", {"port_id": bare["id"]},
                         ALICE)
    assert unknown.status_code == 404 and err(unknown) == "RouterInterfaceNotFound"
    assert client.delete(f"/v2.0/routers/{r['id']}", headers=ALICE).status_code == 409
    in_use = client.delete(f"/v2.0/routers/{r['id']}", headers=ALICE)
    assert err(in_use) == "RouterInUse"
    ok = put_action(client, r["id"], "remove_router_interface", {"port_id": p["id"]}, ALICE)
    assert ok.status_code == 200
    assert client.get(f"/v2.0/ports/{p['id']}", headers=ALICE).status_code == 404
    assert client.delete(f"/v2.0/routers/{r['id']}", headers=ALICE).status_code == 204


def test_routes(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    r = router(client, ALICE)
    url = f"/v2.0/routers/{r['id']}"
    route = {"destination": "192.168.0.0/24", "nexthop": "10.0.0.10"}
    resp = client.put(url, json={"router": {"routes": [route]}}, headers=ALICE)
    assert resp.status_code == 400 and err(resp) == "InvalidRoutes"
    put_action(client, r["id"], "add_router_interface", {"subnet_id": s["id"]}, ALICE)
    resp = client.put(url, json={"router": {"routes": [route]}}, headers=ALICE)
    assert resp.status_code == 200 and resp.json()["router"]["routes"] == [route]
    own = {"destination": "192.168.1.0/24", "nexthop": "10.0.0.1"}
    resp = client.put(url, json={"router": {"routes": [own]}}, headers=ALICE)
    assert resp.status_code == 400 and "nexthop is used by router" in resp.text
    resp = client.put(url, json={"router": {"routes": [{"destination": "x", "nexthop": "y"}]}},
                      headers=ALICE)
    assert resp.status_code == 400
    busy = put_action(client, r["id"], "remove_router_interface", {"subnet_id": s["id"]},
                      ALICE)
    assert busy.status_code == 409 and err(busy) == "RouterInterfaceInUseByRoute"
    # extraroute-atomic
    more = {"destination": "192.168.2.0/24", "nexthop": "10.0.0.11"}
    resp = put_action(client, r["id"], "add_extraroutes",
                      {"router": {"routes": [route, more]}}, ALICE)
    assert resp.status_code == 200, resp.text
    assert sorted(x["destination"] for x in resp.json()["router"]["routes"]) == [
        "192.168.0.0/24", "192.168.2.0/24"]
    resp = put_action(client, r["id"], "remove_extraroutes", {"router": {"routes": [route]}},
                      ALICE)
    assert resp.json()["router"]["routes"] == [more]
    resp = put_action(client, r["id"], "add_extraroutes", {"router": {}}, ALICE)
    assert resp.status_code == 400
    resp = client.put(url, json={"router": {"routes": None}}, headers=ALICE)
    assert resp.status_code == 200 and resp.json()["router"]["routes"] == []
    assert rows(env, "SELECT * FROM router_routes") == []
    assert put_action(client, r["id"], "remove_router_interface", {"subnet_id": s["id"]},
                      ALICE).status_code == 200


def test_projects_are_isolated(client: TestClient) -> None:
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    mine = router(client, ALICE)
    bobs = router(client, BOB)
    seen = {x["id"] for x in client.get("/v2.0/routers", headers=BOB).json()["routers"]}
    assert seen == {bobs["id"]}
    assert len(client.get("/v2.0/routers").json()["routers"]) == 2  # admin sees all
    url = f"/v2.0/routers/{mine['id']}"
    assert client.get(url, headers=BOB).status_code == 404
    assert client.put(url, json={"router": {"name": "y"}}, headers=BOB).status_code == 404
    assert client.delete(url, headers=BOB).status_code == 404
    resp = put_action(client, mine["id"], "add_router_interface", {"subnet_id": s["id"]}, BOB)
    assert resp.status_code == 404 and err(resp) == "RouterNotFound"
    resp = put_action(client, bobs["id"], "add_router_interface", {"subnet_id": s["id"]}, BOB)
    assert resp.status_code == 404 and err(resp) == "SubnetNotFound"
    reader = {"X-Project-Id": "alice", "X-Roles": "reader"}
    resp = put_action(client, mine["id"], "add_router_interface", {"subnet_id": s["id"]},
                      reader)
    assert resp.status_code == 403


def test_filters_tags_and_quota(client: TestClient) -> None:
    a = router(client, ALICE, name="a", tags=["blue"])
    router(client, ALICE, name="b", admin_state_up=False)
    names = [x["name"] for x in client.get("/v2.0/routers?admin_state_up=false",
                                           headers=ALICE).json()["routers"]]
    assert names == ["b"]
    tagged = client.get("/v2.0/routers?tags=blue", headers=ALICE).json()["routers"]
    assert [x["id"] for x in tagged] == [a["id"]]
    resp = client.put(f"/v2.0/routers/{a['id']}/tags/red", headers=ALICE)
    assert resp.status_code in (200, 201)
    assert client.get(f"/v2.0/routers/{a['id']}",
                      headers=ALICE).json()["router"]["tags"] == ["blue", "red"]
    assert client.get("/v2.0/routers?bogus=1", headers=ALICE).status_code == 400
    assert client.put("/v2.0/quotas/alice", json={"quota": {"router": 2}}).status_code == 200
    over = client.post("/v2.0/routers", json={"router": {}}, headers=ALICE)
    assert over.status_code == 409 and err(over) == "OverQuota"


def test_extensions_advertised(client: TestClient) -> None:
    aliases = {e["alias"] for e in client.get("/v2.0/extensions").json()["extensions"]}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic", "fip-port-details",
            "floatingip-pools", "dvr", "l3-ha"} <= aliases
    assert not {"l3-flavors"} & aliases


def test_ipv6_subnets_share_one_port(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    slaac = {"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}
    a = subnet(client, n, "2001:db8:1::/64", ALICE, gateway_ip="2001:db8:1::1", **slaac)
    b = subnet(client, n, "2001:db8:2::/64", ALICE, gateway_ip="2001:db8:2::1", **slaac)
    r = router(client, ALICE)
    first = put_action(client, r["id"], "add_router_interface", {"subnet_id": a["id"]}, ALICE)
    second = put_action(client, r["id"], "add_router_interface", {"subnet_id": b["id"]}, ALICE)
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["port_id"] == second.json()["port_id"]
    (p,) = ports_of(env, r["id"])
    shown = client.get(f"/v2.0/ports/{p.id}", headers=ALICE).json()["port"]
    assert {f["ip_address"] for f in shown["fixed_ips"]} == {"2001:db8:1::1", "2001:db8:2::1"}
    gone = put_action(client, r["id"], "remove_router_interface", {"subnet_id": a["id"]}, ALICE)
    assert gone.status_code == 200 and gone.json()["subnet_ids"] == [a["id"]]
    shown = client.get(f"/v2.0/ports/{p.id}", headers=ALICE).json()["port"]
    assert [f["subnet_id"] for f in shown["fixed_ips"]] == [b["id"]]
    put_action(client, r["id"], "remove_router_interface", {"subnet_id": b["id"]}, ALICE)
    assert ports_of(env, r["id"]) == []


def test_router_ports_keep_networks_and_subnets(client: TestClient) -> None:
    ext, _ = external(client)
    r = router(client, ALICE, external_gateway_info={"network_id": ext})
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    put_action(client, r["id"], "add_router_interface", {"subnet_id": s["id"]}, ALICE)
    resp = client.delete(f"/v2.0/networks/{ext}")
    assert resp.status_code == 409 and err(resp) == "NetworkInUse"
    resp = client.delete(f"/v2.0/subnets/{s['id']}", headers=ALICE)
    assert resp.status_code == 409 and err(resp) == "SubnetInUse"
    # another project's subnet on a shared network is not the caller's to route
    shared = net(client, shared=True)
    theirs = subnet(client, shared, "10.50.0.0/24")
    resp = put_action(client, r["id"], "add_router_interface", {"subnet_id": theirs["id"]},
                      ALICE)
    assert resp.status_code == 400 and "not owned by project" in resp.text
