"""Agents through the real app: registration by heartbeat, Neutron's agent resource, and
port binding by the linux mechanism driver as agents come, go and change; on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from neutrino import wire
from neutrino.services._env import Env
from tests.api.helpers import ALICE, err, net, port, rows, subnet
from tests.api.helpers import changes as changes_of

AGENT = {"X-Project-Id": "neutrino-agent", "X-Roles": "service", "X-Neutrino-Protocol": "1.0"}
READER = {**ALICE, "X-Roles": "reader"}
NEUTRON_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def report(client: TestClient, host: str, headers: dict[str, str] | None = None,
           expect: int = 200, **fields: Any) -> dict[str, Any]:
    body = {"agent": {"host": host, "protocol": "1.0", **fields}}
    r = client.post("/v2.0/neutrino/agents", json=body, headers=headers or AGENT)
    assert r.status_code == expect, r.text
    return dict(r.json())


def log_size(env: Env) -> int:
    return len(rows(env, "SELECT seq FROM change_log"))


def make_down(env: Env, host: str) -> None:
    """The agent's last heartbeat was ten minutes ago (past agent_down_time)."""
    past = (datetime.now(UTC) - timedelta(minutes=10)).replace(tzinfo=None)
    with env.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE agents SET heartbeat_timestamp = :t WHERE host = :h"),
                     {"t": past, "h": host})


def bound_port(client: TestClient, network: str, host: str) -> dict[str, Any]:
    return port(client, network, **{"binding:host_id": host, "device_owner": "compute:nova"})


# -- registration ---------------------------------------------------------------------------


def test_registration_answers_a_neutron_agent_body(client: TestClient, env: Env) -> None:
    body = report(client, "host-a", local_ip="192.0.2.1",
                  physical_interfaces={"physnet1": "eth1"}, applied_seq=0)
    assert body["protocol"] == wire.PROTOCOL_VERSION
    agent = body["agent"]
    assert agent["host"] == "host-a" and agent["agent_type"] == "Linux bridge agent"
    assert agent["binary"] == "neutrino-agent" and agent["topic"] == "N/A"
    assert agent["admin_state_up"] is True and agent["alive"] is True
    assert agent["configurations"] == {"local_ip": "192.0.2.1", "protocol": "1.0",
                                       "physical_interfaces": {"physnet1": "eth1"},
                                       "applied_seq": 0}
    for key in ("created_at", "started_at", "heartbeat_timestamp"):
        assert NEUTRON_TIME.match(agent[key]), agent[key]
    assert agent["availability_zone"] is None and agent["resources_synced"] is None
    assert agent["description"] is None
    assert changes_of(env, "agent", agent["id"]) == ["create"]


def test_plain_heartbeats_append_nothing_but_config_changes_do(
    client: TestClient, env: Env
) -> None:
    first = report(client, "host-a", local_ip="192.0.2.1")["agent"]
    before = log_size(env)
    again = report(client, "host-a", local_ip="192.0.2.1", applied_seq=7)["agent"]
    assert again["id"] == first["id"] and again["configurations"]["applied_seq"] == 7
    assert log_size(env) == before  # heartbeats every few seconds: no change-log noise
    moved = report(client, "host-a", local_ip="192.0.2.9")["agent"]
    assert moved["configurations"]["local_ip"] == "192.0.2.9"
    assert changes_of(env, "agent", first["id"]) == ["create", "update"]
    report(client, "host-a", local_ip="192.0.2.9", physical_interfaces={"physnet1": "eth1"})
    assert changes_of(env, "agent", first["id"]) == ["create", "update", "update"]
    assert len(rows(env, "SELECT id FROM agents")) == 1


def test_an_agent_coming_back_alive_is_a_change(client: TestClient, env: Env) -> None:
    agent = report(client, "host-a")["agent"]
    make_down(env, "host-a")
    shown = client.get(f"/v2.0/agents/{agent['id']}").json()["agent"]
    assert shown["alive"] is False
    assert report(client, "host-a")["agent"]["alive"] is True
    assert changes_of(env, "agent", agent["id"]) == ["create", "update"]


def test_other_protocol_majors_are_refused(client: TestClient, env: Env) -> None:
    r = client.post("/v2.0/neutrino/agents", json={"agent": {"host": "h", "protocol": "2.0"}},
                    headers={**AGENT, "X-Neutrino-Protocol": "2.0"})
    assert r.status_code == 400 and err(r) == "IncompatibleProtocolVersion"
    assert "upgrade" in r.json()["NeutronError"]["message"]
    r = client.post("/v2.0/neutrino/agents", json={"agent": {"host": "h", "protocol": "2.0"}},
                    headers=AGENT)
    assert r.status_code == 400 and err(r) == "IncompatibleProtocolVersion"
    assert rows(env, "SELECT id FROM agents") == []


def test_reports_need_the_service_role_and_a_valid_body(client: TestClient) -> None:
    r = client.post("/v2.0/neutrino/agents", json={"agent": {"host": "h", "protocol": "1.0"}},
                    headers=ALICE)
    assert r.status_code == 403 and err(r) == "PolicyNotAuthorized"
    report(client, "h", expect=400, local_ip="not-an-ip")
    report(client, "", expect=400)
    bare = client.post("/v2.0/neutrino/agents", json={"host": "bare", "protocol": "1.0"},
                       headers=AGENT)
    assert bare.status_code == 200 and bare.json()["agent"]["host"] == "bare"


# -- Neutron's agent resource -----------------------------------------------------------------


def test_admin_lists_shows_updates_and_deletes(client: TestClient, env: Env) -> None:
    a = report(client, "host-a", local_ip="192.0.2.1")["agent"]
    b = report(client, "host-b")["agent"]
    listed = client.get("/v2.0/agents").json()["agents"]
    assert {x["id"] for x in listed} == {a["id"], b["id"]}
    assert client.get(f"/v2.0/agents/{a['id']}").json()["agent"]["host"] == "host-a"
    ids = lambda q: {x["id"] for x in client.get(f"/v2.0/agents?{q}").json()["agents"]}  # noqa: E731
    assert ids("host=host-b") == {b["id"]}
    assert ids("agent_type=Linux%20bridge%20agent") == {a["id"], b["id"]}
    make_down(env, "host-b")
    assert ids("alive=false") == {b["id"]} and ids("alive=true") == {a["id"]}
    only = client.get("/v2.0/agents?fields=id&fields=alive&sort_key=host").json()["agents"]
    assert only == [{"id": a["id"], "alive": True}, {"id": b["id"], "alive": False}]

    r = client.put(f"/v2.0/agents/{a['id']}", json={"agent": {
        "description": "description for update agent.", "admin_state_up": False}})
    assert r.status_code == 200, r.text
    assert r.json()["agent"]["description"] == "description for update agent."
    assert r.json()["agent"]["admin_state_up"] is False
    r = client.put(f"/v2.0/agents/{a['id']}", json={"agent": {"host": "x"}})
    assert r.status_code == 400
    assert client.delete(f"/v2.0/agents/{b['id']}").status_code == 204
    assert client.get(f"/v2.0/agents/{b['id']}").status_code == 404
    assert changes_of(env, "agent", b["id"]) == ["create", "delete"]


def test_non_admins_see_no_agents(client: TestClient) -> None:
    """Neutron's policy: get/update/delete_agent are admin-only; Tempest's
    test_list_agents_non_admin expects an empty list, and members are not found."""
    agent = report(client, "host-a")["agent"]
    for headers in (ALICE, READER, AGENT):
        r = client.get("/v2.0/agents", headers=headers)
        assert r.status_code == 200 and r.json() == {"agents": []}
        r = client.get(f"/v2.0/agents/{agent['id']}", headers=headers)
        assert r.status_code == 404 and err(r) == "AgentNotFound"
    r = client.put(f"/v2.0/agents/{agent['id']}", json={"agent": {"description": "x"}},
                   headers=ALICE)
    assert r.status_code == 404
    assert client.delete(f"/v2.0/agents/{agent['id']}", headers=ALICE).status_code == 404
    assert client.get(f"/v2.0/agents/{agent['id']}").json()["agent"]["description"] is None


# -- binding ----------------------------------------------------------------------------------


def test_binding_follows_the_hosts_agent(client: TestClient, env: Env) -> None:
    n = net(client)  # a tenant network: vxlan
    subnet(client, n, "10.1.0.0/24")
    failed = bound_port(client, n, "host-a")
    assert failed["binding:vif_type"] == "binding_failed"  # no agent on host-a

    report(client, "host-a")  # no local_ip: cannot carry vxlan
    assert client.get(f"/v2.0/ports/{failed['id']}").json()["port"][
        "binding:vif_type"] == "binding_failed"

    before = changes_of(env, "port", failed["id"])
    report(client, "host-a", local_ip="192.0.2.1")  # now it can: the failed port is rebound
    again = client.get(f"/v2.0/ports/{failed['id']}").json()["port"]
    assert again["binding:vif_type"] == "bridge" and again["status"] == "DOWN"
    assert again["binding:vif_details"] == {"port_filter": True, "connectivity": "l2"}
    assert again["revision_number"] == failed["revision_number"] + 1
    assert changes_of(env, "port", failed["id"]) == [*before, "update"]

    ok = bound_port(client, n, "host-a")
    assert ok["binding:vif_type"] == "bridge"

    make_down(env, "host-a")
    late = bound_port(client, n, "host-a")
    assert late["binding:vif_type"] == "binding_failed"  # the agent is down
    assert client.get(f"/v2.0/ports/{ok['id']}").json()["port"][
        "binding:vif_type"] == "bridge"  # bound ports stay bound, as in Neutron
    report(client, "host-a", local_ip="192.0.2.1")  # back alive: rebinds in the same request
    assert client.get(f"/v2.0/ports/{late['id']}").json()["port"][
        "binding:vif_type"] == "bridge"


def test_binding_checks_physical_networks_and_admin_state(client: TestClient) -> None:
    flat = net(client, **{"provider:network_type": "flat",
                          "provider:physical_network": "physnet1"})
    vlan = net(client, **{"provider:network_type": "vlan",
                          "provider:physical_network": "physnet2",
                          "provider:segmentation_id": 101})
    local = net(client, **{"provider:network_type": "local"})
    agent = report(client, "host-a", physical_interfaces={"physnet1": "eth1"})["agent"]
    assert bound_port(client, flat, "host-a")["binding:vif_type"] == "bridge"
    assert bound_port(client, vlan, "host-a")["binding:vif_type"] == "binding_failed"
    assert bound_port(client, local, "host-a")["binding:vif_type"] == "bridge"
    direct = port(client, local, **{"binding:host_id": "host-a", "binding:vnic_type": "direct"})
    assert direct["binding:vif_type"] == "binding_failed"  # linuxbridge plugs normal vNICs

    client.put(f"/v2.0/agents/{agent['id']}", json={"agent": {"admin_state_up": False}})
    disabled = bound_port(client, local, "host-a")
    assert disabled["binding:vif_type"] == "binding_failed"
    client.put(f"/v2.0/agents/{agent['id']}", json={"agent": {"admin_state_up": True}})
    assert client.get(f"/v2.0/ports/{disabled['id']}").json()["port"][
        "binding:vif_type"] == "bridge"  # enabling the agent binds what failed


def test_moving_a_port_rebinds_it_and_sets_it_down(client: TestClient) -> None:
    n = net(client, **{"provider:network_type": "local"})
    report(client, "host-a")
    p = bound_port(client, n, "host-a")
    client.put(f"/v2.0/neutrino/ports/{p['id']}/status", headers=AGENT,
               json={"status": {"status": "ACTIVE", "revision": p["revision_number"]}})
    assert client.get(f"/v2.0/ports/{p['id']}").json()["port"]["status"] == "ACTIVE"
    moved = client.put(f"/v2.0/ports/{p['id']}", json={"port": {"binding:host_id": "host-b"}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["port"]["binding:vif_type"] == "binding_failed"
    assert moved.json()["port"]["status"] == "DOWN"
    back = client.put(f"/v2.0/ports/{p['id']}", json={"port": {"binding:host_id": "host-a"}})
    assert back.json()["port"]["binding:vif_type"] == "bridge"
    unbound = client.put(f"/v2.0/ports/{p['id']}", json={"port": {"binding:host_id": ""}})
    assert unbound.json()["port"]["binding:vif_type"] == "unbound"


def test_the_agent_extension_is_advertised_with_its_resource(client: TestClient) -> None:
    """`agent` is listed because `/v2.0/agents` serves Neutron's agent resource (list, show,
    update of admin_state_up/description, delete); no invented aliases beside it."""
    aliases = {e["alias"] for e in client.get("/v2.0/extensions").json()["extensions"]}
    assert "agent" in aliases and "dns-domain" not in aliases
    shown = client.get("/v2.0/extensions/agent").json()["extension"]
    assert shown["description"] == "The agent management extension."
    report(client, "ext-host")
    listed = client.get("/v2.0/agents?host=ext-host").json()["agents"]
    assert [a["host"] for a in listed] == ["ext-host"]
