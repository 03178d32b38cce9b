"""Security groups, their rules, each project's default group, and port bindings.

Table names follow Neutron's (`securitygroups`, `securitygrouprules`), which is also what
quotas count.
"""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, PROJECT, UTCDateTime, metadata, standard_columns

security_groups = sa.Table(
    "securitygroups",
    metadata,
    *standard_columns(),
    sa.Column("stateful", sa.Boolean, nullable=False),
)

security_group_rules = sa.Table(
    "securitygrouprules",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", PROJECT, nullable=False, index=True),
    sa.Column("description", sa.String(255), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("revision_number", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column(
        "security_group_id",
        ID,
        sa.ForeignKey("securitygroups.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "remote_group_id",
        ID,
        sa.ForeignKey("securitygroups.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("ethertype", sa.String(40), nullable=False),
    sa.Column("protocol", sa.String(40), nullable=True),
    sa.Column("port_range_min", sa.Integer, nullable=True),
    sa.Column("port_range_max", sa.Integer, nullable=True),
    sa.Column("remote_ip_prefix", sa.String(255), nullable=True),
    # Derived from remote_ip_prefix, stored so that it can be filtered and sorted on.
    sa.Column("normalized_cidr", sa.String(255), nullable=True),
    # Whether the parent is its project's default group; a group's default-ness never
    # changes while it exists, so storing it is safe.
    sa.Column("belongs_to_default_sg", sa.Boolean, nullable=False),
)

# One default group per project. The primary key is what makes two racing first requests
# create only one: the loser's insert fails and it reads the winner's group instead.
default_security_groups = sa.Table(
    "default_security_groups",
    metadata,
    sa.Column("project_id", PROJECT, primary_key=True),
    sa.Column(
        "security_group_id",
        ID,
        sa.ForeignKey("securitygroups.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
)

# Which groups a port uses. No foreign key to ports: the ports family owns its table and
# deletes its bindings with the port. A group with bindings cannot be deleted.
security_group_port_bindings = sa.Table(
    "security_group_port_bindings",
    metadata,
    sa.Column("port_id", ID, primary_key=True),
    sa.Column(
        "security_group_id",
        ID,
        sa.ForeignKey("securitygroups.id"),
        primary_key=True,
        index=True,
    ),
)
