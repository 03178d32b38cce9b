"""`GET /v2.0/changes?since=N&timeout=S&limit=L`: the change log, long-polled.

For agents and other watchers (admin or service role). Answers
`{"changes": [...], "last_seq": N}`; 410 ChangesTooOld when `since` was compacted away.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from neutrino import changes
from neutrino.api.resources import context_of, env_of, json_response
from neutrino.domain.change import to_plain
from neutrino.domain.errors import BadRequest, PolicyNotAuthorized

MAX_TIMEOUT = 60.0


def _number(request: Request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"Invalid value '{raw}' for {name}") from None
    if value < 0:
        raise BadRequest(f"Invalid value '{raw}' for {name}")
    return value


async def watch(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    if not ctx.is_service:
        raise PolicyNotAuthorized("(get_changes) is disallowed by policy")
    changes.check_protocol(request.headers.get("x-neutrino-protocol")
                           or request.query_params.get("protocol"))
    since = int(_number(request, "since", 0))
    limit = max(1, min(int(_number(request, "limit", 1000)), 10_000))
    timeout = min(_number(request, "timeout", 0), MAX_TIMEOUT)
    batch = await changes.wait(env.db, since, timeout, limit)
    return json_response({
        "changes": [to_plain(c) for c in batch.changes],
        "last_seq": batch.last_seq,
        "protocol": changes.PROTOCOL_VERSIONS[-1],
    })
