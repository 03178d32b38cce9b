"""Plug a port into a workload's network namespace, as Nova or a CNI plugin would: a veth
whose host end is `tap_name(port_id)` and whose other end is the workload's `eth0`, with the
port's MAC, MTU, addresses and routes.

Pure parameters, no HTTP: `neutrino plug PORT_ID --netns NAME` fetches the port and calls
this. Idempotent: plugging again fixes drift (MAC, MTU, state, addresses, routes) and leaves
a correct pair alone. The host end's bridge and admin state belong to `l2.L2`, which
enslaves the tap once it exists.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from socket import AF_INET, AF_INET6
from typing import Any

from pyroute2 import IPRoute, netns

from neutrino.agent.names import tap_name

IFA_F_NODAD = 0x02  # a plugged address is usable at once; the server made it unique
RT_SCOPE_LINK = 253


class PlugError(Exception):
    """The workload namespace holds a device of that name that is not this port's veth."""


def plug(port_id: str, mac: str, mtu: int, addresses: Sequence[str],
         gateways: Sequence[str] = (), routes: Sequence[tuple[str, str]] = (), *,
         netns_name: str, ifname: str = "eth0", host_netns: str | None = None) -> None:
    """Make port `port_id` a veth between `host_netns` (None: ours) and `netns_name`
    (created if missing). `addresses` are "ip/prefixlen"; `gateways` gives one default
    route per address family (v4 and/or v6); `routes` are (destination cidr, nexthop)."""
    tap = tap_name(port_id)
    if netns_name not in netns.listnetns():
        netns.create(netns_name)
    with _ipr(host_netns) as host, IPRoute(netns=netns_name) as wl:
        if not _paired(host, wl, tap, ifname):
            if host.link_lookup(ifname=tap):
                host.link("del", ifname=tap)
            if wl.link_lookup(ifname=ifname):
                raise PlugError(f"{netns_name} already has {ifname}, not port {port_id}'s")
            host.link("add", ifname=tap, kind="veth", mtu=mtu,
                      peer={"ifname": ifname, "net_ns_fd": netns_name})
        _fix_link(host, tap, mtu=mtu)
        idx = _fix_link(wl, ifname, mtu=mtu, address=mac.lower(), state="up")
        _fix_addresses(wl, idx, addresses)
        _fix_routes(wl, idx, gateways, routes)


def unplug(port_id: str, host_netns: str | None = None) -> None:
    """Delete the port's veth; its other end goes with it. Unplugging twice is fine."""
    with _ipr(host_netns) as host:
        if host.link_lookup(ifname=tap_name(port_id)):
            host.link("del", ifname=tap_name(port_id))


def _ipr(netns_name: str | None) -> IPRoute:
    return IPRoute(netns=netns_name) if netns_name else IPRoute()


def _paired(host: IPRoute, wl: IPRoute, tap: str, ifname: str) -> bool:
    """Whether `tap` and the workload's `ifname` are the two ends of one veth: each one's
    IFLA_LINK is the other's index (indexes are per namespace, so check both ways)."""
    h, w = host.get_links(ifname=tap), wl.get_links(ifname=ifname)
    if not h or not w:
        return False
    return bool(h[0].get_attr("IFLA_LINK") == w[0]["index"]
                and w[0].get_attr("IFLA_LINK") == h[0]["index"])


def _fix_link(ipr: IPRoute, name: str, **want: Any) -> int:
    link = ipr.get_links(ifname=name)[0]
    have = {"mtu": link.get_attr("IFLA_MTU"), "address": link.get_attr("IFLA_ADDRESS"),
            "state": "up" if link["flags"] & 1 else "down"}
    change = {k: v for k, v in want.items() if have[k] != v}
    if change:
        ipr.link("set", index=link["index"], **change)
    return int(link["index"])


def _fix_addresses(ipr: IPRoute, idx: int, addresses: Sequence[str]) -> None:
    want = {_iface(a) for a in addresses}
    have = {}
    for a in ipr.get_addr(index=idx):
        if a["scope"] != RT_SCOPE_LINK:  # keep the kernel's fe80::
            have[ipaddress.ip_interface(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")] = a
    for iface in have.keys() - want:
        ipr.addr("del", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen)
    for iface in want - have.keys():
        ipr.addr("add", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen,
                 **({"flags": IFA_F_NODAD} if iface.version == 6 else {}))


def _iface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    return ipaddress.ip_interface(text)


def _fix_routes(ipr: IPRoute, idx: int, gateways: Sequence[str],
                routes: Sequence[tuple[str, str]]) -> None:
    """Replace makes each route right whatever was there; a family that no longer has a
    gateway loses its default route through this interface."""
    families = set()
    for gw in gateways:
        fam = AF_INET6 if ipaddress.ip_address(gw).version == 6 else AF_INET
        families.add(fam)
        ipr.route("replace", dst="::/0" if fam == AF_INET6 else "0.0.0.0/0",
                  gateway=gw, oif=idx, family=fam)
    for fam in {AF_INET, AF_INET6} - families:
        for r in ipr.get_routes(family=fam, oif=idx):
            if r["dst_len"] == 0 and r.get_attr("RTA_GATEWAY"):
                ipr.route("del", dst="::/0" if fam == AF_INET6 else "0.0.0.0/0",
                          gateway=r.get_attr("RTA_GATEWAY"), oif=idx, family=fam)
    for dst, nexthop in routes:
        net = ipaddress.ip_network(dst, strict=False)
        fam = AF_INET6 if net.version == 6 else AF_INET
        ipr.route("replace", dst=str(net), gateway=nexthop, oif=idx, family=fam)
