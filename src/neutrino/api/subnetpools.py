"""Subnet pool prefix operations (`subnetpool-prefix-ops`): PUT .../add_prefixes and
.../remove_prefixes with `{"prefixes": [...]}`, answering the pool's new prefix list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from neutrino import policy
from neutrino.api.calls import call
from neutrino.api.resources import context_of, env_of, json_response, read_json
from neutrino.domain.values import net_str
from neutrino.schema.subnetpools import prefixes_body
from neutrino.services import subnetpools


def _prefix_op(action: str, op: Callable[..., Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        env, ctx = env_of(request), await context_of(request)
        policy.check_write(ctx, action, "subnetpool")
        prefixes = prefixes_body(await read_json(request))
        result = await call(op, env, ctx, request.path_params["id"], prefixes)
        return json_response({"prefixes": [net_str(p) for p in result]})

    return endpoint


add_prefixes = _prefix_op("add_prefixes", subnetpools.add_prefixes)
remove_prefixes = _prefix_op("remove_prefixes", subnetpools.remove_prefixes)
