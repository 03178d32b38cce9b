"""The `keystone` auth strategy: validate `X-Auth-Token` with keystonemiddleware.

keystonemiddleware's `AuthProtocol` is WSGI middleware and our server is ASGI. Rather than
re-implement Keystone token validation (version discovery, the service user's own token and its
renewal, the token cache, expiry and bind checks, service tokens, access rules), each request is
handed to a real `AuthProtocol` as a minimal WSGI environ that carries only the caller's token
headers, with a tiny WSGI app behind it that records what the middleware concluded. The call
runs in a worker thread, because the middleware blocks on HTTP to Keystone; `AuthProtocol` is
built for threaded WSGI servers (mod_wsgi, uWSGI threads), so one instance serves all threads.
What we read back is the middleware's documented output, the `X-Identity-Status`, `X-Project-Id`,
`X-User-Id`, `X-Roles` and `OpenStack-System-Scope` headers, and its 401/503 answers, which
keystonemiddleware produces exactly as it does in front of Neutron. The environ holds nothing
else from the client, so identity headers cannot be forged.

Options come from our config's `[keystone_authtoken]` table, with keystonemiddleware's own names
(plus the auth plugin's: `auth_url`, `username`, `password`, ...). They go through a private
oslo.config object, so values are type-checked, unknown names are refused at start-up, and
nothing touches oslo's global `cfg.CONF`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystonemiddleware import auth_token
from oslo_config import cfg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from neutrino.api.errors import Unauthenticated
from neutrino.domain.context import ADMIN, MEMBER, READER, SERVICE, Context
from neutrino.domain.errors import PolicyNotAuthorized, Unavailable

log = logging.getLogger("neutrino.keystone")

GROUP = "keystone_authtoken"
REQUIRED = ("www_authenticate_uri", "auth_url", "username", "password")
DEFAULTS: Mapping[str, str] = {
    "auth_type": "password",
    "project_name": "service",
    "user_domain_name": "Default",
    "project_domain_name": "Default",
    "service_token_roles_required": "true",
    # keystonemiddleware's own default is "internal"; a one-region cloud made by
    # `keystone-manage bootstrap --bootstrap-public-url` has only the public endpoint.
    "interface": "public",
}
# Keystone role -> our role. Keystone expands implied roles (admin -> manager -> member ->
# reader) in the token, and we expand again below for deployments without implied roles.
ROLE_MAP: Mapping[str, str] = {"admin": ADMIN, "member": MEMBER, "reader": READER,
                               "service": SERVICE}
_TOKEN_HEADERS = ("x-auth-token", "x-storage-token", "x-service-token")

StartResponse = Callable[..., Any]


class ConfigError(ValueError):
    """The `[keystone_authtoken]` section is incomplete or names an unknown option."""


def oslo_conf(options: Mapping[str, str]) -> cfg.ConfigOpts:
    """A private oslo.config object holding `options` in group `keystone_authtoken`."""
    merged = {**DEFAULTS, **{k: str(v) for k, v in options.items()}}
    missing = [name for name in REQUIRED if not merged.get(name)]
    if missing:
        raise ConfigError(f"[{GROUP}] needs {', '.join(missing)}")
    conf = cfg.ConfigOpts()
    conf([], project="neutrino", default_config_files=[], default_config_dirs=[])
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)
    try:
        loader: Any = ks_loading.get_plugin_loader(merged["auth_type"])
    except Exception as exc:
        raise ConfigError(f"[{GROUP}] auth_type: {exc}") from None
    conf.register_opts(ks_loading.get_auth_plugin_conf_options(loader), group=GROUP)
    for name, value in merged.items():
        try:
            conf.set_override(name, value, group=GROUP)
        except cfg.NoSuchOptError:
            raise ConfigError(f"[{GROUP}] unknown option {name!r}") from None
        except ValueError as exc:
            raise ConfigError(f"[{GROUP}] {name}: {exc}") from None
    return conf


def context_from(environ: Mapping[str, Any]) -> Context:
    """Our `Context` from the headers keystonemiddleware set on a confirmed request.

    Only project-scoped tokens act on Neutron resources (Neutron's policies are project scoped);
    a token with none of our roles may do nothing, as under Neutron's default policies.
    """
    project = environ.get("HTTP_X_PROJECT_ID") or None
    if project is None:
        raise PolicyNotAuthorized("A project-scoped token is required.")
    names = {r.strip().lower() for r in environ.get("HTTP_X_ROLES", "").split(",")}
    roles = {ROLE_MAP[name] for name in names if name in ROLE_MAP}
    if ADMIN in roles:
        roles.add(MEMBER)
    if MEMBER in roles:
        roles.add(READER)
    if not roles:
        raise PolicyNotAuthorized("The token carries none of the roles admin, member, reader "
                                  "or service.")
    return Context(project_id=project, user_id=environ.get("HTTP_X_USER_ID") or None,
                   roles=frozenset(roles))


def _confirmed(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI app behind the middleware: reached only with a valid token."""
    environ["neutrino.confirmed"] = True
    start_response("204 No Content", [])
    return []


class KeystoneAuth:
    """Authenticator backed by one keystonemiddleware `AuthProtocol` (and its token cache)."""

    def __init__(self, options: Mapping[str, str]) -> None:
        conf = oslo_conf(options)
        self.www_authenticate_uri = conf[GROUP].www_authenticate_uri
        # delay_auth_decision stays False: the middleware itself answers 401/503.
        conf.set_override("delay_auth_decision", False, group=GROUP)
        self._protocol = auth_token.AuthProtocol(_confirmed, {"oslo_config_config": conf})

    @property
    def challenge(self) -> str:
        return f'Keystone uri="{self.www_authenticate_uri}"'

    async def authenticate(self, request: Request) -> Context:
        headers = {k: request.headers[k] for k in _TOKEN_HEADERS if k in request.headers}
        if "x-auth-token" not in headers and "x-storage-token" not in headers:
            raise Unauthenticated(self.challenge)
        try:
            status, environ = await run_in_threadpool(self.validate, headers)
        except ks_exceptions.ClientException as exc:  # e.g. no identity endpoint, bad password
            log.error("cannot validate tokens with Keystone: %s", exc)
            raise Unavailable("The Keystone service is temporarily unavailable.",
                              type_name="HTTPServiceUnavailable") from None
        if status == 503:
            raise Unavailable("The Keystone service is temporarily unavailable.",
                              type_name="HTTPServiceUnavailable")
        if not environ.get("neutrino.confirmed"):
            raise Unauthenticated(self.challenge)
        return context_from(environ)

    def validate(self, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Run the middleware on an environ carrying only the token headers (blocking)."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/v2.0",
            "SERVER_NAME": "neutrino",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status: list[int] = []

        def start_response(line: str, _headers: Any, _exc_info: Any = None) -> None:
            status.append(int(line.split(" ", 1)[0]))

        body = self._protocol(environ, start_response)
        for _ in body:  # drain and close, as a WSGI server would
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
        return (status[0] if status else 500), environ
