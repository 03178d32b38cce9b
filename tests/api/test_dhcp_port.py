"""The network's DHCP port (`services.dhcp`) through the real app, on SQLite and PostgreSQL:
made with the first DHCP subnet, an address on each further one, given back when DHCP is
disabled or the subnet goes, deleted with the last; never in the way of subnet or network
deletion; no quota; visible to the network's owner as Neutron shows it."""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.testclient import TestClient

from neutrino.domain.addresses import eui64_address
from neutrino.services._env import Env
from tests.api.helpers import ALICE, BOB, changes, net, port, rows, subnet


def dhcp_ports(client: TestClient, network: str) -> list[dict[str, Any]]:
    r = client.get(f"/v2.0/ports?network_id={network}&device_owner=network:dhcp")
    assert r.status_code == 200, r.text
    return list(r.json()["ports"])


def the_dhcp_port(client: TestClient, network: str) -> dict[str, Any]:
    (found,) = dhcp_ports(client, network)
    return found


def addresses(p: dict[str, Any]) -> dict[str, str]:
    return {f["subnet_id"]: f["ip_address"] for f in p["fixed_ips"]}


def set_dhcp(client: TestClient, subnet_id: str, enabled: bool) -> None:
    r = client.put(f"/v2.0/subnets/{subnet_id}", json={"subnet": {"enable_dhcp": enabled}},
                   headers=ALICE)
    assert r.status_code == 200, r.text


def test_made_with_the_first_dhcp_subnet_as_neutron_makes_it(client: TestClient,
                                                             env: Env) -> None:
    n = net(client, ALICE)
    assert dhcp_ports(client, n) == []
    subnet(client, n, "10.0.0.0/24", ALICE, enable_dhcp=False)
    assert dhcp_ports(client, n) == []  # no DHCP subnet, no DHCP port
    v4 = subnet(client, n, "10.1.0.0/24", ALICE)
    p = the_dhcp_port(client, n)
    assert p["device_owner"] == "network:dhcp" and p["device_id"] == f"dhcp-{n}"
    assert p["project_id"] == p["tenant_id"] == "alice" and p["name"] == ""
    assert p["admin_state_up"] is True and p["status"] == "ACTIVE"
    assert p["security_groups"] == [] and p["port_security_enabled"] is True
    assert p["binding:host_id"] == "" and p["binding:vif_type"] == "unbound"
    assert addresses(p) == {v4["id"]: "10.1.0.2"}  # the first free address (gateway .1)
    assert changes(env, "port", p["id"]) == ["create"]  # in the log: it wakes the agents
    # The network's owner sees it, as in Neutron; another project does not.
    mine = client.get("/v2.0/ports", headers=ALICE).json()["ports"]
    assert [x["id"] for x in mine] == [p["id"]]
    shown = client.get(f"/v2.0/ports/{p['id']}", headers=ALICE).json()["port"]
    assert shown["device_owner"] == "network:dhcp" and shown["fixed_ips"] == p["fixed_ips"]
    assert client.get("/v2.0/ports", headers=BOB).json()["ports"] == []
    assert client.get(f"/v2.0/ports/{p['id']}", headers=BOB).status_code == 404


def test_an_address_on_every_dhcp_subnet_and_back(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    a = subnet(client, n, "10.2.0.0/24", ALICE)
    first = the_dhcp_port(client, n)
    b = subnet(client, n, "10.3.0.0/24", ALICE)
    v6 = subnet(client, n, "2001:db8:1::/64", ALICE, ipv6_address_mode="dhcpv6-stateful",
                ipv6_ra_mode="dhcpv6-stateful")
    slaac = subnet(client, n, "2001:db8:2::/64", ALICE, ipv6_address_mode="slaac",
                   ipv6_ra_mode="slaac")
    off = subnet(client, n, "10.4.0.0/24", ALICE, enable_dhcp=False)
    p = the_dhcp_port(client, n)
    assert p["id"] == first["id"] and p["mac_address"] == first["mac_address"]
    got = addresses(p)
    assert set(got) == {a["id"], b["id"], v6["id"], slaac["id"]}  # not on `off`
    assert got[a["id"]] == "10.2.0.2" and got[b["id"]] == "10.3.0.2"
    assert got[v6["id"]] == "2001:db8:1::1"  # the pool starts there (gateway ::)
    # SLAAC: the port's EUI-64 address, as Neutron's agent gets it
    eui64 = eui64_address(ipaddress.IPv6Network("2001:db8:2::/64"), p["mac_address"])
    assert got[slaac["id"]] == str(eui64)

    set_dhcp(client, off["id"], True)
    assert addresses(the_dhcp_port(client, n))[off["id"]] == "10.4.0.2"
    set_dhcp(client, b["id"], False)
    assert b["id"] not in addresses(the_dhcp_port(client, n))
    # the address went back to the pool
    assert port(client, n, ALICE, fixed_ips=[{"ip_address": "10.3.0.2"}])
    assert client.delete(f"/v2.0/subnets/{a['id']}", headers=ALICE).status_code == 204
    assert set(addresses(the_dhcp_port(client, n))) == {v6["id"], slaac["id"], off["id"]}
    assert rows(env, "SELECT count(*) FROM ip_allocations WHERE subnet_id = :s",
                s=a["id"]) == [(0,)]

    for sid in (v6["id"], slaac["id"]):
        assert client.delete(f"/v2.0/subnets/{sid}", headers=ALICE).status_code == 204
    assert set(addresses(the_dhcp_port(client, n))) == {off["id"]}
    set_dhcp(client, off["id"], False)  # the last DHCP subnet: the port goes
    assert dhcp_ports(client, n) == []
    assert changes(env, "port", p["id"])[-1] == "delete"
    assert rows(env, "SELECT count(*) FROM ip_allocations WHERE port_id = :p",
                p=p["id"]) == [(0,)]
    set_dhcp(client, off["id"], True)  # and comes back, as a new port
    again = the_dhcp_port(client, n)
    assert again["id"] != p["id"] and addresses(again) == {off["id"]: "10.4.0.2"}


def test_deleting_the_last_dhcp_subnet_deletes_the_port(client: TestClient) -> None:
    n = net(client, ALICE)
    keep = subnet(client, n, "10.5.0.0/24", ALICE, enable_dhcp=False)
    last = subnet(client, n, "10.6.0.0/24", ALICE)
    the_dhcp_port(client, n)
    assert client.delete(f"/v2.0/subnets/{last['id']}", headers=ALICE).status_code == 204
    assert dhcp_ports(client, n) == []
    assert client.get(f"/v2.0/subnets/{keep['id']}", headers=ALICE).status_code == 200


def test_it_never_blocks_deletion(client: TestClient, env: Env) -> None:
    n = net(client, ALICE)
    sub = subnet(client, n, "10.7.0.0/24", ALICE)
    p = the_dhcp_port(client, n)
    user = port(client, n, ALICE)
    r = client.delete(f"/v2.0/subnets/{sub['id']}", headers=ALICE)
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "SubnetInUse"
    assert the_dhcp_port(client, n)["id"] == p["id"]  # the refused delete changed nothing
    r = client.delete(f"/v2.0/networks/{n}", headers=ALICE)
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "NetworkInUse"
    assert client.delete(f"/v2.0/ports/{user['id']}", headers=ALICE).status_code == 204
    assert client.delete(f"/v2.0/subnets/{sub['id']}", headers=ALICE).status_code == 204
    assert dhcp_ports(client, n) == []

    m = net(client, ALICE)
    subnet(client, m, "10.8.0.0/24", ALICE)
    subnet(client, m, "2001:db8:8::/64", ALICE)
    q = the_dhcp_port(client, m)
    assert client.delete(f"/v2.0/networks/{m}", headers=ALICE).status_code == 204
    assert rows(env, "SELECT count(*) FROM ports") == [(0,)]
    assert rows(env, "SELECT count(*) FROM ip_allocations") == [(0,)]
    assert changes(env, "port", q["id"]) == ["create", "update", "delete"]


def test_no_quota(client: TestClient) -> None:
    assert client.put("/v2.0/quotas/alice", json={"quota": {"port": 1}}).status_code == 200
    n = net(client, ALICE)
    subnet(client, n, "10.9.0.0/24", ALICE)  # makes the DHCP port: not refused, not counted
    the_dhcp_port(client, n)
    details = client.get("/v2.0/quotas/alice/details", headers=ALICE).json()["quota"]
    assert details["port"]["used"] == 0
    port(client, n, ALICE)  # the project's one port
    r = client.post("/v2.0/ports", json={"port": {"network_id": n}}, headers=ALICE)
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "OverQuota"
    details = client.get("/v2.0/quotas/alice/details", headers=ALICE).json()["quota"]
    assert details["port"]["used"] == 1


def test_bulk_subnets_share_one_dhcp_port(client: TestClient) -> None:
    n = net(client, ALICE)
    r = client.post("/v2.0/subnets", headers=ALICE, json={"subnets": [
        {"network_id": n, "cidr": "10.10.0.0/24", "ip_version": 4},
        {"network_id": n, "cidr": "10.11.0.0/24", "ip_version": 4}]})
    assert r.status_code == 201, r.text
    ids = {s["id"] for s in r.json()["subnets"]}
    assert set(addresses(the_dhcp_port(client, n))) == ids


def test_a_full_subnet_gets_no_dhcp_address_and_still_is_made(client: TestClient) -> None:
    n = net(client, ALICE)
    full = subnet(client, n, "10.12.0.0/24", ALICE, enable_dhcp=False,
                  allocation_pools=[{"start": "10.12.0.5", "end": "10.12.0.5"}])
    port(client, n, ALICE)  # takes .5, the only address
    set_dhcp(client, full["id"], True)  # no address for the DHCP port: not an error
    assert dhcp_ports(client, n) == []
    roomy = subnet(client, n, "10.13.0.0/24", ALICE)
    assert set(addresses(the_dhcp_port(client, n))) == {roomy["id"]}
