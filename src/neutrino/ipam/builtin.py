"""The built-in IPAM driver: free ranges in the server's own database (docs/ipam.md).

Per subnet it keeps the free addresses of the allocatable spans (the pools, clipped to the
usable part of the cidr, minus the gateway) as disjoint ranges in `ipam_free_ranges`; inside
the spans "allocated" means "in no free range". Addresses taken outside the spans (the
gateway, an address outside the pools) are listed in `ipam_allocations`.

Each allocation first locks the subnet's row in `ipam_subnets` (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), which also returns the
spans, then touches one or two ranges found through the primary key. A release takes no lock:
it inserts the address into `ipam_released`, and the next holder of the lock merges the
committed releases into the free ranges before anything else (the same SELECT tells whether
any wait, so an allocation with none pays nothing). So:

* no address is handed out twice: allocators of one subnet run one at a time, and each sees
  what the previous one committed (READ COMMITTED takes a fresh snapshot per statement);
* no retry loop: nobody races for a range, the lock queue orders them;
* constant cost: "lowest free address" is the first index entry of the subnet whatever the
  fill level (3 statements); a specific address is one index probe; a release is one insert,
  and merging it later touches at most two neighbours;
* a port delete never waits for the subnet's allocators: an uncommitted release is invisible
  to them, exactly as if the delete had not happened yet.

Callers that allocate on several subnets in one transaction should do so in a fixed order
(e.g. sorted subnet ids), so that two such transactions cannot deadlock on the subnet locks.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from neutrino.db import Tx
from neutrino.db.tables.ipam import (
    ipam_allocations,
    ipam_free_ranges,
    ipam_released,
    ipam_subnets,
)
from neutrino.domain import addresses
from neutrino.domain import prefixes as pfx
from neutrino.domain.errors import not_found
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import IPAddress
from neutrino.ipam import pools
from neutrino.ipam.errors import (
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
)

Span = tuple[int, int]
# A backlog of releases larger than this is merged in one pass over the free ranges.
MERGE_ONE_BY_ONE = 8
free = ipam_free_ranges
alloc = ipam_allocations


# The statements of "allocate any address", built once: it runs on every port create, and
# building a SQLAlchemy statement costs more than executing a cached one.
released = ipam_released
_PENDING = sa.exists().where(released.c.subnet_id == ipam_subnets.c.subnet_id)
_SPANS = sa.select(ipam_subnets.c.spans, _PENDING).where(
    ipam_subnets.c.subnet_id == sa.bindparam("sid")
)
_SPANS_LOCKED = _SPANS.with_for_update(of=ipam_subnets)
_TAKE_RELEASED = (
    sa.delete(released).where(released.c.subnet_id == sa.bindparam("sid"))
    .returning(released.c.address)
)
# A second release of an address still waiting is a no-op, as releasing a free one is.
_RELEASE = {
    "postgresql": pg_insert(released).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(released).on_conflict_do_nothing(),
}
_LOWEST = (
    sa.select(free.c.first, free.c.last)
    .where(free.c.subnet_id == sa.bindparam("sid"))
    .order_by(free.c.last)
    .limit(1)
)
_WHERE_RANGE = (free.c.subnet_id == sa.bindparam("sid"), free.c.last == sa.bindparam("key"))
_DROP_RANGE = sa.delete(free).where(*_WHERE_RANGE)
_RAISE_FIRST = sa.update(free).where(*_WHERE_RANGE).values(first=sa.bindparam("new_first"))
# ... and of "release" / "allocate this address", which run on every port delete.
_AT_OR_ABOVE = (
    sa.select(free.c.first, free.c.last)
    .where(free.c.subnet_id == sa.bindparam("sid"), free.c.last >= sa.bindparam("value"))
    .order_by(free.c.last)
    .limit(1)
)
_FIRST_OF = sa.select(free.c.first).where(*_WHERE_RANGE)
_SET_LAST = sa.update(free).where(*_WHERE_RANGE).values(last=sa.bindparam("new_last"))
_ADD_RANGE = free.insert()


def _key(value: int) -> bytes:
    """An address as the 16-byte big-endian string the tables store (sorts numerically)."""
    return value.to_bytes(16, "big")


def _int(raw: Any) -> int:
    return int.from_bytes(bytes(raw), "big")


def _address(value: int, version: int) -> IPAddress:
    return IPv4Address(value) if version == 4 else IPv6Address(value)


def _inside(spans: Sequence[Span], value: int) -> bool:
    """Whether `value` lies in one of the sorted disjoint `spans`."""
    index = bisect.bisect_right(spans, (value, 2**128)) - 1
    return index >= 0 and spans[index][0] <= value <= spans[index][1]


def _points(spans: Iterable[Span]) -> list[int]:
    return [a for lo, hi in spans for a in range(lo, hi + 1)]


class BuiltinIpam:
    """The default `IpamDriver` (entry point `neutrino.ipam: builtin`)."""

    # -- subnets ------------------------------------------------------------------------

    def add_subnet(self, tx: Tx, subnet: Subnet) -> None:
        spans = pools.free_spans(subnet, ())
        tx.conn.execute(
            ipam_subnets.insert().values(
                subnet_id=subnet.id,
                ip_version=subnet.ip_version,
                spans=[[str(lo), str(hi)] for lo, hi in spans],
            )
        )
        self._write_free(tx, subnet.id, spans)

    def update_subnet(self, tx: Tx, old: Subnet, new: Subnet) -> None:
        """Re-cut the free ranges for the new pools; whatever is allocated stays allocated.
        Costs O(free ranges + allocations that change sides), never O(addresses)."""
        old_spans = self._lock(tx, new.id)
        if old_spans is None:
            raise not_found("subnet", new.id)
        now_free = [
            (_int(r.first), _int(r.last))
            for r in tx.conn.execute(
                sa.select(free.c.first, free.c.last)
                .where(free.c.subnet_id == new.id)
                .order_by(free.c.last)
            )
        ]
        taken_inside = pfx.subtract(old_spans, now_free)
        outside = sorted(
            _int(r[0])
            for r in tx.conn.execute(sa.select(alloc.c.address).where(alloc.c.subnet_id == new.id))
        )
        new_spans = pools.free_spans(new, ())
        taken = sorted([*taken_inside, *((a, a) for a in outside)])
        leaving = _points(pfx.subtract(taken_inside, new_spans))
        entering = [a for a in outside if _inside(new_spans, a)]
        tx.conn.execute(sa.delete(free).where(free.c.subnet_id == new.id))
        self._write_free(tx, new.id, pfx.subtract(new_spans, taken))
        if leaving:
            tx.conn.execute(alloc.insert(), [
                {"subnet_id": new.id, "address": _key(a)} for a in leaving
            ])
        if entering:
            tx.conn.execute(sa.delete(alloc).where(
                alloc.c.subnet_id == new.id, alloc.c.address.in_([_key(a) for a in entering])
            ))
        tx.conn.execute(
            sa.update(ipam_subnets)
            .where(ipam_subnets.c.subnet_id == new.id)
            .values(spans=[[str(lo), str(hi)] for lo, hi in new_spans])
        )

    def remove_subnet(self, tx: Tx, subnet: Subnet) -> None:
        self._lock(tx, subnet.id, merge=False)  # its waiting releases go with it
        for table in (free, alloc, released, ipam_subnets):
            tx.conn.execute(sa.delete(table).where(table.c.subnet_id == subnet.id))

    # -- addresses ----------------------------------------------------------------------

    def allocate(
        self, tx: Tx, subnet: Subnet, address: IPAddress | None = None, mac: str | None = None
    ) -> IPAddress:
        """A specific address, the EUI-64 address of `mac` on SLAAC / DHCPv6-stateless
        subnets, else the lowest free address of the pools."""
        spans = self._lock(tx, subnet.id)
        if spans is None:
            raise not_found("subnet", subnet.id)
        if address is None and mac and subnet.is_auto_address:
            assert isinstance(subnet.cidr, IPv6Network)
            address = addresses.eui64_address(subnet.cidr, mac)
        if address is None:
            return self._take_lowest(tx, subnet)
        self._take(tx, subnet, spans, address)
        return address

    def release(self, tx: Tx, subnet: Subnet, address: IPAddress) -> None:
        """Give `address` back: one insert, without the subnet's lock (module docstring);
        the next holder of the lock merges it, so it is free for every later allocation."""
        row = {"subnet_id": subnet.id, "address": _key(int(address))}
        tx.conn.execute(_RELEASE[tx.dialect], row)

    # -- internals ----------------------------------------------------------------------

    def _lock(self, tx: Tx, subnet_id: str, merge: bool = True) -> list[Span] | None:
        """Serialise this subnet's allocators, read its spans, and (`merge`) merge the
        releases committed since the last holder (and this transaction's own); None if not
        managed."""
        stmt = _SPANS_LOCKED if tx.dialect == "postgresql" else _SPANS
        row = tx.conn.execute(stmt, {"sid": subnet_id}).first()
        if row is None:
            return None
        spans = [(int(lo), int(hi)) for lo, hi in row[0]]
        if row[1] and merge:
            taken = tx.conn.execute(_TAKE_RELEASED, {"sid": subnet_id}).all()
            pending = sorted(_int(raw) for (raw,) in taken)
            if len(pending) <= MERGE_ONE_BY_ONE:
                for value in pending:
                    self._merge_released(tx, subnet_id, spans, value)
            else:
                self._merge_many(tx, subnet_id, spans, pending)
        return spans

    def _merge_many(self, tx: Tx, subnet_id: str, spans: Sequence[Span],
                    pending: list[int]) -> None:
        """`_merge_released` for a backlog (after a burst of deletes): one pass over the
        free ranges instead of two or three statements per address."""
        inside = [v for v in pending if _inside(spans, v)]
        outside = [_key(v) for v in pending if not _inside(spans, v)]
        if outside:
            tx.conn.execute(sa.delete(alloc).where(
                alloc.c.subnet_id == subnet_id, alloc.c.address.in_(outside)))
        if inside:
            now_free = [(_int(r.first), _int(r.last)) for r in tx.conn.execute(
                sa.select(free.c.first, free.c.last).where(free.c.subnet_id == subnet_id))]
            tx.conn.execute(sa.delete(free).where(free.c.subnet_id == subnet_id))
            self._write_free(tx, subnet_id, pfx.union([*now_free, *((v, v) for v in inside)]))

    def _merge_released(self, tx: Tx, subnet_id: str, spans: Sequence[Span],
                        value: int) -> None:
        """Free `value` for good: into the free ranges inside the spans, else off the list of
        allocations outside them (the spans are today's: a pool update may have come since
        the release)."""
        if _inside(spans, value):
            self._give_back(tx, subnet_id, value)
        else:
            where = (alloc.c.subnet_id == subnet_id, alloc.c.address == _key(value))
            tx.conn.execute(sa.delete(alloc).where(*where))

    def _write_free(self, tx: Tx, subnet_id: str, spans: Iterable[Span]) -> None:
        rows = [{"subnet_id": subnet_id, "first": _key(lo), "last": _key(hi)} for lo, hi in spans]
        if rows:
            tx.conn.execute(free.insert(), rows)

    def _take_lowest(self, tx: Tx, subnet: Subnet) -> IPAddress:
        row = tx.conn.execute(_LOWEST, {"sid": subnet.id}).first()
        if row is None:
            raise IpAddressGenerationFailure(subnet.id)
        first, last = _int(row.first), _int(row.last)
        params = {"sid": subnet.id, "key": _key(last)}
        if first == last:
            tx.conn.execute(_DROP_RANGE, params)
        else:
            tx.conn.execute(_RAISE_FIRST, {**params, "new_first": _key(first + 1)})
        return _address(first, subnet.ip_version)

    def _take(self, tx: Tx, subnet: Subnet, spans: Sequence[Span], address: IPAddress) -> None:
        if not addresses.ip_valid_for_subnet(subnet.cidr, address):
            raise InvalidIpForSubnet(address, subnet.id)
        value = int(address)
        if _inside(spans, value):
            row = self._range_at_or_above(tx, subnet.id, value)
            if row is None or row[0] > value:
                raise IpAddressAlreadyAllocated(address, subnet.id)
            self._split(tx, subnet.id, row, value)
            return
        where = (alloc.c.subnet_id == subnet.id, alloc.c.address == _key(value))
        if tx.conn.execute(sa.select(alloc.c.address).where(*where)).first() is not None:
            raise IpAddressAlreadyAllocated(address, subnet.id)
        tx.conn.execute(alloc.insert().values(subnet_id=subnet.id, address=_key(value)))

    def _range_at_or_above(self, tx: Tx, subnet_id: str, value: int) -> tuple[int, int] | None:
        """The free range with the smallest last address >= value (it holds `value` if its
        first address is <= value)."""
        row = tx.conn.execute(_AT_OR_ABOVE, {"sid": subnet_id, "value": _key(value)}).first()
        return None if row is None else (_int(row.first), _int(row.last))

    def _split(self, tx: Tx, subnet_id: str, span: tuple[int, int], value: int) -> None:
        """Remove `value` from the free range `span` that holds it."""
        first, last = span
        params = {"sid": subnet_id, "key": _key(last)}
        if first == last:
            tx.conn.execute(_DROP_RANGE, params)
        elif value == last:
            tx.conn.execute(_SET_LAST, {**params, "new_last": _key(value - 1)})
        else:
            # The upper part keeps the row (and its key); the lower part, if any, is new.
            tx.conn.execute(_RAISE_FIRST, {**params, "new_first": _key(value + 1)})
            if first < value:
                tx.conn.execute(_ADD_RANGE, {"subnet_id": subnet_id, "first": _key(first),
                                             "last": _key(value - 1)})

    def _give_back(self, tx: Tx, subnet_id: str, value: int) -> None:
        """Insert [value, value] into the free ranges, merged with adjacent ranges."""
        above = self._range_at_or_above(tx, subnet_id, value)
        if above is not None and above[0] <= value:
            return  # already free: nothing to do
        below = None
        if value > 0:
            row = tx.conn.execute(_FIRST_OF, {"sid": subnet_id, "key": _key(value - 1)}).first()
            below = None if row is None else _int(row.first)
        join_above = above is not None and above[0] == value + 1
        if below is not None and above is not None and join_above:
            tx.conn.execute(_DROP_RANGE, {"sid": subnet_id, "key": _key(value - 1)})
            tx.conn.execute(_RAISE_FIRST, {"sid": subnet_id, "key": _key(above[1]),
                                           "new_first": _key(below)})
        elif below is not None:
            tx.conn.execute(_SET_LAST, {"sid": subnet_id, "key": _key(value - 1),
                                        "new_last": _key(value)})
        elif above is not None and join_above:
            tx.conn.execute(_RAISE_FIRST, {"sid": subnet_id, "key": _key(above[1]),
                                           "new_first": _key(value)})
        else:
            tx.conn.execute(_ADD_RANGE, {"subnet_id": subnet_id, "first": _key(value),
                                         "last": _key(value)})
