"""Every table, registered on one MetaData (what Alembic migrations are written against)."""

from neutrino.db.tables import core, networks, quotas
from neutrino.db.tables._columns import metadata

__all__ = ["core", "metadata", "networks", "quotas"]
