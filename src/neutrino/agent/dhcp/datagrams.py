"""Reading a non-blocking datagram socket from the event loop, as every server here does
(DHCPv4, DHCPv6, router solicitations, DNS over UDP)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

BATCH = 256  # datagrams read per wakeup before yielding to the loop


def drain(receive: Callable[[], T], handle: Callable[[T], None], stats: Counter[str]) -> None:
    """Hand `handle` what `receive` reads until the socket is empty, at most BATCH datagrams
    per wakeup so that a flooded socket cannot starve the loop (the reader fires again). A
    receive error is counted in `stats`, never raised: one bad client never stops a server."""
    for _ in range(BATCH):
        try:
            got = receive()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            stats["receive_errors"] += 1
            logger.debug("receive: %s", exc)
            return
        handle(got)
