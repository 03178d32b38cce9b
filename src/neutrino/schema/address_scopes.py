"""The address scope resource (neutron-lib `address-scope`)."""

from __future__ import annotations

from neutrino.domain import validate as v
from neutrino.domain.address_scope import AddressScopeCreate, AddressScopeUpdate
from neutrino.schema.attributes import Attr, Resource, standard_attrs

ADDRESS_SCOPE = Resource(
    member="address_scope",
    collection="address_scopes",
    path="address-scopes",
    create_type=AddressScopeCreate,
    update_type=AddressScopeUpdate,
    attrs=(
        *standard_attrs(),
        Attr("shared", v.to_bool, post=True, put=True, filter=True, sort=True,
             admin_write=True),
        Attr("ip_version", v.ip_version, post=True, required=True, filter=True, sort=True),
    ),
)
