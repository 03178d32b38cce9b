"""Stopping the daemons tests start (dhclient), by PID and never by name."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def cmdline(pid: int) -> bytes:
    """A process's argv; empty when it is gone (or a zombie)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pids: set[int]) -> set[int]:
    return {p for p in pids if cmdline(p)}


def stop_by_pidfile(path: Path) -> None:
    """Stop the daemon that owns pid file `path`. A daemonized dhclient may not have written
    its pid yet when its parent exits, so every process whose command line names this
    (test-private) pid file is stopped too; SIGKILL if SIGTERM is not enough."""
    pids: set[int] = set()
    with contextlib.suppress(OSError, ValueError):
        pids.add(int(path.read_text().strip()))
    marker = str(path).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and marker in cmdline(int(entry.name)).split(b"\0"):
            pids.add(int(entry.name))
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    for _ in range(40):
        if not alive(pids):
            break
        time.sleep(0.05)
    for pid in alive(pids):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
