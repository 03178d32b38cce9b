"""The built-in IPAM driver's own tables (see docs/ipam.md).

Addresses are stored as 16-byte big-endian strings (`LargeBinary`): byte order is numeric
order on both SQLite (memcmp on BLOBs) and PostgreSQL (bytea), IPv6's 128 bits fit, and no
collation can reorder them. SQLite's INTEGER stops at 63 bits and its NUMERIC turns big
numbers into floats, so neither integers nor NUMERIC would do.
"""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, JSON, metadata

ADDRESS = sa.LargeBinary(16)

# One row per managed subnet: the row allocators of that subnet lock (FOR UPDATE), so they
# run one after the other while allocators of other subnets run in parallel. It also holds
# the driver's own view of the allocatable addresses (the pools clipped to the usable part of
# the cidr, minus the gateway) as [[first, last], ...] decimal strings, read by that same lock.
ipam_subnets = sa.Table(
    "ipam_subnets",
    metadata,
    sa.Column("subnet_id", ID, primary_key=True),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("spans", JSON, nullable=False),
)

# The free addresses of a subnet's pools as disjoint inclusive ranges, keyed by their last
# address: "lowest free range" is the first index entry, and taking its first address
# changes a non-key column.
ipam_free_ranges = sa.Table(
    "ipam_free_ranges",
    metadata,
    sa.Column("subnet_id", ID, primary_key=True),
    sa.Column("last", ADDRESS, primary_key=True),
    sa.Column("first", ADDRESS, nullable=False),
)

# Allocated addresses outside the allocatable spans (a specific request may take any address
# of the cidr: the gateway, the IPv6 Subnet-Router anycast address, an address outside the
# pools). Inside the spans, "allocated" is simply "not in a free range".
ipam_allocations = sa.Table(
    "ipam_allocations",
    metadata,
    sa.Column("subnet_id", ID, primary_key=True),
    sa.Column("address", ADDRESS, primary_key=True),
)

# Addresses given back but not yet merged into the free ranges. A release only inserts here,
# without the subnet's lock, so port deletes never queue behind allocations (or each other);
# whoever next takes the lock (an allocation, a pool update) merges the committed ones first.
ipam_released = sa.Table(
    "ipam_released",
    metadata,
    sa.Column("subnet_id", ID, primary_key=True),
    sa.Column("address", ADDRESS, primary_key=True),
)
