"""Tables shared by every resource family: tags and the change log."""

from __future__ import annotations

import sqlalchemy as sa

from neutrino.db.tables._columns import ID, JSON, PROJECT, UTCDateTime, metadata

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("resource", sa.String(64), primary_key=True),
    sa.Column("resource_id", ID, primary_key=True),
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.Index("ix_tags_tag", "resource", "tag"),
)

# One row per committed mutation. `seq` is assigned from change_seq as the last statement of
# the transaction, so seq order is commit order and there are no gaps (see db/changelog.py).
change_log = sa.Table(
    "change_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("resource", sa.String(64), nullable=False),
    sa.Column("resource_id", ID, nullable=False),
    sa.Column("op", sa.String(16), nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("project_id", PROJECT, nullable=True),
    sa.Column("body", JSON, nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

change_seq = sa.Table(
    "change_seq",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
    # Lowest seq still held; anything older was compacted away ("too old" for watchers).
    sa.Column("floor", sa.BigInteger, nullable=False, server_default="0"),
)
