"""Generic handlers for a resource's collection and members.

Each resource is a `Binding`: its attribute table (`schema`) and its service functions. The
handlers parse with the table, check the role policy, run the service in the thread pool (one
transaction inside), and project the result with the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response

from neutrino import policy
from neutrino.api.auth import CONTEXT_KEY
from neutrino.api.calls import call
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, RequestTooLarge
from neutrino.schema.attributes import Resource
from neutrino.schema.query import parse_list_query
from neutrino.services import bulk
from neutrino.services._env import Env

MAX_BODY = 114_688  # Neutron's max_request_body_size


@dataclass(frozen=True)
class Binding:
    """A resource's table plus the service functions that carry out its operations."""

    spec: Resource
    list: Callable[..., Any]
    get: Callable[..., Any]
    create_in: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    delete: Callable[..., Any] | None = None


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def read_json(request: Request) -> Any:
    """The request body as JSON, or 400 (malformed) / 413 (too large)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise RequestTooLarge("Request is too large.")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise RequestTooLarge("Request is too large.")
    if not raw:
        raise BadRequest("Resource body required")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("Malformed request body") from None


def if_match(request: Request) -> int | None:
    """`If-Match: revision_number=N` -> N (other If-Match forms are ignored, as in Neutron)."""
    header = request.headers.get("if-match")
    if not header:
        return None
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "revision_number":
            if not value.isdigit():
                raise BadRequest(f"If-Match header value '{header}' is not valid")
            return int(value)
    return None


def env_of(request: Request) -> Env:
    env: Env = request.app.state.env
    return env


async def context_of(request: Request) -> Context:
    """The caller, as `auth.Authenticate` found it (authenticating here only if it did not run)."""
    ctx: Context | None = request.scope.get("state", {}).get(CONTEXT_KEY)
    if ctx is None:
        ctx = await request.app.state.auth.authenticate(request)
    return ctx


def _links(request: Request, spec: Resource, items: list[dict[str, Any]], ids: list[str],
           has_more: bool, reverse: bool, limit: int | None, marker: str | None) -> list[Any]:
    """Neutron's `<collection>_links`: next when a page is full, previous when paging on."""
    if not limit:
        return []
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k not in ("marker", "page_reverse")]
    base = str(request.url.replace(query=""))
    links = []
    more_forward = has_more if not reverse else bool(marker)
    more_back = bool(marker) if not reverse else has_more
    if ids and more_forward:
        links.append({"rel": "next", "href": f"{base}?{urlencode([*params, ('marker', ids[-1])])}"})
    if ids and more_back:
        back = [*params, ("marker", ids[0]), ("page_reverse", "True")]
        links.append({"rel": "previous", "href": f"{base}?{urlencode(back)}"})
    return links


def collection(binding: Binding) -> Callable[[Request], Any]:
    """GET (list) and POST (create, single or bulk) on `/v2.0/<collection>`."""
    spec = binding.spec

    async def endpoint(request: Request) -> Response:
        env, ctx = env_of(request), await context_of(request)
        if request.method == "GET":
            policy.check_read(ctx, spec.member)
            parsed = parse_list_query(
                spec, request.query_params.multi_items(), max_limit=env.config.max_page_size
            )
            page = await call(binding.list, env, ctx, parsed.query)
            admin = ctx.is_admin
            items = [spec.project(o, fields=parsed.fields, is_admin=admin, config=env.config)
                     for o in page.items]
            body: dict[str, Any] = {spec.collection: items}
            q = parsed.query
            links = _links(request, spec, items, [o.id for o in page.items], page.has_more,
                           q.page_reverse, q.limit, q.marker)
            if links:
                body[f"{spec.collection}_links"] = links
            return json_response(body)
        if binding.create_in is None:
            raise BadRequest(f"{spec.collection} cannot be created")
        raw = await read_json(request)
        members = spec.unwrap_many(raw)
        reqs = []
        for member in members:
            project = member.get("project_id") or member.get("tenant_id")
            policy.check_write(ctx, "create", spec.member, project)
            reqs.append(spec.parse_create(member, is_admin=ctx.is_admin))
        created = await call(bulk.create, env, ctx, binding.create_in, reqs)
        if isinstance(raw, dict) and spec.member in raw:
            return json_response(
                {spec.member: spec.project(created[0], is_admin=ctx.is_admin, config=env.config)},
                201)
        return json_response(
            {spec.collection: [spec.project(o, is_admin=ctx.is_admin, config=env.config)
                               for o in created]}, 201
        )

    return endpoint


def member(binding: Binding) -> Callable[[Request], Any]:
    """GET / PUT / DELETE on `/v2.0/<collection>/{id}`."""
    spec = binding.spec

    async def endpoint(request: Request) -> Response:
        env, ctx = env_of(request), await context_of(request)
        rid = request.path_params["id"]
        if request.method == "GET":
            policy.check_read(ctx, spec.member)
            obj = await call(binding.get, env, ctx, rid)
            fields = {f for v in request.query_params.getlist("fields") for f in v.split(",") if f}
            return json_response(
                {spec.member: spec.project(obj, fields=frozenset(fields) or None,
                                           is_admin=ctx.is_admin, config=env.config)}
            )
        if request.method == "PUT":
            if binding.update is None:
                raise BadRequest(f"{spec.collection} cannot be updated")
            policy.check_write(ctx, "update", spec.member)
            req = spec.parse_update(spec.unwrap(await read_json(request)), is_admin=ctx.is_admin)
            obj = await call(binding.update, env, ctx, rid, req, if_match(request))
            return json_response(
                {spec.member: spec.project(obj, is_admin=ctx.is_admin, config=env.config)})
        if binding.delete is None:
            raise BadRequest(f"{spec.collection} cannot be deleted")
        policy.check_write(ctx, "delete", spec.member)
        await call(binding.delete, env, ctx, rid)
        return Response(status_code=204)

    return endpoint
