"""Floating IPs: rows <-> `FloatingIp` (with fip-port-details from the associated port)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from neutrino.db.repos import subnets as subnet_repo
from neutrino.db.repos import tags as tag_repo
from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.networks import networks
from neutrino.db.tables.ports import ports
from neutrino.db.tables.routers import floatingips
from neutrino.db.tx import Tx
from neutrino.domain.floatingip import FloatingIp, PortDetails
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.subnet import Subnet

t = floatingips


def _ip(text: str | None) -> Any:
    return None if text is None else ipaddress.ip_address(text)


def _to_obj(row: Any, tags: tuple[str, ...]) -> FloatingIp:
    return FloatingIp(
        **standard_fields(row, tags),
        floating_network_id=row.floating_network_id,
        floating_ip_address=_ip(row.floating_ip_address),
        floating_port_id=row.floating_port_id,
        port_id=row.fixed_port_id,
        fixed_ip_address=_ip(row.fixed_ip_address),
        router_id=row.router_id,
        status=row.status,
        dns_name=row.dns_name,
        dns_domain=row.dns_domain,
    )


def _to_row(f: FloatingIp) -> dict[str, Any]:
    return {
        **standard_row(f),
        "floating_network_id": f.floating_network_id,
        "floating_ip_address": str(f.floating_ip_address),
        "floating_port_id": f.floating_port_id,
        "fixed_port_id": f.port_id,
        "fixed_ip_address": None if f.fixed_ip_address is None else str(f.fixed_ip_address),
        "router_id": f.router_id,
        "status": f.status,
        "dns_name": f.dns_name,
        "dns_domain": f.dns_domain,
    }


crud: Crud[FloatingIp] = Crud(
    resource="floatingip",
    table=t,
    to_obj=_to_obj,
    to_row=_to_row,
    columns={**{c.name: c for c in t.c}, "port_id": t.c.fixed_port_id},
)


def _complete(tx: Tx, base: Sequence[FloatingIp]) -> list[FloatingIp]:
    """Attach port_details of the associated ports: one query per page."""
    ids = sorted({f.port_id for f in base if f.port_id})
    if not ids:
        return list(base)
    p = ports.c
    stmt = sa.select(p.id, p.name, p.network_id, p.mac_address, p.admin_state_up, p.status,
                     p.device_id, p.device_owner).where(p.id.in_(ids))
    details = {r.id: PortDetails(r.name, r.network_id, r.mac_address, r.admin_state_up,
                                 r.status, r.device_id, r.device_owner)
               for r in tx.conn.execute(stmt)}
    return [replace(f, port_details=details.get(f.port_id)) if f.port_id else f for f in base]


def get(tx: Tx, fip_id: str, *, for_update: bool = False) -> FloatingIp | None:
    fip = crud.get(tx, fip_id, for_update=for_update)
    return None if fip is None else _complete(tx, [fip])[0]


def list_(tx: Tx, query: ListQuery, project_id: str | None) -> Page[FloatingIp]:
    page = crud.list(tx, query, project_id)
    return Page(_complete(tx, page.items), page.has_more)


def _where(tx: Tx, *clauses: sa.ColumnElement[bool]) -> list[FloatingIp]:
    rows = list(tx.conn.execute(sa.select(t).where(*clauses).order_by(t.c.id)))
    tags = tag_repo.load(tx, "floatingip", [r.id for r in rows])
    return [_to_obj(r, tags.get(r.id, ())) for r in rows]


def by_fixed_port(tx: Tx, port_id: str) -> list[FloatingIp]:
    """The floating IPs associated with a port."""
    return _where(tx, t.c.fixed_port_id == port_id)


def by_router(tx: Tx, router_id: str) -> list[FloatingIp]:
    """The floating IPs whose traffic goes through a router."""
    return _where(tx, t.c.router_id == router_id)


def disassociated_on(tx: Tx, network_id: str) -> list[FloatingIp]:
    """The floating IPs of an external network that no port uses."""
    return _where(tx, t.c.floating_network_id == network_id, t.c.fixed_port_id.is_(None))


def holder_of(tx: Tx, network_id: str, port_id: str, fixed_ip: str) -> str | None:
    """The floating IP on `network_id` already mapped to that port's fixed IP, if any."""
    stmt = sa.select(t.c.id).where(t.c.floating_network_id == network_id,
                                   t.c.fixed_port_id == port_id,
                                   t.c.fixed_ip_address == fixed_ip)
    return tx.conn.execute(stmt).scalar_one_or_none()


def insert(tx: Tx, fip: FloatingIp) -> FloatingIp:
    return replace(crud.insert(tx, fip), port_details=fip.port_details)


def update(tx: Tx, old: FloatingIp, new: FloatingIp) -> FloatingIp:
    return replace(crud.update(tx, old, new), port_details=new.port_details)


def delete(tx: Tx, fip_id: str) -> None:
    crud.delete(tx, fip_id)


def pool_subnets(tx: Tx, query: ListQuery) -> Page[Subnet]:
    """The IPv4 subnets of external networks (floatingip-pools), paged like any list."""
    external = sa.select(networks.c.id).where(networks.c.external.is_(True))
    st = subnet_repo.crud.table
    return subnet_repo.crud.list(tx, query, None,
                                 extra=[st.c.network_id.in_(external), st.c.ip_version == 4])
