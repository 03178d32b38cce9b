"""Neutron's standard attributes, shared by every top-level resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final


class _Unset:
    """The value of an update field the request did not mention."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Standard:
    """id, project, name/description, timestamps, revision and tags: on every resource."""

    id: str
    project_id: str
    name: str = ""
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision_number: int = 0
    tags: tuple[str, ...] = field(default=())


def changed_fields(update: Any) -> dict[str, Any]:
    """The fields of an update object that the request actually set (not UNSET)."""
    return {
        name: value
        for name in update.__dataclass_fields__
        if (value := getattr(update, name)) is not UNSET
    }
