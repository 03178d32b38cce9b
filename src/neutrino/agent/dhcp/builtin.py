"""The `builtin` DHCP driver: our own asyncio DHCPv4/DHCPv6/RA servers and internal DNS, one
set per network, each in the network's DHCP namespace (`plumbing`), answering from
`responder`/`responder6`/`responder_dns`. The DNS server is what dnsmasq's DNS is to Neutron:
the DHCP port's address is the guests' nameserver when a subnet names none, and it answers
for the ports' names (not recursive: `responder_dns`).

Why our own server: a port change is served by the next packet. `sync()` swaps the new
`DhcpNetwork` into the running servers (one assignment on their loop); nothing restarts,
nothing rereads a file, so there is no reload that grows with the number of hosts (dnsmasq's
SIGHUP rereads the whole hosts file: see bench/dhcp_bench.py).

Threading: the agent's loop is asyncio, but it calls drivers from its kernel worker thread,
so this driver owns one background thread running its own event loop, where every socket
is read and every server object lives. `sync()` (worker thread) does the blocking kernel
work itself (namespaces and veths, and the sockets, created on short-lived threads that
enter the namespace: `inns`), then hands the new state to the loop with
`run_coroutine_threadsafe` and waits for it, so when `sync()` returns the new state is
served. Server objects are touched only on the loop thread.

Plumbing cost: `plumbing.ensure` talks to two namespaces (~20 ms). It runs when a network's
plumbing (MAC, addresses, MTU, names) changed, when its namespace or veth is not the one
our sockets are bound to (checked cheaply on every sync), and at least every
REPAIR_INTERVAL; a change of hosts alone costs no netlink at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from neutrino.agent.dhcp import DhcpNetwork, plumbing
from neutrino.agent.dhcp.served import Served
from neutrino.agent.dhcp.server4 import Dhcp4Server
from neutrino.agent.dhcp.server6 import Dhcp6Server, RaSender
from neutrino.agent.dhcp.server_dns import DnsServer
from neutrino.agent.inns import NETNS_DIR, run_in_netns

logger = logging.getLogger("neutrino.agent.dhcp.builtin")

T = TypeVar("T")
REPAIR_INTERVAL = 60.0  # s between full plumbing checks of an unchanged network
CALL_TIMEOUT = 30.0


class DhcpSyncError(RuntimeError):
    """Some networks could not be served; the others are."""


@dataclass(frozen=True, slots=True)
class _Plumbed:
    """What the sockets of a network are bound to, and when `ensure` last succeeded."""

    shape: tuple[object, ...]  # the DhcpNetwork fields plumbing depends on
    identity: tuple[int, int]  # (namespace inode, veth ifindex)
    checked: float


class _Servers:
    """A network's servers (loop thread only). IPv6 ones are absent when the namespace has
    no IPv6 (a kernel without it), DNS when port 53 cannot be had: DHCPv4 still works."""

    def __init__(self, loop: asyncio.AbstractEventLoop, network: DhcpNetwork,
                 served: Served, identity: tuple[int, int]) -> None:
        self.identity = identity
        ifname = plumbing.ns_interface(network.interface)
        self.v4 = Dhcp4Server.open(loop, network.netns, ifname, served)
        self.v6: Dhcp6Server | None = None
        self.ra: RaSender | None = None
        self.dns: DnsServer | None = None
        try:
            self.v6 = Dhcp6Server.open(loop, network.netns, ifname, served)
            self.ra = RaSender.open(loop, network.netns, ifname, served)
        except OSError as exc:
            logger.warning("network %s: no IPv6 service: %s", network.network_id, exc)
        try:
            self.dns = DnsServer.open(loop, network.netns, ifname, served)
        except OSError as exc:
            logger.warning("network %s: no DNS service: %s", network.network_id, exc)

    def _all(self) -> tuple[tuple[str, Dhcp4Server | Dhcp6Server | RaSender | DnsServer
                                  | None], ...]:
        return (("v4", self.v4), ("v6", self.v6), ("ra", self.ra), ("dns", self.dns))

    def update(self, served: Served) -> None:
        for _, server in self._all():
            if server is not None:
                server.update(served)

    def close(self) -> None:
        for _, server in self._all():
            if server is not None:
                server.close()

    def stats(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for prefix, server in self._all():
            if server is not None:
                total.update({f"{prefix}_{k}": v for k, v in server.stats.items()})
        return total


class BuiltinDhcp:
    """`DhcpDriver` with the built-in servers. `host_netns`: where the bridges are (None:
    the agent's own namespace; tests pass a namespace that plays a host)."""

    def __init__(self, host_netns: str | None = None) -> None:
        self._host_netns = host_netns
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dhcp-builtin",
                                        daemon=True)
        self._thread.start()
        self._servers: dict[str, _Servers] = {}  # loop thread only
        self._plumbed: dict[str, _Plumbed] = {}  # sync thread only
        self._served: dict[str, Served] = {}  # sync thread only: the last view built
        self._stale: set[str] | None = None  # found at the first sync

    # ------------------------------------------------------------------ the contract
    def sync(self, networks: Sequence[DhcpNetwork]) -> None:
        """See `DhcpDriver.sync`. After `close()` only `sync([])` works (it cleans up)."""
        closed = self._loop.is_closed()
        if closed and networks:
            raise RuntimeError("the builtin DHCP driver is closed")
        if self._stale is None:
            self._stale = plumbing.present(self._host_netns)
        wanted = {n.network_id: n for n in networks}
        ready: list[tuple[DhcpNetwork, Served, tuple[int, int]]] = []
        errors: list[str] = []
        for network in wanted.values():
            try:
                identity = self._plumb(network)
            except Exception as exc:
                self._plumbed.pop(network.network_id, None)
                errors.append(f"{network.network_id}: {exc}")
                logger.warning("DHCP for network %s: %s", network.network_id, exc)
                continue
            served = Served.of(network, self._served.get(network.network_id))
            self._served[network.network_id] = served
            ready.append((network, served, identity))
        for network_id in [k for k in self._served if k not in wanted]:
            del self._served[network_id]
        if not closed:
            errors += self._call(lambda: self._apply(ready, set(wanted)))
        gone = (self._stale | set(self._plumbed)) - set(wanted)
        for network_id in sorted(gone):
            try:
                plumbing.remove(network_id, self._host_netns)
            except Exception as exc:
                errors.append(f"{network_id}: remove: {exc}")
                continue
            self._plumbed.pop(network_id, None)
            self._stale.discard(network_id)
        if errors:
            raise DhcpSyncError("; ".join(errors))

    def close(self) -> None:
        """Stop serving; namespaces stay (the next agent takes them over)."""
        if not self._thread.is_alive():
            return
        self._call(self._close_all)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT)
        self._loop.close()

    def stats(self) -> dict[str, dict[str, int]]:
        """Packet counters per network (v4_received, v4_offer, v6_ack, dns_received ...)."""
        return self._call(lambda: {k: dict(s.stats()) for k, s in self._servers.items()})

    # ------------------------------------------------------------------ sync thread
    def _plumb(self, network: DhcpNetwork) -> tuple[int, int]:
        """Ensure the namespace and veth when needed (module docstring); their identity."""
        shape = (network.netns, network.interface, network.bridge, network.server_mac,
                 network.server_addresses, network.mtu)
        known = self._plumbed.get(network.network_id)
        now = time.monotonic()
        if known is not None and known.shape == shape and now - known.checked < REPAIR_INTERVAL:
            identity = _identity(network)
            if identity == known.identity:
                return identity
        plumbing.ensure(network, self._host_netns)
        identity = _identity(network)
        if identity is None:
            raise RuntimeError("the DHCP veth vanished right after it was made")
        self._plumbed[network.network_id] = _Plumbed(shape, identity, now)
        return identity

    def _call(self, fn: Callable[[], T]) -> T:
        """`fn()` on the loop thread; its result here."""
        if self._loop.is_closed() or not self._thread.is_alive():
            raise RuntimeError("the builtin DHCP driver is closed")

        async def run() -> T:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(CALL_TIMEOUT)

    # ------------------------------------------------------------------ loop thread
    def _apply(self, ready: list[tuple[DhcpNetwork, Served, tuple[int, int]]],
               wanted: set[str]) -> list[str]:
        """Stop the unwanted servers, update or (re)start the others; the failures."""
        for network_id in [k for k in self._servers if k not in wanted]:
            self._servers.pop(network_id).close()
        failures = []
        for network, served, identity in ready:
            current = self._servers.get(network.network_id)
            if current is not None and current.identity == identity:
                current.update(served)
                continue
            if current is not None:  # the veth or namespace was remade: rebind
                self._servers.pop(network.network_id).close()
            try:
                self._servers[network.network_id] = _Servers(self._loop, network, served,
                                                             identity)
            except OSError as exc:
                failures.append(f"{network.network_id}: {exc}")
        return failures

    def _close_all(self) -> None:
        for servers in self._servers.values():
            servers.close()
        self._servers.clear()


def _identity(network: DhcpNetwork) -> tuple[int, int] | None:
    """(namespace inode, ifindex of the veth inside), None when either is missing: sockets
    bound to another incarnation of them would never see a packet."""
    try:
        inode = os.stat(os.path.join(NETNS_DIR, network.netns)).st_ino
        ifname = plumbing.ns_interface(network.interface)
        return inode, run_in_netns(network.netns, lambda: socket.if_nametoindex(ifname))
    except OSError:
        return None
