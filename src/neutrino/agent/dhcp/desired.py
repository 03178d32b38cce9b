"""Pure core of DHCP on a host: snapshot -> the `DhcpNetwork`s this host must serve.

A host serves a network when the network has a `network:dhcp` port (the server gives one
when a subnet has DHCP) and at least one port bound here: its clients are exactly those
ports (distributed DHCP, see the package docstring). The network's other ports (the
snapshot's `peers`) are named by the same rule, for DNS only. No I/O, so every driver
(builtin, dnsmasq) gets the same answer and the rules are tested without a kernel.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, DhcpPeer
from neutrino.agent.names import bridge_name, dhcp_netns, tap_name
from neutrino.domain.dns import generated_hostname
from neutrino.wire.snapshot import HostSnapshot, SnapshotNetwork, SnapshotPeer, SnapshotPort

DEFAULT_LEASE_TIME = 86400  # Neutron's dhcp_lease_duration default
DHCP_OWNER = "network:dhcp"


def dhcp_networks(snapshot: HostSnapshot, lease_time: int = DEFAULT_LEASE_TIME,
                  host_netns: str | None = None) -> tuple[DhcpNetwork, ...]:
    """One `DhcpNetwork` per network served here, sorted by network id. Deterministic: the
    order of networks and ports in the snapshot does not matter."""
    by_net: dict[str, list[SnapshotPort]] = {}
    for port in snapshot.ports:
        by_net.setdefault(port.network_id, []).append(port)
    out = []
    for net in sorted(snapshot.networks, key=lambda n: n.id):
        clients = local_clients(net, by_net.get(net.id, ()))
        if net.dhcp_port is None or not clients:
            continue
        subnets = tuple(s for s in net.subnets if s.enable_dhcp)
        if not subnets:
            continue
        ids = {s.id for s in subnets}
        prefix = {s.id: ipaddress.ip_network(s.cidr, strict=False).prefixlen for s in subnets}
        hosts = tuple(h for h in (_host(p, ids) for p in sorted(clients, key=lambda p: p.id))
                      if h is not None)
        here = {p.id for p in by_net.get(net.id, ())}  # the server never sends them as peers
        peers = tuple(p for p in (_peer(q, ids) for q in sorted(net.peers,
                                                                  key=lambda q: q.port_id))
                      if p is not None and p.port_id not in here)
        dp = net.dhcp_port
        out.append(DhcpNetwork(
            network_id=net.id, netns=dhcp_netns(net.id, host_netns), interface=tap_name(dp.id),
            bridge=bridge_name(net.id), server_mac=dp.mac_address.lower(),
            server_addresses=tuple(f"{ip}/{prefix[sid]}" for sid, ip in dp.fixed_ips
                                   if sid in ids),
            subnets=subnets, hosts=hosts, mtu=net.mtu, dns_domain=net.dns_domain,
            lease_time=lease_time, peers=peers))
    return tuple(out)


def local_clients(net: SnapshotNetwork, ports: Iterable[SnapshotPort]) -> list[SnapshotPort]:
    """The ports of `net` bound here that are DHCP clients: all but a DHCP port itself.
    Empty when the network has no DHCP port (then nothing is served and no tap is made)."""
    if net.dhcp_port is None:
        return []
    dhcp_id = net.dhcp_port.id
    return [p for p in ports if p.id != dhcp_id and p.device_owner != DHCP_OWNER]


def serves(net: SnapshotNetwork, ports: Iterable[SnapshotPort]) -> bool:
    """Whether this host runs DHCP for `net` (L2 then puts the DHCP tap on the bridge)."""
    return bool(local_clients(net, ports)) and any(s.enable_dhcp for s in net.subnets)


def hostname(port: SnapshotPort | SnapshotPeer, address: str) -> str:
    """The port's dns_name, else Neutron's `host-<ip with dashes>` (dnsmasq driver); a port
    is named so whether it is our client or a peer."""
    return port.dns_name or generated_hostname(address)


def _host(port: SnapshotPort, dhcp_subnets: set[str]) -> DhcpHost | None:
    """A client, or None when it has no address on a DHCP subnet (nothing to answer)."""
    ips = _addresses(port.fixed_ips, dhcp_subnets)
    if not ips:
        return None
    return DhcpHost(port_id=port.id, mac_address=port.mac_address.lower(), ip_addresses=ips,
                    hostname=hostname(port, ips[0]), extra_opts=port.extra_dhcp_opts)


def _peer(port: SnapshotPeer, dhcp_subnets: set[str]) -> DhcpPeer | None:
    """A peer, as `_host` makes a client: the same addresses, the same name."""
    ips = _addresses(port.fixed_ips, dhcp_subnets)
    if not ips:
        return None
    return DhcpPeer(port_id=port.port_id, ip_addresses=ips, hostname=hostname(port, ips[0]))


def _addresses(fixed_ips: tuple[tuple[str, str], ...], dhcp_subnets: set[str]
               ) -> tuple[str, ...]:
    """A port's addresses on the DHCP subnets, in the server's order (the first names it)."""
    return tuple(ip for sid, ip in fixed_ips if sid in dhcp_subnets)
