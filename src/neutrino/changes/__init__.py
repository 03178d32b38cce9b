"""The change log, read side: resumable reads, long-poll waiting
(`Feed`), compaction.

Writes happen in `db.tx.Database.write()`, inside the request's own transaction.
"""

from neutrino.changes.feed import Feed
from neutrino.changes.log import Batch, compact, read

__all__ = ["Batch", "Feed", "compact", "read"]
