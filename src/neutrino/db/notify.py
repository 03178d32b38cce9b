"""Cross-process commit wake-ups on PostgreSQL: NOTIFY in the writing transaction, LISTEN in
every server process.

PostgreSQL delivers a NOTIFY only when (and if) its transaction commits, after the commit is
visible to other sessions, so a listener that re-reads the log on a notification always finds
the new entries. SQLite has nothing like it; its watchers fall back to polling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

CHANNEL = "neutrino_changes"
RETRY_MAX = 5.0

log = logging.getLogger("neutrino.db.notify")


def announce(dialect: str, last_seq: sa.ColumnElement[int]) -> list[sa.ColumnElement[str]]:
    """Extra RETURNING columns for the statement that takes the seq: they NOTIFY the new last
    seq, delivered once (and if) this transaction commits. PostgreSQL only; it costs no extra
    round trip."""
    if dialect != "postgresql":
        return []
    return [sa.func.pg_notify(CHANNEL, sa.cast(last_seq, sa.Text))]


def supported(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _conninfo(engine: Engine) -> str:
    """A libpq URI for psycopg from the SQLAlchemy URL (`postgresql+psycopg://` -> `postgresql://`)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    engine: Engine, on_commit: Callable[[int], None], on_state: Callable[[bool], None]
) -> None:
    """Forever (until cancelled): LISTEN on the change channel and call `on_commit(seq)` for each
    notification. Reconnects with backoff; `on_state` says whether we are listening, so that
    watchers poll while we are not. After (re)connecting, `on_commit(0)` once, because commits
    made while disconnected were not announced to us."""
    import psycopg

    backoff = 0.1
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(_conninfo(engine), autocommit=True)
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                on_state(True)
                backoff = 0.1
                on_commit(0)
                async for note in conn.notifies():
                    on_commit(int(note.payload) if note.payload.isdigit() else 0)
        except (psycopg.Error, OSError) as exc:
            log.warning("change-log LISTEN connection lost (%s); retrying in %.1fs", exc, backoff)
        finally:
            on_state(False)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, RETRY_MAX)
