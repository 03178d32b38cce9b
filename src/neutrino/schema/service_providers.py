"""The service provider resource (neutron-lib `service-type`): read-only, list only."""

from __future__ import annotations

from neutrino.domain import validate as v
from neutrino.schema.attributes import Attr, Resource, string

SERVICE_PROVIDER = Resource(
    member="service_provider",
    collection="service_providers",
    path="service-providers",
    attrs=(
        Attr("service_type", string(255), filter=True, sort=True),
        Attr("name", string(255), filter=True, sort=True),
        Attr("default", v.to_bool, filter=True, sort=True),
    ),
)
