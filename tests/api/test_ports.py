"""Ports through the real ASGI app on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from neutrino.services._env import Env
from tests.api.helpers import ALICE, BOB, err, subnet
from tests.api.helpers import net as make_net


def _port(client: TestClient, net: str, headers: dict[str, str] | None = None,
          expect: int = 201, **attrs: Any) -> dict[str, Any]:
    r = client.post("/v2.0/ports", json={"port": {"network_id": net, **attrs}},
                    headers=headers or {})
    assert r.status_code == expect, r.text
    return dict(r.json().get("port", r.json()))


def test_create_defaults(client: TestClient) -> None:
    net = make_net(client, ALICE)
    sub = subnet(client, net, "10.0.0.0/24", ALICE)
    port = _port(client, net, ALICE, name="p")
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["mac_address"].startswith("fa:16:3e:")
    # .1 is the gateway, .2 the network's DHCP port (made with the subnet)
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.0.0.3"}]
    assert len(port["security_groups"]) == 1
    groups = client.get("/v2.0/security-groups?name=default", headers=ALICE).json()
    assert [g["id"] for g in groups["security_groups"]] == port["security_groups"]
    assert port["port_security_enabled"] is True
    assert port["binding:vnic_type"] == "normal"
    assert "binding:host_id" not in port  # admin only
    assert port["project_id"] == "alice" and port["device_owner"] == ""
    admin_view = client.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert admin_view["binding:vif_type"] == "unbound"


def test_specific_and_automatic_addresses_never_collide(client: TestClient) -> None:
    net = make_net(client)
    sub = subnet(client, net, "10.1.0.0/29", enable_dhcp=False)  # .2-.6 after the gateway
    fixed = _port(client, net, fixed_ips=[{"ip_address": "10.1.0.4"}])
    assert fixed["fixed_ips"][0]["ip_address"] == "10.1.0.4"
    taken = [_port(client, net)["fixed_ips"][0]["ip_address"] for _ in range(4)]
    assert sorted(taken) == ["10.1.0.2", "10.1.0.3", "10.1.0.5", "10.1.0.6"]
    r = client.post("/v2.0/ports", json={"port": {"network_id": net}})
    assert r.status_code == 409 and err(r) == "IpAddressGenerationFailure"
    r = client.post("/v2.0/ports", json={"port": {
        "network_id": net, "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.1.0.4"}]}})
    assert r.status_code == 409
    r = client.post("/v2.0/ports", json={"port": {
        "network_id": net, "fixed_ips": [{"ip_address": "192.168.9.9"}]}})
    assert r.status_code == 400 and err(r) == "InvalidIpForNetwork"
    # the 409 above left nothing behind
    assert len(client.get(f"/v2.0/ports?network_id={net}").json()["ports"]) == 5
    client.delete(f"/v2.0/ports/{fixed['id']}")
    assert _port(client, net)["fixed_ips"][0]["ip_address"] == "10.1.0.4"


def test_update_fixed_ips_releases_and_allocates(client: TestClient) -> None:
    net = make_net(client)
    sub = subnet(client, net, "10.2.0.0/24", enable_dhcp=False)
    port = _port(client, net)
    url = f"/v2.0/ports/{port['id']}"
    r = client.put(url, json={"port": {"fixed_ips": [
        {"subnet_id": sub["id"], "ip_address": "10.2.0.50"},
        {"subnet_id": sub["id"], "ip_address": "10.2.0.51"}]}})
    assert r.status_code == 200, r.text
    assert {f["ip_address"] for f in r.json()["port"]["fixed_ips"]} == {"10.2.0.50", "10.2.0.51"}
    other = _port(client, net, fixed_ips=[{"ip_address": "10.2.0.2"}])
    assert other["fixed_ips"][0]["ip_address"] == "10.2.0.2"  # released by the update
    r = client.put(url, json={"port": {"fixed_ips": [{"ip_address": "10.2.0.2"}]}})
    assert r.status_code == 409
    assert client.get(url).json()["port"]["revision_number"] == 1


def test_mac_unique_per_network(client: TestClient) -> None:
    net = make_net(client)
    port = _port(client, net, mac_address="fa:16:3e:00:00:01")
    assert port["mac_address"] == "fa:16:3e:00:00:01"
    r = client.post("/v2.0/ports", json={"port": {"network_id": net,
                                                  "mac_address": "FA:16:3E:00:00:01"}})
    assert r.status_code == 409 and err(r) == "MacAddressInUse"
    _port(client, make_net(client), mac_address="fa:16:3e:00:00:01")
    r = client.post("/v2.0/ports", json={"port": {"network_id": net, "mac_address": "zz"}})
    assert r.status_code == 400


def test_port_security_rules(client: TestClient) -> None:
    net = make_net(client, port_security_enabled=False)
    port = _port(client, net)
    assert port["port_security_enabled"] is False and port["security_groups"] == []
    net2 = make_net(client)
    r = client.post("/v2.0/ports", json={"port": {
        "network_id": net2, "port_security_enabled": False,
        "allowed_address_pairs": [{"ip_address": "10.9.9.9"}]}})
    assert r.status_code == 409 and err(r) == "AddressPairAndPortSecurityRequired"
    p2 = _port(client, net2)
    r = client.put(f"/v2.0/ports/{p2['id']}", json={"port": {"port_security_enabled": False}})
    assert r.status_code == 409 and err(r) == "PortSecurityPortHasSecurityGroup"
    r = client.put(f"/v2.0/ports/{p2['id']}", json={"port": {
        "port_security_enabled": False, "security_groups": []}})
    assert r.status_code == 200 and r.json()["port"]["security_groups"] == []
    r = client.post("/v2.0/ports", json={"port": {
        "network_id": net2, "security_groups": ["11111111-2222-3333-4444-555555555555"]}})
    assert r.status_code == 404 and err(r) == "SecurityGroupNotFound"


def test_attributes_round_trip(client: TestClient) -> None:
    net = make_net(client)
    subnet(client, net, "10.3.0.0/24")
    port = _port(client, net, allowed_address_pairs=[{"ip_address": "10.3.0.100/32"}],
                 extra_dhcp_opts=[{"opt_name": "mtu", "opt_value": "1400"}],
                 device_owner="compute:nova", device_id="vm-1", tags=["t"],
                 **{"binding:host_id": "host-a", "binding:profile": {"k": "v"}})
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.3.0.100/32", "mac_address": port["mac_address"]}
    ] or port["allowed_address_pairs"] == [{"ip_address": "10.3.0.100/32"}]
    assert port["extra_dhcp_opts"] == [{"opt_name": "mtu", "opt_value": "1400", "ip_version": 4}]
    assert port["binding:host_id"] == "host-a" and port["binding:profile"] == {"k": "v"}
    assert port["binding:vif_type"] == "binding_failed"  # no agent on host-a
    shown = client.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert shown == port


def test_list_filters(client: TestClient) -> None:
    net = make_net(client)
    sub = subnet(client, net, "10.4.0.0/24", enable_dhcp=False)
    a = _port(client, net, device_owner="compute:nova", fixed_ips=[{"ip_address": "10.4.0.10"}])
    b = _port(client, net, device_id="x", fixed_ips=[{"ip_address": "10.4.0.110"}])
    ids = lambda q: {p["id"] for p in client.get(f"/v2.0/ports?{q}").json()["ports"]}  # noqa: E731
    assert ids("fixed_ips=ip_address%3D10.4.0.10") == {a["id"]}
    assert ids(f"fixed_ips=subnet_id%3D{sub['id']}") == {a["id"], b["id"]}
    assert ids("fixed_ips=ip_address_substr%3D.110") == {b["id"]}
    assert ids("device_owner=compute:nova") == {a["id"]}
    assert ids("device_id=x&device_id=nope") == {b["id"]}
    assert ids(f"security_groups={a['security_groups'][0]}") == {a["id"], b["id"]}
    assert client.get("/v2.0/ports?fixed_ips=bogus").status_code == 400
    assert client.get("/v2.0/ports?mac_address=" + a["mac_address"]).json()["ports"][0]["id"] \
        == a["id"]


def test_shared_network_visibility_and_policy(client: TestClient) -> None:
    net = make_net(client, shared=True)
    subnet(client, net, "10.5.0.0/24")
    bobs = _port(client, net, BOB)
    assert bobs["project_id"] == "bob"
    r = client.post("/v2.0/ports", json={"port": {
        "network_id": net, "fixed_ips": [{"ip_address": "10.5.0.9"}]}}, headers=BOB)
    assert r.status_code == 403
    r = client.post("/v2.0/ports", json={"port": {"network_id": net,
                                                  "mac_address": "fa:16:3e:aa:bb:cc"}},
                    headers=BOB)
    assert r.status_code == 403
    assert client.get(f"/v2.0/ports/{bobs['id']}", headers=ALICE).status_code == 404
    assert {p["id"] for p in client.get("/v2.0/ports", headers=ALICE).json()["ports"]} == set()
    alices_net = make_net(client, ALICE)
    r = client.post("/v2.0/ports", json={"port": {"network_id": alices_net}}, headers=BOB)
    assert r.status_code == 404 and err(r) == "NetworkNotFound"


def test_delete_and_network_in_use(client: TestClient) -> None:
    net = make_net(client)
    subnet(client, net, "10.6.0.0/24")
    port = _port(client, net)
    r = client.delete(f"/v2.0/networks/{net}")
    assert r.status_code == 409 and err(r) == "NetworkInUse"
    assert client.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert client.get(f"/v2.0/ports/{port['id']}").status_code == 404
    assert client.delete(f"/v2.0/networks/{net}").status_code == 204


def test_bulk_create_rolls_back_addresses(client: TestClient, env: Env) -> None:
    net = make_net(client)
    subnet(client, net, "10.7.0.0/24", enable_dhcp=False)
    r = client.post("/v2.0/ports", json={"ports": [
        {"network_id": net, "fixed_ips": [{"ip_address": "10.7.0.20"}]},
        {"network_id": net, "fixed_ips": [{"ip_address": "10.7.0.20"}]}]})
    assert r.status_code == 409
    with env.db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ports")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM ip_allocations")).scalar_one() == 0
    r = client.post("/v2.0/ports", json={"ports": [
        {"network_id": net, "fixed_ips": [{"ip_address": "10.7.0.20"}]},
        {"network_id": net}]})
    assert r.status_code == 201 and len(r.json()["ports"]) == 2


@pytest.mark.parametrize("body", [
    {"port": {}},
    {"port": {"network_id": "not-a-uuid"}},
    {"port": {"network_id": "11111111-2222-3333-4444-555555555555", "admin_state_up": "x"}},
    {"port": {"network_id": "11111111-2222-3333-4444-555555555555", "fixed_ips": "10.0.0.1"}},
    {"port": {"network_id": "11111111-2222-3333-4444-555555555555", "binding:vnic_type": "q"}},
])
def test_bad_input(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v2.0/ports", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["NeutronError"]["message"]


def test_ipv6_slaac_address_from_mac(client: TestClient) -> None:
    net = make_net(client)
    subnet(client, net, "10.8.0.0/24")
    v6 = subnet(client, net, "2001:db8:1::/64", ipv6_ra_mode="slaac",
                 ipv6_address_mode="slaac")
    port = _port(client, net, mac_address="fa:16:3e:11:22:33")
    addrs = {f["subnet_id"]: f["ip_address"] for f in port["fixed_ips"]}
    assert addrs[v6["id"]] == "2001:db8:1:0:f816:3eff:fe11:2233"  # RFC 5952 form
    assert len(addrs) == 2
