"""How a request handler runs a service function: in the thread pool (services block on the
database), run again when PostgreSQL aborted its transaction for a race it lost
(`db.retry`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from neutrino.db.retry import retrying

T = TypeVar("T")


async def call(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` off the event loop; `fn` is one service call, hence one transaction."""
    return await run_in_threadpool(retrying, fn, *args)
