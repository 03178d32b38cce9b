"""The kernel side of a network's DHCP server on this host, shared by every driver: the
namespace `names.dhcp_netns(net)` and the veth that joins it to the network's bridge.

    host_netns (the agent's)              DHCP namespace nqdhcp-<network id>
    brq<net> -- tap<dhcp port> ======== ns-<dhcp port>  (server MAC, addresses, MTU)

The host end is named as any port's tap (`DhcpNetwork.interface`), so `agent.desired` lists
it among the bridge's taps and L2 keeps it enslaved; `ensure` enslaves it too when the
bridge exists, so a new server answers before the next L2 pass. The namespace end is
`ns_interface(...)` (Neutron's `ns-` prefix), carrying the DHCP port's MAC and addresses.

Inside the namespace IPv6 DAD and RA acceptance are off: every host has the same DHCP port
(so the same link-local address), and the firewall keeps it host-local (render
`_dhcp_local`), so DAD has nothing to find and would only delay the first reply.

Ownership: named namespaces are machine-wide, and several agents may run on one machine
(each in its own namespace: tests, labs), even beside a real agent. An agent in a named
namespace puts that name in its DHCP namespaces' names (`names.dhcp_netns`), so two agents
serving one network never fight over one namespace, and the namespace end's alias says which
host namespace it serves (`neutrino-dhcp:<host netns>`): `present(host_netns)` (used to find
stale servers) never claims another agent's namespaces. Everything is idempotent; `ensure`
repairs drift.
"""

from __future__ import annotations

import os
from typing import Any

from pyroute2 import IPRoute, netns

from neutrino.agent.dhcp import DhcpNetwork
from neutrino.agent.inns import run_in_netns, write_sysctl
from neutrino.agent.linux.plug import _fix_addresses, _fix_link, _paired
from neutrino.agent.names import IFNAMSIZ, TAP_PREFIX, dhcp_netns, dhcp_network_of

NS_PREFIX = "ns-"
ALIAS_PREFIX = "neutrino-dhcp:"


def ns_interface(interface: str) -> str:
    """The namespace end of the veth whose host end is `interface` (tap<id> -> ns-<id>)."""
    return (NS_PREFIX + interface.removeprefix(TAP_PREFIX))[:IFNAMSIZ]


def ensure(network: DhcpNetwork, host_netns: str | None = None) -> None:
    """Create or repair the namespace and veth of `network`. Raises on kernel errors."""
    ns_name, tap, peer = network.netns, network.interface, ns_interface(network.interface)
    if ns_name not in netns.listnetns():
        netns.create(ns_name)
    with _ipr(host_netns) as host, IPRoute(netns=ns_name) as ns:
        if not _paired(host, ns, tap, peer):
            if host.link_lookup(ifname=tap):
                host.link("del", ifname=tap)
            _delete_links(ns, keep=())
            host.link("add", ifname=tap, kind="veth", mtu=network.mtu,
                      peer={"ifname": peer, "net_ns_fd": ns_name})
        else:
            _delete_links(ns, keep=(peer,))  # an old DHCP port's veth
        _quiet_ipv6(ns_name, peer)
        tap_index = _fix_link(host, tap, mtu=network.mtu, state="up")
        _enslave(host, tap_index, network.bridge)
        index = _fix_link(ns, peer, mtu=network.mtu, address=network.server_mac.lower(),
                          state="up")
        alias = ALIAS_PREFIX + (host_netns or "")
        if ns.get_links(index=index)[0].get_attr("IFLA_IFALIAS") != alias:
            ns.link("set", index=index, ifalias=alias)
        _fix_addresses(ns, index, network.server_addresses)
        _fix_link(ns, "lo", state="up")


def remove(network_id: str, host_netns: str | None = None) -> None:
    """Delete the network's veth (both ends) and namespace. Removing twice is fine.
    `host_netns` names the namespace (`names.dhcp_netns`)."""
    ns_name = dhcp_netns(network_id, host_netns)
    if ns_name not in netns.listnetns():
        return
    with IPRoute(netns=ns_name) as ns:
        _delete_links(ns, keep=())
    netns.remove(ns_name)


def present(host_netns: str | None = None) -> set[str]:
    """The network ids whose DHCP namespace exists for this host namespace: named for it
    (`names.dhcp_netns`) and either marked with our alias on its veth or not marked at all
    (an interrupted `ensure`)."""
    wanted = ALIAS_PREFIX + (host_netns or "")
    found = set()
    for name in netns.listnetns():
        network_id = dhcp_network_of(name, host_netns)
        if network_id is None:
            continue
        try:
            aliases = run_in_netns(name, _aliases)
        except OSError:
            continue  # removed meanwhile
        if wanted in aliases or not aliases:
            found.add(network_id)
    return found


def _aliases() -> set[str]:
    with IPRoute() as ipr:
        return {str(link.get_attr("IFLA_IFALIAS")) for link in ipr.get_links()
                if str(link.get_attr("IFLA_IFALIAS") or "").startswith(ALIAS_PREFIX)}


def _ipr(name: str | None) -> IPRoute:
    return IPRoute(netns=name) if name else IPRoute()


def _delete_links(ipr: IPRoute, keep: tuple[str, ...]) -> None:
    """Everything in a DHCP namespace is ours: all but `lo` and `keep` goes."""
    for link in ipr.get_links():
        if link.get_attr("IFLA_IFNAME") not in ("lo", *keep):
            ipr.link("del", index=link["index"])


def _enslave(host: IPRoute, index: int, bridge: str) -> None:
    """Put the tap on the bridge when the bridge exists (L2 does it too, later)."""
    found = host.link_lookup(ifname=bridge)
    link: Any = host.get_links(index=index)[0]
    if found and link.get_attr("IFLA_MASTER") != found[0]:
        host.link("set", index=index, master=found[0])


def _quiet_ipv6(ns_name: str, peer: str) -> None:
    """No DAD and no SLAAC from foreign RAs on the DHCP end (see the module docstring)."""
    if not os.path.exists("/proc/sys/net/ipv6"):
        return
    settings = {f"net/ipv6/conf/{dev}/{key}": "0"
                for dev in ("all", "default", peer) for key in ("accept_dad", "accept_ra")}
    write_sysctl(ns_name, settings)
