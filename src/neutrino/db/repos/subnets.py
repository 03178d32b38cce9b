"""Subnets: rows <-> `Subnet`, visibility through the network, and the queries other families
(networks, ports) ask about subnets."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from neutrino.db.repos import tags as tag_repo
from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables._columns import metadata
from neutrino.db.tables.networks import networks
from neutrino.db.tables.subnets import subnets
from neutrino.db.tx import Tx
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import HostRoute, IpRange

t = subnets

#: Neutron's AUTO_DELETE_PORT_OWNERS: service ports that never keep a subnet or network alive.
AUTO_DELETE_PORT_OWNERS = (
    "network:dhcp",
    "network:distributed",
    "network:floatingip_agent_gateway",
)
ROUTER_INTERFACE_OWNERS = (
    "network:router_interface",
    "network:ha_router_replicated_interface",
    "network:router_interface_distributed",
)


def _to_obj(row: Any, tags: tuple[str, ...]) -> Subnet:
    return Subnet(
        **standard_fields(row, tags),
        network_id=row.network_id,
        ip_version=row.ip_version,
        cidr=ipaddress.ip_network(row.cidr),
        gateway_ip=ipaddress.ip_address(row.gateway_ip) if row.gateway_ip else None,
        allocation_pools=tuple(
            IpRange(ipaddress.ip_address(start), ipaddress.ip_address(end))
            for start, end in row.allocation_pools
        ),
        dns_nameservers=tuple(row.dns_nameservers),
        host_routes=tuple(
            HostRoute(ipaddress.ip_network(dest), ipaddress.ip_address(hop))
            for dest, hop in row.host_routes
        ),
        enable_dhcp=row.enable_dhcp,
        ipv6_ra_mode=row.ipv6_ra_mode,
        ipv6_address_mode=row.ipv6_address_mode,
        subnetpool_id=row.subnetpool_id,
    )


def _to_row(s: Subnet) -> dict[str, Any]:
    return {
        **standard_row(s),
        "network_id": s.network_id,
        "ip_version": s.ip_version,
        "cidr": str(s.cidr),
        "gateway_ip": None if s.gateway_ip is None else str(s.gateway_ip),
        "enable_dhcp": s.enable_dhcp,
        "ipv6_ra_mode": s.ipv6_ra_mode,
        "ipv6_address_mode": s.ipv6_address_mode,
        "subnetpool_id": s.subnetpool_id,
        "allocation_pools": [[str(p.start), str(p.end)] for p in s.allocation_pools],
        "dns_nameservers": list(s.dns_nameservers),
        "host_routes": [[str(r.destination), str(r.nexthop)] for r in s.host_routes],
    }


def _open_networks() -> sa.Select[Any]:
    return sa.select(networks.c.id).where(
        sa.or_(networks.c.shared.is_(True), networks.c.external.is_(True))
    )


def _visible(project_id: str) -> sa.ColumnElement[bool]:
    """A project sees its own subnets and those of shared or external networks."""
    return sa.or_(t.c.project_id == project_id, t.c.network_id.in_(_open_networks()))


def _shared_filter(values: tuple[Any, ...]) -> sa.ColumnElement[bool]:
    """`?shared=true`: a subnet is as shared as its network."""
    return t.c.network_id.in_(sa.select(networks.c.id).where(networks.c.shared.in_(values)))


def _external_filter(values: tuple[Any, ...]) -> sa.ColumnElement[bool]:
    """`?router:external=true`: a subnet is as external as its network."""
    return t.c.network_id.in_(sa.select(networks.c.id).where(networks.c.external.in_(values)))


crud: Crud[Subnet] = Crud(
    resource="subnet",
    table=t,
    to_obj=_to_obj,
    to_row=_to_row,
    special_filters={"shared": _shared_filter, "external": _external_filter},
    scope=_visible,
)


def with_external(tx: Tx, found: Sequence[Subnet]) -> list[Subnet]:
    """Fill `external` (the network's router:external) on subnets: one query per page."""
    net_ids = sorted({s.network_id for s in found})
    if not net_ids:
        return list(found)
    stmt = sa.select(networks.c.id).where(networks.c.id.in_(net_ids),
                                         networks.c.external.is_(True))
    external = {r[0] for r in tx.conn.execute(stmt)}
    return [replace(s, external=s.network_id in external) for s in found]


def _load(tx: Tx, stmt: sa.Select[Any], *, with_tags: bool = True) -> list[Subnet]:
    rows = list(tx.conn.execute(stmt))
    tags = tag_repo.load(tx, "subnet", [r.id for r in rows]) if with_tags else {}
    return [_to_obj(r, tags.get(r.id, ())) for r in rows]


def by_network(tx: Tx, network_id: str, *, with_tags: bool = True) -> list[Subnet]:
    """The network's subnets, oldest first. `with_tags=False` for internal reads (address
    allocation) that never show the subnets: one query less on the port-create path."""
    rows = list(tx.conn.execute(_BY_NETWORK, {"net": network_id}))
    tags = tag_repo.load(tx, "subnet", [r.id for r in rows]) if with_tags else {}
    return [_to_obj(r, tags.get(r.id, ())) for r in rows]


_BY_NETWORK = (
    sa.select(t).where(t.c.network_id == sa.bindparam("net")).order_by(t.c.created_at, t.c.id)
)


def by_ids(tx: Tx, ids: Iterable[str]) -> dict[str, Subnet]:
    """The subnets with these ids that exist (no visibility check: the caller decides)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {s.id: s for s in _load(tx, sa.select(t).where(t.c.id.in_(wanted)))}


def ids_by_network(tx: Tx, network_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Subnet ids per network, oldest first: one query for a whole page of networks."""
    if not network_ids:
        return {}
    stmt = (
        sa.select(t.c.network_id, t.c.id)
        .where(t.c.network_id.in_(sorted(set(network_ids))))
        .order_by(t.c.created_at, t.c.id)
    )
    out: dict[str, list[str]] = defaultdict(list)
    for network_id, subnet_id in tx.conn.execute(stmt):
        out[network_id].append(subnet_id)
    return {k: tuple(v) for k, v in out.items()}


def by_subnetpool(tx: Tx, pool_id: str, project_id: str | None = None) -> list[Subnet]:
    """Subnets carved from a pool (optionally only one project's)."""
    stmt = sa.select(t).where(t.c.subnetpool_id == pool_id)
    if project_id is not None:
        stmt = stmt.where(t.c.project_id == project_id)
    return _load(tx, stmt.order_by(t.c.created_at, t.c.id))


def pool_in_use(tx: Tx, pool_id: str) -> bool:
    stmt = sa.select(t.c.id).where(t.c.subnetpool_id == pool_id).limit(1)
    return tx.conn.execute(stmt).first() is not None


# --------------------------------------------------------------------------- ports
# The ports family lands separately: these queries look its tables up by name and answer
# "nothing" while they do not exist.


def _ports_tables() -> tuple[sa.Table, sa.Table] | None:
    ports = metadata.tables.get("ports")
    allocations = metadata.tables.get("ip_allocations")
    if ports is None or allocations is None:
        return None
    return ports, allocations


def in_use_by_ports(tx: Tx, subnet_id: str, *, auto_address: bool = False) -> bool:
    """Whether a port that keeps the subnet alive holds an address on it (409 SubnetInUse):
    any port but service ports (DHCP, ...), or on a SLAAC / DHCPv6-stateless subnet, whose
    addresses ports lose automatically, only router interfaces (as Neutron)."""
    tables = _ports_tables()
    if tables is None:
        return False
    ports, allocations = tables
    owner = ports.c.device_owner
    stmt = (
        sa.select(allocations.c.port_id)
        .join(ports, ports.c.id == allocations.c.port_id)
        .where(
            allocations.c.subnet_id == subnet_id,
            owner.in_(ROUTER_INTERFACE_OWNERS)
            if auto_address
            else owner.not_in(AUTO_DELETE_PORT_OWNERS),
        )
        .limit(1)
    )
    return tx.conn.execute(stmt).first() is not None


def router_port_holding(tx: Tx, subnet_id: str, ip: str) -> str | None:
    """The router interface port that holds `ip` on the subnet, if any (GatewayIpInUse)."""
    tables = _ports_tables()
    if tables is None:
        return None
    ports, allocations = tables
    stmt = (
        sa.select(allocations.c.port_id)
        .join(ports, ports.c.id == allocations.c.port_id)
        .where(
            allocations.c.subnet_id == subnet_id,
            allocations.c.ip_address == ip,
            ports.c.device_owner.in_(ROUTER_INTERFACE_OWNERS),
        )
        .limit(1)
    )
    row = tx.conn.execute(stmt).first()
    return None if row is None else str(row[0])


def user_ports_on_network(tx: Tx, network_id: str) -> bool:
    """Whether ports other than service ports (DHCP, ...) are on the network (NetworkInUse)."""
    tables = _ports_tables()
    if tables is None:
        return False
    ports, _ = tables
    stmt = (
        sa.select(ports.c.id)
        .where(
            ports.c.network_id == network_id,
            ports.c.device_owner.not_in(AUTO_DELETE_PORT_OWNERS),
        )
        .limit(1)
    )
    return tx.conn.execute(stmt).first() is not None


def ports_holding(tx: Tx, subnet_id: str) -> list[str]:
    """Ids of the ports holding addresses on the subnet."""
    tables = _ports_tables()
    if tables is None:
        return []
    ports, allocations = tables
    stmt = (
        sa.select(allocations.c.port_id)
        .join(ports, ports.c.id == allocations.c.port_id)
        .where(allocations.c.subnet_id == subnet_id)
        .distinct()
    )
    return [str(r[0]) for r in tx.conn.execute(stmt)]
