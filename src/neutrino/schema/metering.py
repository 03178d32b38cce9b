"""The metering resources (neutron-lib `metering`, `metering_source_and_destination_fields`).

Neither is a standard-attribute resource: no tags, timestamps or revision are shown, and
rules show no project."""

from __future__ import annotations

from typing import Any

from neutrino.domain import validate as v
from neutrino.domain.metering import DIRECTIONS, MeteringLabelCreate, MeteringLabelRuleCreate
from neutrino.domain.values import IPNetwork, net_str
from neutrino.schema.attributes import Attr, Resource, string

LONG_DESCRIPTION_MAX_LEN = 1024


def _direction(value: Any) -> str:
    return str(v.one_of(value, DIRECTIONS))


def _subnet_or_none(value: Any) -> IPNetwork | None:
    """`type:subnet` (remote_ip_prefix); null means not given."""
    return None if value is None else v.ip_subnet(value)


def _prefix_or_none(value: Any) -> IPNetwork | None:
    """source/destination prefixes: a CIDR, or one address (a /32 or /128)."""
    if value is None:
        return None
    if isinstance(value, str) and "/" not in value:
        address = v.ip_address(value)
        return v.ip_subnet(f"{value}/{address.max_prefixlen}")
    return v.ip_subnet(value)


def _dump_net(value: IPNetwork | None) -> str | None:
    return None if value is None else net_str(value)


def _project_attrs() -> tuple[Attr, ...]:
    return (
        Attr("project_id", v.project_id, post=True, filter=True, sort=True),
        Attr("tenant_id", v.project_id, post=True, filter=True, sort=True, field="project_id"),
    )


METERING_LABEL = Resource(
    member="metering_label",
    collection="metering_labels",
    path="metering/metering-labels",
    create_type=MeteringLabelCreate,
    attrs=(
        Attr("id", v.uuid_str, filter=True, sort=True),
        *_project_attrs(),
        Attr("name", v.name_string, post=True, filter=True, sort=True),
        Attr("description", string(LONG_DESCRIPTION_MAX_LEN), post=True, filter=True,
             sort=True),
        Attr("shared", v.to_bool, post=True, filter=True, sort=True),
    ),
)

METERING_LABEL_RULE = Resource(
    member="metering_label_rule",
    collection="metering_label_rules",
    path="metering/metering-label-rules",
    create_type=MeteringLabelRuleCreate,
    attrs=(
        Attr("id", v.uuid_str, filter=True, sort=True),
        Attr("project_id", v.project_id, post=True, visible=False),
        Attr("tenant_id", v.project_id, post=True, visible=False, field="project_id"),
        Attr("metering_label_id", v.uuid_str, post=True, required=True, filter=True,
             sort=True),
        Attr("direction", _direction, post=True, required=True, filter=True, sort=True),
        Attr("excluded", v.to_bool, post=True, filter=True, sort=True),
        Attr("remote_ip_prefix", _subnet_or_none, post=True, filter=True, sort=True,
             dump=_dump_net, filter_convert=str),
        Attr("source_ip_prefix", _prefix_or_none, post=True, filter=True, sort=True,
             dump=_dump_net, filter_convert=str),
        Attr("destination_ip_prefix", _prefix_or_none, post=True, filter=True, sort=True,
             dump=_dump_net, filter_convert=str),
    ),
)
