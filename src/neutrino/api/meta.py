"""Version discovery and the extensions list: what clients read before anything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from neutrino.api.extensions import EXTENSIONS, by_alias
from neutrino.api.resources import json_response
from neutrino.domain.errors import NotFound


async def versions(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    return json_response({"versions": [{
        "id": "v2.0", "status": "CURRENT",
        "links": [{"href": f"{base}/v2.0/", "rel": "self"}],
    }]})


async def v2_root(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    names = ["network", "subnet", "port", "subnetpool", "security_group", "security_group_rule",
             "router", "floatingip", "quota", "extension", "address_scope"]
    return json_response({"resources": [
        {"name": n, "collection": f"{n}s", "links": [{"href": f"{base}/v2.0/{n}s", "rel": "self"}]}
        for n in names
    ]})


async def extensions(request: Request) -> Response:
    return json_response({"extensions": [e.to_json() for e in EXTENSIONS]})


async def extension(request: Request) -> Response:
    alias = request.path_params["alias"]
    ext = by_alias().get(alias)
    if ext is None:
        raise NotFound(f"Extension with alias {alias} does not exist", type_name="HTTPNotFound")
    return json_response({"extension": ext.to_json()})
