"""The change log, read side: resumable reads, long-poll waiting, compaction.

Writes happen in `db.tx.Database.write()`, inside the request's own transaction.
"""

from neutrino.changes.log import PROTOCOL_VERSIONS, Batch, check_protocol, compact, read, wait

__all__ = ["PROTOCOL_VERSIONS", "Batch", "check_protocol", "compact", "read", "wait"]
