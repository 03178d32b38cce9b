"""Behaviours Tempest's network API suite found missing, pinned to Neutron's answers:
router `distributed`/`ha` (dvr, l3-ha), a subnet's `router:external`
(subnet-external-network), unused floating IPs going with their external network, and the
(empty) agent registry."""

from __future__ import annotations

from starlette.testclient import TestClient

from neutrino.services._env import Env
from tests.api.helpers import ADMIN, ALICE, BOB, err, external, net, router, rows, subnet

READER = {**ALICE, "X-Roles": "reader"}


# -- dvr / l3-ha ------------------------------------------------------------------------


def test_admin_creates_distributed_and_ha_routers(client: TestClient, env: Env) -> None:
    dvr = router(client, ADMIN, name="d", distributed=True)
    assert dvr["distributed"] is True and dvr["ha"] is False
    cvr = router(client, ADMIN, name="c", distributed=False, ha=True)
    assert cvr["distributed"] is False and cvr["ha"] is True
    plain = router(client, ADMIN, name="p", distributed=None)  # null = not specified
    assert plain["distributed"] is False and plain["ha"] is False
    assert rows(env, "SELECT distributed, ha FROM routers WHERE id = :i", i=dvr["id"]) == [
        (True, False)]
    shown = client.get(f"/v2.0/routers/{cvr['id']}").json()["router"]
    assert shown["ha"] is True and shown["distributed"] is False


def test_distributed_and_ha_are_admin_only(client: TestClient, env: Env) -> None:
    for attrs in ({"distributed": True}, {"distributed": False}, {"ha": False}):
        r = client.post("/v2.0/routers", json={"router": attrs}, headers=ALICE)
        assert r.status_code == 403 and err(r) == "PolicyNotAuthorized"
    assert rows(env, "SELECT id FROM routers") == []
    mine = router(client, ALICE, name="mine")
    assert "distributed" not in mine and "ha" not in mine
    shown = client.get(f"/v2.0/routers/{mine['id']}", headers=ALICE).json()["router"]
    assert "distributed" not in shown and "ha" not in shown
    put = client.put(f"/v2.0/routers/{mine['id']}", json={"router": {"distributed": True}},
                     headers=ALICE)
    assert put.status_code == 403


def test_mode_changes_only_while_admin_down(client: TestClient, env: Env) -> None:
    r = router(client, ADMIN, name="r", distributed=False, ha=False, project_id="alice")
    url = f"/v2.0/routers/{r['id']}"
    for attrs in ({"distributed": True}, {"ha": True}):
        refused = client.put(url, json={"router": attrs})
        assert refused.status_code == 400 and err(refused) == "BadRequest"
        assert "admin_state_up to False" in refused.json()["NeutronError"]["message"]
    assert rows(env, "SELECT distributed, ha, revision_number FROM routers") == [
        (False, False, 0)]
    # same value, or taking the router down in the same request, is fine
    assert client.put(url, json={"router": {"distributed": False}}).status_code == 200
    both = client.put(url, json={"router": {"admin_state_up": False, "distributed": True}})
    assert both.status_code == 200 and both.json()["router"]["distributed"] is True
    ha = client.put(url, json={"router": {"ha": True}})
    assert ha.status_code == 200 and ha.json()["router"]["ha"] is True
    owner_view = client.get(url, headers=ALICE).json()["router"]
    assert "distributed" not in owner_view and owner_view["admin_state_up"] is False


# -- subnet-external-network ------------------------------------------------------------


def test_subnet_router_external(client: TestClient) -> None:
    ext, ext_sub = external(client)
    assert ext_sub["router:external"] is True
    private = net(client, ALICE)
    own = subnet(client, private, "10.0.0.0/24", ALICE)
    assert own["router:external"] is False
    # a project sees the external network's subnets (Neutron's rule:external_network)
    seen = client.get(f"/v2.0/subnets?network_id={ext}", headers=READER).json()["subnets"]
    assert [s["id"] for s in seen] == [ext_sub["id"]] and seen[0]["router:external"] is True
    only_ext = client.get("/v2.0/subnets?router:external=true", headers=ALICE).json()
    assert [s["id"] for s in only_ext["subnets"]] == [ext_sub["id"]]
    only_int = client.get("/v2.0/subnets?router:external=false", headers=ALICE).json()
    assert [s["id"] for s in only_int["subnets"]] == [own["id"]]
    shown = client.get(f"/v2.0/subnets/{ext_sub['id']}", headers=BOB).json()["subnet"]
    assert shown["router:external"] is True
    refused = client.post("/v2.0/subnets", json={"subnet": {
        "network_id": private, "cidr": "10.0.1.0/24", "ip_version": 4,
        "router:external": True}}, headers=ALICE)
    assert refused.status_code == 400
    # the flag follows the network
    client.put(f"/v2.0/networks/{private}", json={"network": {"router:external": True}})
    again = client.get(f"/v2.0/subnets/{own['id']}", headers=ALICE).json()["subnet"]
    assert again["router:external"] is True


# -- external network delete ----------------------------------------------------------------


def test_deleting_external_network_deletes_its_unused_floating_ips(
    client: TestClient, env: Env
) -> None:
    ext, ext_sub = external(client)
    fip = client.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": ext}})
    assert fip.status_code == 201
    fip_id = fip.json()["floatingip"]["id"]
    assert client.delete(f"/v2.0/networks/{ext}").status_code == 204
    assert client.get(f"/v2.0/floatingips/{fip_id}").status_code == 404
    assert rows(env, "SELECT id FROM floatingips") == []
    assert rows(env, "SELECT id FROM ports") == []
    assert rows(env, "SELECT id FROM subnets WHERE id = :i", i=ext_sub["id"]) == []


def test_external_network_with_associated_floating_ip_stays(client: TestClient,
                                                            env: Env) -> None:
    ext, _ = external(client)
    inside = net(client, ALICE)
    sub = subnet(client, inside, "10.0.0.0/24", ALICE)
    r = router(client, ALICE, external_gateway_info={"network_id": ext})
    client.put(f"/v2.0/routers/{r['id']}/add_router_interface", json={"subnet_id": sub["id"]},
               headers=ALICE)
    p = client.post("/v2.0/ports", json={"port": {"network_id": inside}}, headers=ALICE)
    fip = client.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext, "port_id": p.json()["port"]["id"]}}, headers=ALICE)
    assert fip.status_code == 201
    refused = client.delete(f"/v2.0/networks/{ext}")
    assert refused.status_code == 409 and err(refused) == "NetworkInUse"
    assert len(rows(env, "SELECT id FROM floatingips")) == 1


# -- agents -------------------------------------------------------------------------------


def test_agents_list_is_empty_and_members_are_not_found(client: TestClient) -> None:
    for headers in (READER, ALICE, ADMIN):
        r = client.get("/v2.0/agents", headers=headers)
        assert r.status_code == 200 and r.json() == {"agents": []}
    missing = client.get("/v2.0/agents/0b5d2a4e-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and err(missing) == "AgentNotFound"


# -- allowed-address-pairs / extra_dhcp_opt / ip-substring-filtering ------------------------


def test_address_pair_without_mac_takes_the_ports(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    subnet(client, n, "10.5.0.0/24", ALICE)
    body = {"port": {"network_id": n, "allowed_address_pairs": [
        {"ip_address": "10.5.0.100"}, {"ip_address": "10.6.0.0/24", "mac_address":
                                       "fa:16:3e:00:00:01"}]}}
    p = client.post("/v2.0/ports", json=body, headers=ALICE).json()["port"]
    assert p["allowed_address_pairs"] == [
        {"ip_address": "10.5.0.100", "mac_address": p["mac_address"]},
        {"ip_address": "10.6.0.0/24", "mac_address": "fa:16:3e:00:00:01"}]
    upd = client.put(f"/v2.0/ports/{p['id']}", json={"port": {"allowed_address_pairs": [
        {"ip_address": "10.5.0.101"}]}}, headers=ALICE).json()["port"]
    assert upd["allowed_address_pairs"] == [
        {"ip_address": "10.5.0.101", "mac_address": p["mac_address"]}]
    listed = client.get(f"/v2.0/ports?id={p['id']}", headers=READER).json()["ports"]
    assert listed[0]["allowed_address_pairs"] == upd["allowed_address_pairs"]


def test_extra_dhcp_opts_update_merges(client: TestClient) -> None:
    n = net(client, ALICE)
    opts = [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
            {"opt_name": "tftp-server", "opt_value": "123.123.123.123"},
            {"opt_name": "mtu", "opt_value": None}]
    p = client.post("/v2.0/ports", json={"port": {"network_id": n, "extra_dhcp_opts": opts}},
                    headers=ALICE).json()["port"]
    # an option without a value is no option on create
    assert {o["opt_name"] for o in p["extra_dhcp_opts"]} == {"bootfile-name", "tftp-server"}
    url = f"/v2.0/ports/{p['id']}"
    upd = client.put(url, json={"port": {"extra_dhcp_opts": [
        {"opt_name": "tftp-server", "opt_value": "10.0.0.9"},
        {"opt_name": "bootfile-name", "opt_value": None},
        {"opt_name": "server-ip-address", "opt_value": "10.0.0.8"},
        {"opt_name": "tftp-server", "opt_value": "2001:db8::9", "ip_version": 6}]}},
        headers=ALICE).json()["port"]
    # named ones replaced/added/removed, keyed by (name, ip_version); the rest kept
    got = {(o["opt_name"], o["ip_version"]): o["opt_value"] for o in upd["extra_dhcp_opts"]}
    assert got == {("tftp-server", 4): "10.0.0.9", ("server-ip-address", 4): "10.0.0.8",
                   ("tftp-server", 6): "2001:db8::9"}
    shown = client.get(url, headers=READER).json()["port"]
    assert shown["extra_dhcp_opts"] == upd["extra_dhcp_opts"]


def test_port_extensions_advertised(client: TestClient) -> None:
    aliases = {e["alias"] for e in client.get("/v2.0/extensions").json()["extensions"]}
    assert {"binding", "allowed-address-pairs", "extra_dhcp_opt", "ip-substring-filtering",
            "metering", "metering_source_and_destination_fields", "service-type",
            "subnet-external-network", "dvr", "l3-ha"} <= aliases
    n = net(client, ALICE)
    subnet(client, n, "10.7.0.0/24", ALICE, enable_dhcp=False)  # no DHCP port at 10.7.0.2
    a = client.post("/v2.0/ports", json={"port": {"network_id": n, "fixed_ips": [
        {"ip_address": "10.7.0.21"}]}}, headers=ALICE).json()["port"]
    client.post("/v2.0/ports", json={"port": {"network_id": n, "fixed_ips": [
        {"ip_address": "10.7.0.31"}]}}, headers=ALICE)
    found = client.get("/v2.0/ports?fixed_ips=ip_address_substr%3D10.7.0.2",
                       headers=READER).json()["ports"]
    assert [p["id"] for p in found] == [a["id"]]
