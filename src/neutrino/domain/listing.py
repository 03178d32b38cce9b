"""What a list request asks for, independent of HTTP and SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sort:
    field: str
    ascending: bool = True


@dataclass(frozen=True, slots=True)
class TagFilter:
    """`tags` (all of), `tags-any`, `not-tags` (not all of), `not-tags-any` (none of)."""

    mode: Literal["all", "any", "not_all", "not_any"] | str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Filters (field -> any of these values), tag filters, sort and keyset pagination."""

    filters: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    tags: tuple[TagFilter, ...] = ()
    sorts: tuple[Sort, ...] = ()
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; `has_more` says whether a next page exists past the last item."""

    items: list[T]
    has_more: bool = False
