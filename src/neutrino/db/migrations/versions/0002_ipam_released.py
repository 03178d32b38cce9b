"""ipam_released: releases merged into the free ranges by the next holder of the subnet lock

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ipam_released",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.LargeBinary(length=16), nullable=False),
        sa.PrimaryKeyConstraint("subnet_id", "address", name=op.f("pk_ipam_released")),
    )


def downgrade() -> None:
    op.drop_table("ipam_released")
