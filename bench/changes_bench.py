#!/usr/bin/env python3
"""Change-log long-poll wake-up latency, across server processes.

Starts `neutrino serve` twice: on a fresh PostgreSQL database with `--workers 2` (wake-ups by
LISTEN/NOTIFY), and on SQLite with one worker (the polling fallback, for contrast). Each round
parks a long-poll (`GET /v2.0/changes?since=N&timeout=..`) and then commits one network:

  external writer  a create through the services in THIS process, with its own engine: to the
                   server it is another process. Latency = commit returned -> poll answered.
  http writer      a POST to the server, served by either worker (on PostgreSQL often not the
                   one holding the poll). Latency = POST answered -> poll answered.

Prints p50 / p90 / max in milliseconds. Not a test: no timing is asserted anywhere.

    .venv/bin/python bench/changes_bench.py [--rounds 40] [--pg-admin URL] [--skip-pg]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

from neutrino.db import Database, make_engine
from neutrino.domain.context import Context
from neutrino.domain.network import NetworkCreate
from neutrino.services import networks
from neutrino.services._env import Env

PG_ADMIN = os.environ.get(
    "NEUTRINO_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NEUTRINO = Path(sys.executable).with_name("neutrino")


@contextmanager
def serving(db_url: str, workers: int, work: Path) -> Iterator[str]:
    """`neutrino serve` on a free loopback port; stopped (its whole process group) on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUTRINO_")}
    proc = subprocess.Popen(
        [str(NEUTRINO), "serve", "--port", str(port), "--workers", str(workers), "--db", db_url,
         "--data-dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"neutrino serve did not start ({db_url})")
            time.sleep(0.05)
        time.sleep(0.5)  # let every worker open its LISTEN connection
        yield url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """TERM the server (it stops its workers), KILL its process group if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    name = f"neutrino_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def last_seq(client: httpx.Client) -> int:
    return int(client.get("/v2.0/changes", params={"limit": 1}).json()["last_seq"])


def one_round(client: httpx.Client, commit: Callable[[], float]) -> float:
    """Park a long-poll, commit, and return seconds from the commit to the poll's answer."""
    since = last_seq(client)
    answered: list[float] = []

    def poll() -> None:
        with httpx.Client(base_url=client.base_url, timeout=30) as own:
            r = own.get("/v2.0/changes", params={"since": since, "timeout": 20})
            answered.append(time.perf_counter())
            assert r.json()["changes"], "long-poll timed out without the change"

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.1)  # the poll is parked in the server by now
    committed = commit()
    poller.join()
    return answered[0] - committed


def scenario(url: str, db_url: str, rounds: int) -> dict[str, list[float]]:
    writer = Env(db=Database(make_engine(db_url, pool_size=1)))
    admin = Context.admin("admin")

    def external() -> float:
        networks.create(writer, admin, NetworkCreate(name="bench"))
        return time.perf_counter()

    def over_http() -> float:
        with httpx.Client(base_url=url) as c:
            c.post("/v2.0/networks", json={"network": {"name": "bench"}}).raise_for_status()
        return time.perf_counter()

    out: dict[str, list[float]] = {"external writer": [], "http writer": []}
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(rounds):
            out["external writer"].append(one_round(client, external))
            out["http writer"].append(one_round(client, over_http))
    writer.db.engine.dispose()
    return out


def report(title: str, results: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"  {'':18} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8}")
    for name, values in results.items():
        ms = sorted(v * 1000 for v in values)
        p90 = ms[int(0.9 * (len(ms) - 1))]
        print(f"  {name:18} {statistics.median(ms):8.1f} {p90:8.1f} {ms[-1]:8.1f}")


def main() -> None:
    global PG_ADMIN
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--pg-admin", default=PG_ADMIN)
    p.add_argument("--skip-pg", action="store_true")
    args = p.parse_args()
    PG_ADMIN = args.pg_admin
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_pg:
            with fresh_pg_database() as db_url, serving(db_url, 2, Path(tmp)) as url:
                report("PostgreSQL, neutrino serve --workers 2 (LISTEN/NOTIFY)",
                       scenario(url, db_url, args.rounds))
        db_url = f"sqlite:///{tmp}/bench.sqlite"
        with serving(db_url, 1, Path(tmp)) as url:
            report("SQLite, one worker (polling fallback for writers in other processes)",
                   scenario(url, db_url, args.rounds))


if __name__ == "__main__":
    main()
