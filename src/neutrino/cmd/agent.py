"""Composition root of the host agent, and the `plug`/`unplug` helpers.

`neutrino agent` manages the kernel of one network namespace: the current one, or `--netns
NAME`. With `--netns` the agent process itself stays in the namespace it was started in, so
it reaches a server on that namespace's loopback while pyroute2 (`IPRoute(netns=...)`) and
nft (`ip netns exec NAME nft`) act inside NAME; that is how the kernel tests run several
"hosts" on one machine. `ip netns exec H neutrino agent ...` works too, when H can reach the
server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx

from neutrino import wire
from neutrino.agent import loop
from neutrino.agent.client import Client, Credentials, NoAuthCredentials, ProtocolRefused
from neutrino.agent.client import TokenCredentials as TokenCredentials
from neutrino.agent.desired import HostConfig, host_spec
from neutrino.agent.dhcp import DhcpDriver
from neutrino.agent.dhcp.desired import dhcp_networks
from neutrino.agent.firewall import Firewall, firewall_spec
from neutrino.agent.linux.l2 import L2, TapGrace, alink_events

logger = logging.getLogger("neutrino.agent")
trace = logging.getLogger("neutrino.agent.trace")  # see loop.trace
T = TypeVar("T")


class LinuxKernel:
    """`loop.Kernel` on Linux: the firewall first, then L2 (bridges, VXLAN, FDB, taps). In
    that order a tap is put on its bridge only once its port's security groups are in
    force: the base chains accept what no port chain claims, so L2 first left a new port
    open for the length of the firewall's apply (~25 ms at 100 ports, measured).

    Both appliers read the kernel and write the difference, so applying twice is a no-op.
    They block (netlink, nft), and pyroute2's sync IPRoute runs its own event loop, which
    refuses to start inside ours: so they are made, used and closed on ONE worker thread."""

    def __init__(self, netns: str | None, config: HostConfig,
                 dhcp: DhcpDriver | None = None, lease_time: int = 86400) -> None:
        self.netns = netns
        self.config = config
        self.dhcp = dhcp  # None: this host serves no DHCP (`--dhcp-driver none`)
        self.lease_time = lease_time
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel")
        self._l2: L2 | None = None
        self._tap_grace = TapGrace()
        self._firewall: Firewall | None = None

    async def close(self) -> None:
        await self._on_thread(self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._l2 is not None:
            self._l2.close()
        if self._firewall is not None:
            self._firewall.close()
        if self.dhcp is not None:
            self.dhcp.close()

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def apply(self, snapshot: wire.HostSnapshot) -> loop.Applied:
        return await self._on_thread(lambda: self._apply(snapshot))

    def _apply(self, snapshot: wire.HostSnapshot) -> loop.Applied:
        if self._l2 is None:
            self._l2 = L2(self.netns)
        if self._firewall is None:
            self._firewall = Firewall(self.netns)
        t0 = time.monotonic()
        spec = host_spec(snapshot, self.config)
        t1 = time.monotonic()
        self._firewall.apply(firewall_spec(snapshot))
        t2 = time.monotonic()
        done = self._l2.apply(spec, self._tap_grace.for_snapshot(snapshot))
        if done.errors:
            reasons = "; ".join(f"{type(step).__name__}: {why}" for step, why in done.errors[:3])
            raise RuntimeError(f"L2: {reasons}")
        # DHCP last: its plumbing puts the DHCP port's tap on the bridge L2 just made, and
        # a port change reaches the DHCP server in this same pass (no reload).
        dhcp_ports = {n.dhcp_port.id for n in snapshot.networks if n.dhcp_port is not None}
        if self.dhcp is not None:
            self.dhcp.sync(dhcp_networks(snapshot, self.lease_time, self.netns))
        if trace.isEnabledFor(logging.DEBUG):
            trace.debug("trace apply spec=%.6f l2=%.6f firewall=%.6f l2_steps=%d", t1 - t0,
                        time.monotonic() - t2, t2 - t1, len(done.steps))
        return loop.Applied(missing=frozenset(done.missing) - dhcp_ports,
                            failed={u.port_id: u.reason for u in spec.unbindable},
                            look_again=bool(done.spared))

    async def link_events(self) -> AsyncIterator[str]:
        async for event in alink_events(self.netns):
            yield event.name


@dataclass(frozen=True)
class AgentOptions:
    host: str
    server: str = "http://127.0.0.1:9696"
    local_ip: str | None = None
    physical_interfaces: Mapping[str, str] | None = None
    netns: str | None = None
    report_interval: float = 10.0
    resync_interval: float = 60.0
    token: str | None = None  # a Keystone token; None: noauth headers
    dhcp_driver: str = "builtin"  # entry point in neutrino.dhcp_drivers, or "none"
    state_dir: str | None = None  # where a DHCP driver keeps files (dnsmasq)


def parse_mappings(items: Sequence[str]) -> dict[str, str]:
    """["physnet1:eth1", ...] -> {"physnet1": "eth1"}."""
    out = {}
    for item in items:
        physnet, sep, iface = item.partition(":")
        if not sep or not physnet or not iface:
            raise ValueError(f"--physical-interface wants PHYSNET:IFACE, not {item!r}")
        out[physnet] = iface
    return out


def dhcp_driver(name: str, netns: str | None, state_dir: str | None) -> DhcpDriver | None:
    """The configured DHCP driver (DESIGN decision 7: found by name through entry points)."""
    if name == "none":
        return None
    from pathlib import Path

    from neutrino.drivers import loader

    factory = loader.load("neutrino.dhcp_drivers", name)
    if name == "dnsmasq":
        driver: DhcpDriver = factory(host_netns=netns,
                                     state_dir=Path(state_dir) if state_dir else None)
    else:
        driver = factory(host_netns=netns)
    return driver


async def run_agent(opts: AgentOptions) -> int:
    """Run until cancelled; 3 when the server refuses our protocol version."""
    credentials: Credentials = (TokenCredentials(opts.token) if opts.token
                                else NoAuthCredentials())
    client = Client(opts.server, credentials)
    physical = dict(opts.physical_interfaces or {})
    kernel = LinuxKernel(opts.netns, HostConfig(local_ip=opts.local_ip,
                                                physical_interfaces=physical),
                         dhcp=dhcp_driver(opts.dhcp_driver, opts.netns, opts.state_dir))
    config = loop.LoopConfig(host=opts.host, local_ip=opts.local_ip,
                             physical_interfaces=physical,
                             report_interval=opts.report_interval,
                             resync_interval=opts.resync_interval)
    logger.info("agent for host %s (netns %s) following %s", opts.host,
                opts.netns or "current", opts.server)
    try:
        await loop.Agent(config, client, kernel).run()
    except ProtocolRefused as exc:
        logger.error("the server refused this agent: %s", exc)
        print(f"neutrino agent: stopped: the server refused this agent: {exc}", flush=True)
        return 3
    finally:
        await client.aclose()
        await kernel.close()
    return 0


# -- plug / unplug: what Nova or a CNI plugin would do, for tests and demos ---------------

def _api(server: str) -> httpx.Client:
    """Admin in noauth mode (no project header: the server's default project, as admin).
    Only an https server needs the CA bundle: loading it costs ~15 ms, a third of a plug."""
    return httpx.Client(base_url=server.rstrip("/"), timeout=15.0,
                        verify=server.startswith("https:"))


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text[:300]}")
    data: dict[str, Any] = response.json()
    return data


@dataclass(frozen=True)
class PlugArgs:
    """What `plug()` needs, from the API: the port, its network's MTU, its subnets."""

    port_id: str
    mac: str
    mtu: int
    addresses: tuple[str, ...]
    gateways: tuple[str, ...]
    routes: tuple[tuple[str, str], ...]


def plug_args(port: dict[str, Any], network: dict[str, Any],
              subnets: Mapping[str, dict[str, Any]]) -> PlugArgs:
    """Pure: API bodies -> plug parameters (prefix lengths, one gateway per family,
    host routes)."""
    addresses: list[str] = []
    gateways: list[str] = []
    routes: list[tuple[str, str]] = []
    for fip in port.get("fixed_ips", ()):
        subnet = subnets[fip["subnet_id"]]
        prefix = ipaddress.ip_network(subnet["cidr"]).prefixlen
        addresses.append(f"{fip['ip_address']}/{prefix}")
        gw = subnet.get("gateway_ip")
        if gw and gw not in gateways and all(
                ipaddress.ip_address(g).version != ipaddress.ip_address(gw).version
                for g in gateways):
            gateways.append(gw)
        for route in subnet.get("host_routes") or ():
            routes.append((route["destination"], route["nexthop"]))
    return PlugArgs(port_id=port["id"], mac=port["mac_address"],
                    mtu=int(network.get("mtu") or 1500), addresses=tuple(addresses),
                    gateways=tuple(gateways), routes=tuple(routes))


def plug_port(server: str, port_id: str, netns_name: str, *, host: str | None = None,
              host_netns: str | None = None, dhcp: bool = False) -> PlugArgs:
    """Bind the port to `host` if it is unbound, then plug it into `netns_name`; with `dhcp`
    only the link (MAC, MTU): the workload asks DHCP for its addresses, as a VM would."""
    from neutrino.agent.linux.plug import plug

    host = host or socket.gethostname()
    with _api(server) as api:
        port = _ok(api.get(f"/v2.0/ports/{port_id}"))["port"]
        bound = port.get("binding:host_id") or ""
        if not bound:
            port = _ok(api.put(f"/v2.0/ports/{port_id}",
                               json={"port": {"binding:host_id": host}}))["port"]
        elif bound != host:
            raise RuntimeError(f"port {port_id} is bound to {bound}, not {host}")
        network = _ok(api.get(f"/v2.0/networks/{port['network_id']}"))["network"]
        subnet_ids = {f["subnet_id"] for f in port.get("fixed_ips", ())}
        subnets = {sid: _ok(api.get(f"/v2.0/subnets/{sid}"))["subnet"] for sid in subnet_ids}
    args = plug_args(port, network, subnets)
    if dhcp:
        args = replace(args, addresses=(), gateways=(), routes=())
    plug(args.port_id, args.mac, args.mtu, args.addresses, args.gateways, args.routes,
         netns_name=netns_name, host_netns=host_netns)
    return args


def unplug_port(port_id: str, host_netns: str | None = None) -> None:
    from neutrino.agent.linux.plug import unplug

    unplug(port_id, host_netns)


def can_run_agent() -> str | None:
    """Why a local agent can't run here, or None."""
    if os.geteuid() != 0:
        return "not root (the agent needs CAP_NET_ADMIN)"
    return None
