"""The agent loop against fakes at its two process boundaries: the server (HTTP) and the
kernel (netlink, nft). The fake server behaves like the real one where the loop depends on
it: a status report at the current revision bumps the revision and appends a port change to
the log; a stale one is ignored."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from neutrino import wire
from neutrino.agent.client import ChangeNote, ProtocolRefused, ServerUnavailable, TooOld
from neutrino.agent.loop import (
    ACTIVE,
    DOWN,
    ERROR,
    Agent,
    Applied,
    LoopConfig,
    backoff,
    port_statuses,
)

HOST = "h1"


def port(pid: str, *, status: str = "DOWN", revision: int = 1,
         admin: bool = True) -> wire.SnapshotPort:
    return wire.SnapshotPort(
        id=pid, network_id="n1", mac_address="fa:16:3e:00:00:01",
        fixed_ips=(("s1", "10.0.0.4"),), admin_state_up=admin, device_owner="compute:nova",
        port_security_enabled=True, security_groups=(), allowed_address_pairs=(),
        revision_number=revision, status=status)


def snapshot(*ports: wire.SnapshotPort, seq: int = 1) -> wire.HostSnapshot:
    network = wire.SnapshotNetwork(id="n1", network_type="vxlan", physical_network=None,
                                   segmentation_id=100, mtu=1450)
    return wire.HostSnapshot(host=HOST, seq=seq, networks=(network,), ports=ports)


class FakeServer:
    def __init__(self, state: wire.HostSnapshot) -> None:
        self.state = state
        self.log: list[ChangeNote] = []
        self.grew = asyncio.Event()
        self.reports: list[wire.AgentReport] = []
        self.statuses: list[wire.PortStatus] = []
        self.snapshots = 0
        self.watched_from: list[int] = []
        self.too_old: int | None = None  # answer the next watch with 410, resume here
        self.refuse = False
        self.down = False

    def change(self, resource: str, rid: str, state: wire.HostSnapshot | None = None) -> None:
        seq = (self.log[-1].seq if self.log else self.state.seq) + 1
        self.state = dataclasses.replace(state or self.state, seq=seq)
        self.log.append(ChangeNote(seq, resource, rid, "update"))
        self.grew.set()

    def _check(self) -> None:
        if self.refuse:
            raise ProtocolRefused("agent protocol version 1.0 is not supported by this server")
        if self.down:
            raise ServerUnavailable("connection refused")

    async def report(self, report: wire.AgentReport) -> None:
        self._check()
        self.reports.append(report)

    async def snapshot(self, host: str) -> wire.HostSnapshot:
        self._check()
        self.snapshots += 1
        return self.state

    async def port_status(self, status: wire.PortStatus) -> None:
        self._check()
        self.statuses.append(status)
        ports = []
        for p in self.state.ports:
            if p.id == status.port_id and p.revision_number == status.revision:
                p = dataclasses.replace(p, status=status.status,
                                        revision_number=p.revision_number + 1)
            ports.append(p)
        if ports != list(self.state.ports):
            self.change("port", status.port_id, dataclasses.replace(self.state, ports=tuple(ports)))

    async def watch(self, since: int, timeout: float) -> tuple[list[ChangeNote], int]:
        self._check()
        self.watched_from.append(since)
        if self.too_old is not None:
            resume, self.too_old = self.too_old, None
            raise TooOld("too old", resume)
        deadline = time.monotonic() + timeout
        while True:
            notes = [n for n in self.log if n.seq > since]
            if notes or time.monotonic() >= deadline:
                head = self.log[-1].seq if self.log else self.state.seq
                return notes, notes[-1].seq if notes else head
            self.grew.clear()
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self.grew.wait()


class FakeKernel:
    def __init__(self) -> None:
        self.taps: set[str] = set()  # ports whose tap exists
        self.applied: list[wire.HostSnapshot] = []
        self.fail_next = 0
        self.attempts: list[float] = []
        self.events: asyncio.Queue[str] = asyncio.Queue()

    async def apply(self, snap: wire.HostSnapshot) -> Applied:
        self.attempts.append(time.monotonic())
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("nft: set sg_x_v4 does not exist")
        self.applied.append(snap)
        return Applied(missing=frozenset(p.id for p in snap.ports if p.id not in self.taps))

    async def link_events(self) -> AsyncIterator[str]:
        while True:
            yield await self.events.get()


def config(**kw: float) -> LoopConfig:
    base = dict(report_interval=0.05, resync_interval=3600.0, watch_timeout=0.2, settle=0.02,
                backoff_base=0.05, backoff_cap=0.4)
    base.update(kw)
    return LoopConfig(host=HOST, local_ip="192.0.2.1", **base)  # type: ignore[arg-type]


async def until(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def drive(server: FakeServer, kernel: FakeKernel,
          body: Callable[[Agent], Awaitable[None]], **cfg: float) -> Agent:
    """Run an agent while `body` pokes at it, then stop it."""
    agent = Agent(config(**cfg), server, kernel)

    async def main() -> None:
        task = asyncio.create_task(agent.run())
        try:
            await body(agent)
        finally:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, "the agent did not stop when cancelled"

    asyncio.run(main())
    return agent


def test_registers_reconciles_and_reports_active() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()
    kernel.taps.add("p1")

    async def body(agent: Agent) -> None:
        await until(lambda: server.state.ports[0].status == ACTIVE)
        await until(lambda: len(server.reports) >= 3)  # heartbeats keep coming

    drive(server, kernel, body)
    assert server.reports[0].host == HOST and server.reports[0].local_ip == "192.0.2.1"
    assert server.reports[0].protocol == wire.PROTOCOL_VERSION
    assert [s.status for s in server.statuses] == [ACTIVE]
    assert server.reports[-1].applied_seq >= 1


def test_change_triggers_reconcile_with_new_snapshot() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()

    async def body(agent: Agent) -> None:
        await until(lambda: len(kernel.applied) == 1)
        server.change("port", "p2", snapshot(port("p1"), port("p2")))
        await until(lambda: len(kernel.applied) == 2)

    drive(server, kernel, body)
    assert [p.id for p in kernel.applied[-1].ports] == ["p1", "p2"]


def test_irrelevant_change_does_not_reconcile() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()

    async def body(agent: Agent) -> None:
        await until(lambda: len(kernel.applied) == 1)
        server.change("router", "r1")
        await until(lambda: bool(server.watched_from)
                    and server.watched_from[-1] == server.log[-1].seq)
        await asyncio.sleep(0.1)

    agent = drive(server, kernel, body)
    assert len(kernel.applied) == 1
    assert agent.applied_seq == server.log[-1].seq  # converged past the irrelevant change


def test_burst_of_changes_coalesces() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()

    async def body(agent: Agent) -> None:
        await until(lambda: len(kernel.applied) == 1)
        for i in range(50):
            server.change("security_group_rule", f"r{i}")
            await asyncio.sleep(0)  # let the watcher see them in several batches
        await until(lambda: kernel.applied[-1].seq == server.log[-1].seq)
        await asyncio.sleep(0.1)

    drive(server, kernel, body)
    assert 2 <= len(kernel.applied) <= 3


def test_an_idle_loop_reconciles_at_once() -> None:
    """`settle` only spaces a reconcile from the one before: a change after a quiet spell is
    applied without waiting for it."""
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()
    delays: list[float] = []

    async def body(agent: Agent) -> None:
        await until(lambda: len(kernel.applied) == 1)
        await asyncio.sleep(0.6)  # longer than settle: the loop is idle
        t0 = time.monotonic()
        server.change("port", "p2", snapshot(port("p1"), port("p2")))
        await until(lambda: len(kernel.applied) == 2)
        delays.append(time.monotonic() - t0)

    drive(server, kernel, body, settle=0.5)
    assert delays[0] < 0.25


def test_link_event_reuses_the_snapshot_a_change_fetches_one() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()

    async def body(agent: Agent) -> None:
        await until(lambda: len(kernel.applied) == 1)
        await kernel.events.put("brqabc")  # only the kernel changed
        await until(lambda: len(kernel.applied) == 2)
        assert server.snapshots == 1 and kernel.applied[1] is kernel.applied[0]
        server.change("port", "p2", snapshot(port("p1"), port("p2")))
        await until(lambda: len(kernel.applied) == 3)
        assert server.snapshots == 2 and [p.id for p in kernel.applied[2].ports] == ["p1", "p2"]

    drive(server, kernel, body)


def test_status_reported_only_when_it_differs() -> None:
    server = FakeServer(snapshot(port("up", status=ACTIVE), port("unplugged"),
                                 port("off", status=ACTIVE, admin=False)))
    kernel = FakeKernel()
    kernel.taps.update({"up", "off"})

    async def body(agent: Agent) -> None:
        await until(lambda: len(server.statuses) == 1)
        for _ in range(3):  # nothing new to say on further passes
            agent.poke()
            done = agent.reconciles
            await until(lambda done=done: agent.reconciles > done)  # type: ignore[misc]
        kernel.taps.add("unplugged")
        await kernel.events.put("tapunplugged")  # the plug shows up as a link event
        await until(lambda: len(server.statuses) == 2)

    drive(server, kernel, body)
    assert [(s.port_id, s.status) for s in server.statuses] == [("off", DOWN),
                                                                 ("unplugged", ACTIVE)]


def test_foreign_link_event_is_ignored() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()

    async def body(agent: Agent) -> None:
        await until(lambda: len(kernel.applied) == 1)
        await kernel.events.put("eth0")
        await asyncio.sleep(0.1)
        await kernel.events.put("brqabc")
        await until(lambda: len(kernel.applied) == 2)

    drive(server, kernel, body)


def test_apply_failure_reports_error_backs_off_then_recovers() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()
    kernel.taps.add("p1")
    kernel.fail_next = 3

    async def body(agent: Agent) -> None:
        await until(lambda: server.state.ports[0].status == ACTIVE, timeout=5)

    agent = drive(server, kernel, body)
    statuses = [s.status for s in server.statuses]
    assert statuses[0] == ERROR and statuses[-1] == ACTIVE
    assert "nft: set sg_x_v4 does not exist" in server.statuses[0].reason
    assert statuses.count(ERROR) == 1  # ERROR said once, not once per retry
    gaps = [b - a for a, b in zip(kernel.attempts, kernel.attempts[1:], strict=False)][:3]
    assert gaps[0] >= 0.025 and gaps[2] >= 0.1  # jittered 0.05, 0.1, 0.2: it backs off
    assert agent.failures == 0


def test_server_outage_is_retried_not_spun() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()

    async def body(agent: Agent) -> None:
        await until(lambda: len(kernel.applied) == 1)
        server.down = True
        agent.poke()
        await asyncio.sleep(0.5)
        attempts = agent.reconciles
        server.down = False
        await until(lambda: len(kernel.applied) == 2)
        assert attempts < 10  # backoff (cap 0.4 s), not a tight loop

    drive(server, kernel, body)


def test_too_old_resyncs_and_resumes() -> None:
    server, kernel = FakeServer(snapshot(port("p1"), seq=5)), FakeKernel()
    server.too_old = 40

    async def body(agent: Agent) -> None:
        await until(lambda: 40 in server.watched_from)
        await until(lambda: len(kernel.applied) >= 2)

    drive(server, kernel, body)
    assert server.watched_from[:2] == [5, 40]


def test_protocol_refusal_stops_the_agent() -> None:
    server, kernel = FakeServer(snapshot()), FakeKernel()
    server.refuse = True
    agent = Agent(config(), server, kernel)
    with pytest.raises(ProtocolRefused, match="not supported"):
        asyncio.run(asyncio.wait_for(agent.run(), 2))


def test_protocol_refusal_after_start_stops_the_agent() -> None:
    server, kernel = FakeServer(snapshot(port("p1"))), FakeKernel()
    agent = Agent(config(), server, kernel)

    async def main() -> None:
        task = asyncio.create_task(agent.run())
        await until(lambda: len(kernel.applied) == 1)
        server.refuse = True  # e.g. the server was downgraded
        await asyncio.wait_for(task, 2)

    with pytest.raises(ProtocolRefused):
        asyncio.run(main())


def test_port_statuses_is_pure_and_complete() -> None:
    snap = snapshot(port("a"), port("b"), port("c", admin=False), port("d"))
    got = port_statuses(snap, Applied(missing=frozenset({"b"}), failed={"d": "no segment"}))
    assert got == {"a": (ACTIVE, ""), "b": (DOWN, ""), "c": (DOWN, ""),
                   "d": (ERROR, "no segment")}
    down_net = dataclasses.replace(snap, networks=(dataclasses.replace(
        snap.networks[0], admin_state_up=False),))
    assert port_statuses(down_net, Applied())["a"] == (DOWN, "")


@pytest.mark.parametrize("failures", range(0, 20))
def test_backoff_is_capped(failures: int) -> None:
    delay = backoff(failures, 0.5, 30.0)
    assert 0 < delay <= 30.0
    assert delay >= min(30.0, 0.5 * 2 ** max(0, failures - 1)) * 0.5


def test_plug_args_from_api_bodies() -> None:
    from neutrino.cmd.agent import parse_mappings, plug_args

    port_body = {"id": "p1", "mac_address": "fa:16:3e:00:00:09", "fixed_ips": [
        {"subnet_id": "s4", "ip_address": "10.0.0.5"},
        {"subnet_id": "s6", "ip_address": "2001:db8::5"}]}
    subnets = {
        "s4": {"cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1",
               "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}]},
        "s6": {"cidr": "2001:db8::/64", "gateway_ip": "2001:db8::1", "host_routes": []}}
    args = plug_args(port_body, {"mtu": 1450}, subnets)
    assert args.addresses == ("10.0.0.5/24", "2001:db8::5/64")
    assert args.gateways == ("10.0.0.1", "2001:db8::1") and args.mtu == 1450
    assert args.routes == (("192.168.0.0/16", "10.0.0.254"),)
    assert parse_mappings(["physnet1:eth1"]) == {"physnet1": "eth1"}
    with pytest.raises(ValueError):
        parse_mappings(["eth1"])
