"""The host-agent protocol endpoints (admin or service role; DESIGN decision 8).

- `POST /v2.0/neutrino/agents`: heartbeat, body `{"agent": AgentReport}` (or the report
  itself); answers `{"agent": <Neutron agent body>, "protocol": "1.0"}`.
- `GET /v2.0/neutrino/hosts/{host}/snapshot`: `{"snapshot": HostSnapshot, "protocol": ...}`.
- `PUT /v2.0/neutrino/ports/{id}/status`: body `{"status": PortStatus}` (or the status
  itself); answers `{"status": <the port's status now, as PortStatus>, "accepted": bool}`.
  A stale report (older revision than the port's) is answered 200 with `accepted: false`
  and the port unchanged: the agent's next pass, on the new revision, fixes it anyway.

Every request names its protocol version in `X-Neutrino-Protocol` (or `?protocol=`);
another major version is refused with 400 IncompatibleProtocolVersion.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from neutrino import wire
from neutrino.api.calls import call
from neutrino.api.resources import context_of, env_of, json_response, read_json
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, PolicyNotAuthorized
from neutrino.schema.agents import AGENT
from neutrino.services import agents, hosts, ports


async def _agent_context(request: Request, action: str) -> tuple[Context, str]:
    """The caller (admin or service role only) and the protocol version it speaks."""
    ctx = await context_of(request)
    if not ctx.is_service:
        raise PolicyNotAuthorized(f"({action}) is disallowed by policy")
    version = request.headers.get(wire.PROTOCOL_HEADER) or request.query_params.get("protocol")
    wire.check(version)
    return ctx, version or wire.PROTOCOL_VERSION


def _inner(body: Any, key: str) -> dict[str, Any]:
    """`{key: {...}}` or the bare object."""
    if isinstance(body, dict) and isinstance(body.get(key), dict):
        body = body[key]
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid {key} report: must be an object")
    return body


async def report(request: Request) -> Response:
    ctx, version = await _agent_context(request, "create_agent")
    data = _inner(await read_json(request), "agent")
    try:
        rep = wire.AgentReport.from_json({"protocol": version, **data})
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest(f"Invalid agent report: {exc!r}") from None
    agent = await call(agents.report, env_of(request), ctx, rep)
    return json_response({"agent": AGENT.project(agent, is_admin=True),
                          "protocol": wire.PROTOCOL_VERSION})


async def snapshot(request: Request) -> Response:
    ctx, _ = await _agent_context(request, "get_host_snapshot")
    snap = await call(hosts.snapshot, env_of(request), ctx,
                                   request.path_params["host"])
    return json_response({"snapshot": snap.to_json(), "protocol": wire.PROTOCOL_VERSION})


async def port_status(request: Request) -> Response:
    ctx, _ = await _agent_context(request, "update_port:status")
    data = _inner(await read_json(request), "status")
    try:
        status = wire.PortStatus.from_json({"port_id": request.path_params["id"], **data})
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest(f"Invalid port status report: {exc!r}") from None
    if status.port_id != request.path_params["id"]:
        raise BadRequest("Invalid port status report: port_id differs from the URL's")
    port, accepted = await call(ports.report_status, env_of(request), ctx, status)
    now = wire.PortStatus(port_id=port.id, status=port.status, revision=port.revision_number)
    return json_response({"status": now.to_json(), "accepted": accepted})
