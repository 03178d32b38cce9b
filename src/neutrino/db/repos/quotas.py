"""Quota overrides and resource usage counts."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from neutrino.db.tables import _columns
from neutrino.db.tables.quotas import quotas
from neutrino.db.tx import Tx
from neutrino.domain.port import DHCP_DEVICE_PREFIX, DHCP_OWNER


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
    every create). Rows are only counted when the limit is not unlimited (-1). The usage is
    the plain row count: see `uncounted` for the rows that don't count."""
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
    """How many rows of a resource table count against the project's quota."""
    table = _columns.metadata.tables[table_name]
    stmt = sa.select(sa.func.count()).select_from(table).where(table.c.project_id == project_id)
    return int(tx.conn.execute(stmt).scalar_one()) - uncounted(tx, table_name, project_id)


def uncounted(tx: Tx, table_name: str, project_id: str) -> int:
    """The project's rows that count against no quota: for ports, the DHCP ports of its
    networks (the service makes them: `services.dhcp`); none elsewhere. A separate query,
    asked only when the plain count is at the limit, so the create path pays nothing."""
    if table_name != "ports" or not has_table("networks"):
        return 0
    return int(tx.conn.execute(_dhcp_ports(), {"project": project_id}).scalar_one())


@cache
def _dhcp_ports() -> sa.Executable:
    """Driven from the project's networks (few), each probing the device_id index once; no
    condition on ports.project_id (it would lead SQLite to scan the project's ports: the
    DHCP port has its network's project anyway)."""
    ports = _columns.metadata.tables["ports"]
    networks = _columns.metadata.tables["networks"]
    has_dhcp_port = sa.exists().where(
        ports.c.device_id == sa.literal(DHCP_DEVICE_PREFIX, sa.String) + networks.c.id,
        ports.c.device_owner == DHCP_OWNER)
    return sa.select(sa.func.count()).select_from(networks).where(
        networks.c.project_id == sa.bindparam("project"), has_dhcp_port)
