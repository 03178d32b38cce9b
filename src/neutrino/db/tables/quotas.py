"""Per-project quota overrides (defaults come from the server configuration)."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import PROJECT, metadata

quotas = sa.Table(
    "quotas",
    metadata,
    sa.Column("project_id", PROJECT, primary_key=True),
    sa.Column("resource", sa.String(64), primary_key=True),
    sa.Column("hard_limit", sa.Integer, nullable=False),
)
