"""Tags of any resource (Neutron's standard-attr-tag)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa

from neutrino.db._ids import id_in
from neutrino.db.tables.core import tags
from neutrino.db.tx import Tx


def load(tx: Tx, resource: str, ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Tags per resource id (sorted), for the ids given; ids without tags are absent."""
    id_list = list(ids)
    if not id_list:
        return {}
    out: dict[str, list[str]] = defaultdict(list)
    stmt = sa.select(tags.c.resource_id, tags.c.tag).where(
        tags.c.resource == resource, id_in(tags.c.resource_id, id_list, tx.dialect)
    )
    for rid, tag in tx.conn.execute(stmt.order_by(tags.c.resource_id, tags.c.tag)):
        out[rid].append(tag)
    return {rid: tuple(ts) for rid, ts in out.items()}


def replace(tx: Tx, resource: str, resource_id: str, new_tags: Iterable[str]) -> None:
    """Make the resource's tag set exactly `new_tags`."""
    tx.conn.execute(
        sa.delete(tags).where(tags.c.resource == resource, tags.c.resource_id == resource_id)
    )
    rows = [{"resource": resource, "resource_id": resource_id, "tag": t} for t in set(new_tags)]
    if rows:
        tx.conn.execute(tags.insert(), rows)


def delete_all(tx: Tx, resource: str, resource_id: str) -> None:
    tx.conn.execute(
        sa.delete(tags).where(tags.c.resource == resource, tags.c.resource_id == resource_id)
    )
