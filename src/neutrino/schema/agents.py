"""The agent resource (neutron-lib `agent`): read, and admin updates of admin_state_up and
description. Times are shown in Neutron's agent format ("%Y-%m-%d %H:%M:%S", UTC), which
is how Neutron's serializer prints the datetimes of its agents table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neutrino.domain import validate as v
from neutrino.domain.agent import AgentUpdate
from neutrino.schema.attributes import Attr, Resource


def dump_agent_time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _description(value: Any) -> str | None:
    return v.string_or_none(value, 255)


AGENT = Resource(
    member="agent",
    collection="agents",
    update_type=AgentUpdate,
    attrs=(
        Attr("id", v.uuid_str, filter=True, sort=True),
        Attr("agent_type", filter=True, sort=True),
        Attr("binary", filter=True, sort=True),
        Attr("topic", filter=True, sort=True),
        Attr("host", filter=True, sort=True),
        Attr("admin_state_up", v.to_bool, put=True, filter=True, sort=True),
        Attr("created_at", dump=dump_agent_time, sort=True),
        Attr("started_at", dump=dump_agent_time, sort=True),
        Attr("heartbeat_timestamp", dump=dump_agent_time, sort=True),
        Attr("alive", v.to_bool, filter=True),
        Attr("configurations"),
        Attr("description", _description, put=True, filter=True),
        Attr("availability_zone"),
        Attr("resources_synced"),
    ),
)
