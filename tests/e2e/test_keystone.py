"""`neutrino serve --auth keystone` against a real Keystone, over real HTTP.

One Keystone (PyPI, SQLite) and one neutrino server (SQLite) per test module (per xdist worker
that runs some of its tests: `xdist_group` does not group under pytest 9): the `cloud` fixture
(tests/e2e/keystone_cloud.py has its users: members of two projects, a reader, an admin, an
agent with the `service` role, and the service user keystonemiddleware validates tokens with).
Tokens come from keystoneauth1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import openstack
import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from starlette.requests import Request

from neutrino.api.keystone import KeystoneAuth
from neutrino.domain.errors import Unavailable
from tests.e2e.keystone_cloud import Cloud

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
]


@pytest.fixture(scope="module")
def token(cloud: Cloud) -> Callable[[str], str]:
    """user name -> a project-scoped token (cached for the module)."""
    cache: dict[str, str] = {}

    def get(user: str) -> str:
        if user not in cache:
            cache[user] = ks_session.Session(auth=cloud.auth(user)).get_token()
        return cache[user]

    return get


@pytest.fixture(scope="module")
def api(cloud: Cloud, token: Callable[[str], str]) -> Callable[..., httpx.Response]:
    """`api(user, method, path, json=...)`: a request to neutrino with `user`'s token
    (user None: no token; user starting with '!': that literal token)."""

    def call(user: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {}
        if user is not None:
            headers["X-Auth-Token"] = user[1:] if user.startswith("!") else token(user)
        return httpx.request(method, cloud.neutrino + path, headers=headers, timeout=30,
                             **kwargs)

    return call


def _create_network(api: Callable[..., httpx.Response], user: str) -> dict[str, Any]:
    r = api(user, "POST", "/v2.0/networks", json={"network": {"name": f"net-{uuid.uuid4()}"}})
    assert r.status_code == 201, r.text
    network: dict[str, Any] = r.json()["network"]
    return network


def _names(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {n["name"] for n in response.json()["networks"]}


def _assert_unauthenticated(cloud: Cloud, response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["NeutronError"]["type"] == "HTTPUnauthorized"
    assert response.json()["NeutronError"]["message"] == (
        "The request you have made requires authentication.")
    assert response.headers["www-authenticate"] == f'Keystone uri="{cloud.keystone.url}"'


def test_member_creates_and_lists_only_its_own_networks(
    cloud: Cloud, api: Callable[..., httpx.Response]
) -> None:
    mine = _create_network(api, "alice")
    theirs = _create_network(api, "bob")
    assert mine["project_id"] == mine["tenant_id"] == cloud.projects["project-a"]
    assert theirs["project_id"] == cloud.projects["project-b"]

    names = _names(api("alice", "GET", "/v2.0/networks"))
    assert mine["name"] in names
    assert theirs["name"] not in names
    r = api("alice", "GET", f"/v2.0/networks/{theirs['id']}")
    assert r.status_code == 404
    assert r.json()["NeutronError"]["type"] == "NetworkNotFound"
    r = api("alice", "DELETE", f"/v2.0/networks/{theirs['id']}")
    assert r.status_code == 404


def test_admin_token_sees_every_project(api: Callable[..., httpx.Response]) -> None:
    a, b = _create_network(api, "alice"), _create_network(api, "bob")
    names = _names(api("admin", "GET", "/v2.0/networks"))
    assert {a["name"], b["name"]} <= names


def test_reader_reads_but_may_not_create(api: Callable[..., httpx.Response]) -> None:
    net = _create_network(api, "alice")
    assert net["name"] in _names(api("rita", "GET", "/v2.0/networks"))
    r = api("rita", "POST", "/v2.0/networks", json={"network": {"name": "nope"}})
    assert r.status_code == 403
    assert r.json()["NeutronError"]["type"] == "PolicyNotAuthorized"
    assert "nope" not in _names(api("admin", "GET", "/v2.0/networks"))


def test_token_without_a_known_role_is_forbidden(api: Callable[..., httpx.Response]) -> None:
    r = api("olga", "GET", "/v2.0/networks")
    assert r.status_code == 403
    assert r.json()["NeutronError"]["type"] == "PolicyNotAuthorized"


def test_no_token_is_401_with_keystone_challenge(
    cloud: Cloud, api: Callable[..., httpx.Response]
) -> None:
    for path in ("/v2.0/networks", "/v2.0/extensions", "/v2.0/changes", "/v2.0/nowhere"):
        _assert_unauthenticated(cloud, api(None, "GET", path))
    _assert_unauthenticated(cloud, api(None, "POST", "/v2.0/networks",
                                       json={"network": {"name": "anonymous"}}))
    assert "anonymous" not in _names(api("admin", "GET", "/v2.0/networks"))
    assert api(None, "GET", "/").status_code == 200  # the version document stays public


def test_invalid_token_is_401(cloud: Cloud, api: Callable[..., httpx.Response]) -> None:
    _assert_unauthenticated(cloud, api("!not-a-token", "GET", "/v2.0/networks"))
    _assert_unauthenticated(cloud, api("!gAAAAABl" + "x" * 180, "GET", "/v2.0/networks"))


def test_expired_token_is_401(cloud: Cloud, api: Callable[..., httpx.Response]) -> None:
    """Keystone caps a token at its application credential's expiry: a 3-second one."""
    conn = openstack.connection.Connection(session=ks_session.Session(auth=cloud.auth("alice")),
                                           region_name="RegionOne")
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
    cred = conn.identity.create_application_credential(
        cloud.users["alice"], f"short-{uuid.uuid4()}",
        expires_at=expires.strftime("%Y-%m-%dT%H:%M:%S"))
    short = ks_session.Session(auth=v3.ApplicationCredential(
        auth_url=cloud.keystone.url + "/v3", application_credential_id=cred.id,
        application_credential_secret=cred.secret)).get_token()
    assert api("!" + short, "GET", "/v2.0/networks").status_code == 200
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1.0)
    _assert_unauthenticated(cloud, api("!" + short, "GET", "/v2.0/networks"))
    conn.close()


def test_service_role_may_watch_changes(api: Callable[..., httpx.Response]) -> None:
    net = _create_network(api, "alice")
    r = api("agent", "GET", "/v2.0/changes", params={"since": 0})
    assert r.status_code == 200, r.text
    assert net["id"] in {c["resource_id"] for c in r.json()["changes"]}
    r = api("alice", "GET", "/v2.0/changes")
    assert r.status_code == 403
    assert r.json()["NeutronError"]["type"] == "PolicyNotAuthorized"


def test_openstacksdk_finds_neutrino_in_the_catalog(cloud: Cloud) -> None:
    """A real client: Keystone password auth, the `network` endpoint from the catalog."""
    conn = openstack.connection.Connection(session=ks_session.Session(auth=cloud.auth("bob")),
                                           region_name="RegionOne")
    name = f"sdk-{uuid.uuid4()}"
    created = conn.network.create_network(name=name)
    assert created.project_id == cloud.projects["project-b"]
    assert name in {n.name for n in conn.network.networks()}
    conn.network.delete_network(created)
    assert conn.network.find_network(name) is None
    conn.close()



def test_service_user_with_a_wrong_password_is_503(
    cloud: Cloud, token: Callable[[str], str]
) -> None:
    """Neutrino cannot check tokens: that is our outage (503), not the caller's fault (401)."""
    auth = KeystoneAuth({"www_authenticate_uri": cloud.keystone.url,
                         "auth_url": cloud.keystone.url, "username": "neutrino",
                         "password": "wrong", "project_name": "service"})
    request = Request({"type": "http", "method": "GET", "path": "/v2.0/networks",
                       "headers": [(b"x-auth-token", token("alice").encode())]})
    with pytest.raises(Unavailable):
        asyncio.run(auth.authenticate(request))
