"""Subnets. Pools, nameservers and host routes are small lists read and written with the
subnet and never filtered on, so they live on its row (JSON) instead of in child tables."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, JSON, metadata, standard_columns

subnets = sa.Table(
    "subnets",
    metadata,
    *standard_columns(),
    sa.Column("network_id", ID, sa.ForeignKey("networks.id"), nullable=False),
    sa.Column("ip_version", sa.Integer, nullable=False),
    # str(ipaddress) forms, so list filters (`?cidr=...`) compare as text.
    sa.Column("cidr", sa.String(64), nullable=False),
    sa.Column("gateway_ip", sa.String(64), nullable=True),
    sa.Column("enable_dhcp", sa.Boolean, nullable=False),
    sa.Column("ipv6_ra_mode", sa.String(16), nullable=True),
    sa.Column("ipv6_address_mode", sa.String(16), nullable=True),
    sa.Column(
        "subnetpool_id", ID, sa.ForeignKey("subnetpools.id"), nullable=True, index=True
    ),
    sa.Column("allocation_pools", JSON, nullable=False),  # [[start, end], ...]
    sa.Column("dns_nameservers", JSON, nullable=False),  # [address, ...] in order
    sa.Column("host_routes", JSON, nullable=False),  # [[destination, nexthop], ...]
    sa.Index("ix_subnets_network_id_created_at", "network_id", "created_at"),
)
