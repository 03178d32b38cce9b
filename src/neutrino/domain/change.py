"""A change-log entry: what one committed mutation did to one resource."""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Op(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Change:
    """`seq` is assigned at commit (gap-free, in commit order); 0 until then."""

    resource: str
    resource_id: str
    op: Op
    revision: int
    project_id: str | None
    body: dict[str, Any] | None
    seq: int = 0
    created_at: datetime | None = None

    @staticmethod
    def of(op: Op, resource: str, obj: Any) -> Change:
        """A change carrying the object's plain form (`to_plain`), or no body for deletes."""
        return Change(
            resource=resource,
            resource_id=obj.id,
            op=op,
            revision=getattr(obj, "revision_number", 0),
            project_id=getattr(obj, "project_id", None),
            body=None if op is Op.DELETE else to_plain(obj),
        )


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples, addresses and times as JSON-ready values (the wire form)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Fields excluded from comparison are caches of other fields (FixedIp.text): skip.
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.compare
        }
    if isinstance(value, (tuple, list, frozenset, set)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_plain(item) for k, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value
