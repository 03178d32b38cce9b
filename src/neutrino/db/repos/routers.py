"""Routers: rows <-> `Router` (with the gateway derived from its port, and its routes),
the ports a router owns, and the queries floating IPs ask about routers."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from neutrino.db.repos import ports as port_repo
from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.ports import ip_allocations, ports
from neutrino.db.tables.routers import router_ports, router_routes, routers
from neutrino.db.tx import Tx
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.port import ROUTER_GATEWAY_OWNER, ROUTER_INTERFACE_OWNERS
from neutrino.domain.router import GatewayInfo, Router
from neutrino.domain.values import HostRoute

t = routers


def _to_obj(row: Any, tags: tuple[str, ...]) -> Router:
    return Router(
        **standard_fields(row, tags),
        admin_state_up=row.admin_state_up,
        status=row.status,
        enable_snat=row.enable_snat,
        gw_port_id=row.gw_port_id,
        distributed=row.distributed,
        ha=row.ha,
    )


def _to_row(r: Router) -> dict[str, Any]:
    return {
        **standard_row(r),
        "admin_state_up": r.admin_state_up,
        "status": r.status,
        "enable_snat": r.enable_snat,
        "gw_port_id": r.gw_port_id,
        "distributed": r.distributed,
        "ha": r.ha,
    }


crud: Crud[Router] = Crud(resource="router", table=t, to_obj=_to_obj, to_row=_to_row)


# -- reads --------------------------------------------------------------------------------


def _complete(tx: Tx, base: Sequence[Router]) -> list[Router]:
    """Attach the gateway (from the gateway ports) and the routes: two queries per page."""
    if not base:
        return []
    gw_ids = [r.gw_port_id for r in base if r.gw_port_id]
    gw_nets: dict[str, str] = {}
    if gw_ids:
        stmt = sa.select(ports.c.id, ports.c.network_id).where(ports.c.id.in_(gw_ids))
        gw_nets = {pid: net for pid, net in tx.conn.execute(stmt)}
    gw_ips = port_repo.fixed_ips_of(tx, gw_ids) if gw_ids else {}
    routes = routes_of(tx, [r.id for r in base])
    out = []
    for r in base:
        gateway = None
        if r.gw_port_id and r.gw_port_id in gw_nets:
            gateway = GatewayInfo(gw_nets[r.gw_port_id], r.enable_snat,
                                  gw_ips.get(r.gw_port_id, ()))
        out.append(replace(r, external_gateway_info=gateway, routes=routes.get(r.id, ())))
    return out


def get(tx: Tx, router_id: str, *, for_update: bool = False) -> Router | None:
    router = crud.get(tx, router_id, for_update=for_update)
    return None if router is None else _complete(tx, [router])[0]


def list_(tx: Tx, query: ListQuery, project_id: str | None) -> Page[Router]:
    page = crud.list(tx, query, project_id)
    return Page(_complete(tx, page.items), page.has_more)


def routes_of(tx: Tx, router_ids: Iterable[str]) -> dict[str, tuple[HostRoute, ...]]:
    ids = list(router_ids)
    stmt = (sa.select(router_routes).where(router_routes.c.router_id.in_(ids))
            .order_by(router_routes.c.router_id, router_routes.c.destination,
                      router_routes.c.nexthop))
    out: dict[str, list[HostRoute]] = defaultdict(list)
    for row in tx.conn.execute(stmt):
        out[row.router_id].append(HostRoute(ipaddress.ip_network(row.destination),
                                            ipaddress.ip_address(row.nexthop)))
    return {k: tuple(v) for k, v in out.items()}


def port_ids(tx: Tx, router_id: str, port_types: Iterable[str] | None = None) -> list[str]:
    """The ids of the router's ports (optionally only of some types), oldest first."""
    stmt = (sa.select(router_ports.c.port_id)
            .join(ports, ports.c.id == router_ports.c.port_id)
            .where(router_ports.c.router_id == router_id))
    if port_types is not None:
        stmt = stmt.where(router_ports.c.port_type.in_(list(port_types)))
    stmt = stmt.order_by(ports.c.created_at, ports.c.id)
    return [r[0] for r in tx.conn.execute(stmt)]


def routers_for_floatingip(
    tx: Tx, network_id: str, subnet_id: str, external_network_id: str
) -> list[tuple[str, str]]:
    """(router id, interface address) of the routers with an interface on `subnet_id` (of
    `network_id`) and a gateway on `external_network_id` (Neutron's
    `get_router_for_floatingip` query)."""
    intf = ports.alias("intf")
    gw = ports.alias("gw")
    gw_rp = router_ports.alias("gw_rp")
    stmt = (
        sa.select(router_ports.c.router_id, ip_allocations.c.ip_address)
        .join(intf, intf.c.id == router_ports.c.port_id)
        .join(ip_allocations, ip_allocations.c.port_id == intf.c.id)
        .join(gw_rp, gw_rp.c.router_id == router_ports.c.router_id)
        .join(gw, gw.c.id == gw_rp.c.port_id)
        .where(
            intf.c.network_id == network_id,
            router_ports.c.port_type.in_(sorted(ROUTER_INTERFACE_OWNERS)),
            ip_allocations.c.subnet_id == subnet_id,
            gw_rp.c.port_type == ROUTER_GATEWAY_OWNER,
            gw.c.network_id == external_network_id,
        )
        .order_by(router_ports.c.router_id)
        .distinct()
    )
    return [(r[0], r[1]) for r in tx.conn.execute(stmt)]


# -- writes -------------------------------------------------------------------------------


def insert(tx: Tx, router: Router) -> Router:
    stored = crud.insert(tx, router)
    set_routes(tx, stored.id, router.routes)
    return replace(stored, external_gateway_info=router.external_gateway_info,
                   routes=router.routes)


def update(tx: Tx, old: Router, new: Router) -> Router:
    """CAS-update the row; rewrite the routes when they changed."""
    stored = crud.update(tx, old, new)
    if new.routes != old.routes:
        set_routes(tx, old.id, new.routes)
    return stored


def set_routes(tx: Tx, router_id: str, routes: Sequence[HostRoute]) -> None:
    tx.conn.execute(sa.delete(router_routes).where(router_routes.c.router_id == router_id))
    rows = [{"router_id": router_id, "destination": str(r.destination),
             "nexthop": str(r.nexthop)} for r in routes]
    if rows:
        tx.conn.execute(router_routes.insert(), rows)


def add_port(tx: Tx, router_id: str, port_id: str, port_type: str) -> None:
    tx.conn.execute(router_ports.insert().values(router_id=router_id, port_id=port_id,
                                                 port_type=port_type))


def remove_port(tx: Tx, port_id: str) -> None:
    tx.conn.execute(sa.delete(router_ports).where(router_ports.c.port_id == port_id))


def delete(tx: Tx, router_id: str) -> None:
    tx.conn.execute(sa.delete(router_routes).where(router_routes.c.router_id == router_id))
    tx.conn.execute(sa.delete(router_ports).where(router_ports.c.router_id == router_id))
    crud.delete(tx, router_id)
