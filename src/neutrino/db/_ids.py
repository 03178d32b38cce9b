"""`column IN (many ids)` without one bound parameter per id.

A 10,000-port listing reads its child rows (addresses, groups, tags) by the page's ids.
An expanding IN renders 10,000 parameters per statement; on PostgreSQL one array parameter
(`= ANY(:ids)`) does the same work. SQLite has no arrays and a plain IN is cheap there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def id_in(column: sa.ColumnElement[Any], ids: Sequence[str], dialect: str
          ) -> sa.ColumnElement[bool]:
    if dialect == "postgresql" and len(ids) > 16:
        return column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.String)))
    return column.in_(list(ids))
