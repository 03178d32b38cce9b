"""Ports and the addresses they hold."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, JSON, metadata, standard_columns

ports = sa.Table(
    "ports",
    metadata,
    *standard_columns(),
    sa.Column("network_id", ID, sa.ForeignKey("networks.id"), nullable=False),
    sa.Column("mac_address", sa.String(32), nullable=False),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("device_id", sa.String(255), nullable=False, server_default=""),
    sa.Column("device_owner", sa.String(255), nullable=False, server_default=""),
    sa.Column("port_security_enabled", sa.Boolean, nullable=False),
    sa.Column("host_id", sa.String(255), nullable=False, server_default=""),
    sa.Column("vnic_type", sa.String(64), nullable=False, server_default="normal"),
    sa.Column("vif_type", sa.String(64), nullable=False, server_default="unbound"),
    sa.Column("profile", JSON, nullable=True),
    sa.Column("vif_details", JSON, nullable=True),
    # Small value lists nobody filters on: kept on the row, read with it.
    sa.Column("allowed_address_pairs", JSON, nullable=True),
    sa.Column("extra_dhcp_opts", JSON, nullable=True),
    sa.Column("dns_name", sa.String(255), nullable=False, server_default=""),
    sa.UniqueConstraint("network_id", "mac_address"),
    sa.Index("ix_ports_network_id_id", "network_id", "id"),
    sa.Index("ix_ports_device_id", "device_id"),
    sa.Index("ix_ports_host_id", "host_id"),  # a host's snapshot reads its ports
)

# One row per fixed IP. The unique key is the last guard against handing out an address
# twice, whatever the IPAM driver does.
ip_allocations = sa.Table(
    "ip_allocations",
    metadata,
    sa.Column("port_id", ID, sa.ForeignKey("ports.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subnet_id", ID, nullable=False),
    sa.Column("network_id", ID, nullable=False),
    sa.Column("ip_address", sa.String(64), nullable=False),
    sa.PrimaryKeyConstraint("subnet_id", "ip_address"),
    sa.Index("ix_ip_allocations_port_id", "port_id"),
    sa.Index("ix_ip_allocations_ip_address", "ip_address"),
)
