"""Metering labels and rules, and the service-providers list, through the real app on SQLite
and PostgreSQL, checked against Neutron's behaviour (metering_db, metering_plugin)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from neutrino.services._env import Env
from tests.api.helpers import ADMIN, ALICE, BOB, changes, err, rows
from tests.conftest import as_project

LABELS = "/v2.0/metering/metering-labels"
RULES = "/v2.0/metering/metering-label-rules"
ALICE_MANAGER = as_project("alice", "manager,member,reader")
ALICE_READER = as_project("alice", "reader")


def label(client: TestClient, headers: dict[str, str] | None = None, **attrs: Any
          ) -> dict[str, Any]:
    r = client.post(LABELS, json={"metering_label": attrs}, headers=headers or {})
    assert r.status_code == 201, r.text
    return dict(r.json()["metering_label"])


def rule(client: TestClient, label_id: str, expect: int = 201,
         headers: dict[str, str] | None = None, **attrs: Any) -> Any:
    body = {"metering_label_rule": {"metering_label_id": label_id, "direction": "ingress",
                                    **attrs}}
    r = client.post(RULES, json=body, headers=headers or {})
    assert r.status_code == expect, r.text
    return r.json().get("metering_label_rule", r.json())


def test_label_lifecycle(client: TestClient, env: Env) -> None:
    lab = label(client, name="l1", description="d" * 1024)
    assert set(lab) == {"id", "project_id", "tenant_id", "name", "description", "shared"}
    assert lab["project_id"] == lab["tenant_id"] == "admin" and lab["shared"] is False
    assert client.get(f"{LABELS}/{lab['id']}").json()["metering_label"] == lab
    listed = client.get(f"{LABELS}?id={lab['id']}").json()["metering_labels"]
    assert listed == [lab]
    assert client.get(f"{LABELS}?id=33").json() == {"metering_labels": []}
    shared = label(client, name="s", shared=True)
    assert shared["shared"] is True
    by_shared = client.get(f"{LABELS}?shared=true").json()["metering_labels"]
    assert [x["id"] for x in by_shared] == [shared["id"]]
    put = client.put(f"{LABELS}/{lab['id']}", json={"metering_label": {"name": "x"}})
    assert put.status_code == 405
    assert client.delete(f"{LABELS}/{lab['id']}").status_code == 204
    gone = client.get(f"{LABELS}/{lab['id']}")
    assert gone.status_code == 404 and err(gone) == "MeteringLabelNotFound"
    assert client.delete(f"{LABELS}/{lab['id']}").status_code == 404
    assert changes(env, "metering_label", lab["id"]) == ["create", "delete"]


def test_label_input_errors(client: TestClient, env: Env) -> None:
    for attrs in ({"description": "d" * 1025}, {"shared": "maybe"}, {"bogus": 1},
                  {"name": "x" * 256}):
        r = client.post(LABELS, json={"metering_label": attrs})
        assert r.status_code == 400, attrs
    assert rows(env, "SELECT id FROM metering_labels") == []


def test_rule_lifecycle_and_overlaps(client: TestClient, env: Env) -> None:
    lab = label(client, name="l")
    r1 = rule(client, lab["id"], remote_ip_prefix="10.0.0.0/24")
    assert set(r1) == {"id", "metering_label_id", "direction", "excluded", "remote_ip_prefix",
                       "source_ip_prefix", "destination_ip_prefix"}
    assert r1["excluded"] is False and r1["remote_ip_prefix"] == "10.0.0.0/24"
    assert r1["source_ip_prefix"] is None and r1["destination_ip_prefix"] is None
    assert client.get(f"{RULES}/{r1['id']}").json()["metering_label_rule"] == r1
    # same label, direction and kind: overlapping prefixes conflict
    over = rule(client, lab["id"], 409, remote_ip_prefix="10.0.0.128/25")
    assert over["NeutronError"]["type"] == "MeteringLabelRuleOverlaps"
    # another direction, excluded, or another version is fine
    rule(client, lab["id"], remote_ip_prefix="10.0.0.0/25", direction="egress")
    rule(client, lab["id"], remote_ip_prefix="10.0.0.0/25", excluded=True)
    v6 = rule(client, lab["id"], remote_ip_prefix="fd02::/64")
    assert v6["remote_ip_prefix"] == "fd02::/64"
    src = rule(client, lab["id"], source_ip_prefix="192.168.0.7",
               destination_ip_prefix="172.16.0.0/16")
    assert src["source_ip_prefix"] == "192.168.0.7/32"
    by_label = client.get(f"{RULES}?metering_label_id={lab['id']}&direction=egress").json()
    assert len(by_label["metering_label_rules"]) == 1
    assert client.get(f"{RULES}?id=33").json() == {"metering_label_rules": []}
    assert client.delete(f"{RULES}/{r1['id']}").status_code == 204
    gone = client.get(f"{RULES}/{r1['id']}")
    assert gone.status_code == 404 and err(gone) == "MeteringLabelRuleNotFound"
    # deleting the label takes its rules along, each logged
    assert client.delete(f"{LABELS}/{lab['id']}").status_code == 204
    assert rows(env, "SELECT id FROM metering_label_rules") == []
    assert changes(env, "metering_label_rule", v6["id"]) == ["create", "delete"]


def test_rule_input_errors(client: TestClient, env: Env) -> None:
    lab = label(client)
    missing = rule(client, lab["id"], 400)
    assert missing["NeutronError"]["type"] == "Invalid"
    both = rule(client, lab["id"], 400, remote_ip_prefix="10.0.0.0/24",
                source_ip_prefix="10.1.0.0/24")
    assert both["NeutronError"]["type"] == "Invalid"
    assert rule(client, lab["id"], 400, remote_ip_prefix="10.0.0.0")["NeutronError"]
    assert rule(client, lab["id"], 400, remote_ip_prefix="10.0.0.0/24", direction="up")
    no_label = rule(client, "0b5d2a4e-0000-4000-8000-000000000000", 404,
                    remote_ip_prefix="10.0.0.0/24")
    assert no_label["NeutronError"]["type"] == "MeteringLabelNotFound"
    no_dir = client.post(RULES, json={"metering_label_rule": {
        "metering_label_id": lab["id"], "remote_ip_prefix": "10.0.0.0/24"}})
    assert no_dir.status_code == 400
    assert rows(env, "SELECT id FROM metering_label_rules") == []


def test_policy(client: TestClient, env: Env) -> None:
    # members may not create; managers may, for their own project; readers may read
    r = client.post(LABELS, json={"metering_label": {}}, headers=ALICE)
    assert r.status_code == 403 and err(r) == "PolicyNotAuthorized"
    mine = label(client, ALICE_MANAGER, name="alice's")
    assert mine["project_id"] == "alice"
    other = client.post(LABELS, json={"metering_label": {"project_id": "bob"}},
                        headers=ALICE_MANAGER)
    assert other.status_code == 403
    admins = label(client, ADMIN, name="admin's", shared=True)
    seen = client.get(LABELS, headers=ALICE_READER).json()["metering_labels"]
    assert [x["id"] for x in seen] == [mine["id"]]
    assert client.get(f"{LABELS}/{admins['id']}", headers=ALICE).status_code == 404
    assert client.get(f"{LABELS}/{mine['id']}", headers=BOB).status_code == 404
    r1 = rule(client, mine["id"], headers=ALICE_MANAGER, remote_ip_prefix="10.0.0.0/24")
    assert rule(client, mine["id"], 403, headers=ALICE, remote_ip_prefix="10.9.0.0/24")
    assert rule(client, admins["id"], 404, headers=ALICE_MANAGER,
                remote_ip_prefix="10.0.0.0/24")
    assert client.get(f"{RULES}/{r1['id']}", headers=ALICE_READER).status_code == 200
    assert client.get(f"{RULES}/{r1['id']}", headers=BOB).status_code == 404
    assert client.delete(f"{RULES}/{r1['id']}", headers=ALICE).status_code == 403
    assert client.delete(f"{LABELS}/{mine['id']}", headers=ALICE_READER).status_code == 403
    assert client.delete(f"{LABELS}/{mine['id']}", headers=ALICE_MANAGER).status_code == 204
    assert len(rows(env, "SELECT id FROM metering_labels")) == 1


def test_service_providers(client: TestClient) -> None:
    for headers in (ALICE_READER, ADMIN):
        r = client.get("/v2.0/service-providers", headers=headers)
        assert r.status_code == 200 and r.json() == {"service_providers": []}
    assert client.get("/v2.0/service-providers?service_type=LOADBALANCER").status_code == 200
    bad = client.get("/v2.0/service-providers?bogus=1")
    assert bad.status_code == 400
