"""Host agents, one row per host (the host is the key agents report under)."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, JSON, UTCDateTime, metadata

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("host", sa.String(255), nullable=False, unique=True),
    sa.Column("agent_type", sa.String(255), nullable=False),
    sa.Column("binary", sa.String(255), nullable=False),
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("description", sa.String(255), nullable=True),
    # local_ip, physical_interfaces, protocol: what the agent reported about its host.
    sa.Column("configurations", JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("heartbeat_timestamp", UTCDateTime(), nullable=False),
    sa.Column("applied_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("protocol", sa.String(16), nullable=False),
)
