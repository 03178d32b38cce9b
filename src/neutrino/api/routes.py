"""Every URL the server answers, in one table."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from neutrino.api import (
    agent_protocol,
    agents,
    changes,
    meta,
    metering,
    quotas,
    routers,
    subnetpools,
    tags,
)
from neutrino.api.bindings import ALL
from neutrino.api.resources import Binding, collection, member


def resource_routes(binding: Binding) -> list[BaseRoute]:
    """List/create on the collection; show/update/delete on a member.

    A resource without an update (security group rules) answers PUT with 405, as Neutron."""
    base = f"/v2.0/{binding.spec.path}"
    member_methods = ["GET", "DELETE"] + (["PUT"] if binding.update is not None else [])
    return [
        Route(base, collection(binding), methods=["GET", "POST"]),
        Route(base + "/{id}", member(binding), methods=member_methods),
    ]


ROUTES: list[BaseRoute] = [
    Route("/", meta.versions, methods=["GET"]),
    Route("/v2.0", meta.v2_root, methods=["GET"]),
    Route("/v2.0/", meta.v2_root, methods=["GET"]),
    Route("/v2.0/extensions", meta.extensions, methods=["GET"]),
    Route("/v2.0/extensions/{alias}", meta.extension, methods=["GET"]),
    Route("/v2.0/changes", changes.watch, methods=["GET"]),
    *resource_routes(agents.AGENTS),
    Route("/v2.0/neutrino/agents", agent_protocol.report, methods=["POST"]),
    Route("/v2.0/neutrino/hosts/{host}/snapshot", agent_protocol.snapshot, methods=["GET"]),
    Route("/v2.0/neutrino/ports/{id}/status", agent_protocol.port_status, methods=["PUT"]),
    Route("/v2.0/quotas", quotas.collection, methods=["GET"]),
    Route("/v2.0/quotas/{project_id}/default", quotas.default, methods=["GET"]),
    Route("/v2.0/quotas/{project_id}/details", quotas.details, methods=["GET"]),
    Route("/v2.0/quotas/{project_id}", quotas.member, methods=["GET", "PUT", "DELETE"]),
    *(r for binding in ALL for r in resource_routes(binding)),
    Route("/v2.0/subnetpools/{id}/add_prefixes", subnetpools.add_prefixes, methods=["PUT"]),
    Route("/v2.0/subnetpools/{id}/remove_prefixes", subnetpools.remove_prefixes,
          methods=["PUT"]),
    Route("/v2.0/routers/{id}/add_router_interface", routers.add_router_interface,
          methods=["PUT"]),
    Route("/v2.0/routers/{id}/remove_router_interface", routers.remove_router_interface,
          methods=["PUT"]),
    Route("/v2.0/routers/{id}/add_extraroutes", routers.add_extraroutes, methods=["PUT"]),
    Route("/v2.0/routers/{id}/remove_extraroutes", routers.remove_extraroutes, methods=["PUT"]),
    Route("/v2.0/floatingip_pools", collection(routers.FLOATINGIP_POOLS), methods=["GET"]),
    *(r for binding in metering.BINDINGS for r in resource_routes(binding)),
    Route("/v2.0/service-providers", collection(metering.SERVICE_PROVIDERS), methods=["GET"]),
    Route("/v2.0/{collection}/{id}/tags", tags.all_tags,
          methods=["GET", "POST", "PUT", "DELETE"]),
    Route("/v2.0/{collection}/{id}/tags/{tag}", tags.one_tag, methods=["GET", "PUT", "DELETE"]),
]
