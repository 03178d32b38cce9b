"""The subnet pool resource (neutron-lib `subnetpool`, `default-subnetpools`,
`address-scope`'s `address_scope_id`)."""

from __future__ import annotations

from typing import Any

from neutrino.domain import validate as v
from neutrino.domain.errors import BadRequest
from neutrino.domain.subnetpool import SubnetPoolCreate, SubnetPoolUpdate
from neutrino.domain.values import IPNetwork, net_str
from neutrino.schema.attributes import Attr, Resource, dump_str, standard_attrs
from neutrino.schema.subnets import non_negative


def not_empty_name(value: Any) -> str:
    """`type:not_empty_name_string`."""
    name = v.name_string(value)
    if not name.strip():
        raise v.InvalidValue(f"'{name}' Blank strings are not permitted")
    return name


def subnet_list(value: Any) -> tuple[IPNetwork, ...]:
    """`type:subnet_list`: a list of distinct CIDRs."""
    if not isinstance(value, list):
        raise v.InvalidValue(f"'{value}' is not a list")
    seen: list[Any] = []
    for item in value:
        if item in seen:
            raise v.InvalidValue(f"Duplicate items in the list: '{item}'")
        seen.append(item)
    return tuple(v.ip_subnet(item) for item in value)


def dump_prefixes(value: tuple[IPNetwork, ...]) -> list[str]:
    return [net_str(p) for p in value]


SUBNETPOOL = Resource(
    member="subnetpool",
    collection="subnetpools",
    create_type=SubnetPoolCreate,
    update_type=SubnetPoolUpdate,
    attrs=(
        *(a for a in standard_attrs() if a.name != "name"),
        Attr("name", not_empty_name, post=True, put=True, required=True, filter=True,
             sort=True),
        Attr("prefixes", subnet_list, post=True, put=True, required=True, dump=dump_prefixes),
        Attr("default_quota", non_negative, post=True, put=True, filter=True, sort=True),
        Attr("ip_version", v.ip_version, filter=True, sort=True),
        Attr("default_prefixlen", non_negative, post=True, put=True, filter=True, sort=True,
             dump=dump_str),
        Attr("min_prefixlen", non_negative, post=True, put=True, filter=True, sort=True,
             dump=dump_str),
        Attr("max_prefixlen", non_negative, post=True, put=True, filter=True, sort=True,
             dump=dump_str),
        Attr("is_default", v.to_bool, post=True, put=True, filter=True, sort=True,
             admin_write=True),
        Attr("shared", v.to_bool, post=True, filter=True, sort=True, admin_write=True),
        Attr("address_scope_id", v.uuid_or_none, post=True, put=True, filter=True, sort=True),
    ),
)


def prefixes_body(body: Any) -> tuple[IPNetwork, ...]:
    """`{"prefixes": [cidr, ...]}`, the body of add_prefixes / remove_prefixes."""
    prefixes = body.get("prefixes") if isinstance(body, dict) else None
    if not prefixes or not isinstance(prefixes, list):
        raise BadRequest("Request body contains invalid data")
    try:
        return tuple(v.ip_subnet(p) for p in prefixes)
    except v.InvalidValue as exc:
        raise BadRequest(f"Invalid input for prefixes. Reason: {exc.reason}") from None
