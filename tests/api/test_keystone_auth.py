"""The keystone strategy without a Keystone: config checks, role mapping, 401 and 503.

The full behaviour against a real Keystone is in tests/e2e/test_keystone.py; here the identity
service is a closed loopback port (a real process boundary that answers "connection refused").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from neutrino.api.app import build_app
from neutrino.api.keystone import ConfigError, KeystoneAuth, context_from, oslo_conf
from neutrino.cmd import bootstrap, config, main
from neutrino.domain.context import ADMIN, MEMBER, READER, SERVICE
from neutrino.services._env import Env

NOWHERE = "http://127.0.0.1:1"  # nothing listens: connection refused
OPTIONS = {
    "www_authenticate_uri": "http://keystone.example:5000",
    "auth_url": NOWHERE,
    "username": "neutrino",
    "password": "secret",
    "http_request_max_retries": "0",
}


@pytest.fixture
def ks_client(env: Env) -> Iterator[TestClient]:
    app = build_app(env, KeystoneAuth(OPTIONS))
    with TestClient(app, base_url="http://127.0.0.1:9696") as c:
        yield c


def test_no_token_is_401_with_neutron_body_and_challenge(ks_client: TestClient) -> None:
    for method, path in (("GET", "/v2.0/networks"), ("POST", "/v2.0/networks"),
                         ("GET", "/v2.0/extensions"), ("GET", "/v2.0/changes")):
        r = ks_client.request(method, path)
        assert r.status_code == 401, (method, path)
        assert r.json() == {"NeutronError": {
            "type": "HTTPUnauthorized",
            "message": "The request you have made requires authentication.",
            "detail": ""}}
        assert r.headers["www-authenticate"] == 'Keystone uri="http://keystone.example:5000"'


def test_version_document_needs_no_token(ks_client: TestClient) -> None:
    assert ks_client.get("/").status_code == 200


def test_keystone_unreachable_is_503(ks_client: TestClient) -> None:
    r = ks_client.get("/v2.0/networks", headers={"X-Auth-Token": "some-token"})
    assert r.status_code == 503
    assert r.json()["NeutronError"]["type"] == "HTTPServiceUnavailable"
    assert "www-authenticate" not in r.headers


def test_forged_identity_headers_are_not_trusted(ks_client: TestClient) -> None:
    r = ks_client.get("/v2.0/networks", headers={"X-Project-Id": "p", "X-Roles": "admin",
                                                  "X-Identity-Status": "Confirmed"})
    assert r.status_code == 401


@pytest.mark.parametrize(("roles", "expected"), [
    ("admin,manager,member,reader", {ADMIN, MEMBER, READER}),
    ("Member", {MEMBER, READER}),
    ("reader", {READER}),
    ("service", {SERVICE}),
    ("admin", {ADMIN, MEMBER, READER}),  # a Keystone without implied roles
    ("service,reader,observer", {SERVICE, READER}),
])
def test_keystone_roles_map_to_ours(roles: str, expected: set[str]) -> None:
    ctx = context_from({"HTTP_X_PROJECT_ID": "p1", "HTTP_X_USER_ID": "u1",
                        "HTTP_X_ROLES": roles})
    assert ctx.project_id == "p1"
    assert ctx.user_id == "u1"
    assert ctx.roles == expected


@pytest.mark.parametrize("environ", [
    {"HTTP_X_PROJECT_ID": "p1", "HTTP_X_ROLES": "observer"},
    {"HTTP_X_PROJECT_ID": "p1", "HTTP_X_ROLES": ""},
    {"HTTP_X_ROLES": "admin", "HTTP_OPENSTACK_SYSTEM_SCOPE": "all"},  # not project scoped
])
def test_tokens_neutron_would_refuse_are_forbidden(environ: dict[str, str]) -> None:
    from neutrino.domain.errors import PolicyNotAuthorized

    with pytest.raises(PolicyNotAuthorized):
        context_from(environ)


def test_config_needs_the_service_credentials() -> None:
    with pytest.raises(ConfigError, match="auth_url, username, password"):
        oslo_conf({"www_authenticate_uri": "http://k:5000"})


@pytest.mark.parametrize(("extra", "match"), [
    ({"no_such_option": "1"}, "unknown option 'no_such_option'"),
    ({"token_cache_time": "soon"}, "token_cache_time"),
    ({"auth_type": "carrier-pigeon"}, "auth_type"),
])
def test_config_refuses_bad_options(extra: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        oslo_conf({**OPTIONS, **extra})


def test_config_defaults_and_passthrough() -> None:
    conf = oslo_conf({**OPTIONS, "token_cache_time": "60", "memcached_servers": "a:1,b:2"})
    group = conf.keystone_authtoken
    assert group.auth_type == "password"
    assert group.project_name == "service"
    assert group.user_domain_name == "Default"
    assert group.interface == "public"
    assert group.token_cache_time == 60
    assert group.memcached_servers == ["a:1", "b:2"]


def test_toml_section_reaches_the_strategy(tmp_path: Path) -> None:
    path = tmp_path / "neutrino.toml"
    path.write_text(f"""
[neutrino]
auth = "keystone"

[keystone_authtoken]
www_authenticate_uri = "http://keystone.example:5000"
auth_url = "{NOWHERE}"
username = "neutrino"
password = "secret"
include_service_catalog = false
token_cache_time = 120
""")
    settings = config.load(str(path))
    assert settings.auth == "keystone"
    assert settings.keystone_authtoken["include_service_catalog"] == "false"
    assert settings.keystone_authtoken["token_cache_time"] == "120"
    auth = bootstrap.authenticator(settings)
    assert isinstance(auth, KeystoneAuth)
    assert auth.challenge == 'Keystone uri="http://keystone.example:5000"'


def test_incomplete_keystone_config_stops_the_server() -> None:
    settings = config.Settings(auth="keystone", keystone_authtoken={"username": "x"})
    with pytest.raises(SystemExit, match="needs www_authenticate_uri, auth_url, password"):
        bootstrap.authenticator(settings)


def test_cli_offers_keystone() -> None:
    args = main.parser().parse_args(["serve", "--auth", "keystone", "--host", "0.0.0.0"])
    assert args.auth == "keystone"
