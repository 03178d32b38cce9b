"""Neutron's list query semantics: filters, fields, sorting and pagination, parsed into a
typed `ListQuery` from the same attribute table the bodies use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from neutrino.domain.errors import BadRequest, InvalidInput
from neutrino.domain.listing import ListQuery, Sort, TagFilter
from neutrino.schema.attributes import Resource

_TAG_KEYS = {"tags": "all", "tags-any": "any", "not-tags": "not_all", "not-tags-any": "not_any"}
_RESERVED = {"fields", "limit", "marker", "page_reverse", "sort_key", "sort_dir"}


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """The list query plus the projection (`fields=`), which only the API uses."""

    query: ListQuery
    fields: frozenset[str] | None = None
    raw: tuple[tuple[str, str], ...] = field(default=())


def _bool_param(name: str, raw: str) -> bool:
    low = raw.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise BadRequest(f"Invalid value '{raw}' for {name}")


def parse_list_query(
    resource: Resource, params: Iterable[tuple[str, str]], *, max_limit: int = 0
) -> ParsedQuery:
    """Turn `?name=a&name=b&sort_key=id&limit=10` into a typed query, or a clear 400.

    Repeated filters mean "any of"; unknown filter names are refused (Neutron's
    filter validation); `limit=0` means no limit.
    """
    params = tuple(params)
    filters: dict[str, list[Any]] = {}
    fields: set[str] = set()
    sort_keys: list[str] = []
    sort_dirs: list[str] = []
    tags: list[TagFilter] = []
    limit: int | None = None
    marker: str | None = None
    page_reverse = False
    for key, raw in params:
        if key == "fields":
            fields.update(f for f in raw.split(",") if f)
        elif key == "limit":
            try:
                limit = int(raw)
            except ValueError:
                raise BadRequest(f"Limit must be an integer 0 or greater and not '{raw}'") from None
            if limit < 0:
                raise BadRequest(f"Limit must be an integer 0 or greater and not '{raw}'")
        elif key == "marker":
            marker = raw
        elif key == "page_reverse":
            page_reverse = _bool_param(key, raw)
        elif key == "sort_key":
            attr = resource.by_name.get(raw)
            if attr is None or not attr.sort:
                raise BadRequest(f"{raw} is an invalid attribute for sort_key")
            sort_keys.append(attr.field)
        elif key == "sort_dir":
            if raw not in ("asc", "desc"):
                raise BadRequest(
                    f"{raw} is an invalid value for sort_dir, valid value is 'asc' and 'desc'"
                )
            sort_dirs.append(raw)
        elif key in _TAG_KEYS:
            values = tuple(t for t in raw.split(",") if t)
            tags.append(TagFilter(mode=_TAG_KEYS[key], tags=values))
        else:
            attr = resource.by_name.get(key)
            if attr is None or not attr.filter:
                raise BadRequest(f"[{key}] is invalid attribute for filtering")
            try:
                value = attr.convert_filter(raw)
            except InvalidInput as exc:
                raise BadRequest(f"Invalid input for {key}. Reason: {exc.reason}") from None
            filters.setdefault(attr.field, []).append(value)
    if sort_dirs and len(sort_dirs) != len(sort_keys):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    if max_limit and (limit is None or limit == 0 or limit > max_limit):
        limit = max_limit
    sorts = tuple(
        Sort(key, (sort_dirs[i] if sort_dirs else "asc") == "asc")
        for i, key in enumerate(sort_keys)
    )
    query = ListQuery(
        filters={k: tuple(vs) for k, vs in filters.items()},
        tags=tuple(tags),
        sorts=sorts,
        limit=limit or None,
        marker=marker,
        page_reverse=page_reverse,
    )
    return ParsedQuery(query=query, fields=frozenset(fields) if fields else None, raw=params)
