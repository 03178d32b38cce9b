"""dns-integration through the real app on SQLite and PostgreSQL: a port's dns_name and
dns_assignment under the default domain and under another one, Neutron's 400s, and a floating
IP's dns_name and dns_domain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from neutrino.services._env import Env
from tests.api.helpers import ALICE, changes, client_with, err, external, net, port, rows, subnet

DOMAIN = "example.org."


@pytest.fixture
def named(env: Env) -> Iterator[TestClient]:
    """The app under a dns_domain other than the default: ports keep their names."""
    with client_with(env, dns_domain=DOMAIN) as c:
        yield c


def _error(r: Any) -> tuple[int, str, str]:
    body = r.json()["NeutronError"]
    return r.status_code, body["type"], body["message"]


def test_extension_is_advertised(client: TestClient) -> None:
    r = client.get("/v2.0/extensions/dns-integration")
    assert r.status_code == 200
    assert r.json()["extension"]["name"] == "DNS Integration"
    aliases = {e["alias"] for e in client.get("/v2.0/extensions").json()["extensions"]}
    assert "dns-domain-ports" not in aliases  # ports have no dns_domain of their own


def test_default_domain_names_addresses_after_them(client: TestClient) -> None:
    """Neutron under `openstacklocal`: the name is checked, not kept; host-<address> names."""
    n = net(client, ALICE)
    v4 = subnet(client, n, "10.40.0.0/24", ALICE)
    v6 = subnet(client, n, "2001:db8:40::/64", ALICE)
    p = port(client, n, ALICE, dns_name="web-1")
    assert p["dns_name"] == ""
    ips = {f["subnet_id"]: f["ip_address"] for f in p["fixed_ips"]}
    host4 = "host-" + ips[v4["id"]].replace(".", "-")
    host6 = "host-" + ips[v6["id"]].replace(":", "-")
    assert p["dns_assignment"] == [
        {"ip_address": ips[v4["id"]], "hostname": host4, "fqdn": f"{host4}.openstacklocal."},
        {"ip_address": ips[v6["id"]], "hostname": host6, "fqdn": f"{host6}.openstacklocal."},
    ]
    url = f"/v2.0/ports/{p['id']}"
    r = client.put(url, json={"port": {"dns_name": "web-2"}}, headers=ALICE)
    assert r.status_code == 200 and r.json()["port"]["dns_name"] == ""
    assert r.json()["port"]["revision_number"] == p["revision_number"]  # nothing changed
    r = client.put(url, json={"port": {"dns_name": "web_2"}}, headers=ALICE)  # still checked
    assert r.status_code == 400
    bare = port(client, net(client, ALICE), ALICE)  # no subnet, no address: no names
    assert bare["dns_name"] == "" and bare["dns_assignment"] == []


def test_named_ports_create_show_update_list(named: TestClient, env: Env) -> None:
    client = named
    n = net(client, ALICE)
    subnet(client, n, "10.41.0.0/24", ALICE)
    p = port(client, n, ALICE, dns_name="Web-1")
    ip = p["fixed_ips"][0]["ip_address"]
    assert p["dns_name"] == "web-1"  # case-insensitive: kept lower-case
    assert p["dns_assignment"] == [
        {"ip_address": ip, "hostname": "web-1", "fqdn": f"web-1.{DOMAIN}"}]
    url = f"/v2.0/ports/{p['id']}"
    assert client.get(url, headers=ALICE).json()["port"] == p
    assert client.get(f"{url}?fields=dns_assignment&fields=id").json()["port"] == {
        "id": p["id"], "dns_assignment": p["dns_assignment"]}
    assert rows(env, "SELECT dns_name FROM ports WHERE id = :i", i=p["id"])[0][0] == "web-1"

    r = client.put(url, json={"port": {"dns_name": f"db.{DOMAIN}"}}, headers=ALICE)
    assert r.status_code == 200, r.text
    updated = r.json()["port"]
    assert updated["dns_name"] == f"db.{DOMAIN}"
    assert updated["dns_assignment"] == [
        {"ip_address": ip, "hostname": f"db.{DOMAIN}", "fqdn": f"db.{DOMAIN}"}]
    assert updated["revision_number"] == p["revision_number"] + 1
    assert changes(env, "port", p["id"]) == ["create", "update"]

    other = port(client, n, ALICE, dns_name="cache")
    plain = port(client, n, ALICE)
    assert plain["dns_name"] == "" and plain["dns_assignment"][0]["fqdn"].endswith(
        f".{DOMAIN}")

    def listed(query: str) -> set[str]:
        r = client.get(f"/v2.0/ports?network_id={n}&{query}", headers=ALICE)
        assert r.status_code == 200, r.text
        return {q["id"] for q in r.json()["ports"]}

    assert listed("dns_name=CACHE") == {other["id"]}  # filters are lower-cased too
    assert listed(f"dns_name=cache&dns_name=db.{DOMAIN}") == {other["id"], p["id"]}
    assert listed("dns_name=nothing") == set()
    r = client.get("/v2.0/ports?dns_assignment=x")
    assert r.status_code == 400  # computed: no filter

    r = client.put(url, json={"port": {"dns_name": ""}}, headers=ALICE)
    assert r.json()["port"]["dns_name"] == ""
    assert r.json()["port"]["dns_assignment"][0]["hostname"] == "host-" + ip.replace(".", "-")


def test_bulk_create_keeps_each_name(named: TestClient) -> None:
    n = net(named)
    subnet(named, n, "10.42.0.0/24")
    r = named.post("/v2.0/ports", json={"ports": [
        {"network_id": n, "dns_name": "a"}, {"network_id": n, "dns_name": "b"}]})
    assert r.status_code == 201, r.text
    assert [(p["dns_name"], p["dns_assignment"][0]["fqdn"]) for p in r.json()["ports"]] == [
        ("a", f"a.{DOMAIN}"), ("b", f"b.{DOMAIN}")]


BAD_NAMES = [
    ("a" * 64, f"'{'a' * 64}' not a valid PQDN or FQDN. Reason: Name '{'a' * 64}' must be "
               "1-63 characters long, each of which can only be alphanumeric or a hyphen"),
    ("web_1", "'web_1' not a valid PQDN or FQDN. Reason: Name 'web_1' must be 1-63 "
              "characters long, each of which can only be alphanumeric or a hyphen"),
    ("-web", "'-web' not a valid PQDN or FQDN. Reason: Name '-web' must not start or end "
             "with a hyphen"),
    ("web..x", "'web..x' not a valid PQDN or FQDN. Reason: Encountered an empty component"),
    ("web.42", "'web.42' not a valid PQDN or FQDN. Reason: TLD '42' must not be all numeric"),
]


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES)
def test_malformed_names_are_400_and_leave_nothing(client: TestClient, env: Env, name: str,
                                                   reason: str) -> None:
    n = net(client)
    subnet(client, n, "10.43.0.0/24")
    before = rows(env, "SELECT count(*) FROM ports")[0][0]
    r = client.post("/v2.0/ports", json={"port": {"network_id": n, "dns_name": name}})
    assert _error(r) == (400, "HTTPBadRequest", f"Invalid input for dns_name. Reason: {reason}")
    r = client.post("/v2.0/ports", json={"ports": [{"network_id": n, "dns_name": "ok"},
                                                   {"network_id": n, "dns_name": name}]})
    assert r.status_code == 400  # the bulk is one transaction: not even the first
    assert rows(env, "SELECT count(*) FROM ports")[0][0] == before
    p = port(client, n)
    r = client.put(f"/v2.0/ports/{p['id']}", json={"port": {"dns_name": name}})
    assert r.status_code == 400 and err(r) == "HTTPBadRequest"


def test_names_must_fit_the_servers_domain(named: TestClient, env: Env) -> None:
    n = net(named)
    subnet(named, n, "10.44.0.0/24")
    fqdn_rule = ("Invalid input for dns_name. Reason: The dns_name passed is a FQDN. Its "
                 "higher level labels must be equal to the dns_domain option of the server, "
                 f"that has been set to '{DOMAIN}'. It must also include one or more valid DNS "
                 f"labels to the left of '{DOMAIN}'")
    for name in ("web.example.com.", DOMAIN):
        r = named.post("/v2.0/ports", json={"port": {"network_id": n, "dns_name": name}})
        assert _error(r) == (400, "HTTPBadRequest", fqdn_rule)
    long_pqdn = ".".join(["a" * 63] * 3 + ["a" * 51])  # 243 + len(".example.org.") > 255
    r = named.post("/v2.0/ports", json={"port": {"network_id": n, "dns_name": long_pqdn}})
    assert r.status_code == 400 and "is a PQDN and its size is '243'" in r.text
    assert rows(env, "SELECT count(*) FROM ports WHERE network_id = :n", n=n)[0][0] == 1  # DHCP
    p = port(named, n, dns_name="ok")
    r = named.put(f"/v2.0/ports/{p['id']}", json={"port": {"dns_name": "x.example.com."}})
    assert _error(r) == (400, "HTTPBadRequest", fqdn_rule)
    assert named.get(f"/v2.0/ports/{p['id']}").json()["port"]["dns_name"] == "ok"


@pytest.mark.parametrize("value", [5, None, ["web"]])
def test_a_name_is_a_string(client: TestClient, value: Any) -> None:
    n = net(client)
    r = client.post("/v2.0/ports", json={"port": {"network_id": n, "dns_name": value}})
    assert r.status_code == 400 and "must be string type" in r.text


def test_dns_assignment_is_read_only(client: TestClient) -> None:
    n = net(client)
    r = client.post("/v2.0/ports", json={"port": {"network_id": n, "dns_assignment": []}})
    assert r.status_code == 400 and "not allowed in POST" in r.text


# -- networks -----------------------------------------------------------------------------


def test_network_dns_domain_is_checked_and_lower_cased(client: TestClient) -> None:
    n = net(client, dns_domain="Corp.Example.")
    assert client.get(f"/v2.0/networks/{n}").json()["network"]["dns_domain"] == "corp.example."
    r = client.post("/v2.0/networks", json={"network": {"dns_domain": "corp.example"}})
    assert _error(r) == (400, "HTTPBadRequest",
                         "Invalid input for dns_domain. Reason: 'corp.example' is not a FQDN")
    r = client.put(f"/v2.0/networks/{n}", json={"network": {"dns_domain": "a..b."}})
    assert r.status_code == 400 and "Encountered an empty component" in r.text
    r = client.put(f"/v2.0/networks/{n}", json={"network": {"dns_domain": ""}})
    assert r.status_code == 200 and r.json()["network"]["dns_domain"] == ""


# -- floating IPs -------------------------------------------------------------------------


def test_floating_ip_dns_name_and_domain(client: TestClient, env: Env) -> None:
    ext, _ = external(client)
    plain = client.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": ext}},
                        headers=ALICE).json()["floatingip"]
    assert (plain["dns_name"], plain["dns_domain"]) == ("", "")
    r = client.post("/v2.0/floatingips", headers=ALICE, json={"floatingip": {
        "floating_network_id": ext, "dns_name": "WWW", "dns_domain": "Example.ORG."}})
    assert r.status_code == 201, r.text
    fip = r.json()["floatingip"]
    assert (fip["dns_name"], fip["dns_domain"]) == ("www", "example.org.")
    url = f"/v2.0/floatingips/{fip['id']}"
    assert client.get(url, headers=ALICE).json()["floatingip"] == fip
    r = client.put(url, json={"floatingip": {"dns_name": "mail"}}, headers=ALICE)
    assert r.status_code == 400 and "not allowed in PUT" in r.text
    r = client.put(url, json={"floatingip": {"description": "d"}}, headers=ALICE)
    assert r.json()["floatingip"]["dns_name"] == "www"  # kept through updates


@pytest.mark.parametrize(("attrs", "status", "type_", "message"), [
    ({"dns_name": "www"}, 400, "BadRequest",
     "Bad floatingip request: dns_name cannot be specified without a dns_domain."),
    ({"dns_domain": "example.org."}, 400, "BadRequest",
     "Bad floatingip request: dns_domain cannot be specified without a dns_name."),
    ({"dns_name": "www.", "dns_domain": "example.org."}, 400, "HTTPBadRequest",
     "Invalid input for dns_name. Reason: 'www.' is a FQDN. It should be a relative domain "
     "name"),
    ({"dns_name": "www", "dns_domain": "example.org"}, 400, "HTTPBadRequest",
     "Invalid input for dns_domain. Reason: 'example.org' is not a FQDN"),
])
def test_floating_ip_dns_errors_leave_nothing(client: TestClient, env: Env,
                                              attrs: dict[str, str], status: int, type_: str,
                                              message: str) -> None:
    ext, _ = external(client)
    r = client.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": ext,
                                                              **attrs}})
    assert _error(r) == (status, type_, message)
    assert rows(env, "SELECT id FROM floatingips") == []
    assert rows(env, "SELECT id FROM ports WHERE device_owner = 'network:floatingip'") == []
