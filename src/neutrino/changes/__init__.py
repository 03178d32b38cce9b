"""The change log, read side: resumable reads, long-poll waiting
(`Feed`), compaction.

Writes happen in `db.tx.Database.write()`, inside the request's own transaction.
"""

from neutrino.changes.feed import Feed
from neutrino.changes.log import PROTOCOL_VERSIONS, Batch, check_protocol, compact, read

__all__ = ["PROTOCOL_VERSIONS", "Batch", "Feed", "check_protocol", "compact", "read"]
