"""Ports: rows <-> `Port` with their fixed IPs and security groups, read in bulk.

A page of ports is read with one query per child table (addresses, security-group
bindings, tags) over the page's ids, never one query per port.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa

from neutrino.db._ids import id_in
from neutrino.db.repos import security_groups as sg_repo
from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.core import tags as tag_table
from neutrino.db.tables.networks import networks
from neutrino.db.tables.ports import ip_allocations, ports
from neutrino.db.tx import Tx
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.port import DHCP_OWNER, Binding, FixedIp, Port, dhcp_device_id
from neutrino.domain.values import AddressPair, DhcpOpt

t = ports
ips = ip_allocations


def _to_obj(
    row: Any, tags: tuple[str, ...], fixed: tuple[FixedIp, ...] = (), groups: tuple[str, ...] = ()
) -> Port:
    return Port(
        **standard_fields(row, tags),
        fixed_ips=fixed,
        security_groups=groups,
        network_id=row.network_id,
        mac_address=row.mac_address,
        admin_state_up=row.admin_state_up,
        status=row.status,
        device_id=row.device_id,
        device_owner=row.device_owner,
        port_security_enabled=row.port_security_enabled,
        allowed_address_pairs=tuple(
            AddressPair(p["ip_address"], p.get("mac_address"))
            for p in row.allowed_address_pairs or ()
        ),
        extra_dhcp_opts=tuple(
            DhcpOpt(o["opt_name"], o.get("opt_value"), o.get("ip_version", 4))
            for o in row.extra_dhcp_opts or ()
        ),
        binding=Binding(
            host_id=row.host_id,
            vnic_type=row.vnic_type,
            profile=row.profile or {},
            vif_type=row.vif_type,
            vif_details=row.vif_details or {},
        ),
        dns_name=row.dns_name,
    )


def _to_row(port: Port) -> dict[str, Any]:
    b = port.binding
    return {
        **standard_row(port),
        "network_id": port.network_id,
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": port.status,
        "device_id": port.device_id,
        "device_owner": port.device_owner,
        "port_security_enabled": port.port_security_enabled,
        "host_id": b.host_id,
        "vnic_type": b.vnic_type,
        "vif_type": b.vif_type,
        "profile": b.profile or None,
        "vif_details": b.vif_details or None,
        "allowed_address_pairs": [p.to_json() for p in port.allowed_address_pairs] or None,
        "extra_dhcp_opts": [o.to_json() for o in port.extra_dhcp_opts] or None,
        "dns_name": port.dns_name,
    }


def _visible(project_id: str) -> sa.ColumnElement[bool]:
    """A project sees its own ports and every port on networks it owns."""
    owned_nets = sa.select(networks.c.id).where(networks.c.project_id == project_id)
    return sa.or_(t.c.project_id == project_id, t.c.network_id.in_(owned_nets))


def _fixed_ips_filter(values: tuple[Any, ...]) -> sa.ColumnElement[bool]:
    """`fixed_ips=ip_address=X` / `subnet_id=Y` / `ip_address_substr=Z`: all must match."""
    clauses = []
    for key, value in values:
        if key == "ip_address_substr":
            cond = ips.c.ip_address.contains(value, autoescape=True)
        else:
            cond = ips.c[key] == value
        clauses.append(t.c.id.in_(sa.select(ips.c.port_id).where(cond)))
    return sa.and_(*clauses)


def _security_groups_filter(values: tuple[Any, ...]) -> sa.ColumnElement[bool]:
    return t.c.id.in_(sg_repo.ports_in_groups_query(values))


def _read_columns(dialect: str) -> tuple[sa.ColumnElement[Any], ...]:
    return _child_columns(dialect)


crud: Crud[Port] = Crud(
    resource="port",
    table=t,
    to_obj=_to_obj,
    to_row=_to_row,
    columns={
        **{c.name: c for c in t.c},
        "binding_host_id": t.c.host_id,
        "binding_vnic_type": t.c.vnic_type,
    },
    special_filters={
        "fixed_ips": _fixed_ips_filter,
        "security_groups": _security_groups_filter,
    },
    scope=_visible,
    extra_columns=lambda dialect: _read_columns(dialect),
)


# -- reads --------------------------------------------------------------------------------


@cache
def _child_columns(dialect: str) -> tuple[sa.ColumnElement[Any], ...]:
    """A port's addresses, groups and tags as JSON arrays on its own row.

    One statement reads a page of ports with everything they carry, instead of one query
    per child table: a port GET is one round trip, and a 10,000-port listing one query.
    """
    agg = sa.func.json_agg if dialect == "postgresql" else sa.func.json_group_array
    pair = sa.func.json_build_array if dialect == "postgresql" else sa.func.json_array
    sgb = sg_repo.bindings_t

    def child(value: sa.ColumnElement[Any], table: sa.Table,
              *where: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.select(sa.type_coerce(agg(value), sa.JSON)).select_from(table).where(
            *where).scalar_subquery()

    return (
        child(pair(ips.c.subnet_id, ips.c.ip_address), ips, ips.c.port_id == t.c.id)
        .label("child_ips"),
        child(sgb.c.security_group_id, sgb, sgb.c.port_id == t.c.id).label("child_groups"),
        child(tag_table.c.tag, tag_table, tag_table.c.resource == "port",
              tag_table.c.resource_id == t.c.id).label("child_tags"),
    )


def _build_row(row: Any) -> Port:
    fixed = tuple(sorted(
        (FixedIp(sid, ipaddress.ip_address(addr), addr) for sid, addr in _json(row.child_ips)),
        key=lambda f: address_order(f.ip_address),
    ))
    return _to_obj(row, tuple(sorted(_json(row.child_tags))), fixed,
                   tuple(sorted(_json(row.child_groups))))


def _json(value: Any) -> list[Any]:
    """An aggregated child column: a list (PostgreSQL), JSON text (SQLite), or NULL/empty."""
    if not value:
        return []
    return orjson.loads(value) if isinstance(value, (str, bytes)) else list(value)


def _select(dialect: str) -> sa.Select[Any]:
    return sa.select(t, *_child_columns(dialect))


def get(tx: Tx, port_id: str, *, for_update: bool = False) -> Port | None:
    stmt = _select(tx.dialect).where(t.c.id == port_id)
    if for_update and tx.dialect == "postgresql":
        stmt = stmt.with_for_update(of=t)
    row = tx.conn.execute(stmt).one_or_none()
    return None if row is None else _build_row(row)


def list_(tx: Tx, query: ListQuery, project_id: str | None) -> Page[Port]:
    rows, has_more = crud.rows(tx, query, project_id)
    return Page([_build_row(r) for r in rows], has_more)


def on_network(tx: Tx, network_id: str) -> list[Port]:
    rows = tx.conn.execute(_select(tx.dialect).where(t.c.network_id == network_id))
    return [_build_row(r) for r in rows]


def on_host(tx: Tx, host: str) -> list[Port]:
    """Every port whose binding:host_id is `host`, ordered by id (one statement)."""
    stmt = _select(tx.dialect).where(t.c.host_id == host).order_by(t.c.id)
    return [_build_row(r) for r in tx.conn.execute(stmt)]


def dhcp_ports(tx: Tx, network_ids: Iterable[str], *, for_update: bool = False
               ) -> dict[str, Port]:
    """Network id -> its DHCP port (`services.dhcp`), for those that have one: one statement,
    through the device_id index."""
    wanted = {dhcp_device_id(n): n for n in network_ids}
    if not wanted:
        return {}
    stmt = _select(tx.dialect).where(t.c.device_id.in_(sorted(wanted)),
                                     t.c.device_owner == DHCP_OWNER)
    if for_update and tx.dialect == "postgresql":
        stmt = stmt.with_for_update(of=t)
    found = (_build_row(r) for r in tx.conn.execute(stmt.order_by(t.c.id)))
    out: dict[str, Port] = {}
    for port in found:
        if wanted.get(port.device_id) == port.network_id:
            out.setdefault(port.network_id, port)
    return out


def failed_on_host(tx: Tx, host: str) -> list[Port]:
    """The ports on `host` whose binding failed, locked for update (PostgreSQL)."""
    stmt = _select(tx.dialect).where(t.c.host_id == host, t.c.vif_type == "binding_failed")
    if tx.dialect == "postgresql":
        stmt = stmt.with_for_update(of=t)
    return [_build_row(r) for r in tx.conn.execute(stmt.order_by(t.c.id))]


def fixed_ips_of(tx: Tx, port_ids: Iterable[str]) -> dict[str, tuple[FixedIp, ...]]:
    id_list = list(port_ids)
    out: dict[str, list[FixedIp]] = defaultdict(list)
    stmt = sa.select(ips.c.port_id, ips.c.subnet_id, ips.c.ip_address).where(
        id_in(ips.c.port_id, id_list, tx.dialect)
    )
    for port_id, subnet_id, address in tx.conn.execute(stmt):
        out[port_id].append(FixedIp(subnet_id, ipaddress.ip_address(address), address))
    return {pid: tuple(sorted(v, key=lambda f: address_order(f.ip_address)))
            for pid, v in out.items()}


def address_order(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[int, int]:
    """The order of a port's fixed IPs wherever they are listed: IPv4 first, by value (so
    the first one, which names a port without dns_name, is the same everywhere)."""
    return address.version, int(address)


_MACS_IN_USE = sa.select(t.c.mac_address).where(
    t.c.network_id == sa.bindparam("net"),
    t.c.mac_address.in_(sa.bindparam("macs", expanding=True)),
)


def macs_in_use(tx: Tx, network_id: str, candidates: Sequence[str]) -> set[str]:
    params = {"net": network_id, "macs": list(candidates)}
    return {r[0] for r in tx.conn.execute(_MACS_IN_USE, params)}


def address_holder(tx: Tx, subnet_id: str, address: str) -> str | None:
    """The port holding `address` on the subnet, if any."""
    stmt = sa.select(ips.c.port_id).where(ips.c.subnet_id == subnet_id,
                                          ips.c.ip_address == address)
    return tx.conn.execute(stmt).scalar_one_or_none()


def has_foreign_ports(tx: Tx, network_id: str, owner: str) -> bool:
    """Whether a project other than `owner` has ports on the network (not service ports)."""
    stmt = sa.select(t.c.id).where(
        t.c.network_id == network_id, t.c.project_id != owner,
        sa.not_(t.c.device_owner.startswith("network:")),
    ).limit(1)
    return tx.conn.execute(stmt).first() is not None


def user_ports_on_network(tx: Tx, network_id: str) -> list[str]:
    """Ports on the network other than DHCP ports: they block deleting the network."""
    stmt = sa.select(t.c.id).where(t.c.network_id == network_id,
                                   t.c.device_owner != "network:dhcp")
    return [r[0] for r in tx.conn.execute(stmt)]


def ports_on_subnet(tx: Tx, subnet_id: str) -> list[tuple[str, str]]:
    """(port id, device_owner) of every port with an address on the subnet."""
    stmt = sa.select(t.c.id, t.c.device_owner).join(ips, ips.c.port_id == t.c.id).where(
        ips.c.subnet_id == subnet_id)
    return [(r[0], r[1]) for r in tx.conn.execute(stmt)]


# -- writes -------------------------------------------------------------------------------


def insert(tx: Tx, port: Port) -> Port:
    stored = crud.insert(tx, port)
    add_fixed_ips(tx, stored, port.fixed_ips)
    if port.security_groups:
        sg_repo.set_port_bindings(tx, stored.id, port.security_groups, new_port=True)
    return replace(stored, fixed_ips=port.fixed_ips, security_groups=port.security_groups)


def add_fixed_ips(tx: Tx, port: Port, fixed: Iterable[FixedIp]) -> None:
    rows = [{"port_id": port.id, "subnet_id": f.subnet_id, "network_id": port.network_id,
             "ip_address": str(f.ip_address)} for f in fixed]
    if rows:
        tx.conn.execute(ips.insert(), rows)


def remove_fixed_ips(tx: Tx, port: Port, fixed: Iterable[FixedIp]) -> None:
    for f in fixed:
        tx.conn.execute(sa.delete(ips).where(
            ips.c.port_id == port.id, ips.c.subnet_id == f.subnet_id,
            ips.c.ip_address == str(f.ip_address)))


def delete(tx: Tx, port: Port) -> None:
    tx.conn.execute(sa.delete(ips).where(ips.c.port_id == port.id))
    sg_repo.set_port_bindings(tx, port.id, ())
    crud.delete(tx, port.id)

