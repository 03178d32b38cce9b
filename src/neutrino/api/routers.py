"""The router actions beyond CRUD: add/remove_router_interface and add/remove_extraroutes."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from neutrino import policy
from neutrino.api.calls import call
from neutrino.api.resources import Binding, context_of, env_of, json_response, read_json
from neutrino.domain.router import Router
from neutrino.schema.floatingips import FLOATINGIP_POOL
from neutrino.schema.routers import ROUTER, interface_request, routes_body
from neutrino.services import floatingips, router_interfaces, routers

FLOATINGIP_POOLS = Binding(FLOATINGIP_POOL, list=floatingips.list_pools, get=floatingips.get)


async def add_router_interface(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    policy.check_write(ctx, "add_router_interface", "router")
    req = interface_request(await read_json(request))
    info = await call(router_interfaces.add, env, ctx,
                                   request.path_params["id"], req)
    return json_response(info.to_json())


async def remove_router_interface(request: Request) -> Response:
    env, ctx = env_of(request), await context_of(request)
    policy.check_write(ctx, "remove_router_interface", "router")
    req = interface_request(await read_json(request))
    info = await call(router_interfaces.remove, env, ctx,
                                   request.path_params["id"], req)
    return json_response(info.to_json())


async def add_extraroutes(request: Request) -> Response:
    return await _extraroutes(request, "add_extraroutes", routers.add_extraroutes)


async def remove_extraroutes(request: Request) -> Response:
    return await _extraroutes(request, "remove_extraroutes", routers.remove_extraroutes)


async def _extraroutes(request: Request, action: str, change: Callable[..., Router]) -> Response:
    env, ctx = env_of(request), await context_of(request)
    policy.check_write(ctx, action, "router")
    routes = routes_body(await read_json(request))
    router = await call(change, env, ctx, request.path_params["id"], routes)
    return json_response({"router": ROUTER.project(router, is_admin=ctx.is_admin)})
