"""SQL storage: tables, repositories (rows <-> domain objects), transactions, migrations.

Dialect differences between SQLite and PostgreSQL live in this package only.
"""

from neutrino.db.engine import make_engine
from neutrino.db.tx import Database, Tx

__all__ = ["Database", "Tx", "make_engine"]
