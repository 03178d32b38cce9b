"""Networks and their segments."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import metadata, standard_columns

networks = sa.Table(
    "networks",
    metadata,
    *standard_columns(),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("external", sa.Boolean, nullable=False),
    sa.Column("mtu", sa.Integer, nullable=False),
    sa.Column("port_security_enabled", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("dns_domain", sa.String(255), nullable=False, server_default=""),
    sa.Column("network_type", sa.String(32), nullable=True),
    sa.Column("physical_network", sa.String(64), nullable=True),
    sa.Column("segmentation_id", sa.Integer, nullable=True),
)

# No two networks share a segment. A separate table because SQL's NULL != NULL would let two
# flat networks on one physnet slip past a unique index on networks; here NULL becomes ''.
segments = sa.Table(
    "segment_allocations",
    metadata,
    sa.Column("network_type", sa.String(32), primary_key=True),
    sa.Column("physical_network", sa.String(64), primary_key=True),
    sa.Column("segmentation_id", sa.Integer, primary_key=True),
    # No foreign key: the segment is claimed before the network row exists (its row
    # carries the segment); networks.delete releases it in the same transaction.
    sa.Column("network_id", sa.String(36), nullable=False, index=True),
)
