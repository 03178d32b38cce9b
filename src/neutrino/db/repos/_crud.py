"""The rows-in, rows-out mechanics every resource table shares, written once.

A resource module builds one `Crud` with its table and two small functions (row -> object,
object -> row) and adds its own queries beside it. Updates are compare-and-swap on
revision_number: the write only lands if the revision read is still current.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from neutrino.db import listing
from neutrino.db.repos import tags as tag_repo
from neutrino.db.tx import Tx
from neutrino.domain.errors import Conflict
from neutrino.domain.listing import ListQuery, Page

T = TypeVar("T")

ScopeClause = Callable[[str], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class Crud(Generic[T]):
    """Generic storage for one resource table whose key is `id` and which has tags."""

    resource: str
    table: sa.Table
    to_obj: Callable[[Any, tuple[str, ...]], T]
    to_row: Callable[[T], dict[str, Any]]
    columns: Mapping[str, sa.ColumnElement[Any]] = field(default_factory=dict)
    special_filters: Mapping[str, listing.SpecialFilter] = field(default_factory=dict)
    scope: ScopeClause | None = None
    # Extra columns read with every row (per dialect), e.g. children aggregated in SQL.
    extra_columns: Callable[[str], Sequence[sa.ColumnElement[Any]]] | None = None

    def __post_init__(self) -> None:
        if not self.columns:
            cols: dict[str, sa.ColumnElement[Any]] = {c.name: c for c in self.table.c}
            object.__setattr__(self, "columns", cols)

    # Statements built once: building a statement costs more than running it on a warm
    # connection (SQLAlchemy's construction and cache-key work; see docs/performance.md).
    @cached_property
    def _get(self) -> sa.Select[Any]:
        return sa.select(self.table).where(self.table.c.id == sa.bindparam("rid"))

    @cached_property
    def _get_for_update(self) -> sa.Select[Any]:
        return self._get.with_for_update()

    @cached_property
    def _insert(self) -> sa.Insert:
        return self.table.insert()

    # -- reads --------------------------------------------------------------------------

    def get(
        self, tx: Tx, rid: str, *, for_update: bool = False, with_tags: bool = True
    ) -> T | None:
        """One object by id. `with_tags=False` skips a query for internal reads that never
        show or store the object's tags (the object then carries none)."""
        locking = for_update and tx.dialect == "postgresql"
        stmt = self._get_for_update if locking else self._get
        row = tx.conn.execute(stmt, {"rid": rid}).one_or_none()
        if row is None:
            return None
        tags = tag_repo.load(tx, self.resource, [rid]).get(rid, ()) if with_tags else ()
        return self.to_obj(row, tags)

    def visible(self, project_id: str | None) -> list[sa.ColumnElement[bool]]:
        """Scope clauses: everything for admins (None), else the resource's own rule."""
        if project_id is None:
            return []
        if self.scope is None:
            return [self.table.c.project_id == project_id]
        return [self.scope(project_id)]

    def rows(
        self, tx: Tx, query: ListQuery, project_id: str | None,
        extra: Sequence[sa.ColumnElement[bool]] = (),
    ) -> tuple[list[Any], bool]:
        """The rows of one page, and whether more follow."""
        t = self.table
        more_columns = self.extra_columns(tx.dialect) if self.extra_columns else ()
        stmt = sa.select(t, *more_columns).where(
            *self.visible(project_id),
            *listing.filter_clauses(query, self.columns, self.special_filters),
            *listing.tag_clauses(self.resource, t.c.id, query.tags),
            *extra,
        )

        def marker_values(marker: str) -> Mapping[str, Any] | None:
            row = tx.conn.execute(sa.select(t).where(t.c.id == marker)).one_or_none()
            return None if row is None else dict(row._mapping)

        stmt = listing.paged_select(stmt, query, self.columns, t.c.id, marker_values)
        rows = list(tx.conn.execute(stmt))
        has_more = bool(query.limit) and len(rows) > (query.limit or 0)
        if has_more:
            rows = rows[: query.limit]
        if query.page_reverse:
            rows.reverse()
        return rows, has_more

    def list(
        self, tx: Tx, query: ListQuery, project_id: str | None,
        extra: Sequence[sa.ColumnElement[bool]] = (),
    ) -> Page[T]:
        rows, has_more = self.rows(tx, query, project_id, extra)
        tags = tag_repo.load(tx, self.resource, [r.id for r in rows])
        return Page([self.to_obj(r, tags.get(r.id, ())) for r in rows], has_more)

    def exists(self, tx: Tx, rid: str) -> bool:
        t = self.table
        return tx.conn.execute(sa.select(t.c.id).where(t.c.id == rid)).first() is not None

    # -- writes -------------------------------------------------------------------------

    def insert(self, tx: Tx, obj: T) -> T:
        """Insert with created_at = updated_at = now, revision 0; returns the stored object."""
        stored = replace(obj, created_at=tx.now, updated_at=tx.now, revision_number=0)  # type: ignore[type-var]
        tx.conn.execute(self._insert, self.to_row(stored))
        obj_tags = getattr(stored, "tags", ())
        if obj_tags:
            tag_repo.replace(tx, self.resource, stored.id, obj_tags)  # type: ignore[attr-defined]
        return stored

    def update(self, tx: Tx, old: T, new: T) -> T:
        """Store `new` if `old`'s revision is still current (CAS); bumps the revision."""
        stored = replace(  # type: ignore[type-var]
            new, updated_at=tx.now, revision_number=old.revision_number + 1  # type: ignore[attr-defined]
        )
        row = self.to_row(stored)
        row.pop("id", None)
        row.pop("created_at", None)
        t = self.table
        result = tx.conn.execute(
            sa.update(t)
            .where(t.c.id == old.id, t.c.revision_number == old.revision_number)  # type: ignore[attr-defined]
            .values(row)
        )
        if result.rowcount != 1:
            raise Conflict(
                f"{self.resource} {old.id} was changed by another request; retry",  # type: ignore[attr-defined]
                type_name="RevisionConflict",
            )
        return stored

    def bump(self, tx: Tx, obj: T) -> T:
        """A new revision with no other change (a child, like a tag or a rule, changed)."""
        return self.update(tx, obj, obj)

    def delete(self, tx: Tx, rid: str) -> bool:
        tag_repo.delete_all(tx, self.resource, rid)
        result = tx.conn.execute(sa.delete(self.table).where(self.table.c.id == rid))
        return bool(result.rowcount)


def standard_row(obj: Any) -> dict[str, Any]:
    """The standard-attribute columns of a domain object."""
    return {
        "id": obj.id,
        "project_id": obj.project_id,
        "name": obj.name,
        "description": obj.description,
        "created_at": obj.created_at,
        "updated_at": obj.updated_at,
        "revision_number": obj.revision_number,
    }


def standard_fields(row: Any, tags: tuple[str, ...]) -> dict[str, Any]:
    """Keyword arguments for a domain object's standard attributes, from its row."""
    return {
        "id": row.id,
        "project_id": row.project_id,
        "name": row.name,
        "description": row.description,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "revision_number": row.revision_number,
        "tags": tags,
    }
