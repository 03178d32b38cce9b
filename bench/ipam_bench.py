#!/usr/bin/env python3
"""The built-in IPAM driver, in process, on a fresh database (PostgreSQL by default).

1. Throughput: allocations per second, one transaction per allocation (what a port create
   pays), on one thread and on several threads sharing one subnet.
2. Flatness: fill a whole /16 (65,533 addresses, in transactions of --batch allocations) and
   time every `allocate()` call; compare the first 1% with the last 1% (the aim is "within
   2x"), then fragment the full subnet (release 1% at random) and time taking those back.

A baseline (a one-row write transaction) shows what the commit alone costs on this machine.

Prints figures only; nothing is asserted.

    .venv/bin/python bench/ipam_bench.py [--pg-admin URL | --sqlite] [--threads 4]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from neutrino.db import Database, make_engine, migrate
from neutrino.domain import addresses
from neutrino.domain.subnet import Subnet
from neutrino.ipam import load_ipam_driver

PG_ADMIN = os.environ.get(
    "NEUTRINO_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_database(pg_admin: str | None) -> Iterator[str]:
    """A migrated empty database URL, dropped afterwards."""
    if pg_admin is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite"
        return
    name = f"neutrino_ipam_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield pg_admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def subnet(cidr: str) -> Subnet:
    net = ipaddress.ip_network(cidr)
    gateway = addresses.default_gateway(net)
    return Subnet(
        id=str(uuid.uuid4()),
        project_id="bench",
        network_id=str(uuid.uuid4()),
        ip_version=net.version,
        cidr=net,
        gateway_ip=gateway,
        allocation_pools=addresses.default_allocation_pools(net, gateway),
    )


def throughput(db: Database, threads: int, per_thread: int) -> float:
    """Allocations per second, each in its own committed transaction."""
    driver = load_ipam_driver("builtin")
    target = subnet("10.200.0.0/16")
    with db.write() as tx:
        driver.add_subnet(tx, target)
    start = threading.Barrier(threads + 1)

    def worker() -> None:
        start.wait()
        for _ in range(per_thread):
            with db.write() as tx:
                driver.allocate(tx, target)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    return threads * per_thread / (time.perf_counter() - began)


def commit_baseline(db: Database, n: int) -> float:
    """Write transactions per second that update one row: what any allocation also pays
    for its commit (on PostgreSQL, a WAL flush)."""
    began = time.perf_counter()
    for _ in range(n):
        with db.write() as tx:
            tx.conn.execute(sa.text("UPDATE change_seq SET value = value WHERE id = 1"))
    return n / (time.perf_counter() - began)


def fill_16(db: Database, batch: int) -> tuple[list[float], list[float]]:
    """Fill a /16 and time each allocation (the driver's work inside the transaction, commits
    excluded); then the times of re-allocating 1% released at random."""
    driver = load_ipam_driver("builtin")
    target = subnet("10.100.0.0/16")
    with db.write() as tx:
        driver.add_subnet(tx, target)
    times: list[float] = []
    got: list[str] = []
    full = False
    while not full:
        with db.write() as tx:
            for _ in range(batch):
                began = time.perf_counter()
                try:
                    ip = driver.allocate(tx, target)
                except Exception as exc:  # IpAddressGenerationFailure: the /16 is full
                    assert type(exc).__name__ == "IpAddressGenerationFailure", exc
                    full = True
                    break
                times.append(time.perf_counter() - began)
                got.append(str(ip))
    assert len(got) == len(set(got)), "an address was handed out twice"
    refill = refragment(db, driver, target, got)
    return times, refill


def refragment(db: Database, driver: Any, target: Subnet, got: list[str]) -> list[float]:
    """Release 1% of a full subnet at random, then time taking them back."""
    picked = random.Random(7).sample(got, len(got) // 100)
    with db.write() as tx:
        for ip in picked:
            driver.release(tx, target, ipaddress.ip_address(ip))
    times = []
    with db.write() as tx:
        for _ in picked:
            began = time.perf_counter()
            driver.allocate(tx, target)
            times.append(time.perf_counter() - began)
    return times


def ms(values: list[float]) -> str:
    return (f"mean {statistics.fmean(values) * 1e3:.3f} ms, "
            f"median {statistics.median(values) * 1e3:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    parser.add_argument("--sqlite", action="store_true", help="bench SQLite instead")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--allocations", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=20, help="allocations per tx in the fill")
    args = parser.parse_args()
    with fresh_database(None if args.sqlite else args.pg_admin) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        db = Database(engine)
        print(f"database: {engine.dialect.name}")
        base = commit_baseline(db, args.allocations // 2)
        print(f"baseline, a one-row write transaction: {base:,.0f} tx/s")
        one = throughput(db, 1, args.allocations)
        print(f"throughput, 1 thread, 1 tx per allocation: {one:,.0f} allocations/s")
        many = throughput(db, args.threads, args.allocations // args.threads)
        print(f"throughput, {args.threads} threads on one subnet: {many:,.0f} allocations/s")
        began = time.perf_counter()
        times, refill = fill_16(db, args.batch)
        took = time.perf_counter() - began
        n = len(times)
        print(f"filled a /16: {n:,} addresses in {took:.1f} s "
              f"({n / took:,.0f} allocations/s in batches of {args.batch})")
        first, last = times[: n // 100], times[-(n // 100):]
        print(f"first 1% ({len(first)}): {ms(first)}")
        print(f"last 1%  ({len(last)}): {ms(last)}")
        ratio = statistics.median(last) / statistics.median(first)
        print(f"last/first (medians): {ratio:.2f}x")
        print(f"after releasing 1% at random, taking them back: {ms(refill)}")
        engine.dispose()


if __name__ == "__main__":
    main()
