"""Subnet pools: rows <-> `SubnetPool`, visibility (own or shared) and the default pools."""

from __future__ import annotations

import ipaddress
from typing import Any

import sqlalchemy as sa

from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.subnetpools import subnetpools
from neutrino.db.tx import Tx
from neutrino.domain.subnetpool import SubnetPool

t = subnetpools


def _to_obj(row: Any, tags: tuple[str, ...]) -> SubnetPool:
    return SubnetPool(
        **standard_fields(row, tags),
        ip_version=row.ip_version,
        prefixes=tuple(ipaddress.ip_network(p) for p in row.prefixes),
        default_prefixlen=row.default_prefixlen,
        min_prefixlen=row.min_prefixlen,
        max_prefixlen=row.max_prefixlen,
        is_default=row.is_default,
        shared=row.shared,
        default_quota=row.default_quota,
        address_scope_id=row.address_scope_id,
    )


def _to_row(pool: SubnetPool) -> dict[str, Any]:
    return {
        **standard_row(pool),
        "ip_version": pool.ip_version,
        "prefixes": [str(p) for p in pool.prefixes],
        "default_prefixlen": pool.default_prefixlen,
        "min_prefixlen": pool.min_prefixlen,
        "max_prefixlen": pool.max_prefixlen,
        "is_default": pool.is_default,
        "shared": pool.shared,
        "default_quota": pool.default_quota,
        "address_scope_id": pool.address_scope_id,
    }


def _visible(project_id: str) -> sa.ColumnElement[bool]:
    return sa.or_(t.c.project_id == project_id, t.c.shared.is_(True))


crud: Crud[SubnetPool] = Crud(
    resource="subnetpool", table=t, to_obj=_to_obj, to_row=_to_row, scope=_visible
)


def default_for(tx: Tx, ip_version: int, *, exclude: str | None = None) -> SubnetPool | None:
    """The default pool of an IP family (at most one exists)."""
    stmt = sa.select(t).where(t.c.is_default.is_(True), t.c.ip_version == ip_version)
    if exclude is not None:
        stmt = stmt.where(t.c.id != exclude)
    row = tx.conn.execute(stmt.order_by(t.c.created_at).limit(1)).first()
    return None if row is None else _to_obj(row, ())


def in_scope(tx: Tx, address_scope_id: str) -> list[SubnetPool]:
    """The pools associated with an address scope."""
    stmt = sa.select(t).where(t.c.address_scope_id == address_scope_id).order_by(t.c.id)
    return [_to_obj(r, ()) for r in tx.conn.execute(stmt)]


def scope_in_use(tx: Tx, address_scope_id: str) -> bool:
    stmt = sa.select(t.c.id).where(t.c.address_scope_id == address_scope_id).limit(1)
    return tx.conn.execute(stmt).first() is not None


def scopes_of(tx: Tx, pool_ids: list[str]) -> dict[str, str | None]:
    """The address scope of each pool."""
    if not pool_ids:
        return {}
    stmt = sa.select(t.c.id, t.c.address_scope_id).where(t.c.id.in_(sorted(set(pool_ids))))
    return {r.id: r.address_scope_id for r in tx.conn.execute(stmt)}
