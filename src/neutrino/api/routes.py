"""Every URL the server answers, in one table."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from neutrino.api import changes, meta, quotas
from neutrino.api.bindings import ALL
from neutrino.api.resources import Binding, collection, member


def resource_routes(binding: Binding) -> list[BaseRoute]:
    """List/create on the collection; show/update/delete on a member."""
    base = f"/v2.0/{binding.spec.collection}"
    return [
        Route(base, collection(binding), methods=["GET", "POST"]),
        Route(base + "/{id}", member(binding), methods=["GET", "PUT", "DELETE"]),
    ]


ROUTES: list[BaseRoute] = [
    Route("/", meta.versions, methods=["GET"]),
    Route("/v2.0", meta.v2_root, methods=["GET"]),
    Route("/v2.0/", meta.v2_root, methods=["GET"]),
    Route("/v2.0/extensions", meta.extensions, methods=["GET"]),
    Route("/v2.0/extensions/{alias}", meta.extension, methods=["GET"]),
    Route("/v2.0/changes", changes.watch, methods=["GET"]),
    Route("/v2.0/quotas", quotas.collection, methods=["GET"]),
    Route("/v2.0/quotas/{project_id}/default", quotas.default, methods=["GET"]),
    Route("/v2.0/quotas/{project_id}/details", quotas.details, methods=["GET"]),
    Route("/v2.0/quotas/{project_id}", quotas.member, methods=["GET", "PUT", "DELETE"]),
    *(r for binding in ALL for r in resource_routes(binding)),
]
