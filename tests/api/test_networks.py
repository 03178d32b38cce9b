"""Networks through the real ASGI app on SQLite and PostgreSQL."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import as_project

ALICE = as_project("alice")
BOB = as_project("bob")


def error_type(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.json()["NeutronError"]["type"]


def test_create_show_defaults(client: TestClient) -> None:
    r = client.post("/v2.0/networks", json={"network": {"name": "n1"}}, headers=ALICE)
    assert r.status_code == 201, r.text
    net = r.json()["network"]
    assert net["name"] == "n1"
    assert net["project_id"] == net["tenant_id"] == "alice"
    assert net["admin_state_up"] is True and net["shared"] is False
    assert net["router:external"] is False
    assert net["status"] == "ACTIVE" and net["subnets"] == []
    assert net["mtu"] == 1450  # VXLAN tenant network
    assert net["revision_number"] == 0 and net["created_at"].endswith("Z")
    assert "provider:network_type" not in net  # admin only
    shown = client.get(f"/v2.0/networks/{net['id']}", headers=ALICE).json()["network"]
    assert shown == net


def test_admin_sees_provider_attributes_and_segments_are_unique(client: TestClient) -> None:
    a = client.post("/v2.0/networks", json={"network": {"name": "a"}}).json()["network"]
    b = client.post("/v2.0/networks", json={"network": {"name": "b"}}).json()["network"]
    assert a["provider:network_type"] == "vxlan"
    assert a["provider:segmentation_id"] != b["provider:segmentation_id"]
    r = client.post("/v2.0/networks", json={"network": {
        "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 100}})
    assert r.status_code == 201, r.text
    assert r.json()["network"]["mtu"] == 1500
    dup = client.post("/v2.0/networks", json={"network": {
        "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 100}})
    assert dup.status_code == 409
    bad = client.post("/v2.0/networks", json={"network": {
        "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 5000}})
    assert bad.status_code == 400


def test_non_admin_cannot_set_admin_attributes(client: TestClient) -> None:
    r = client.post("/v2.0/networks", json={"network": {"provider:network_type": "vlan"}},
                    headers=ALICE)
    assert r.status_code == 403
    r = client.post("/v2.0/networks", json={"network": {"shared": True}}, headers=ALICE)
    assert r.status_code == 403
    r = client.post("/v2.0/networks", json={"network": {"shared": False}}, headers=ALICE)
    assert r.status_code == 201


def test_projects_are_isolated(client: TestClient) -> None:
    mine = client.post("/v2.0/networks", json={"network": {"name": "x"}},
                       headers=ALICE).json()["network"]
    shared = client.post("/v2.0/networks", json={"network": {"name": "s", "shared": True}}
                         ).json()["network"]
    seen = {n["id"] for n in client.get("/v2.0/networks", headers=BOB).json()["networks"]}
    assert shared["id"] in seen and mine["id"] not in seen
    assert client.get(f"/v2.0/networks/{mine['id']}", headers=BOB).status_code == 404
    assert client.put(f"/v2.0/networks/{mine['id']}", json={"network": {"name": "y"}},
                      headers=BOB).status_code == 404
    assert client.delete(f"/v2.0/networks/{mine['id']}", headers=BOB).status_code == 404
    r = client.put(f"/v2.0/networks/{shared['id']}", json={"network": {"name": "y"}},
                   headers=BOB)
    assert r.status_code == 403
    r = client.post("/v2.0/networks", json={"network": {"project_id": "alice"}}, headers=BOB)
    assert r.status_code == 403


def test_update_bumps_revision_and_if_match(client: TestClient) -> None:
    net = client.post("/v2.0/networks", json={"network": {"name": "a"}}).json()["network"]
    url = f"/v2.0/networks/{net['id']}"
    r = client.put(url, json={"network": {"name": "b"}})
    assert r.status_code == 200 and r.json()["network"]["revision_number"] == 1
    r = client.put(url, json={"network": {"name": "c"}}, headers={"If-Match": "revision_number=0"})
    assert r.status_code == 412
    r = client.put(url, json={"network": {"name": "c"}}, headers={"If-Match": "revision_number=1"})
    assert r.status_code == 200 and r.json()["network"]["name"] == "c"
    r = client.put(url, json={"network": {"id": "x"}})
    assert r.status_code == 400
    r = client.put(url, json={"network": {"mtu": 9000}})
    assert r.status_code == 400


def test_bad_input_gets_neutron_errors(client: TestClient) -> None:
    r = client.post("/v2.0/networks", content=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_type(r) == "HTTPBadRequest"
    r = client.post("/v2.0/networks", json={"net": {}})
    assert r.status_code == 400
    r = client.post("/v2.0/networks", json={"network": {"bogus": 1}})
    assert r.status_code == 400 and "bogus" in r.json()["NeutronError"]["message"]
    r = client.post("/v2.0/networks", json={"network": {"admin_state_up": "maybe"}})
    assert r.status_code == 400
    r = client.post("/v2.0/networks", json={"network": {"name": "x" * 256}})
    assert r.status_code == 400
    r = client.post("/v2.0/networks", content=b"{" + b" " * 200_000 + b"}",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.get("/v2.0/networks?bogus=1")
    assert r.status_code == 400
    r = client.get("/v2.0/networks/does-not-exist")
    assert r.status_code == 404 and error_type(r) == "NetworkNotFound"
    assert client.get("/v2.0/networks").json() == {"networks": []}


def test_list_filters_fields_sort_and_pages(client: TestClient) -> None:
    ids = []
    for i in range(7):
        body = {"network": {"name": f"n{i % 3}", "admin_state_up": i % 2 == 0}}
        ids.append(client.post("/v2.0/networks", json=body).json()["network"]["id"])
    r = client.get("/v2.0/networks?name=n0&name=n1&fields=id&fields=name")
    nets = r.json()["networks"]
    assert len(nets) == 5 and all(set(n) == {"id", "name"} for n in nets)
    r = client.get("/v2.0/networks?admin_state_up=false")
    assert len(r.json()["networks"]) == 3
    r = client.get("/v2.0/networks?sort_key=name&sort_dir=desc&sort_key=id&sort_dir=asc")
    names = [n["name"] for n in r.json()["networks"]]
    assert names == sorted(names, reverse=True)
    seen: list[str] = []
    url = "/v2.0/networks?limit=3&sort_key=id"
    while url:
        body = client.get(url).json()
        seen += [n["id"] for n in body["networks"]]
        nxt = [link["href"] for link in body.get("networks_links", []) if link["rel"] == "next"]
        url = nxt[0] if nxt else ""
    assert seen == sorted(ids)
    back = client.get(f"/v2.0/networks?limit=2&sort_key=id&marker={sorted(ids)[4]}"
                      "&page_reverse=True").json()
    assert [n["id"] for n in back["networks"]] == sorted(ids)[2:4]
    assert client.get("/v2.0/networks?sort_key=bogus").status_code == 400
    assert client.get("/v2.0/networks?limit=-1").status_code == 400


def test_bulk_create_is_all_or_nothing(client: TestClient) -> None:
    r = client.post("/v2.0/networks", json={"networks": [{"name": "a"}, {"name": "b"}]})
    assert r.status_code == 201 and len(r.json()["networks"]) == 2
    r = client.post("/v2.0/networks", json={"networks": [
        {"name": "c"}, {"provider:network_type": "bogus"}]})
    assert r.status_code == 400
    names = {n["name"] for n in client.get("/v2.0/networks").json()["networks"]}
    assert names == {"a", "b"}


def test_failed_request_leaves_no_rows(client: TestClient) -> None:
    client.post("/v2.0/networks", json={"network": {
        "provider:network_type": "vlan", "provider:physical_network": "p",
        "provider:segmentation_id": 7}})
    before = client.get("/v2.0/networks").json()["networks"]
    r = client.post("/v2.0/networks", json={"networks": [
        {"name": "ok"},
        {"provider:network_type": "vlan", "provider:physical_network": "p",
         "provider:segmentation_id": 7}]})
    assert r.status_code == 409
    assert client.get("/v2.0/networks").json()["networks"] == before


def test_delete(client: TestClient) -> None:
    net = client.post("/v2.0/networks", json={"network": {}}).json()["network"]
    assert client.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    assert client.get(f"/v2.0/networks/{net['id']}").status_code == 404
    assert client.delete(f"/v2.0/networks/{net['id']}").status_code == 404


def test_reader_cannot_write(client: TestClient) -> None:
    r = client.post("/v2.0/networks", json={"network": {}}, headers=as_project("c", "reader"))
    assert r.status_code == 403


def test_quota(client: TestClient) -> None:
    r = client.put("/v2.0/quotas/alice", json={"quota": {"network": 1}})
    assert r.status_code == 200 and r.json()["quota"]["network"] == 1
    assert client.post("/v2.0/networks", json={"network": {}}, headers=ALICE).status_code == 201
    r = client.post("/v2.0/networks", json={"network": {}}, headers=ALICE)
    assert r.status_code == 409 and error_type(r) == "OverQuota"
    assert client.put("/v2.0/quotas/alice", json={"quota": {"network": 5}},
                      headers=ALICE).status_code == 403
    assert client.get("/v2.0/quotas/alice", headers=ALICE).json()["quota"]["network"] == 1


def test_tags(client: TestClient) -> None:
    net = client.post("/v2.0/networks", json={"network": {"tags": ["a", "b"]}}).json()["network"]
    assert net["tags"] == ["a", "b"]
    url = f"/v2.0/networks/{net['id']}/tags"
    assert client.put(url, json={"tags": ["x", "y"]}).json() == {"tags": ["x", "y"]}
    assert client.put(url + "/z").status_code == 201
    assert client.get(url + "/z").status_code == 204
    assert client.get(url + "/nope").status_code == 404
    assert client.delete(url + "/x").status_code == 204
    assert client.delete(url + "/x").status_code == 404
    shown = client.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["tags"] == ["y", "z"] and shown["revision_number"] == 3
    other = client.post("/v2.0/networks", json={"network": {"tags": ["y"]}}).json()["network"]
    ids = lambda q: {n["id"] for n in client.get(f"/v2.0/networks?{q}").json()["networks"]}  # noqa: E731
    assert ids("tags=y,z") == {net["id"]}
    assert ids("tags-any=y") == {net["id"], other["id"]}
    assert ids("not-tags=z") == {other["id"]}
    assert ids("not-tags-any=y") == set()
    assert client.put(url, json={"tags": "notalist"}).status_code == 400
    assert client.put(url, json={"tags": [f"t{i}" for i in range(60)]}).status_code == 400
    assert client.put(url, json={"tags": ["q"]}, headers=BOB).status_code == 404
    assert client.delete(url).status_code == 204
    assert client.get(url).json() == {"tags": []}
    assert client.get("/v2.0/bogus/x/tags").status_code == 404


def test_post_tags_adds(client: TestClient) -> None:
    net = client.post("/v2.0/networks", json={"network": {"tags": ["a"]}}).json()["network"]
    r = client.post(f"/v2.0/networks/{net['id']}/tags", json={"tags": ["b", "c"]})
    assert r.status_code == 201 and r.json() == {"tags": ["a", "b", "c"]}
