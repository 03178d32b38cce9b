"""Floating IPs through the real ASGI app on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

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


def _fip(client: TestClient, headers: dict[str, str] | None = None, expect: int = 201,
         **attrs: Any) -> Any:
    r = client.post("/v2.0/floatingips", json={"floatingip": attrs}, headers=headers or {})
    assert r.status_code == expect, r.text
    return r.json().get("floatingip", r.json())


def _topology(client: TestClient) -> dict[str, Any]:
    """public (external) <- router -> alice's 10.0.0.0/24 with a port on it."""
    ext, ext_sub = external(client)
    n = net(client, ALICE)
    s = subnet(client, n, "10.0.0.0/24", ALICE)
    r = router(client, ALICE, external_gateway_info={"network_id": ext})
    resp = put_action(client, r["id"], "add_router_interface", {"subnet_id": s["id"]}, ALICE)
    assert resp.status_code == 200, resp.text
    p = port(client, n, ALICE, name="vm")
    return {"ext": ext, "ext_sub": ext_sub, "net": n, "sub": s, "router": r, "port": p}


def test_create_show_delete(client: TestClient, env: Env) -> None:
    ext, ext_sub = external(client)
    fip = _fip(client, ALICE, floating_network_id=ext, description="d")
    assert fip["floating_network_id"] == ext and fip["project_id"] == "alice"
    assert fip["floating_ip_address"] == "172.24.4.2"
    assert fip["status"] == "DOWN" and fip["description"] == "d"
    assert fip["port_id"] is None and fip["fixed_ip_address"] is None
    assert fip["router_id"] is None and fip["port_details"] is None
    assert "name" not in fip and "subnet_id" not in fip
    (holder,) = ports_of(env, fip["id"])
    assert holder.device_owner == "network:floatingip" and holder.project_id == ""
    url = f"/v2.0/floatingips/{fip['id']}"
    assert client.get(url, headers=ALICE).json()["floatingip"] == fip
    assert client.delete(f"/v2.0/ports/{holder.id}").status_code == 409
    assert client.delete(url, headers=ALICE).status_code == 204
    assert ports_of(env, fip["id"]) == []
    assert changes(env, "floatingip", fip["id"]) == ["create", "delete"]
    again = _fip(client, ALICE, floating_network_id=ext, subnet_id=ext_sub["id"])
    assert again["floating_ip_address"] == "172.24.4.2"  # the address went back to the pool


def test_create_errors_leave_nothing_behind(client: TestClient, env: Env) -> None:
    ext, ext_sub = external(client)
    internal = net(client, ALICE)
    subnet(client, internal, "10.0.0.0/24", ALICE)
    r = client.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": internal}},
                    headers=ALICE)
    assert r.status_code == 400 and err(r) == "BadRequest"
    assert "is not a valid external network" in r.text
    v6_only = net(client, **{"router:external": True})
    subnet(client, v6_only, "2001:db8::/64")
    r = client.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": v6_only}},
                    headers=ALICE)
    assert r.status_code == 400 and "does not contain any IPv4 subnet" in r.text
    r = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": "11111111-2222-3333-4444-555555555555"}}, headers=ALICE)
    assert r.status_code == 404 and err(r) == "NetworkNotFound"
    r = client.post("/v2.0/floatingips", json={"floatingip": {}}, headers=ALICE)
    assert r.status_code == 400
    r = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext, "floating_ip_address": "172.24.4.9"}}, headers=ALICE)
    assert r.status_code == 403 and err(r) == "PolicyNotAuthorized"
    r = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext, "fixed_ip_address": "10.0.0.5"}}, headers=ALICE)
    assert r.status_code == 400 and "without a port_id" in r.text
    # associating with a port no router reaches: 404, and the address was not kept
    p = port(client, internal, ALICE)
    r = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext, "port_id": p["id"]}}, headers=ALICE)
    assert r.status_code == 404 and err(r) == "ExternalGatewayForFloatingIPNotFound"
    assert rows(env, "SELECT * FROM floatingips") == []
    assert rows(env, "SELECT id FROM ports WHERE device_owner = 'network:floatingip'") == []
    fixed = _fip(client, floating_network_id=ext, floating_ip_address="172.24.4.9")
    assert fixed["floating_ip_address"] == "172.24.4.9"
    r = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext, "floating_ip_address": "172.24.4.9"}})
    assert r.status_code == 409 and err(r) == "IpAddressAlreadyAllocated"
    r = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext, "subnet_id": ext_sub["id"],
        "floating_ip_address": "10.9.9.9"}})
    assert r.status_code == 400
    assert len(rows(env, "SELECT * FROM floatingips")) == 1


def test_associate_disassociate(client: TestClient, env: Env) -> None:
    t = _topology(client)
    fip = _fip(client, ALICE, floating_network_id=t["ext"], port_id=t["port"]["id"])
    assert fip["port_id"] == t["port"]["id"] and fip["router_id"] == t["router"]["id"]
    assert fip["fixed_ip_address"] == t["port"]["fixed_ips"][0]["ip_address"]
    details = fip["port_details"]
    assert details["name"] == "vm" and details["network_id"] == t["net"]
    assert details["mac_address"] == t["port"]["mac_address"]
    assert set(details) == {"name", "network_id", "mac_address", "admin_state_up", "status",
                            "device_id", "device_owner"}
    second = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": t["ext"], "port_id": t["port"]["id"]}}, headers=ALICE)
    assert second.status_code == 409 and err(second) == "FloatingIPPortAlreadyAssociated"
    url = f"/v2.0/floatingips/{fip['id']}"
    off = client.put(url, json={"floatingip": {"port_id": None}}, headers=ALICE)
    assert off.status_code == 200
    body = off.json()["floatingip"]
    assert body["port_id"] is None and body["router_id"] is None
    assert body["fixed_ip_address"] is None and body["port_details"] is None
    bad = client.put(url, json={"floatingip": {"fixed_ip_address": "10.0.0.3"}},
                     headers=ALICE)
    assert bad.status_code == 400
    wrong_ip = client.put(url, json={"floatingip": {
        "port_id": t["port"]["id"], "fixed_ip_address": "10.0.0.99"}}, headers=ALICE)
    assert wrong_ip.status_code == 400 and "does not have fixed ip" in wrong_ip.text
    on = client.put(url, json={"floatingip": {"port_id": t["port"]["id"]}}, headers=ALICE)
    assert on.status_code == 200 and on.json()["floatingip"]["router_id"] == t["router"]["id"]
    assert on.json()["floatingip"]["revision_number"] == 2
    listed = client.get(f"/v2.0/floatingips?port_id={t['port']['id']}", headers=ALICE)
    assert [f["id"] for f in listed.json()["floatingips"]] == [fip["id"]]
    by_router = client.get(f"/v2.0/floatingips?router_id={t['router']['id']}", headers=ALICE)
    assert len(by_router.json()["floatingips"]) == 1
    by_addr = client.get(
        f"/v2.0/floatingips?floating_ip_address={fip['floating_ip_address']}", headers=ALICE)
    assert len(by_addr.json()["floatingips"]) == 1
    assert changes(env, "floatingip", fip["id"]) == ["create", "update", "update"]


def test_floating_ips_pin_the_router(client: TestClient) -> None:
    t = _topology(client)
    r, s = t["router"], t["sub"]
    _fip(client, ALICE, floating_network_id=t["ext"], port_id=t["port"]["id"])
    busy = put_action(client, r["id"], "remove_router_interface", {"subnet_id": s["id"]},
                      ALICE)
    assert busy.status_code == 409 and err(busy) == "RouterInterfaceInUseByFloatingIP"
    cleared = client.put(f"/v2.0/routers/{r['id']}",
                         json={"router": {"external_gateway_info": None}}, headers=ALICE)
    assert cleared.status_code == 409 and err(cleared) == "RouterExternalGatewayInUseByFloatingIp"
    shown = client.get(f"/v2.0/routers/{r['id']}", headers=ALICE).json()["router"]
    assert shown["external_gateway_info"]["network_id"] == t["ext"]


def test_deleting_the_port_disassociates(client: TestClient, env: Env) -> None:
    t = _topology(client)
    fip = _fip(client, ALICE, floating_network_id=t["ext"], port_id=t["port"]["id"])
    assert client.delete(f"/v2.0/ports/{t['port']['id']}", headers=ALICE).status_code == 204
    shown = client.get(f"/v2.0/floatingips/{fip['id']}", headers=ALICE).json()["floatingip"]
    assert shown["port_id"] is None and shown["router_id"] is None
    assert changes(env, "floatingip", fip["id"]) == ["create", "update"]
    # now the interface can go, and the router with it
    r, s = t["router"], t["sub"]
    assert put_action(client, r["id"], "remove_router_interface", {"subnet_id": s["id"]},
                      ALICE).status_code == 200
    assert client.delete(f"/v2.0/routers/{r['id']}", headers=ALICE).status_code == 204


def test_port_rules(client: TestClient) -> None:
    t = _topology(client)
    dual = port(client, t["net"], ALICE, fixed_ips=[{"subnet_id": t["sub"]["id"]},
                                                   {"subnet_id": t["sub"]["id"]}])
    r = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": t["ext"], "port_id": dual["id"]}}, headers=ALICE)
    assert r.status_code == 400 and "multiple fixed IPv4 addresses" in r.text
    chosen = dual["fixed_ips"][1]["ip_address"]
    ok = _fip(client, ALICE, floating_network_id=t["ext"], port_id=dual["id"],
              fixed_ip_address=chosen)
    assert ok["fixed_ip_address"] == chosen
    bobs = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": t["ext"], "port_id": t["port"]["id"]}}, headers=BOB)
    assert bobs.status_code == 404 and err(bobs) == "PortNotFound"


def test_projects_are_isolated(client: TestClient) -> None:
    ext, _ = external(client)
    mine = _fip(client, ALICE, floating_network_id=ext)
    theirs = _fip(client, BOB, floating_network_id=ext)
    seen = [f["id"] for f in client.get("/v2.0/floatingips", headers=BOB).json()["floatingips"]]
    assert seen == [theirs["id"]]
    url = f"/v2.0/floatingips/{mine['id']}"
    assert client.get(url, headers=BOB).status_code == 404
    resp = client.put(url, json={"floatingip": {"description": "x"}}, headers=BOB)
    assert resp.status_code == 404 and err(resp) == "FloatingIPNotFound"
    assert client.delete(url, headers=BOB).status_code == 404
    assert len(client.get("/v2.0/floatingips").json()["floatingips"]) == 2
    assert client.put(f"{url}/tags/t1", headers=ALICE).status_code in (200, 201)
    assert client.get(url, headers=ALICE).json()["floatingip"]["tags"] == ["t1"]
    assert client.put("/v2.0/quotas/bob", json={"quota": {"floatingip": 1}}).status_code == 200
    over = client.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": ext}},
                       headers=BOB)
    assert over.status_code == 409 and err(over) == "OverQuota"


def test_pools(client: TestClient) -> None:
    ext, ext_sub = external(client)
    subnet(client, ext, "2001:db8::/64")
    subnet(client, net(client, ALICE), "10.0.0.0/24", ALICE)
    pools = client.get("/v2.0/floatingip_pools", headers=ALICE).json()["floatingip_pools"]
    assert pools == [{"subnet_id": ext_sub["id"], "subnet_name": ext_sub["name"],
                      "network_id": ext, "cidr": "172.24.4.0/24", "project_id": "alice"}]
    assert client.post("/v2.0/floatingip_pools", json={}).status_code == 405
