"""Quota overrides and resource usage counts."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from neutrino.db.tables import _columns
from neutrino.db.tables.quotas import quotas
from neutrino.db.tx import Tx


def overrides(tx: Tx, project_id: str) -> dict[str, int]:
    stmt = sa.select(quotas.c.resource, quotas.c.hard_limit).where(
        quotas.c.project_id == project_id
    )
    return {r: int(limit) for r, limit in tx.conn.execute(stmt)}


def projects_with_overrides(tx: Tx) -> list[str]:
    return [r[0] for r in tx.conn.execute(sa.select(quotas.c.project_id).distinct())]


def set_limits(tx: Tx, project_id: str, limits: dict[str, int]) -> None:
    for resource, limit in limits.items():
        tx.conn.execute(
            sa.delete(quotas).where(
                quotas.c.project_id == project_id, quotas.c.resource == resource
            )
        )
        tx.conn.execute(
            quotas.insert().values(project_id=project_id, resource=resource, hard_limit=limit)
        )


def clear(tx: Tx, project_id: str) -> None:
    tx.conn.execute(sa.delete(quotas).where(quotas.c.project_id == project_id))


def has_table(table_name: str) -> bool:
    """Whether a resource family's table exists (families land one by one)."""
    return table_name in _columns.metadata.tables


def limit_and_usage(
    tx: Tx, project_id: str, resource: str, table_name: str, default: int
) -> tuple[int, int]:
    """The project's limit for `resource` and its usage, in one round trip (this runs on
    every create). Rows are only counted when the limit is not unlimited (-1)."""
    params = {"project": project_id, "resource": resource, "default": default}
    row = tx.conn.execute(_limit_and_usage(table_name), params).one()
    return int(row[0]), int(row[1])


@cache
def _limit_and_usage(table_name: str) -> sa.Executable:
    """Built once per resource table (statement construction is the costly part)."""
    project: sa.BindParameter[str] = sa.bindparam("project")
    limit = sa.func.coalesce(
        sa.select(quotas.c.hard_limit)
        .where(quotas.c.project_id == project, quotas.c.resource == sa.bindparam("resource"))
        .scalar_subquery(),
        sa.bindparam("default", type_=sa.Integer),
    )
    if not has_table(table_name):
        return sa.select(limit, sa.literal(0, type_=sa.Integer()))
    table = _columns.metadata.tables[table_name]
    used = (
        sa.select(sa.func.count()).select_from(table)
        .where(table.c.project_id == project).scalar_subquery()
    )
    return sa.select(limit, sa.case((limit < 0, 0), else_=used))


def count(tx: Tx, table_name: str, project_id: str) -> int:
    """How many rows of a resource table the project owns."""
    table = _columns.metadata.tables[table_name]
    stmt = sa.select(sa.func.count()).select_from(table).where(table.c.project_id == project_id)
    return int(tx.conn.execute(stmt).scalar_one())
