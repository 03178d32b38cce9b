"""The agent's level-triggered reconciler (DESIGN decision 5, STYLE habits 5, 6 and 10).

Events never carry state; they only set one "dirty" flag: a change-log entry about a resource
that can matter here, a netlink event for one of our links, the periodic resync, a "too old"
answer from the change log. The reconciler waits for the flag and clears it at once (an idle
loop adds no delay), then has the kernel applied to the WHOLE host snapshot (the firewall
first, then L2) and reports the ports whose status differs from what the server says. Anything that
arrives while it works sets the flag again, so N changes cost at most two reconciles (the
second can be made to wait `settle` after the first, so the rest of a burst lands in it).
The snapshot is fetched again whenever the server said something; a pass that only link
events asked for reuses the last one. A failure reports ERROR and is retried with capped
exponential backoff, never in a tight loop.

Collaborators are Protocols (`Server`, `Kernel`) so the loop is driven by fakes in unit tests
and by `agent.client.Client` and the Linux appliers in `neutrino agent`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from neutrino import wire
from neutrino.agent import names
from neutrino.agent.client import ChangeNote, ProtocolRefused, ServerUnavailable, TooOld

logger = logging.getLogger("neutrino.agent")
# One DEBUG line per reconcile with its phases (monotonic seconds): bench/agent_bench.py
# turns it on and reads it; off, it costs one level check.
trace = logging.getLogger("neutrino.agent.trace")

ACTIVE, DOWN, ERROR = "ACTIVE", "DOWN", "ERROR"
# Change-log resources that can change a host's desired state. Anything else (routers,
# quotas, address scopes, ...) cannot, yet; the periodic resync is the safety net.
RELEVANT = frozenset({"network", "subnet", "port", "security_group", "security_group_rule",
                      "agent"})
OUR_LINK_PREFIXES = (names.TAP_PREFIX, names.BRIDGE_PREFIX, names.VXLAN_PREFIX)



class Server(Protocol):
    """What the loop needs from the server (`agent.client.Client`)."""

    async def report(self, report: wire.AgentReport) -> None: ...
    async def snapshot(self, host: str) -> wire.HostSnapshot: ...
    async def port_status(self, status: wire.PortStatus) -> None: ...
    async def watch(self, since: int, timeout: float) -> tuple[list[ChangeNote], int]: ...


@dataclass(frozen=True)
class Applied:
    """What one apply achieved. `missing`: ports whose tap does not exist (not plugged yet);
    `failed`: port id -> why it could not be wired here (e.g. its network has no segment this
    host can bind)."""

    missing: frozenset[str] = frozenset()
    failed: Mapping[str, str] = field(default_factory=dict)
    look_again: bool = False  # something was left for a pass with a newer snapshot


class Kernel(Protocol):
    """The host's kernel, as the loop sees it: make it match a snapshot (idempotent: applying
    twice changes nothing), and tell about link changes."""

    async def apply(self, snapshot: wire.HostSnapshot) -> Applied: ...

    def link_events(self) -> AsyncIterator[str]:
        """Names of links that appeared, changed or vanished (an endless stream)."""
        ...


@dataclass(frozen=True)
class LoopConfig:
    host: str
    local_ip: str | None = None
    physical_interfaces: Mapping[str, str] = field(default_factory=dict)
    report_interval: float = 10.0  # heartbeat period
    resync_interval: float = 60.0  # full reconcile even when nothing was said
    watch_timeout: float = 30.0  # one long-poll of the change log
    settle: float = 0.0  # least time from one reconcile's end to the next one's start
    backoff_base: float = 0.5
    backoff_cap: float = 30.0


def backoff(failures: int, base: float, cap: float) -> float:
    """Capped exponential delay with jitter (0.5x-1x), so a fleet of agents that failed
    together does not retry together."""
    delay: float = min(cap, base * 2 ** max(0, failures - 1))
    return delay * random.uniform(0.5, 1.0)


def port_statuses(snapshot: wire.HostSnapshot, applied: Applied) -> dict[str, tuple[str, str]]:
    """port id -> (status, reason) that the kernel state after `applied` deserves. Pure."""
    down_networks = {n.id for n in snapshot.networks if not n.admin_state_up}
    out: dict[str, tuple[str, str]] = {}
    for port in snapshot.ports:
        if port.id in applied.failed:
            out[port.id] = (ERROR, applied.failed[port.id])
        elif (not port.admin_state_up or port.network_id in down_networks
              or port.id in applied.missing):
            out[port.id] = (DOWN, "")
        else:
            out[port.id] = (ACTIVE, "")
    return out


class Agent:
    """One host's loop. `run()` returns only by raising: `ProtocolRefused` when the server
    refuses our protocol version (the agent must stop), or cancellation."""

    def __init__(self, config: LoopConfig, server: Server, kernel: Kernel) -> None:
        self.config = config
        self.server = server
        self.kernel = kernel
        self.applied_seq = 0
        self.reconciles = 0  # completed attempts, successful or not (tests and bench read it)
        self.failures = 0  # consecutive failed attempts
        self._dirty = asyncio.Event()
        self._dirty_since: float | None = None  # monotonic time of the first unserved poke
        self._snapshot: wire.HostSnapshot | None = None  # the last one fetched
        self._fetch = True  # whether the next reconcile must fetch a new snapshot
        self._seq_known = asyncio.Event()  # set once a snapshot told where the log stands
        self._watch_from = 0
        # (port id, revision) -> status we reported: never repeat a report the server has
        # seen; a new revision (or a status change) reports again.
        self._reported: dict[tuple[str, int], str] = {}

    def poke(self, fetch: bool = True) -> None:
        """Look again soon. Every trigger comes down to this. `fetch=False`: only the kernel
        changed (a link event), so the last snapshot still says what is wanted; any other
        trigger fetches a new one."""
        if fetch:
            self._fetch = True
        if self._dirty_since is None:
            self._dirty_since = time.monotonic()
        self._dirty.set()

    async def run(self) -> None:
        await self._register()
        self.poke()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._reconciler(), name="reconcile")
                tasks.create_task(self._watcher(), name="watch")
                tasks.create_task(self._heartbeat(), name="heartbeat")
                tasks.create_task(self._resync(), name="resync")
                tasks.create_task(self._links(), name="links")
        except* ProtocolRefused as group:
            raise group.exceptions[0] from None

    def _report(self) -> wire.AgentReport:
        return wire.AgentReport(
            host=self.config.host, protocol=wire.PROTOCOL_VERSION,
            local_ip=self.config.local_ip,
            physical_interfaces=dict(self.config.physical_interfaces),
            applied_seq=self.applied_seq)

    async def _register(self) -> None:
        """The first heartbeat, retried until the server takes it: the server binds ports
        only to hosts with a live agent, so nothing useful happens before it."""
        failures = 0
        while True:
            try:
                await self.server.report(self._report())
                logger.info("registered host %s", self.config.host)
                return
            except ServerUnavailable as exc:
                failures += 1
                delay = backoff(failures, self.config.backoff_base, self.config.backoff_cap)
                logger.warning("registering failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.config.report_interval)
            try:
                await self.server.report(self._report())
            except ServerUnavailable as exc:
                logger.warning("heartbeat failed: %s", exc)
            except ProtocolRefused:
                raise
            except Exception:
                logger.exception("heartbeat failed")

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.config.resync_interval)
            self.poke()

    async def _links(self) -> None:
        """Netlink link events for our links mean "look again" (a tap was plugged, or someone
        deleted our bridge). A broken watch is restarted after a backoff; the periodic
        resync covers the gap."""
        failures = 0
        while True:
            try:
                async for name in self.kernel.link_events():
                    failures = 0
                    if name.startswith(OUR_LINK_PREFIXES):
                        self.poke(fetch=False)
                return
            except Exception as exc:
                failures += 1
                delay = backoff(failures, self.config.backoff_base, self.config.backoff_cap)
                logger.warning("link watch failed (%s); restarting in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                self.poke()

    async def _watcher(self) -> None:
        """Follow the change log from the seq of the first snapshot (the snapshot is the state
        as of that seq, so nothing between is missed)."""
        await self._seq_known.wait()
        failures = 0
        while True:
            try:
                notes, resume = await self.server.watch(self._watch_from,
                                                        self.config.watch_timeout)
            except TooOld as exc:
                logger.info("change log too old (%s): full resync", exc)
                self._watch_from = exc.resume_from
                self.poke()
                continue
            except ServerUnavailable as exc:
                failures += 1
                delay = backoff(failures, self.config.backoff_base, self.config.backoff_cap)
                logger.warning("watch failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if any(n.resource in RELEVANT for n in notes):
                self.poke()
            elif self.applied_seq >= self._watch_from and not self._dirty.is_set():
                # Converged up to the batch, and the batch cannot change this host: we are
                # converged up to its end too (what `applied_seq` promises, as OVN's nb_cfg).
                self.applied_seq = max(self.applied_seq, resume)
            self._watch_from = resume

    async def _reconciler(self) -> None:
        """An idle loop reconciles at once: a lone change (a tap plugged, a port created)
        is not delayed. Pokes that arrive while a reconcile runs make one follow-up
        reconcile, which starts no sooner than `settle` after the last one ended: a burst
        lands in it, and a stream of changes cannot keep the loop busy all the time."""
        ended = -float("inf")
        while True:
            await self._dirty.wait()
            wait = ended + self.config.settle - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._dirty.clear()
            since, self._dirty_since = self._dirty_since, None
            try:
                await self.reconcile(since)
                self.failures = 0
            except ProtocolRefused:
                raise
            except Exception as exc:  # any failure: a visible ERROR and a retry
                self.failures += 1
                delay = backoff(self.failures, self.config.backoff_base,
                                self.config.backoff_cap)
                logger.warning("reconcile failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                self.poke()
            finally:
                self.reconciles += 1
                ended = time.monotonic()

    async def reconcile(self, dirty_since: float | None = None) -> None:
        """One full pass: snapshot -> kernel -> status reports. Raises on any failure, after
        marking this host's ports ERROR when the kernel could not be applied. The snapshot
        is fetched once per burst of server changes: a pass that only link events asked for
        reuses the last one (the kernel is read in full either way)."""
        start = time.monotonic()
        snapshot = self._snapshot
        if snapshot is None or self._fetch:
            self._fetch = False  # a poke while we fetch sets it again
            try:
                snapshot = await self.server.snapshot(self.config.host)
            except BaseException:
                self._fetch = True
                raise
            self._snapshot = snapshot
        fetched = time.monotonic()
        if not self._seq_known.is_set():
            self._watch_from = snapshot.seq
            self._seq_known.set()
        try:
            applied = await self.kernel.apply(snapshot)
        except Exception as exc:
            self._fetch = True
            reason = f"agent on {self.config.host} failed to apply: {exc}"
            await self._send_statuses(snapshot, {p.id: (ERROR, reason) for p in snapshot.ports})
            raise
        done = time.monotonic()
        wanted = port_statuses(snapshot, applied)
        sent = await self._send_statuses(snapshot, wanted)
        if sent:  # the server's copy of those ports changed: ours is stale now
            self._fetch = True
        self.applied_seq = max(self.applied_seq, snapshot.seq)
        if applied.look_again:
            self.poke()
        if trace.isEnabledFor(logging.DEBUG):
            trace.debug("trace reconcile dirty=%.6f start=%.6f snapshot=%.6f applied=%.6f "
                        "end=%.6f active=%s", dirty_since or start, start, fetched, done,
                        time.monotonic(), ",".join(p for p in sent if wanted[p][0] == ACTIVE))

    async def _send_statuses(self, snapshot: wire.HostSnapshot,
                             wanted: Mapping[str, tuple[str, str]]) -> list[str]:
        """Report only what differs from the snapshot, and only once per revision. Returns
        the ids of the ports reported."""
        sent = []
        for port in snapshot.ports:
            status, reason = wanted[port.id]
            key = (port.id, port.revision_number)
            if status == port.status or self._reported.get(key) == status:
                continue
            await self.server.port_status(wire.PortStatus(
                port_id=port.id, status=status, revision=port.revision_number, reason=reason))
            self._reported[key] = status
            sent.append(port.id)
        live = {p.id for p in snapshot.ports}
        for key in [k for k in self._reported if k[0] not in live]:
            del self._reported[key]
        return sent


async def idle_link_events() -> AsyncIterator[str]:
    """A link-event stream that never says anything (a kernel without a netlink watch)."""
    await asyncio.Event().wait()
    yield ""  # pragma: no cover - unreachable, makes this an async generator


__all__ = ["ACTIVE", "DOWN", "ERROR", "RELEVANT", "Agent", "Applied", "Kernel", "LoopConfig",
           "Server", "backoff", "idle_link_events", "port_statuses"]
