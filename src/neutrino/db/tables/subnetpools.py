"""Address scopes and subnet pools."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, JSON, metadata, standard_columns

address_scopes = sa.Table(
    "address_scopes",
    metadata,
    *standard_columns(),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
)

subnetpools = sa.Table(
    "subnetpools",
    metadata,
    *standard_columns(),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("default_prefixlen", sa.Integer, nullable=False),
    sa.Column("min_prefixlen", sa.Integer, nullable=False),
    sa.Column("max_prefixlen", sa.Integer, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("default_quota", sa.Integer, nullable=True),
    sa.Column(
        "address_scope_id", ID, sa.ForeignKey("address_scopes.id"), nullable=True, index=True
    ),
    # The compacted prefix list, as CIDR strings; read and written whole, never filtered on.
    sa.Column("prefixes", JSON, nullable=False),
)
