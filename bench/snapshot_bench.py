#!/usr/bin/env python3
"""One host's snapshot (`GET /v2.0/neutrino/hosts/{host}/snapshot`) with many ports bound to
it, in process on a throw-away database: the service call alone, and through the ASGI app
(JSON included). Two VXLAN hosts share one network; every port is in the project's default
group, whose rules name the group itself (so every address is a group member).

    python3 bench/snapshot_bench.py \
        --admin-url postgresql+psycopg://neutrino:neutrino@127.0.0.1:5432/postgres \
        [--ports 1000] [--remote 200] [--repeats 10]

Prints p50/min/max milliseconds and the number of SQL statements per snapshot; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from neutrino.api.app import build_app
from neutrino.api.auth import NoAuth
from neutrino.db import Database, make_engine, migrate
from neutrino.domain.config import ServerConfig
from neutrino.domain.context import Context
from neutrino.domain.port import PortCreate
from neutrino.services import hosts, ports
from neutrino.services._env import Env

AGENT = {"X-Project-Id": "neutrino-agent", "X-Roles": "service", "X-Neutrino-Protocol": "1.0"}


def populate(env: Env, client: TestClient, local: int, remote: int) -> None:
    for host, ip in (("host-a", "192.0.2.1"), ("host-b", "192.0.2.2")):
        r = client.post("/v2.0/neutrino/agents", headers=AGENT,
                        json={"agent": {"host": host, "protocol": "1.0", "local_ip": ip}})
        assert r.status_code == 200, r.text
    net = client.post("/v2.0/networks", json={"network": {"name": "bench"}}).json()["network"]
    r = client.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                       "cidr": "10.0.0.0/16"}})
    assert r.status_code == 201, r.text
    ctx = Context.admin("bench")
    for i in range(local + remote):
        host = "host-a" if i < local else "host-b"
        ports.create(env, ctx, PortCreate(network_id=net["id"], binding_host_id=host,
                                          device_owner="compute:nova"))


def timed(fn: Any, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin-url", required=True)
    ap.add_argument("--ports", type=int, default=1000)
    ap.add_argument("--remote", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    name = f"neutrino_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(args.admin_url.rsplit("/", 1)[0] + "/" + name)
    try:
        migrate.upgrade(engine)
        quotas = {**ServerConfig().default_quotas, "port": -1}
        env = Env(db=Database(engine), config=ServerConfig(default_quotas=quotas))
        with TestClient(build_app(env, NoAuth())) as client:
            t0 = time.perf_counter()
            populate(env, client, args.ports, args.remote)
            print(f"made {args.ports} + {args.remote} ports in {time.perf_counter() - t0:.1f} s")
            ctx = Context(project_id="neutrino-agent", roles=frozenset({"service"}))
            snap = hosts.snapshot(env, ctx, "host-a")
            print(f"snapshot: {len(snap.ports)} ports, "
                  f"{len(snap.networks[0].remote_ports)} remote ports, "
                  f"{len(snap.networks[0].peers)} peers (DNS), {len(snap.rules)} rules, "
                  f"{sum(len(v) for v in snap.group_members.values())} member addresses")
            statements: list[str] = []

            def count(*a: Any) -> None:
                statements.append(a[2])

            sa.event.listen(engine, "before_cursor_execute", count)
            hosts.snapshot(env, ctx, "host-a")
            sa.event.remove(engine, "before_cursor_execute", count)
            print(f"SQL statements per snapshot: {len(statements)}")
            service = timed(lambda: hosts.snapshot(env, ctx, "host-a"), args.repeats)

            def api() -> None:
                r = client.get("/v2.0/neutrino/hosts/host-a/snapshot", headers=AGENT)
                assert r.status_code == 200

            http = timed(api, args.repeats)
        for label, times in (("service", service), ("API (JSON)", http)):
            print(f"{label:>11}: p50 {statistics.median(times):.1f} ms, "
                  f"min {min(times):.1f}, max {max(times):.1f}")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
