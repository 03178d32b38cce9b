"""`GET /v2.0/changes` through the real app: entries, resume, long-poll, too-old, protocol,
policy, and compaction by the running app; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from neutrino import changes
from neutrino.api.app import build_app
from neutrino.api.auth import NoAuth
from neutrino.db import Database, make_engine
from neutrino.domain.context import Context
from neutrino.domain.network import NetworkCreate
from neutrino.services import networks
from neutrino.services._env import Env
from tests.conftest import as_project

ALICE = as_project("alice")
AGENT = {"X-Project-Id": "service", "X-Roles": "service", "X-Neutrino-Protocol": "1.0"}


def error_type(resp: Any) -> str:
    return str(resp.json()["NeutronError"]["type"])


def watch(client: TestClient, **params: Any) -> Any:
    r = client.get("/v2.0/changes", params=params, headers=AGENT)
    assert r.status_code == 200, r.text
    return r.json()


def network_entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in body["changes"] if c["resource"] == "network"]


def test_mutations_through_the_api_appear_in_order(client: TestClient) -> None:
    a = client.post("/v2.0/networks", json={"network": {"name": "a"}}).json()["network"]
    client.put(f"/v2.0/networks/{a['id']}", json={"network": {"name": "a2"}})
    bulk = client.post("/v2.0/networks", json={"networks": [{"name": "b"}, {"name": "c"}]})
    assert bulk.status_code == 201, bulk.text
    client.delete(f"/v2.0/networks/{a['id']}")
    body = watch(client)
    seqs = [c["seq"] for c in body["changes"]]
    assert seqs == list(range(1, len(seqs) + 1)) and body["last_seq"] == seqs[-1]
    assert body["protocol"] == 1
    entries = network_entries(body)
    assert [(c["op"], c["body"] and c["body"]["name"]) for c in entries] == [
        ("create", "a"), ("update", "a2"), ("create", "b"), ("create", "c"), ("delete", None)]
    assert [c["revision"] for c in entries] == [0, 1, 0, 0, 1]
    assert entries[0]["resource_id"] == a["id"] and entries[0]["project_id"] == "admin"


def test_failed_requests_append_nothing(client: TestClient) -> None:
    client.post("/v2.0/networks", json={"network": {"name": "ok"}})
    before = watch(client)["last_seq"]
    bad = [
        client.post("/v2.0/networks", json={"network": {"name": 5}}),
        client.post("/v2.0/networks", json={"networks": [{"name": "x"}, {"mtu": 99999}]}),
        client.post("/v2.0/networks", content=b"{not json"),
        client.put("/v2.0/networks/nope", json={"network": {"name": "y"}}),
        client.delete("/v2.0/networks/nope"),
        client.post("/v2.0/networks", json={"network": {"shared": True}}, headers=ALICE),
    ]
    assert [r.status_code for r in bad] == [400, 400, 400, 404, 404, 403]
    after = watch(client, since=before)
    assert after == {"changes": [], "last_seq": before, "protocol": 1}


def test_resume_from_seq_with_limit(client: TestClient) -> None:
    for i in range(4):
        client.post("/v2.0/networks", json={"network": {"name": f"n{i}"}})
    last = watch(client)["last_seq"]
    first = watch(client, since=0, limit=2)
    assert [c["seq"] for c in first["changes"]] == [1, 2] and first["last_seq"] == last
    rest = watch(client, since=2)
    assert [c["seq"] for c in rest["changes"]] == list(range(3, last + 1))


def test_long_poll_returns_when_a_change_commits_in_this_process(
    client: TestClient, env: Env
) -> None:
    since = watch(client)["last_seq"]
    timer = threading.Timer(0.3, networks.create, (env, Context.admin("admin"),
                                                   NetworkCreate(name="late")))
    started = time.monotonic()
    timer.start()
    body = watch(client, since=since, timeout=20)
    elapsed = time.monotonic() - started
    timer.join()
    assert [c["body"]["name"] for c in network_entries(body)] == ["late"]
    assert 0.25 <= elapsed < 5, elapsed


def test_long_poll_sees_a_commit_by_another_process(client: TestClient, env: Env) -> None:
    """Another `Database` on the same URL stands for another server process: on PostgreSQL its
    commit arrives by NOTIFY, on SQLite by the polling fallback."""
    other = Database(make_engine(env.db.engine.url.render_as_string(hide_password=False)))
    try:
        since = watch(client)["last_seq"]
        if env.db.dialect == "postgresql":
            feed = client.app.state.feed  # type: ignore[attr-defined]
            deadline = time.monotonic() + 5
            while not feed.listening and time.monotonic() < deadline:
                time.sleep(0.01)
            assert feed.listening
        timer = threading.Timer(0.3, networks.create, (Env(db=other, config=env.config),
                                                       Context.admin("admin"),
                                                       NetworkCreate(name="elsewhere")))
        started = time.monotonic()
        timer.start()
        body = watch(client, since=since, timeout=20)
        elapsed = time.monotonic() - started
        timer.join()
    finally:
        other.engine.dispose()
    assert [c["body"]["name"] for c in network_entries(body)] == ["elsewhere"]
    assert elapsed < 5, elapsed


def test_long_poll_times_out_empty(client: TestClient) -> None:
    client.post("/v2.0/networks", json={"network": {"name": "a"}})
    since = watch(client)["last_seq"]
    started = time.monotonic()
    body = watch(client, since=since, timeout=0.6)
    assert body == {"changes": [], "last_seq": since, "protocol": 1}
    assert 0.55 <= time.monotonic() - started < 3


def test_compacted_seq_is_gone_with_a_resync_hint(client: TestClient, env: Env) -> None:
    for i in range(5):
        client.post("/v2.0/networks", json={"network": {"name": f"n{i}"}})
    last = watch(client)["last_seq"]
    changes.compact(env.db, keep=2)
    r = client.get("/v2.0/changes", params={"since": 1}, headers=AGENT)
    assert r.status_code == 410
    err = r.json()["NeutronError"]
    assert err["type"] == "ChangesTooOld" and err["detail"] == f"resume_from={last}"
    assert "resync" in err["message"]
    assert [c["seq"] for c in watch(client, since=last - 2)["changes"]] == [last - 1, last]
    r = client.get("/v2.0/changes", params={"since": last + 5}, headers=AGENT)
    assert r.status_code == 410 and error_type(r) == "ChangesTooOld"


@pytest.mark.parametrize("version", ["2", "0.9", "abc", "2.0"])
def test_unsupported_protocol_version_is_a_clear_400(client: TestClient, version: str) -> None:
    r = client.get("/v2.0/changes", headers={**AGENT, "X-Neutrino-Protocol": version})
    assert r.status_code == 400
    assert error_type(r) == "IncompatibleProtocolVersion"
    assert f"version {version} is not supported" in r.json()["NeutronError"]["message"]
    assert "supported major versions: 1" in r.json()["NeutronError"]["message"]


def test_supported_protocol_versions(client: TestClient) -> None:
    for headers in ({"X-Neutrino-Protocol": "1"}, {"X-Neutrino-Protocol": "1.7"}, {}):
        assert client.get("/v2.0/changes", headers=headers).status_code == 200
    assert client.get("/v2.0/changes?protocol=1").status_code == 200
    assert client.get("/v2.0/changes?protocol=3").status_code == 400


@pytest.mark.parametrize("roles", ["member", "reader", "member,reader"])
def test_only_admin_or_service_may_watch(client: TestClient, roles: str) -> None:
    r = client.get("/v2.0/changes", headers=as_project("alice", roles))
    assert r.status_code == 403 and error_type(r) == "PolicyNotAuthorized"
    assert client.get("/v2.0/changes", headers=as_project("svc", "service")).status_code == 200
    assert client.get("/v2.0/changes", headers=as_project("ops", "admin")).status_code == 200


@pytest.mark.parametrize("query", ["since=-1", "since=abc", "since=1.5", "limit=x",
                                   "timeout=soon", "timeout=-2", "timeout=nan"])
def test_bad_parameters_are_400(client: TestClient, query: str) -> None:
    r = client.get(f"/v2.0/changes?{query}", headers=AGENT)
    assert r.status_code == 400 and error_type(r) == "HTTPBadRequest"


@pytest.fixture
def compacting_client(env: Env) -> Iterator[TestClient]:
    """The app with compaction every 50 ms down to 3 entries."""
    config = replace(env.config, change_log_keep=3, change_log_compact_every=0.05)
    app = build_app(Env(db=env.db, config=config), NoAuth(default_project="admin"))
    with TestClient(app, base_url="http://127.0.0.1:9696") as c:
        yield c


def test_running_app_compacts_in_the_background(compacting_client: TestClient) -> None:
    client = compacting_client
    for i in range(8):
        client.post("/v2.0/networks", json={"network": {"name": f"n{i}"}})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = client.get("/v2.0/changes", params={"since": 0}, headers=AGENT)
        if r.status_code == 410:
            break
        time.sleep(0.05)
    assert r.status_code == 410 and error_type(r) == "ChangesTooOld"
    resume = int(r.json()["NeutronError"]["detail"].removeprefix("resume_from="))
    kept = watch(client, since=resume - 3)["changes"]
    assert [c["seq"] for c in kept] == [resume - 2, resume - 1, resume]
