"""The tag endpoints of every taggable collection (Neutron's standard-attr-tag)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from neutrino import policy
from neutrino.api.calls import call
from neutrino.api.resources import context_of, env_of, json_response, read_json
from neutrino.domain import validate
from neutrino.domain.errors import BadRequest, InvalidInput
from neutrino.services import tags


async def all_tags(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    collection, rid = request.path_params["collection"], request.path_params["id"]
    if request.method == "GET":
        found = await call(tags.get, env, ctx, collection, rid)
        return json_response({"tags": list(found)})
    policy.check_write(ctx, "update", collection)
    if request.method == "DELETE":
        await call(tags.remove_all, env, ctx, collection, rid)
        return Response(status_code=204)
    try:
        wanted = validate.tags_body(await read_json(request))
    except InvalidInput as exc:
        raise BadRequest(f"Invalid input for tags. Reason: {exc.reason}") from None
    if request.method == "POST":  # add these tags, keep the others
        result = await call(tags.add_many, env, ctx, collection, rid, wanted)
        return json_response({"tags": list(result)}, 201)
    result = await call(tags.replace_all, env, ctx, collection, rid, wanted)
    return json_response({"tags": list(result)})


async def one_tag(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    collection, rid = request.path_params["collection"], request.path_params["id"]
    try:
        tag = validate.tag(request.path_params["tag"])
    except InvalidInput as exc:
        raise BadRequest(f"Invalid input for tag. Reason: {exc.reason}") from None
    if request.method == "GET":
        await call(tags.has, env, ctx, collection, rid, tag)
        return Response(status_code=204)
    policy.check_write(ctx, "update", collection)
    if request.method == "DELETE":
        await call(tags.remove, env, ctx, collection, rid, tag)
        return Response(status_code=204)
    await call(tags.add, env, ctx, collection, rid, tag)
    return Response(status_code=201)
