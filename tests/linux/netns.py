"""Throwaway network namespaces for the kernel tests: unique names (`nqt-...`), so parallel
test workers never collide, and deleted on exit even when the test fails. Tests touch only
namespaces and addresses they made; never the machine's own interfaces."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

PREFIX = "nqt-"


def kernel_tests_possible() -> str | None:
    """Why namespace tests can't run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"needs `{tool}` (scripts/ensure-host-tools.sh installs it)"
    probe = f"{PREFIX}probe-{uuid.uuid4().hex[:6]}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "the kernel refuses `ip netns add`"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


requires_netns = pytest.mark.skipif(
    (reason := kernel_tests_possible()) is not None, reason=reason or "")


def run(ns: str | None, *argv: str, check: bool = True, timeout: float = 30,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `argv` inside namespace `ns` (or on the test's own host when None)."""
    cmd = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}): "
                             f"{done.stderr.strip() or done.stdout.strip()}")
    return done


@contextlib.contextmanager
def namespaces(*roles: str) -> Iterator[dict[str, str]]:
    """Fresh namespaces named after `roles` ({"host1": "nqt-ab12cd-host1", ...}), with
    loopback up; every one is deleted on exit, with whatever the test put inside."""
    tag = uuid.uuid4().hex[:6]
    made: dict[str, str] = {}
    try:
        for role in roles:
            name = f"{PREFIX}{tag}-{role}"
            run(None, "ip", "netns", "add", name)
            made[role] = name
            run(name, "ip", "link", "set", "lo", "up")
        yield dict(made)  # a copy: a test that pops from it must not escape the cleanup
    finally:
        for name in made.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
