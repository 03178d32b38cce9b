"""Neutron list semantics in SQL: filters, tag filters, sorting and keyset pagination.

Every repository's `list` goes through `paged_select`, so the semantics are written once.
Pagination is by keyset, not OFFSET: the marker is the last id of the previous page, and the
next page starts strictly after that row in (sort keys..., id) order, so pages stay stable
while rows are inserted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from neutrino.db.tables.core import tags as tags_table
from neutrino.domain.errors import BadRequest
from neutrino.domain.listing import ListQuery, Sort, TagFilter

Column = sa.ColumnElement[Any]
# A filter the table's columns cannot express (e.g. ports' fixed_ips): values -> WHERE clause.
SpecialFilter = Callable[[tuple[Any, ...]], sa.ColumnElement[bool]]


def filter_clauses(
    query: ListQuery,
    columns: Mapping[str, Column],
    special: Mapping[str, SpecialFilter] | None = None,
) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses for the query's attribute filters: each field matches any of its values."""
    clauses: list[sa.ColumnElement[bool]] = []
    for name, values in query.filters.items():
        if special and name in special:
            clauses.append(special[name](values))
            continue
        column = columns.get(name)
        if column is None:
            raise BadRequest(f"[{name}] is invalid attribute for filtering")
        plain = [str(v) if _is_address(v) else v for v in values]
        nulls = [v for v in plain if v is None]
        others = [v for v in plain if v is not None]
        parts: list[sa.ColumnElement[bool]] = []
        if others:
            parts.append(column == others[0] if len(others) == 1 else column.in_(others))
        if nulls:
            parts.append(column.is_(None))
        clauses.append(sa.or_(*parts) if len(parts) > 1 else parts[0])
    return clauses


def _is_address(value: Any) -> bool:
    return type(value).__module__ == "ipaddress"


def tag_clauses(
    resource: str, id_column: Column, filters: Sequence[TagFilter]
) -> list[sa.ColumnElement[bool]]:
    """`tags` / `tags-any` / `not-tags` / `not-tags-any` as EXISTS subqueries."""
    clauses: list[sa.ColumnElement[bool]] = []
    for tf in filters:
        if not tf.tags:
            continue
        matching = (
            sa.select(sa.func.count())
            .select_from(tags_table)
            .where(
                tags_table.c.resource == resource,
                tags_table.c.resource_id == id_column,
                tags_table.c.tag.in_(tf.tags),
            )
            .scalar_subquery()
        )
        n = len(set(tf.tags))
        if tf.mode == "all":
            clauses.append(matching == n)
        elif tf.mode == "any":
            clauses.append(matching > 0)
        elif tf.mode == "not_all":
            clauses.append(matching < n)
        else:
            clauses.append(matching == 0)
    return clauses


def paged_select(
    stmt: sa.Select[Any],
    query: ListQuery,
    columns: Mapping[str, Column],
    id_column: Column,
    marker_values: Callable[[str], Mapping[str, Any] | None],
) -> sa.Select[Any]:
    """Add ORDER BY, the marker's keyset condition and LIMIT (one extra row to see if more).

    `marker_values(id)` returns the marker row's sort-key values, or None if it doesn't exist
    (Neutron answers 404 for a marker that doesn't exist; so do we).
    """
    sorts = list(query.sorts)
    if not any(s.field == "id" for s in sorts):
        sorts.append(Sort("id", sorts[-1].ascending if sorts else True))
    if query.page_reverse:
        sorts = [Sort(s.field, not s.ascending) for s in sorts]
    keys: list[tuple[Column, bool]] = []
    for s in sorts:
        column = id_column if s.field == "id" else columns.get(s.field)
        if column is None:
            raise BadRequest(f"{s.field} is an invalid attribute for sort_key")
        keys.append((column, s.ascending))
    if query.marker is not None:
        values = marker_values(query.marker)
        if values is None:
            from neutrino.domain.errors import NotFound

            raise NotFound(f"Marker {query.marker} could not be found.", type_name="MarkerNotFound")
        fields = [s.field for s in sorts]
        stmt = stmt.where(_after(keys, [values[f] for f in fields]))
    stmt = stmt.order_by(*(c.asc() if asc else c.desc() for c, asc in keys))
    if query.limit:
        stmt = stmt.limit(query.limit + 1)
    return stmt


def _after(keys: list[tuple[Column, bool]], values: list[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after `values` in the (mixed-direction) order of `keys`.

    (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...; with `<` for descending keys.
    """
    ors: list[sa.ColumnElement[bool]] = []
    for i, (column, asc) in enumerate(keys):
        equal_prefix = [keys[j][0] == values[j] for j in range(i)]
        step = column > values[i] if asc else column < values[i]
        ors.append(sa.and_(*equal_prefix, step))
    return sa.or_(*ors)
