"""List filters on ids take any string, as Neutron's do: found by the openstack CLI walk-through.

`openstack port list --security-group default` sends the name as it is (the CLI resolves no
name for that filter); Neutron converts filter values but never validates them, so a value
that is not a UUID matches nothing: 200 and an empty list, not a 400.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient


@pytest.mark.parametrize("query", [
    "networks?id=private",
    "ports?security_groups=default",
    "ports?network_id=private",
    "subnets?network_id=private&subnetpool_id=demo-pool",
    "floatingips?port_id=vm-port&router_id=r1",
    "floatingips?floating_network_id=public",
    "security-groups?id=default",
    "subnetpools?address_scope_id=scope1",
])
def test_an_id_filter_that_is_not_a_uuid_matches_nothing(client: TestClient, query: str) -> None:
    network = client.post("/v2.0/networks", json={"network": {"name": "private"}})
    assert network.status_code == 201, network.text
    r = client.get(f"/v2.0/{query}")
    assert r.status_code == 200, r.text
    collection = query.split("?")[0].replace("-", "_")
    assert r.json()[collection] == []


def test_an_id_filter_still_matches_its_uuid_in_any_case(client: TestClient) -> None:
    net = client.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]
    upper = net["id"].upper()
    r = client.get(f"/v2.0/networks?id={upper}&id=not-a-uuid")
    assert r.status_code == 200, r.text
    assert [n["id"] for n in r.json()["networks"]] == [net["id"]]


def test_filter_values_that_must_convert_are_still_refused(client: TestClient) -> None:
    r = client.get("/v2.0/networks?admin_state_up=maybe")
    assert r.status_code == 400
    assert r.json()["NeutronError"]["type"] == "HTTPBadRequest"
    r = client.get("/v2.0/networks?bogus=1")
    assert r.status_code == 400
