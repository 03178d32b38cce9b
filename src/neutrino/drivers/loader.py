"""Find plug-in classes by name through Python entry points (DESIGN decision 7)."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any


def load(group: str, name: str) -> Any:
    """The object registered as `name` in entry-point `group`, or a clear error."""
    for ep in entry_points(group=group):
        if ep.name == name:
            return ep.load()
    known = sorted(ep.name for ep in entry_points(group=group))
    raise LookupError(f"no {group} plug-in named {name!r}; installed: {', '.join(known) or '-'}")


def names(group: str) -> list[str]:
    return sorted(ep.name for ep in entry_points(group=group))
