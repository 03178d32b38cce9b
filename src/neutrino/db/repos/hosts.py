"""What one host's agent needs, read in a handful of set-based queries (never one per port):
the ports bound to the host, their networks, subnets and DHCP ports, the other ports of the
same networks (for VXLAN FDB entries and DNS names), and the addresses of security-group
members."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from neutrino.db import changelog
from neutrino.db.repos import networks as net_repo
from neutrino.db.repos import ports as port_repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.db.repos.security_groups import bindings_t
from neutrino.db.tables.networks import networks
from neutrino.db.tables.ports import ip_allocations, ports
from neutrino.db.tables.subnets import subnets
from neutrino.db.tx import Tx
from neutrino.domain.network import Network
from neutrino.domain.port import Port
from neutrino.domain.subnet import Subnet


def last_seq(tx: Tx) -> int:
    """The newest committed change-log seq."""
    return changelog.bounds(tx.conn)[1]


def ports_on_host(tx: Tx, host: str) -> list[Port]:
    """Every port bound to `host` (any device owner), with addresses and groups."""
    return port_repo.on_host(tx, host)


def networks_by_ids(tx: Tx, ids: Iterable[str]) -> dict[str, Network]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = tx.conn.execute(sa.select(networks).where(networks.c.id.in_(wanted)))
    return {r.id: net_repo.crud.to_obj(r, ()) for r in rows}


def subnets_of(tx: Tx, network_ids: Iterable[str]) -> dict[str, list[Subnet]]:
    """Network id -> its subnets, oldest first."""
    wanted = sorted(set(network_ids))
    out: dict[str, list[Subnet]] = defaultdict(list)
    if wanted:
        stmt = sa.select(subnets).where(subnets.c.network_id.in_(wanted)).order_by(
            subnets.c.created_at, subnets.c.id)
        for r in tx.conn.execute(stmt):
            out[r.network_id].append(subnet_repo.crud.to_obj(r, ()))
    return out


def dhcp_ports(tx: Tx, network_ids: Iterable[str]) -> dict[str, Port]:
    """Network id -> its DHCP port (bound nowhere: it serves on every host), if it has one."""
    return port_repo.dhcp_ports(tx, network_ids)


@dataclass(frozen=True, slots=True)
class OtherPort:
    """A port of a network not bound to the host asked about: on another host, or unbound."""

    id: str
    network_id: str
    host: str  # "" when unbound
    mac_address: str
    fixed_ips: tuple[tuple[str, str], ...]  # (subnet id, address), in `ports.get`'s order
    dns_name: str = ""


def other_ports(tx: Tx, network_ids: Iterable[str], host: str) -> list[OtherPort]:
    """The ports on these networks not bound to `host` (other hosts' and unbound ones), with
    their addresses, ordered by port id: one statement, whatever the number of networks."""
    wanted = sorted(set(network_ids))
    if not wanted:
        return []
    stmt = (
        sa.select(ports.c.id, ports.c.network_id, ports.c.host_id, ports.c.mac_address,
                  ports.c.dns_name, ip_allocations.c.subnet_id, ip_allocations.c.ip_address)
        .outerjoin(ip_allocations, ip_allocations.c.port_id == ports.c.id)
        .where(ports.c.network_id.in_(wanted), ports.c.host_id != host)
        .order_by(ports.c.id)
    )
    found: dict[str, tuple[str, str, str, str, list[tuple[str, str]]]] = {}
    for port_id, network_id, port_host, mac, dns_name, subnet_id, address in tx.conn.execute(
            stmt):
        entry = found.setdefault(port_id, (network_id, port_host, mac, dns_name, []))
        if address is not None:
            entry[4].append((subnet_id, address))
    return [OtherPort(port_id, network_id, port_host, mac,
                      tuple(ips if len(ips) < 2 else sorted(ips, key=_in_port_order)), dns_name)
            for port_id, (network_id, port_host, mac, dns_name, ips) in found.items()]


def _in_port_order(fixed_ip: tuple[str, str]) -> tuple[int, int]:
    return port_repo.address_order(ipaddress.ip_address(fixed_ip[1]))


def group_addresses(tx: Tx, group_ids: Iterable[str]) -> dict[str, set[str]]:
    """Group id -> the fixed IPs and allowed-address-pair addresses of its member ports, on
    any host (what a rule naming the group as remote_group_id admits)."""
    wanted = sorted(set(group_ids))
    out: dict[str, set[str]] = {gid: set() for gid in wanted}
    if not wanted:
        return out
    b = bindings_t
    fixed = (
        sa.select(b.c.security_group_id, ip_allocations.c.ip_address)
        .join(ip_allocations, ip_allocations.c.port_id == b.c.port_id)
        .where(b.c.security_group_id.in_(wanted))
    )
    for gid, address in tx.conn.execute(fixed):
        out[gid].add(address)
    pairs = (
        sa.select(b.c.security_group_id, ports.c.allowed_address_pairs)
        .join(ports, ports.c.id == b.c.port_id)
        .where(b.c.security_group_id.in_(wanted), ports.c.allowed_address_pairs.is_not(None))
    )
    for gid, value in tx.conn.execute(pairs):
        out[gid].update(_pair_addresses(value))
    return out


def _pair_addresses(value: Any) -> list[str]:
    return [str(p["ip_address"]) for p in value or () if p.get("ip_address")]
