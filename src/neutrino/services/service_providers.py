"""Service providers (`service-type`): the drivers behind advanced services.

Neutron lists the providers configured for its service plugins (LBaaS, VPNaaS, L3 flavors).
neutrino has no pluggable advanced-service providers, so the list is honestly empty; what
the list query asks (filters, sorting) is still checked by the API."""

from __future__ import annotations

from dataclasses import dataclass

from neutrino.domain.context import Context
from neutrino.domain.errors import not_found
from neutrino.domain.listing import ListQuery, Page
from neutrino.services._env import Env


@dataclass(frozen=True, slots=True)
class ServiceProvider:
    service_type: str
    name: str
    default: bool


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[ServiceProvider]:
    return Page([], False)


def get(env: Env, ctx: Context, name: str) -> ServiceProvider:
    """There is no member URL in Neutron; kept for the binding's shape, never routed."""
    raise not_found("service_provider", name)
