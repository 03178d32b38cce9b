"""DHCP on each host, as a plug point (`dhcp_driver = builtin | dnsmasq`).

Design (a refinement of DESIGN.md §3, decided with issue 6): DHCP is distributed. Every host
serves DHCP for the ports bound to it, from the network's one `network:dhcp` port (the same MAC
and addresses on every host, as OVN's native DHCP does), in a namespace per network
(`names.dhcp_netns`) joined to the network's bridge by the veth `names.tap_name(dhcp port)`.
The firewall keeps those frames on the host (never out of the VXLAN device), so no two hosts
answer one client and no bridge learns the shared MAC from afar. No scheduling, no failover:
a host that runs workloads runs their DHCP.

DNS comes with it, as with Neutron's dnsmasq: the DHCP port's addresses answer for the
names of the network's ports (`<hostname>.<dns_domain>`, the bare hostname, PTR;
authoritative, no recursion) and are the nameservers DHCP hands out for a subnet without
dns_nameservers. DHCP being distributed, a host's clients (`hosts`) are its own ports only;
its DNS knows every port of the network: the others are its `peers`, which the server sends
with the network (`wire.SnapshotPeer`) and which DHCP never answers.

The driver contract is `DhcpDriver`: the agent computes the whole desired DHCP state of the
host (`DhcpNetwork` per network, pure, from the snapshot) and calls `sync()` with it after
each reconcile; a driver converges to it (starts, reconfigures or stops servers) and must be
idempotent, like every applier of the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from neutrino.wire import SnapshotSubnet


@dataclass(frozen=True, slots=True)
class DhcpHost:
    """One client the server knows: a port bound to this host."""

    port_id: str
    mac_address: str
    ip_addresses: tuple[str, ...]  # its fixed IPs on DHCP-enabled subnets
    hostname: str  # dns_name, else Neutron's host-<ip with dashes>
    extra_opts: tuple[tuple[str, str, int], ...] = ()  # (name, value, ip_version)


@dataclass(frozen=True, slots=True)
class DhcpPeer:
    """A port of the network that is not our client (bound to another host, or to none):
    only its names are ours to answer, so it has no MAC for a DHCP server to match."""

    port_id: str
    ip_addresses: tuple[str, ...]  # its fixed IPs on DHCP-enabled subnets
    hostname: str  # named as a `DhcpHost` is


@dataclass(frozen=True, slots=True)
class DhcpNetwork:
    """What one network's DHCP server on this host must be."""

    network_id: str
    netns: str  # names.dhcp_netns(network_id)
    interface: str  # the host end on the bridge: names.tap_name(dhcp port id)
    bridge: str  # names.bridge_name(network_id)
    server_mac: str
    server_addresses: tuple[str, ...]  # "ip/prefixlen" of the DHCP port, one per subnet
    subnets: tuple[SnapshotSubnet, ...]  # those with enable_dhcp
    hosts: tuple[DhcpHost, ...]
    mtu: int
    dns_domain: str = ""
    lease_time: int = 86400
    peers: tuple[DhcpPeer, ...] = ()  # DNS only: never DHCP clients


class DhcpDriver(Protocol):
    """A DHCP implementation for the agent, found through entry point `neutrino.dhcp_drivers`."""

    def sync(self, networks: Sequence[DhcpNetwork]) -> None:
        """Converge: exactly `networks` are served, each as described; others are stopped
        and their namespaces removed. Raises on failure (the loop reports and retries)."""
        ...

    def close(self) -> None:
        """Stop serving (agent shutdown); the namespaces may stay for the next start."""
        ...
