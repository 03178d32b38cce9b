"""`neutrino up`, the README's one-command start: server and local agent come up together and
go down together (a SIGTERM to `up` used to leave its agent running, orphaned). Run inside a
throwaway namespace, so the agent's kernel work lands there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.linux.netns import namespaces, requires_netns, run
from tests.processes import alive

PROBE = """
import json, sys, urllib.request
agents = json.load(urllib.request.urlopen("http://127.0.0.1:9696/v2.0/agents", timeout=2))
sys.exit(0 if any(a["host"] == sys.argv[1] and a["alive"] for a in agents["agents"]) else 1)
"""


def children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


@requires_netns
def test_up_serves_with_its_agent_and_stops_both_on_sigterm(tmp_path: Path) -> None:
    host = f"up-{uuid.uuid4().hex[:8]}"
    with namespaces("host") as ns:
        # `ip netns exec` execs in place: the process is `neutrino up` itself
        up = subprocess.Popen(
            ["ip", "netns", "exec", ns["host"], sys.executable, "-m", "neutrino.cmd.main", "up",
             "--data-dir", str(tmp_path), "--agent-host", host],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        agents: set[int] = set()
        try:
            deadline = time.monotonic() + 60
            while run(ns["host"], sys.executable, "-c", PROBE, host, check=False).returncode:
                assert up.poll() is None, "neutrino up exited before its agent registered"
                assert time.monotonic() < deadline, "the agent never registered"
                time.sleep(0.5)
            agents = children(up.pid)
            assert agents, "no agent process under neutrino up"
            up.send_signal(signal.SIGTERM)
            assert up.wait(timeout=30) == 0
            deadline = time.monotonic() + 15
            while alive(agents) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not alive(agents), "the agent outlived neutrino up"
        finally:
            for pid in {up.pid, *agents} & alive({up.pid, *agents}):
                os.kill(pid, signal.SIGKILL)
            up.wait(timeout=10)
