"""What one network's servers answer from: the current `DhcpNetwork` and its hosts by MAC.

Built on the thread that calls `sync()` and swapped into the servers on their loop in one
assignment, so a port change is served by the very next packet, with no restart and no
reload. The responders look a client up by scanning `network.hosts`; with 50,000 hosts that
scan would cost milliseconds per packet, so each packet is answered from a one-host view of
the network (`for_mac`), which the responders treat exactly as the whole network (they read
only the client's host plus network-wide fields). The network's `peers` (ports bound
elsewhere, DNS only) are never indexed: they have no MAC here, so no DHCP server can find
one; the DNS server indexes names itself (`responder_dns.Names`).

Building the per-MAC view is O(hosts) (about 5 ms at 50,000), and it is on the path from a
port change to the client's ACK. So `of` can start from the previous view: when the new
hosts are the previous ones (the very objects, as the driver keeps passing them) with a few
added, removed or replaced, it copies the previous dict (a C-level copy, ~10x cheaper) and
patches only those. The result is always exactly what a full build gives; anything else
(many changes, duplicate MACs) takes the full build. A published dict is never mutated:
the servers may be reading it on their loop.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork

MAX_PATCH_FRACTION = 4  # patch when at most 1/4 of the hosts changed, else build afresh


@dataclass(frozen=True, slots=True)
class Served:
    network: DhcpNetwork
    by_mac: dict[str, DhcpHost] = field(default_factory=dict, compare=False)

    @staticmethod
    def of(network: DhcpNetwork, previous: Served | None = None) -> Served:
        """The view of `network`; `previous` (the view of an earlier state of it, if any)
        only makes it cheaper, never different."""
        if previous is not None:
            by_mac = _patched(previous, network.hosts)
            if by_mac is not None:
                return Served(network, by_mac)
        return Served(network, _index(network.hosts))

    def for_mac(self, mac: str | None) -> DhcpNetwork | None:
        """The network as seen by client `mac` (its host only), or None: not our client."""
        host = self.by_mac.get(mac.lower()) if mac else None
        return None if host is None else replace(self.network, hosts=(host,))


def _index(hosts: tuple[DhcpHost, ...]) -> dict[str, DhcpHost]:
    return {h.mac_address.lower(): h for h in hosts}


def _same_run(a: tuple[DhcpHost, ...], b: tuple[DhcpHost, ...]) -> int:
    """How many leading entries of `a` and `b` are the very same objects (C-level scan)."""
    same = list(map(operator.is_, a, b))
    try:
        return same.index(False)
    except ValueError:
        return len(same)


def _patched(previous: Served, new: tuple[DhcpHost, ...]) -> dict[str, DhcpHost] | None:
    """`_index(new)` from `previous`, or None when patching would not be cheap or sure."""
    old, old_by_mac = previous.network.hosts, previous.by_mac
    if new is old:
        return old_by_mac
    if not old or len(old_by_mac) != len(old):  # duplicate MACs before: build afresh
        return None
    head = _same_run(new, old)
    tail = 0
    if head < min(len(new), len(old)):
        tail = _same_run(new[head:][::-1], old[head:][::-1])
    removed, added = old[head:len(old) - tail], new[head:len(new) - tail]
    if (len(removed) + len(added)) * MAX_PATCH_FRACTION > max(len(new), 1):
        return None
    by_mac = old_by_mac.copy()  # old's MACs are unique: each removed host is its own key
    for host in removed:
        del by_mac[host.mac_address.lower()]
    for host in added:
        by_mac[host.mac_address.lower()] = host
    # Equal sizes: the added MACs are distinct and new to the kept hosts, so this is
    # exactly `_index(new)`; otherwise `new` repeats a MAC and the full build decides.
    return by_mac if len(by_mac) == len(new) else None
