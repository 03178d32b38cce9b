"""The built-in IPAM driver: free ranges in the server's own database (docs/ipam.md).

Per subnet it keeps the free addresses of the pools as disjoint ranges (`ipam_free_ranges`)
and every allocated address (`ipam_allocations`). Each operation first locks the subnet's row
in `ipam_subnets` (SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
serialises writers), then touches one or two ranges found through the primary key. So:

* no address is handed out twice: allocators of one subnet run one at a time, each sees what
  the previous one committed (READ COMMITTED takes a fresh snapshot per statement), and the
  allocations primary key refuses a duplicate anyway;
* no retry loop: nobody races for a range, the lock queue orders them;
* constant cost: "lowest free address" is the first index entry of the subnet, whatever the
  fill level; a specific address is one index probe; a release merges with at most two
  neighbours.

Callers that allocate on several subnets in one transaction should do so in a fixed order
(e.g. sorted subnet ids), so that two such transactions cannot deadlock on the subnet locks.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

import sqlalchemy as sa

from neutrino.db import Tx
from neutrino.db.tables.ipam import ipam_allocations, ipam_free_ranges, ipam_subnets
from neutrino.domain import addresses
from neutrino.domain.errors import not_found
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import IPAddress
from neutrino.ipam import pools
from neutrino.ipam.errors import (
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
)

free = ipam_free_ranges
alloc = ipam_allocations


def _key(value: int) -> bytes:
    """An address as the 16-byte big-endian string the tables store (sorts numerically)."""
    return value.to_bytes(16, "big")


def _int(raw: Any) -> int:
    return int.from_bytes(bytes(raw), "big")


def _address(value: int, version: int) -> IPAddress:
    return IPv4Address(value) if version == 4 else IPv6Address(value)


class BuiltinIpam:
    """The default `IpamDriver` (entry point `neutrino.ipam: builtin`)."""

    # -- subnets ------------------------------------------------------------------------

    def add_subnet(self, tx: Tx, subnet: Subnet) -> None:
        tx.conn.execute(
            ipam_subnets.insert().values(subnet_id=subnet.id, ip_version=subnet.ip_version)
        )
        self._write_free(tx, subnet, ())

    def update_subnet(self, tx: Tx, old: Subnet, new: Subnet) -> None:
        """Rebuild the free ranges from the new pools minus what is allocated: O(allocations),
        which is fine for an administrative change."""
        if not self._lock(tx, new.id):
            raise not_found("subnet", new.id)
        used = [
            _int(r[0])
            for r in tx.conn.execute(sa.select(alloc.c.address).where(alloc.c.subnet_id == new.id))
        ]
        tx.conn.execute(sa.delete(free).where(free.c.subnet_id == new.id))
        self._write_free(tx, new, used)

    def remove_subnet(self, tx: Tx, subnet: Subnet) -> None:
        self._lock(tx, subnet.id)
        for table in (free, alloc, ipam_subnets):
            tx.conn.execute(sa.delete(table).where(table.c.subnet_id == subnet.id))

    # -- addresses ----------------------------------------------------------------------

    def allocate(
        self, tx: Tx, subnet: Subnet, address: IPAddress | None = None, mac: str | None = None
    ) -> IPAddress:
        """A specific address, the EUI-64 address of `mac` on SLAAC / DHCPv6-stateless
        subnets, else the lowest free address of the pools."""
        if not self._lock(tx, subnet.id):
            raise not_found("subnet", subnet.id)
        if address is None and mac and subnet.is_auto_address:
            assert isinstance(subnet.cidr, IPv6Network)
            address = addresses.eui64_address(subnet.cidr, mac)
        if address is None:
            return self._take_lowest(tx, subnet)
        self._take(tx, subnet, address)
        return address

    def release(self, tx: Tx, subnet: Subnet, address: IPAddress) -> None:
        if not self._lock(tx, subnet.id):
            return
        value = int(address)
        gone = tx.conn.execute(
            sa.delete(alloc).where(alloc.c.subnet_id == subnet.id, alloc.c.address == _key(value))
        )
        if gone.rowcount and pools.in_pools(subnet, value):
            self._give_back(tx, subnet.id, value)

    # -- internals ----------------------------------------------------------------------

    def _lock(self, tx: Tx, subnet_id: str) -> bool:
        """Serialise this subnet's allocators; False if the subnet is not managed."""
        stmt = sa.select(ipam_subnets.c.subnet_id).where(ipam_subnets.c.subnet_id == subnet_id)
        if tx.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return tx.conn.execute(stmt).first() is not None

    def _write_free(self, tx: Tx, subnet: Subnet, used: Iterable[int]) -> None:
        rows = [
            {"subnet_id": subnet.id, "first": _key(lo), "last": _key(hi)}
            for lo, hi in pools.free_spans(subnet, used)
        ]
        if rows:
            tx.conn.execute(free.insert(), rows)

    def _take_lowest(self, tx: Tx, subnet: Subnet) -> IPAddress:
        row = tx.conn.execute(
            sa.select(free.c.first, free.c.last)
            .where(free.c.subnet_id == subnet.id)
            .order_by(free.c.last)
            .limit(1)
        ).first()
        if row is None:
            raise IpAddressGenerationFailure(subnet.id)
        first, last = _int(row.first), _int(row.last)
        where = (free.c.subnet_id == subnet.id, free.c.last == _key(last))
        if first == last:
            tx.conn.execute(sa.delete(free).where(*where))
        else:
            tx.conn.execute(sa.update(free).where(*where).values(first=_key(first + 1)))
        tx.conn.execute(alloc.insert().values(subnet_id=subnet.id, address=_key(first)))
        return _address(first, subnet.ip_version)

    def _take(self, tx: Tx, subnet: Subnet, address: IPAddress) -> None:
        if not addresses.ip_valid_for_subnet(subnet.cidr, address):
            raise InvalidIpForSubnet(address, subnet.id)
        value = int(address)
        taken = tx.conn.execute(
            sa.select(alloc.c.address).where(
                alloc.c.subnet_id == subnet.id, alloc.c.address == _key(value)
            )
        ).first()
        if taken is not None:
            raise IpAddressAlreadyAllocated(address, subnet.id)
        row = self._range_at_or_above(tx, subnet.id, value)
        if row is not None and row[0] <= value:
            self._split(tx, subnet.id, row, value)
        tx.conn.execute(alloc.insert().values(subnet_id=subnet.id, address=_key(value)))

    def _range_at_or_above(self, tx: Tx, subnet_id: str, value: int) -> tuple[int, int] | None:
        """The free range with the smallest last address >= value (it holds `value` if its
        first address is <= value)."""
        row = tx.conn.execute(
            sa.select(free.c.first, free.c.last)
            .where(free.c.subnet_id == subnet_id, free.c.last >= _key(value))
            .order_by(free.c.last)
            .limit(1)
        ).first()
        return None if row is None else (_int(row.first), _int(row.last))

    def _split(self, tx: Tx, subnet_id: str, span: tuple[int, int], value: int) -> None:
        """Remove `value` from the free range `span` that holds it."""
        first, last = span
        where = (free.c.subnet_id == subnet_id, free.c.last == _key(last))
        if first == last:
            tx.conn.execute(sa.delete(free).where(*where))
        elif value == last:
            tx.conn.execute(sa.update(free).where(*where).values(last=_key(value - 1)))
        else:
            # The upper part keeps the row (and its key); the lower part, if any, is new.
            tx.conn.execute(sa.update(free).where(*where).values(first=_key(value + 1)))
            if first < value:
                tx.conn.execute(
                    free.insert().values(
                        subnet_id=subnet_id, first=_key(first), last=_key(value - 1)
                    )
                )

    def _give_back(self, tx: Tx, subnet_id: str, value: int) -> None:
        """Insert [value, value] into the free ranges, merged with adjacent ranges."""
        above = self._range_at_or_above(tx, subnet_id, value)
        if above is not None and above[0] <= value:
            return  # already free: nothing to do
        below = None
        if value > 0:
            row = tx.conn.execute(
                sa.select(free.c.first).where(
                    free.c.subnet_id == subnet_id, free.c.last == _key(value - 1)
                )
            ).first()
            below = None if row is None else _int(row.first)
        join_above = above is not None and above[0] == value + 1
        if below is not None and join_above:
            assert above is not None
            tx.conn.execute(
                sa.delete(free).where(free.c.subnet_id == subnet_id, free.c.last == _key(value - 1))
            )
            tx.conn.execute(
                sa.update(free)
                .where(free.c.subnet_id == subnet_id, free.c.last == _key(above[1]))
                .values(first=_key(below))
            )
        elif below is not None:
            tx.conn.execute(
                sa.update(free)
                .where(free.c.subnet_id == subnet_id, free.c.last == _key(value - 1))
                .values(last=_key(value))
            )
        elif join_above:
            assert above is not None
            tx.conn.execute(
                sa.update(free)
                .where(free.c.subnet_id == subnet_id, free.c.last == _key(above[1]))
                .values(first=_key(value))
            )
        else:
            tx.conn.execute(
                free.insert().values(subnet_id=subnet_id, first=_key(value), last=_key(value))
            )
