"""The agent's HTTP client against the real ASGI app in process (SQLite and PostgreSQL):
the protocol header, noauth service identity, the body shapes the server reads, and the
three error kinds the loop acts on (refused -> stop, too old -> resync, the rest -> retry)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from neutrino import wire
from neutrino.agent.client import Client, ProtocolRefused, ServerUnavailable, TooOld
from neutrino.api.app import build_app
from neutrino.api.auth import NoAuth
from neutrino.services._env import Env


def run_with(env: Env, body: Any) -> Any:
    app = build_app(env, NoAuth())

    async def main() -> Any:
        client = Client("http://neutrino", transport=httpx.ASGITransport(app=app))
        try:
            return await body(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_register_snapshot_and_watch(env: Env) -> None:
    async def body(c: Client) -> None:
        await c.report(wire.AgentReport(host="h1", protocol=wire.PROTOCOL_VERSION,
                                        local_ip="192.0.2.1"))
        snap = await c.snapshot("h1")
        assert snap.host == "h1" and snap.ports == ()
        notes, resume = await c.watch(0, 0)
        assert resume >= snap.seq
        assert all(n.seq <= resume for n in notes)

    run_with(env, body)


def test_port_status_round_trip(env: Env) -> None:
    async def body(c: Client) -> None:
        await c.report(wire.AgentReport(host="h1", protocol=wire.PROTOCOL_VERSION,
                                        local_ip="192.0.2.1"))
        http = c._http
        net = (await http.post("/v2.0/networks", json={"network": {"name": "n"}})).json()
        net_id = net["network"]["id"]
        port = (await http.post("/v2.0/ports", json={"port": {
            "network_id": net_id, "binding:host_id": "h1"}})).json()["port"]
        snap = await c.snapshot("h1")
        (mine,) = snap.ports
        assert mine.id == port["id"]
        await c.port_status(wire.PortStatus(mine.id, "ACTIVE", mine.revision_number))
        after = (await http.get(f"/v2.0/ports/{port['id']}")).json()["port"]
        assert after["status"] == "ACTIVE"
        notes, _ = await c.watch(snap.seq, 0)
        assert any(n.resource == "port" and n.resource_id == port["id"] for n in notes)

    run_with(env, body)


def test_too_old_names_where_to_resume(env: Env) -> None:
    async def body(c: Client) -> None:
        with pytest.raises(TooOld) as info:
            await c.watch(10_000, 0)  # beyond the head: the server says resync
        assert info.value.resume_from >= 0

    run_with(env, body)


def test_refused_protocol_stops(env: Env) -> None:
    async def body(c: Client) -> None:
        c._http.headers[wire.PROTOCOL_HEADER] = "99.0"
        with pytest.raises(ProtocolRefused, match="upgrade"):
            await c.report(wire.AgentReport(host="h1", protocol="99.0"))

    run_with(env, body)


def test_unreachable_server_is_retryable() -> None:
    async def main() -> None:
        c = Client("http://127.0.0.1:9", request_timeout=1)  # discard port: refused
        try:
            with pytest.raises(ServerUnavailable):
                await c.snapshot("h1")
        finally:
            await c.aclose()

    asyncio.run(main())
