"""What one network's servers answer from: the current `DhcpNetwork` and its hosts by MAC.

Built on the thread that calls `sync()` (O(hosts)) and swapped into the servers on their
loop in one assignment, so a port change is served by the very next packet, with no restart
and no reload. The responders look a client up by scanning `network.hosts`; with 50,000
hosts that scan would cost milliseconds per packet, so each packet is answered from a
one-host view of the network (`for_mac`), which the responders treat exactly as the whole
network (they read only the client's host plus network-wide fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork


@dataclass(frozen=True, slots=True)
class Served:
    network: DhcpNetwork
    by_mac: dict[str, DhcpHost] = field(default_factory=dict, compare=False)

    @staticmethod
    def of(network: DhcpNetwork) -> Served:
        return Served(network, {h.mac_address.lower(): h for h in network.hosts})

    def for_mac(self, mac: str | None) -> DhcpNetwork | None:
        """The network as seen by client `mac` (its host only), or None: not our client."""
        host = self.by_mac.get(mac.lower()) if mac else None
        return None if host is None else replace(self.network, hosts=(host,))
