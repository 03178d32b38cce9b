"""Metering labels and their rules (Neutron's meteringlabels / meteringlabelrules)."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, PROJECT, UTCDateTime, metadata

# Not a standard-attribute resource in Neutron (no tags, no revision shown); the timestamps
# and revision are kept so the shared repository mechanics (CAS, change log) apply.
metering_labels = sa.Table(
    "metering_labels",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("project_id", PROJECT, nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False, server_default=""),
    sa.Column("description", sa.String(1024), nullable=False, server_default=""),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("revision_number", sa.BigInteger, nullable=False, server_default="0"),
)

metering_label_rules = sa.Table(
    "metering_label_rules",
    metadata,
    sa.Column("id", ID, primary_key=True),
    # The label's project, for visibility (rules show none).
    sa.Column("project_id", PROJECT, nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False, server_default=""),
    sa.Column("description", sa.String(255), nullable=False, server_default=""),
    sa.Column("metering_label_id", ID,
              sa.ForeignKey("metering_labels.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("excluded", sa.Boolean, nullable=False),
    sa.Column("remote_ip_prefix", sa.String(64), nullable=True),
    sa.Column("source_ip_prefix", sa.String(64), nullable=True),
    sa.Column("destination_ip_prefix", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("revision_number", sa.BigInteger, nullable=False, server_default="0"),
)
