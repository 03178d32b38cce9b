"""dns_integration: a port's dns_name, a floating IP's dns_name and dns_domain

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ports",
        sa.Column("dns_name", sa.String(length=255), server_default="", nullable=False),
    )
    op.add_column(
        "floatingips",
        sa.Column("dns_name", sa.String(length=255), server_default="", nullable=False),
    )
    op.add_column(
        "floatingips",
        sa.Column("dns_domain", sa.String(length=255), server_default="", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("floatingips") as batch:
        batch.drop_column("dns_domain")
        batch.drop_column("dns_name")
    with op.batch_alter_table("ports") as batch:
        batch.drop_column("dns_name")
