"""`GET /v2.0/changes?since=N&timeout=S&limit=L`: the change log, long-polled.

For agents and other watchers (admin or service role), who say which agent protocol they
speak in `X-Neutrino-Protocol` (or `?protocol=`). Answers
`{"changes": [...], "last_seq": N, "protocol": P}`; resume from the last change's seq, or
from `last_seq` when `changes` is empty. 410 ChangesTooOld when `since` was compacted away
(resync, then resume from the `resume_from=N` in `detail`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from neutrino import changes, wire
from neutrino.api.resources import context_of, json_response
from neutrino.domain.change import to_plain
from neutrino.domain.errors import BadRequest, PolicyNotAuthorized

MAX_TIMEOUT = 60.0
MAX_LIMIT = 10_000


def _param(request: Request, name: str, default: float, *, integer: bool) -> float:
    """A non-negative number from the query string, or 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    if not value >= 0:  # also refuses NaN
        kind = "a non-negative integer" if integer else "a non-negative number"
        raise BadRequest(f"Invalid value '{raw}' for {name}: must be {kind}")
    return value


async def watch(request: Request) -> Response:
    ctx = await context_of(request)
    if not ctx.is_service:
        raise PolicyNotAuthorized("(get_changes) is disallowed by policy")
    wire.check(request.headers.get(wire.PROTOCOL_HEADER) or request.query_params.get("protocol"))
    since = int(_param(request, "since", 0, integer=True))
    limit = max(1, min(int(_param(request, "limit", 1000, integer=True)), MAX_LIMIT))
    timeout = min(_param(request, "timeout", 0, integer=False), MAX_TIMEOUT)
    feed: changes.Feed = request.app.state.feed
    batch = await feed.wait(since, timeout, limit)
    return json_response({
        "changes": [to_plain(c) for c in batch.changes],
        "last_seq": batch.last_seq,
        "protocol": wire.SUPPORTED_MAJORS[-1],
    })
