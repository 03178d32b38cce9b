"""Networks: rows <-> `Network`, visibility, and segment reservations."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.networks import networks, segments
from neutrino.db.tx import Tx
from neutrino.domain.network import Network, Segment

t = networks


def _to_obj(row: Any, tags: tuple[str, ...]) -> Network:
    segment = (
        Segment(row.network_type, row.physical_network, row.segmentation_id)
        if row.network_type
        else None
    )
    return Network(
        **standard_fields(row, tags),
        admin_state_up=row.admin_state_up,
        shared=row.shared,
        external=row.external,
        mtu=row.mtu,
        port_security_enabled=row.port_security_enabled,
        status=row.status,
        dns_domain=row.dns_domain,
        segment=segment,
    )


def _to_row(net: Network) -> dict[str, Any]:
    seg = net.segment
    return {
        **standard_row(net),
        "admin_state_up": net.admin_state_up,
        "shared": net.shared,
        "external": net.external,
        "mtu": net.mtu,
        "port_security_enabled": net.port_security_enabled,
        "status": net.status,
        "dns_domain": net.dns_domain,
        "network_type": seg.network_type if seg else None,
        "physical_network": seg.physical_network if seg else None,
        "segmentation_id": seg.segmentation_id if seg else None,
    }


def _visible(project_id: str) -> sa.ColumnElement[bool]:
    """A project sees its own networks, shared ones and external ones."""
    return sa.or_(t.c.project_id == project_id, t.c.shared.is_(True), t.c.external.is_(True))


crud: Crud[Network] = Crud(
    resource="network",
    table=t,
    to_obj=_to_obj,
    to_row=_to_row,
    columns={
        **{c.name: c for c in t.c},
        "provider_network_type": t.c.network_type,
        "provider_physical_network": t.c.physical_network,
        "provider_segmentation_id": t.c.segmentation_id,
    },
    scope=_visible,
)


def reserve_segment(tx: Tx, network_id: str, segment: Segment) -> bool:
    """Claim a segment for a network; False if another network holds it."""
    row = {
        "network_type": segment.network_type,
        "physical_network": segment.physical_network or "",
        "segmentation_id": segment.segmentation_id or 0,
        "network_id": network_id,
    }
    try:
        with tx.conn.begin_nested():
            tx.conn.execute(segments.insert().values(row))
    except IntegrityError:
        return False
    return True


def used_segmentation_ids(tx: Tx, network_type: str, physical_network: str | None) -> set[int]:
    """Segmentation ids already taken for a type (and physnet, for VLAN)."""
    stmt = sa.select(segments.c.segmentation_id).where(
        segments.c.network_type == network_type,
        segments.c.physical_network == (physical_network or ""),
    )
    return {int(r[0]) for r in tx.conn.execute(stmt)}


def segmentation_ids_in_use(
    tx: Tx, network_type: str, physical_network: str | None, candidates: set[int]
) -> set[int]:
    """Which of `candidates` are taken."""
    stmt = sa.select(segments.c.segmentation_id).where(
        segments.c.network_type == network_type,
        segments.c.physical_network == (physical_network or ""),
        segments.c.segmentation_id.in_(sorted(candidates)),
    )
    return {int(r[0]) for r in tx.conn.execute(stmt)}


def release_segment(tx: Tx, network_id: str) -> None:
    tx.conn.execute(sa.delete(segments).where(segments.c.network_id == network_id))
