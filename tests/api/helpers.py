"""Shared builders for the API tests (real app, real database): networks, subnets, ports,
routers, and the Neutron error type of a response."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from neutrino.api.app import build_app
from neutrino.api.auth import NoAuth
from neutrino.services._env import Env
from tests.conftest import as_project

ALICE = as_project("alice")
BOB = as_project("bob")
ADMIN: dict[str, str] = {}


def err(resp: Any) -> str:
    return str(resp.json()["NeutronError"]["type"])


def net(client: TestClient, headers: dict[str, str] | None = None, **attrs: Any) -> str:
    r = client.post("/v2.0/networks", json={"network": attrs}, headers=headers or {})
    assert r.status_code == 201, r.text
    return str(r.json()["network"]["id"])


def subnet(client: TestClient, network: str, cidr: str, headers: dict[str, str] | None = None,
           **attrs: Any) -> dict[str, Any]:
    version = ipaddress.ip_network(cidr).version
    body = {"subnet": {"network_id": network, "cidr": cidr, "ip_version": version, **attrs}}
    r = client.post("/v2.0/subnets", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    return dict(r.json()["subnet"])


def external(client: TestClient, cidr: str = "172.24.4.0/24") -> tuple[str, dict[str, Any]]:
    """An admin-owned external network with one subnet, without DHCP (as devstack's public
    subnet: no DHCP port takes its first address)."""
    ext = net(client, ADMIN, name="public", **{"router:external": True})
    return ext, subnet(client, ext, cidr, ADMIN, enable_dhcp=False)


def router(client: TestClient, headers: dict[str, str] | None = None,
           expect: int = 201, **attrs: Any) -> dict[str, Any]:
    r = client.post("/v2.0/routers", json={"router": attrs}, headers=headers or {})
    assert r.status_code == expect, r.text
    return dict(r.json().get("router", r.json()))


def port(client: TestClient, network: str, headers: dict[str, str] | None = None,
         **attrs: Any) -> dict[str, Any]:
    r = client.post("/v2.0/ports", json={"port": {"network_id": network, **attrs}},
                    headers=headers or {})
    assert r.status_code == 201, r.text
    return dict(r.json()["port"])


def put_action(client: TestClient, router_id: str, action: str, body: Any,
               headers: dict[str, str] | None = None) -> Any:
    return client.put(f"/v2.0/routers/{router_id}/{action}", json=body, headers=headers or {})


def rows(env: Env, sql: str, **params: Any) -> list[Any]:
    """Rows straight from the database: what a request really left behind."""
    with env.db.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def ports_of(env: Env, device_id: str) -> list[Any]:
    return rows(env, "SELECT id, project_id, device_owner, network_id FROM ports "
                     "WHERE device_id = :d", d=device_id)


def changes(env: Env, resource: str, resource_id: str) -> list[str]:
    found = rows(env, "SELECT op FROM change_log WHERE resource = :r AND resource_id = :i "
                      "ORDER BY seq", r=resource, i=resource_id)
    return [r[0] for r in found]


@contextmanager
def client_with(env: Env, **settings: Any) -> Iterator[TestClient]:
    """The real app on the same database, under other server settings (`ServerConfig`)."""
    app = build_app(Env(db=env.db, config=replace(env.config, **settings)),
                    NoAuth(default_project="admin"))
    with TestClient(app, base_url="http://127.0.0.1:9696") as c:
        yield c
