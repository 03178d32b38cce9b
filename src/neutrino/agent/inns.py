"""Run a function inside a named network namespace, without moving the calling thread.

A socket stays in the namespace it was created in, and `/proc/sys/net` shows the namespace
of the thread that opens it. Linux keeps the network namespace per thread, so a fresh thread
that `setns()`s into the namespace can make sockets there (or write its sysctls) and hand
them back, while the agent's threads never leave their own namespace. pyroute2's
`create_socket` does the same from a forked child process, ~10x slower; Python 3.11 has no
`os.setns`, hence libc.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"  # where `ip netns add` (and pyroute2) mount named namespaces

_libc = ctypes.CDLL(None, use_errno=True)


def run_in_netns(netns: str, fn: Callable[[], T]) -> T:
    """`fn()` on a new thread that lives in `netns`; its result or its exception."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, f"setns({netns}): {os.strerror(code)}")
            finally:
                os.close(fd)
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller thread
            error.append(exc)

    thread = threading.Thread(target=target, name=f"netns-{netns}", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def write_sysctl(netns: str, settings: dict[str, str]) -> None:
    """Write `net.*` sysctls ("net/ipv6/conf/default/accept_dad": "0") in `netns`, only
    those that differ."""
    def write() -> None:
        for key, value in settings.items():
            path = os.path.join("/proc/sys", key)
            with open(path) as f:
                if f.read().strip() == value:
                    continue
            with open(path, "w") as f:
                f.write(value)
    run_in_netns(netns, write)
