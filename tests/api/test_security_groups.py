"""Security groups and rules through the real ASGI app on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from neutrino.db.repos import security_groups as sg_repo
from neutrino.db.tables.core import change_log
from neutrino.db.tables.security_groups import default_security_groups, security_groups
from neutrino.services._env import Env
from tests.conftest import as_project

ALICE = as_project("alice")
BOB = as_project("bob")
SG = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"


def error_type(resp: Any) -> str:
    return str(resp.json()["NeutronError"]["type"])


def new_group(client: TestClient, name: str = "web", headers: dict[str, str] = ALICE,
              **extra: Any) -> dict[str, Any]:
    r = client.post(SG, json={"security_group": {"name": name, **extra}}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json()["security_group"])


def add_rule(client: TestClient, group_id: str, headers: dict[str, str] = ALICE,
             **body: Any) -> Any:
    rule = {"security_group_id": group_id, "direction": "ingress", **body}
    return client.post(RULES, json={"security_group_rule": rule}, headers=headers)


def shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["port_range_min"],
            rule["port_range_max"], rule["remote_ip_prefix"], rule["remote_group_id"])


def groups_of(env: Env, project: str) -> list[str]:
    with env.db.read() as tx:
        stmt = sa.select(security_groups.c.name).where(security_groups.c.project_id == project)
        return [r[0] for r in tx.conn.execute(stmt)]


def log_entries(env: Env, resource_id: str) -> list[tuple[str, str, int]]:
    with env.db.read() as tx:
        stmt = (sa.select(change_log.c.resource, change_log.c.op, change_log.c.revision)
                .where(change_log.c.resource_id == resource_id).order_by(change_log.c.seq))
        return [(r.resource, r.op, r.revision) for r in tx.conn.execute(stmt)]


# --------------------------------------------------------------------------- default group


def test_first_list_creates_the_default_group_with_neutrons_rules(client: TestClient) -> None:
    groups = client.get(SG, headers=ALICE).json()["security_groups"]
    assert len(groups) == 1
    default = groups[0]
    assert default["name"] == "default" and default["description"] == "Default security group"
    assert default["project_id"] == default["tenant_id"] == "alice"
    assert default["stateful"] is True and default["revision_number"] == 0
    gid = default["id"]
    assert sorted(shape(r) for r in default["security_group_rules"]) == sorted([
        ("egress", "IPv4", None, None, None, None, None),
        ("egress", "IPv6", None, None, None, None, None),
        ("ingress", "IPv4", None, None, None, None, gid),
        ("ingress", "IPv6", None, None, None, None, gid),
    ])
    for rule in default["security_group_rules"]:
        assert rule["security_group_id"] == gid and rule["project_id"] == "alice"
        assert rule["belongs_to_default_sg"] is True and rule["normalized_cidr"] is None
    again = client.get(SG, headers=ALICE).json()["security_groups"]
    assert [g["id"] for g in again] == [gid]
    new_group(client)
    named = client.get(f"{SG}?name=default", headers=ALICE).json()["security_groups"]
    assert [g["id"] for g in named] == [gid]
    rules = client.get(f"{RULES}?security_group_id={gid}", headers=ALICE).json()
    assert {r["id"] for r in rules["security_group_rules"]} == {
        r["id"] for r in default["security_group_rules"]}


def test_network_create_and_rule_list_ensure_the_default_group(
    client: TestClient, env: Env
) -> None:
    assert client.post("/v2.0/networks", json={"network": {}}, headers=ALICE).status_code == 201
    assert groups_of(env, "alice") == ["default"]
    client.post("/v2.0/networks", json={"network": {}}, headers=ALICE)
    assert groups_of(env, "alice") == ["default"]
    client.post("/v2.0/networks", json={"network": {"project_id": "carol"}})  # admin for carol
    assert groups_of(env, "carol") == ["default"]
    client.get(RULES, headers=BOB)
    assert groups_of(env, "bob") == ["default"]
    # A project that only reads still gets its default group; nobody else's list makes one.
    client.get(SG, headers=as_project("dave", "reader"))
    assert groups_of(env, "dave") == ["default"]
    client.get(f"{SG}?project_id=erin", headers=BOB)
    assert groups_of(env, "erin") == []


def test_default_group_is_reserved(client: TestClient) -> None:
    default = client.get(SG, headers=ALICE).json()["security_groups"][0]
    for name in ("default", "DeFault"):
        r = client.post(SG, json={"security_group": {"name": name}}, headers=ALICE)
        assert r.status_code == 409 and error_type(r) == "SecurityGroupDefaultAlreadyExists"
        assert r.json()["NeutronError"]["message"] == "Default security group already exists."
    web = new_group(client)
    r = client.put(f"{SG}/{web['id']}", json={"security_group": {"name": "default"}},
                   headers=ALICE)
    assert r.status_code == 409 and error_type(r) == "SecurityGroupDefaultAlreadyExists"
    r = client.put(f"{SG}/{default['id']}", json={"security_group": {"name": "mine"}},
                   headers=ALICE)
    assert r.status_code == 409 and error_type(r) == "SecurityGroupCannotUpdateDefault"
    r = client.put(f"{SG}/{default['id']}", json={"security_group": {"description": "d"}},
                   headers=ALICE)
    assert r.status_code == 200 and r.json()["security_group"]["description"] == "d"
    r = client.delete(f"{SG}/{default['id']}", headers=ALICE)
    assert r.status_code == 409 and error_type(r) == "SecurityGroupCannotRemoveDefault"
    assert client.delete(f"{SG}/{default['id']}").status_code == 204  # admin may
    fresh = client.get(SG, headers=ALICE).json()["security_groups"]
    assert sorted(g["name"] for g in fresh) == ["default", "web"]
    assert default["id"] not in {g["id"] for g in fresh}


# --------------------------------------------------------------------------- groups


def test_group_crud(client: TestClient) -> None:
    web = new_group(client, description="front", tags=["a"], stateful=False)
    assert web["stateful"] is False and web["tags"] == ["a"] and web["description"] == "front"
    assert sorted(shape(r) for r in web["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None, None, None),
        ("egress", "IPv6", None, None, None, None, None),
    ]
    assert all(r["belongs_to_default_sg"] is False for r in web["security_group_rules"])
    url = f"{SG}/{web['id']}"
    assert client.get(url, headers=ALICE).json()["security_group"] == web
    r = client.put(url, json={"security_group": {"name": "www", "stateful": True}},
                   headers=ALICE)
    assert r.status_code == 200
    assert r.json()["security_group"]["name"] == "www"
    assert r.json()["security_group"]["revision_number"] == 1
    r = client.put(url, json={"security_group": {"name": "x"}},
                   headers={**ALICE, "If-Match": "revision_number=0"})
    assert r.status_code == 412
    listed = client.get(f"{SG}?name=www&fields=id&fields=name", headers=ALICE).json()
    assert listed["security_groups"] == [{"id": web["id"], "name": "www"}]
    assert client.delete(url, headers=ALICE).status_code == 204
    r = client.get(url, headers=ALICE)
    assert r.status_code == 404 and error_type(r) == "SecurityGroupNotFound"
    assert r.json()["NeutronError"]["message"] == f"Security group {web['id']} does not exist"
    rule_ids = [rule["id"] for rule in web["security_group_rules"]]
    assert all(client.get(f"{RULES}/{rid}").status_code == 404 for rid in rule_ids)


def test_group_in_use_by_a_port_cannot_be_deleted_or_change_statefulness(
    client: TestClient, env: Env
) -> None:
    web = new_group(client)
    with env.db.write() as tx:
        sg_repo.set_port_bindings(tx, "port-1", [web["id"]])
    with env.db.read() as tx:
        assert sg_repo.bindings_for_ports(tx, ["port-1", "port-2"]) == {
            "port-1": (web["id"],), "port-2": ()}
        assert sg_repo.groups_exist_visible(tx, [web["id"], "nope"], "alice") == {web["id"]}
        assert sg_repo.groups_exist_visible(tx, [web["id"]], "bob") == set()
        assert sg_repo.groups_exist_visible(tx, [web["id"]], None) == {web["id"]}
    r = client.delete(f"{SG}/{web['id']}", headers=ALICE)
    assert r.status_code == 409 and error_type(r) == "SecurityGroupInUse"
    assert r.json()["NeutronError"]["message"] == f"Security Group {web['id']} in use."
    r = client.put(f"{SG}/{web['id']}", json={"security_group": {"stateful": False}},
                   headers=ALICE)
    assert r.status_code == 409 and error_type(r) == "SecurityGroupInUse"
    with env.db.write() as tx:
        sg_repo.set_port_bindings(tx, "port-1", [])
    assert client.delete(f"{SG}/{web['id']}", headers=ALICE).status_code == 204


def test_projects_are_isolated(client: TestClient) -> None:
    web = new_group(client)
    rule = add_rule(client, web["id"], protocol="tcp").json()["security_group_rule"]
    bob_sees = {g["id"] for g in client.get(SG, headers=BOB).json()["security_groups"]}
    assert web["id"] not in bob_sees and len(bob_sees) == 1  # only bob's default
    for method in ("get", "delete"):
        r = getattr(client, method)(f"{SG}/{web['id']}", headers=BOB)
        assert r.status_code == 404 and error_type(r) == "SecurityGroupNotFound"
    r = client.put(f"{SG}/{web['id']}", json={"security_group": {"name": "x"}}, headers=BOB)
    assert r.status_code == 404
    r = add_rule(client, web["id"], headers=BOB)  # not the owner: cannot add rules
    assert r.status_code == 404 and error_type(r) == "SecurityGroupNotFound"
    bob_group = new_group(client, headers=BOB)
    r = add_rule(client, bob_group["id"], headers=BOB, remote_group_id=web["id"])
    assert r.status_code == 404 and error_type(r) == "SecurityGroupNotFound"
    for method in ("get", "delete"):
        r = getattr(client, method)(f"{RULES}/{rule['id']}", headers=BOB)
        assert r.status_code == 404 and error_type(r) == "SecurityGroupRuleNotFound"
    assert rule["id"] not in {
        r["id"] for r in client.get(RULES, headers=BOB).json()["security_group_rules"]}
    r = client.post(SG, json={"security_group": {"project_id": "alice"}}, headers=BOB)
    assert r.status_code == 403
    r = client.post(SG, json={"security_group": {}}, headers=as_project("alice", "reader"))
    assert r.status_code == 403


def test_admin_acts_for_a_project(client: TestClient) -> None:
    web = new_group(client)
    r = add_rule(client, web["id"], protocol="udp")
    assert r.status_code == 201 and r.json()["security_group_rule"]["project_id"] == "alice"
    group = client.post(SG, json={"security_group": {"name": "ops", "project_id": "carol"}})
    assert group.status_code == 201 and group.json()["security_group"]["project_id"] == "carol"
    names = {g["name"] for g in client.get(f"{SG}?project_id=carol").json()["security_groups"]}
    assert names == {"default", "ops"}


# --------------------------------------------------------------------------- rules


def test_rule_values_are_normalised(client: TestClient) -> None:
    gid = new_group(client)["id"]
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"protocol": "TCP", "port_range_min": "22", "port_range_max": 22},
         {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22}),
        ({"protocol": 17}, {"protocol": "17"}),
        ({"protocol": "any", "remote_ip_prefix": "10.0.0.5/24"},
         {"protocol": None, "remote_ip_prefix": "10.0.0.5/24", "normalized_cidr": "10.0.0.0/24"}),
        ({"remote_ip_prefix": "192.168.1.7"},
         {"remote_ip_prefix": "192.168.1.7/32", "normalized_cidr": "192.168.1.7/32"}),
        ({"ethertype": "ipv6", "protocol": "icmp", "port_range_min": 128},
         {"ethertype": "IPv6", "protocol": "ipv6-icmp", "port_range_min": 128}),
        ({"ethertype": "IPv6", "protocol": "1"}, {"protocol": "58"}),
        ({"ethertype": "IPv6", "protocol": "icmpv6", "remote_ip_prefix": "2001:db8::1/64"},
         {"protocol": "ipv6-icmp", "remote_ip_prefix": "2001:db8::1/64",
          "normalized_cidr": "2001:db8::/64"}),
        ({"protocol": "sctp", "port_range_min": 1, "port_range_max": 65535},
         {"protocol": "sctp", "port_range_min": None, "port_range_max": None}),
        ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0, "description": "ping"},
         {"port_range_min": 8, "port_range_max": 0, "description": "ping"}),
        ({"direction": "egress", "remote_group_id": gid}, {"remote_group_id": gid}),
    ]
    for body, expected in cases:
        r = add_rule(client, gid, **body)
        assert r.status_code == 201, (body, r.text)
        rule = r.json()["security_group_rule"]
        assert {k: rule[k] for k in expected} == expected, body
        assert client.get(f"{RULES}/{rule['id']}", headers=ALICE).json() == r.json()


BAD_RULES: list[tuple[dict[str, Any], int, str]] = [
    ({"protocol": "bogus"}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": 256}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"ethertype": "arp"}, 400, "SecurityGroupRuleInvalidEtherType"),
    ({"direction": "sideways"}, 400, "HTTPBadRequest"),
    ({"port_range_min": 22, "port_range_max": 22}, 400,
     "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "tcp", "port_range_min": 100, "port_range_max": 99}, 400,
     "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 22}, 400, "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 10}, 400,
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 70000}, 400,
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": "x", "port_range_max": 2}, 400,
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "icmp", "port_range_min": 256}, 400, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 256}, 400,
     "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_max": 0}, 400, "SecurityGroupMissingIcmpType"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2}, 400,
     "SecurityGroupInvalidProtocolForPort"),
    ({"remote_ip_prefix": "2001:db8::/64"}, 400, "SecurityGroupRuleParameterConflict"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, 400,
     "SecurityGroupRuleParameterConflict"),
    ({"remote_ip_prefix": "10.0.0.300/8"}, 400, "InvalidCIDR"),
    ({"protocol": "ipv6-icmp"}, 400, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"protocol": "58"}, 400, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "SELF"}, 400,
     "SecurityGroupMultipleRemoteEntites"),
    ({"remote_group_id": "11111111-2222-3333-4444-555555555555"}, 404,
     "SecurityGroupNotFound"),
    ({"bogus": 1}, 400, "HTTPBadRequest"),
    ({"port_range_min": None, "remote_address_group_id": "x"}, 400, "HTTPBadRequest"),
]


def test_rule_validation_matrix(client: TestClient) -> None:
    group = new_group(client)
    gid = group["id"]
    for body, status, type_ in BAD_RULES:
        if body.get("remote_group_id") == "SELF":
            body = {**body, "remote_group_id": gid}
        r = add_rule(client, gid, **body)
        assert (r.status_code, error_type(r)) == (status, type_), (body, r.text)
    r = client.post(RULES, json={"security_group_rule": {"security_group_id": gid}},
                    headers=ALICE)
    assert r.status_code == 400 and "direction" in r.json()["NeutronError"]["message"]
    r = client.post(RULES, json={"security_group_rule": {"direction": "ingress"}},
                    headers=ALICE)
    assert r.status_code == 400 and "security_group_id" in r.json()["NeutronError"]["message"]
    r = add_rule(client, "11111111-2222-3333-4444-555555555555")
    assert r.status_code == 404 and error_type(r) == "SecurityGroupNotFound"
    after = client.get(f"{SG}/{gid}", headers=ALICE).json()["security_group"]
    assert after["revision_number"] == 0 and len(after["security_group_rules"]) == 2


def test_rule_validation_messages_are_neutrons(client: TestClient) -> None:
    gid = new_group(client)["id"]
    r = add_rule(client, gid, protocol="tcp", port_range_min=9, port_range_max=8)
    assert r.json()["NeutronError"]["message"] == (
        "For TCP/UDP protocols, port_range_min must be <= port_range_max")
    r = add_rule(client, gid, ethertype="IPv6", remote_ip_prefix="10.0.0.1")
    assert r.json()["NeutronError"]["message"] == (
        "Conflicting value ethertype IPv6 for CIDR 10.0.0.1/32")
    r = add_rule(client, gid, protocol="gre", port_range_min=1, port_range_max=2)
    assert r.json()["NeutronError"]["message"] == (
        "Ports cannot be specified for protocol 47. "
        "Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.")


def test_duplicate_rules_are_refused(client: TestClient) -> None:
    gid = new_group(client)["id"]
    first = add_rule(client, gid, protocol="tcp", port_range_min=80, port_range_max=80)
    assert first.status_code == 201
    rid = first.json()["security_group_rule"]["id"]
    for same in ({"protocol": "tcp"}, {"protocol": "6"}, {"protocol": "TCP"}):
        r = add_rule(client, gid, port_range_min=80, port_range_max=80, **same)
        assert r.status_code == 409 and error_type(r) == "SecurityGroupRuleExists"
        assert r.json()["NeutronError"]["message"] == (
            f"Security group rule already exists. Rule id is {rid}.")
    # 0.0.0.0/0 means "anywhere", like no prefix: the template egress rule already says it.
    r = add_rule(client, gid, direction="egress", remote_ip_prefix="0.0.0.0/0")
    assert r.status_code == 409 and error_type(r) == "SecurityGroupRuleExists"
    r = add_rule(client, gid, direction="egress", ethertype="IPv6", protocol=None)
    assert r.status_code == 409
    # A different port, direction or prefix is a different rule.
    assert add_rule(client, gid, protocol="tcp", port_range_min=81,
                    port_range_max=81).status_code == 201
    assert add_rule(client, gid, direction="egress", protocol="tcp", port_range_min=80,
                    port_range_max=80).status_code == 201
    assert add_rule(client, gid, protocol="tcp", port_range_min=80, port_range_max=80,
                    remote_ip_prefix="10.0.0.0/8").status_code == 201


def test_rule_put_is_not_allowed(client: TestClient) -> None:
    gid = new_group(client)["id"]
    rid = add_rule(client, gid).json()["security_group_rule"]["id"]
    r = client.put(f"{RULES}/{rid}", json={"security_group_rule": {"description": "x"}},
                   headers=ALICE)
    assert r.status_code == 405


def test_rule_changes_bump_the_group_and_write_the_change_log(
    client: TestClient, env: Env
) -> None:
    group = new_group(client)
    gid = group["id"]
    assert log_entries(env, gid) == [("security_group", "create", 0)]
    r = add_rule(client, gid, protocol="tcp", port_range_min=443, port_range_max=443)
    rule = r.json()["security_group_rule"]
    after_add = client.get(f"{SG}/{gid}", headers=ALICE).json()["security_group"]
    assert after_add["revision_number"] == 1
    assert rule["id"] in {x["id"] for x in after_add["security_group_rules"]}
    assert log_entries(env, rule["id"]) == [("security_group_rule", "create", 0)]
    assert log_entries(env, gid) == [("security_group", "create", 0),
                                     ("security_group", "update", 1)]
    with env.db.read() as tx:
        body = tx.conn.execute(
            sa.select(change_log.c.body).where(change_log.c.resource_id == gid)
            .order_by(change_log.c.seq.desc()).limit(1)).scalar_one()
    assert rule["id"] in {x["id"] for x in body["rules"]}
    assert client.delete(f"{RULES}/{rule['id']}", headers=ALICE).status_code == 204
    assert client.get(f"{SG}/{gid}", headers=ALICE).json()["security_group"][
        "revision_number"] == 2
    assert log_entries(env, rule["id"])[-1] == ("security_group_rule", "delete", 0)
    assert log_entries(env, gid)[-1] == ("security_group", "update", 2)
    r = client.delete(f"{RULES}/{rule['id']}", headers=ALICE)
    assert r.status_code == 404 and error_type(r) == "SecurityGroupRuleNotFound"
    assert client.delete(f"{SG}/{gid}", headers=ALICE).status_code == 204
    assert log_entries(env, gid)[-1] == ("security_group", "delete", 2)
    for template_rule in group["security_group_rules"]:
        assert log_entries(env, template_rule["id"])[-1][1] == "delete"


def test_deleting_a_group_removes_rules_that_name_it_as_remote(
    client: TestClient, env: Env
) -> None:
    db_tier, web = new_group(client, "db"), new_group(client, "web")
    r = add_rule(client, db_tier["id"], protocol="tcp", port_range_min=5432,
                 port_range_max=5432, remote_group_id=web["id"])
    assert r.status_code == 201
    rid = r.json()["security_group_rule"]["id"]
    assert client.delete(f"{SG}/{web['id']}", headers=ALICE).status_code == 204
    after = client.get(f"{SG}/{db_tier['id']}", headers=ALICE).json()["security_group"]
    assert rid not in {x["id"] for x in after["security_group_rules"]}
    assert after["revision_number"] == 2
    assert log_entries(env, rid)[-1] == ("security_group_rule", "delete", 0)


def test_bulk_rule_create_is_all_or_nothing(client: TestClient) -> None:
    gid = new_group(client)["id"]
    other = new_group(client, "other")["id"]

    def bulk(*rules: dict[str, Any]) -> Any:
        body = {"security_group_rules": [
            {"security_group_id": gid, "direction": "ingress", **rule} for rule in rules]}
        return client.post(RULES, json=body, headers=ALICE)

    r = bulk({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
             {"protocol": "udp", "port_range_min": 53, "port_range_max": 53},
             {"protocol": "tcp", "port_range_min": 9, "port_range_max": 1})
    assert r.status_code == 400 and error_type(r) == "SecurityGroupInvalidPortRange"
    r = bulk({"protocol": "tcp"}, {"protocol": "icmp"}, {"protocol": "6"})
    assert r.status_code == 409 and error_type(r) == "DuplicateSecurityGroupRuleInPost"
    r = bulk({"protocol": "tcp"}, {"protocol": "udp", "security_group_id": other})
    assert r.status_code == 400 and error_type(r) == "SecurityGroupNotSingleGroupRules"
    group = client.get(f"{SG}/{gid}", headers=ALICE).json()["security_group"]
    assert len(group["security_group_rules"]) == 2 and group["revision_number"] == 0
    r = bulk({"protocol": "tcp"}, {"protocol": "udp"})
    assert r.status_code == 201
    created = r.json()["security_group_rules"]
    assert [x["protocol"] for x in created] == ["tcp", "udp"]
    group = client.get(f"{SG}/{gid}", headers=ALICE).json()["security_group"]
    assert len(group["security_group_rules"]) == 4


def test_rule_list_filters_and_sorting(client: TestClient) -> None:
    gid = new_group(client)["id"]
    add_rule(client, gid, protocol="tcp", port_range_min=22, port_range_max=22,
             remote_ip_prefix="10.1.2.3/16")
    add_rule(client, gid, protocol="udp", port_range_min=53, port_range_max=53)
    add_rule(client, gid, ethertype="IPv6", protocol="tcp")

    def listed(query: str) -> list[dict[str, Any]]:
        r = client.get(f"{RULES}?{query}", headers=ALICE)
        assert r.status_code == 200, r.text
        return list(r.json()["security_group_rules"])

    assert len(listed(f"security_group_id={gid}")) == 5
    assert len(listed(f"security_group_id={gid}&direction=ingress")) == 3
    assert len(listed(f"security_group_id={gid}&protocol=tcp")) == 2
    assert len(listed(f"security_group_id={gid}&ethertype=IPv6")) == 2
    assert [r["port_range_min"] for r in listed("port_range_min=53")] == [53]
    assert len(listed("normalized_cidr=10.1.0.0/16")) == 1
    assert len(listed("remote_ip_prefix=10.1.2.3/16")) == 1
    assert len(listed("belongs_to_default_sg=true")) == 4  # alice's default group
    assert len(listed("belongs_to_default_sg=false")) == 5
    ports = [r["port_range_min"] for r in listed(
        f"security_group_id={gid}&ethertype=IPv4&direction=ingress&sort_key=port_range_min"
        "&sort_dir=desc")]
    assert ports == [53, 22]
    slim = listed(f"security_group_id={gid}&fields=id&fields=protocol")
    assert all(set(r) == {"id", "protocol"} for r in slim)
    assert client.get(f"{RULES}?bogus=1", headers=ALICE).status_code == 400


def test_quotas_count_groups_and_rules(client: TestClient) -> None:
    r = client.put("/v2.0/quotas/alice", json={"quota": {"security_group": 2,
                                                          "security_group_rule": 7}})
    assert r.status_code == 200
    gid = new_group(client)["id"]  # default (4 rules) + web (2 rules) = 2 groups, 6 rules
    r = client.post(SG, json={"security_group": {"name": "more"}}, headers=ALICE)
    assert r.status_code == 409 and error_type(r) == "OverQuota"
    assert add_rule(client, gid, protocol="tcp").status_code == 201
    r = add_rule(client, gid, protocol="udp")
    assert r.status_code == 409 and error_type(r) == "OverQuota"


def test_extensions_are_advertised(client: TestClient) -> None:
    aliases = {e["alias"] for e in client.get("/v2.0/extensions").json()["extensions"]}
    assert {"security-group", "stateful-security-group", "security-groups-normalized-cidr",
            "security-groups-rules-belongs-to-default-sg"} <= aliases
    assert "security-groups-remote-address-group" not in aliases


def test_default_groups_table_holds_one_row_per_project(client: TestClient, env: Env) -> None:
    for headers in (ALICE, BOB, ALICE, BOB):
        client.get(SG, headers=headers)
    with env.db.read() as tx:
        rows = tx.conn.execute(sa.select(default_security_groups.c.project_id)).all()
    assert sorted(r[0] for r in rows) == ["alice", "bob"]


def test_group_tags(client: TestClient) -> None:
    web = new_group(client, tags=["a"])
    url = f"{SG}/{web['id']}"
    assert client.put(f"{url}/tags/b", headers=ALICE).status_code == 201
    shown = client.get(url, headers=ALICE).json()["security_group"]
    assert shown["tags"] == ["a", "b"] and shown["revision_number"] == 1
    assert len(shown["security_group_rules"]) == 2
    listed = client.get(f"{SG}?tags=b", headers=ALICE).json()["security_groups"]
    assert [g["id"] for g in listed] == [web["id"]]
    assert client.put(f"{url}/tags/c", headers=BOB).status_code == 404
