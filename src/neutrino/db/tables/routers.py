"""Routers, the ports they own, their extra routes, and floating IPs."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, metadata, standard_columns

routers = sa.Table(
    "routers",
    metadata,
    *standard_columns(),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("enable_snat", sa.Boolean, nullable=False),
    # Cleared before the gateway port is deleted, in the same transaction.
    sa.Column("gw_port_id", ID, sa.ForeignKey("ports.id"), nullable=True, unique=True),
    sa.Column("distributed", sa.Boolean, nullable=False),
    sa.Column("ha", sa.Boolean, nullable=False),
)

# Which ports belong to which router (interfaces and the gateway), as Neutron's routerports.
# The router is the authority; a port's device_id only mirrors it.
router_ports = sa.Table(
    "router_ports",
    metadata,
    sa.Column("router_id", ID, sa.ForeignKey("routers.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("port_id", ID, sa.ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("port_type", sa.String(255), nullable=False),
)

router_routes = sa.Table(
    "router_routes",
    metadata,
    sa.Column("router_id", ID, sa.ForeignKey("routers.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("destination", sa.String(64), primary_key=True),
    sa.Column("nexthop", sa.String(64), primary_key=True),
)

floatingips = sa.Table(
    "floatingips",
    metadata,
    *standard_columns(),
    sa.Column("floating_network_id", ID, sa.ForeignKey("networks.id"), nullable=False),
    sa.Column("floating_ip_address", sa.String(64), nullable=False),
    sa.Column("floating_port_id", ID, sa.ForeignKey("ports.id"), nullable=False, unique=True),
    # No cascade: deleting an associated port disassociates first (services.floatingips).
    sa.Column("fixed_port_id", ID, sa.ForeignKey("ports.id"), nullable=True, index=True),
    sa.Column("fixed_ip_address", sa.String(64), nullable=True),
    sa.Column("router_id", ID, sa.ForeignKey("routers.id"), nullable=True, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("dns_name", sa.String(255), nullable=False, server_default=""),
    sa.Column("dns_domain", sa.String(255), nullable=False, server_default=""),
    # A fixed IP has at most one floating IP per external network (the last guard against
    # FloatingIPPortAlreadyAssociated races; NULLs never collide).
    sa.UniqueConstraint("floating_network_id", "fixed_port_id", "fixed_ip_address"),
    sa.UniqueConstraint("floating_network_id", "floating_ip_address"),
)
