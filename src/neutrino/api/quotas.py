"""The quotas extension: `/v2.0/quotas[/{project_id}[/default|/details]]`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from neutrino import policy
from neutrino.api.calls import call
from neutrino.api.resources import context_of, env_of, json_response, read_json
from neutrino.domain.errors import BadRequest
from neutrino.services import quotas


async def collection(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    rows = await call(quotas.list_all, env, ctx)
    return json_response({"quotas": [{**limits, "project_id": p, "tenant_id": p}
                                     for p, limits in rows]})


async def member(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    project = request.path_params["project_id"]
    if request.method == "GET":
        limits = await call(quotas.get, env, ctx, project)
        return json_response({"quota": limits})
    if request.method == "PUT":
        policy.check_write(ctx, "update", "quota")
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("quota"), dict):
            raise BadRequest("Unable to find 'quota' in request body")
        values = {k: _int(k, v) for k, v in body["quota"].items()}
        limits = await call(quotas.update, env, ctx, project, values)
        return json_response({"quota": limits})
    policy.check_write(ctx, "delete", "quota")
    await call(quotas.reset, env, ctx, project)
    return Response(status_code=204)


def _int(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not an integer.")
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise BadRequest(
            f"Invalid input for {name}. Reason: '{value}' is not an integer."
        ) from None


async def default(request: Request) -> Response:
    env = env_of(request)
    await context_of(request)
    return json_response({"quota": quotas.defaults(env)})


async def details(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    project = request.path_params["project_id"]
    return json_response({"quota": await call(quotas.details, env, ctx, project)})
