"""Security groups and rules (neutron `securitygroup`, neutron-lib `stateful-security-group`,
`security-groups-normalized-cidr`, `security-groups-rules-belongs-to-default-sg`).

The URL collections are `security-groups` / `security-group-rules`; the JSON keys use `_`.
"""

from __future__ import annotations

from typing import Any

from neutrino.domain import security_group as sg
from neutrino.domain import validate as v
from neutrino.domain.security_group import (
    SecurityGroupCreate,
    SecurityGroupRuleCreate,
    SecurityGroupUpdate,
)
from neutrino.schema.attributes import Attr, Resource, dump_time, standard_attrs, string


def _cidr_filter(raw: Any) -> str | None:
    """A normalized_cidr filter value, written the way the column stores it."""
    return sg.normalized_cidr(v.ip_prefix_as_given(raw))


SECURITY_GROUP_RULE = Resource(
    member="security_group_rule",
    collection="security_group_rules",
    path="security-group-rules",
    create_type=SecurityGroupRuleCreate,
    attrs=(
        Attr("id", v.uuid_str, filter=True, sort=True),
        Attr("project_id", v.project_id, post=True, filter=True, sort=True),
        Attr("tenant_id", v.project_id, post=True, filter=True, sort=True, field="project_id"),
        Attr("description", v.description, post=True, filter=True, sort=True),
        Attr("created_at", dump=dump_time, filter=True, sort=True),
        Attr("updated_at", dump=dump_time, filter=True, sort=True),
        Attr("revision_number", v.to_int, filter=True, sort=True),
        Attr("security_group_id", string(36), post=True, required=True, filter=True, sort=True),
        Attr("remote_group_id", sg.remote_group, post=True, filter=True, sort=True),
        Attr("direction", v.direction, post=True, required=True, filter=True, sort=True),
        Attr("protocol", v.protocol, post=True, filter=True, sort=True),
        Attr("port_range_min", v.port_value, post=True, filter=True, sort=True),
        Attr("port_range_max", v.port_value, post=True, filter=True, sort=True),
        Attr("ethertype", v.ethertype, post=True, filter=True, sort=True),
        Attr("remote_ip_prefix", v.ip_prefix_as_given, post=True, filter=True, sort=True),
        Attr("normalized_cidr", filter=True, sort=True, filter_convert=_cidr_filter),
        Attr("belongs_to_default_sg", filter=True, filter_convert=v.to_bool),
    ),
)


def _dump_rules(rules: tuple[sg.SecurityGroupRule, ...]) -> list[dict[str, Any]]:
    return [SECURITY_GROUP_RULE.project(rule) for rule in rules]


SECURITY_GROUP = Resource(
    member="security_group",
    collection="security_groups",
    path="security-groups",
    create_type=SecurityGroupCreate,
    update_type=SecurityGroupUpdate,
    attrs=(
        *(a for a in standard_attrs() if a.name != "name"),
        # 'default' is refused as a new name, but is of course a fine thing to look for.
        Attr("name", sg.group_name, post=True, put=True, filter=True, sort=True,
             filter_convert=v.name_string),
        Attr("stateful", v.to_bool, post=True, put=True, filter=True),
        Attr("security_group_rules", field="rules", dump=_dump_rules),
    ),
)
