"""Plug a port into a workload's network namespace, as Nova or a CNI plugin would: a veth
whose host end is `tap_name(port_id)` and whose other end is the workload's `eth0`, with the
port's MAC, MTU, addresses and routes.

Pure parameters, no HTTP: `neutrino plug PORT_ID --netns NAME` fetches the port and calls
this. Idempotent: plugging again fixes drift (MAC, MTU, state, addresses, routes) and leaves
a correct pair alone. The host end's bridge and admin state belong to `l2.L2`, which
enslaves the tap once it exists.

A first plug is a handful of netlink requests (~10 ms with a new namespace): the sockets
and the namespace are made by a thread that enters the namespace (pyroute2's `netns=` forks
a helper process for each, ~7 ms apiece), the peer is born in the workload's namespace with
its final name, MAC and MTU, and a new pair is not read back.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import threading
from collections.abc import Sequence
from socket import AF_INET, AF_INET6
from typing import Any

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from neutrino.agent.names import tap_name
from neutrino.agent.netlink import NETLINK_ROUTE, netlink_socket

IFA_F_NODAD = 0x02  # a plugged address is usable at once; the server made it unique
RT_SCOPE_LINK = 253
RUN_NETNS = "/run/netns"
CLONE_NEWNET = 0x40000000
MS_BIND, MS_REC, MS_SHARED = 0x1000, 0x4000, 1 << 20


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
        _create_netns(netns_name)
    with _ipr(host_netns) as host, _ipr(netns_name) as wl:
        h, w = _get_link(host, tap), _get_link(wl, ifname)
        if h is not None and w is not None and _pair(h, w):
            _fix(host, h, mtu=mtu)
            idx = _fix(wl, w, mtu=mtu, address=mac.lower(), state="up")
            _fix_addresses(wl, idx, addresses)
            _fix_routes(wl, idx, gateways, routes)
            return
        if h is not None:
            host.link("del", index=h["index"])
        if w is not None:
            raise PlugError(f"{netns_name} already has {ifname}, not port {port_id}'s")
        host.link("add", ifname=tap, kind="veth", mtu=mtu,
                  peer={"ifname": ifname, "net_ns_fd": netns_name, "address": mac.lower(),
                        "mtu": mtu})
        w = _get_link(wl, ifname)
        assert w is not None, "the peer we just made"
        idx = int(w["index"])
        wl.link("set", index=idx, state="up")
        for iface in map(_iface, addresses):
            _add_address(wl, idx, iface)
        _fix_routes(wl, idx, gateways, routes, fresh=True)


def unplug(port_id: str, host_netns: str | None = None) -> None:
    """Delete the port's veth; its other end goes with it. Unplugging twice is fine."""
    with _ipr(host_netns) as host:
        link = _get_link(host, tap_name(port_id))
        if link is not None:
            host.link("del", index=link["index"])


def _ipr(netns_name: str | None) -> IPRoute:
    if netns_name is None:
        return IPRoute()
    return IPRoute(use_socket=netlink_socket(netns_name, NETLINK_ROUTE))


def _create_netns(name: str) -> None:
    """`ip netns add NAME`, done by a short-lived thread: it unshares its own network
    namespace and bind-mounts it on /run/netns/NAME (the process never moves). Falls back
    to pyroute2's (a forked helper) if that fails."""
    failed: list[OSError] = []

    def make() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        path = os.path.join(RUN_NETNS, name)

        def check(result: int, what: str) -> None:
            if result != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"{what}: {os.strerror(code)}")

        try:
            os.makedirs(RUN_NETNS, exist_ok=True)
            run = RUN_NETNS.encode()
            # /run/netns is a shared mount, so the namespace shows in every mount namespace
            # (as iproute2 does it).
            if libc.mount(b"", run, b"none", MS_SHARED | MS_REC, None) != 0:
                check(libc.mount(run, run, b"none", MS_BIND | MS_REC, None), "bind /run/netns")
                check(libc.mount(b"", run, b"none", MS_SHARED | MS_REC, None),
                      "share /run/netns")
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
            try:
                check(libc.unshare(CLONE_NEWNET), "unshare")
                check(libc.mount(b"/proc/thread-self/ns/net", path.encode(), b"none", MS_BIND,
                                 None), f"mount {path}")
            except OSError:
                os.unlink(path)
                raise
        except OSError as exc:
            failed.append(exc)

    thread = threading.Thread(target=make, name=f"netns-add-{name}")
    thread.start()
    thread.join()
    if failed and name not in netns.listnetns():
        netns.create(name)


def _get_link(ipr: IPRoute, name: str) -> Any | None:
    """The link called `name`, or None: one RTM_GETLINK by name (pyroute2's
    `get_links(ifname=...)` and `link_lookup` dump and decode every link of the namespace,
    which was most of a plug on a host with 100 taps)."""
    try:
        return ipr.link("get", ifname=name)[0]
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return None
        raise


def _pair(h: Any, w: Any) -> bool:
    """Whether host link `h` and workload link `w` are the two ends of one veth: each one's
    IFLA_LINK is the other's index (indexes are per namespace, so check both ways)."""
    return bool(h.get_attr("IFLA_LINK") == w["index"] and w.get_attr("IFLA_LINK") == h["index"])


def _paired(host: IPRoute, wl: IPRoute, tap: str, ifname: str) -> bool:
    """`_pair`, by names (agent.dhcp.plumbing uses it)."""
    h, w = _get_link(host, tap), _get_link(wl, ifname)
    return h is not None and w is not None and _pair(h, w)


def _fix_link(ipr: IPRoute, name: str, **want: Any) -> int:
    """`_fix`, by name (agent.dhcp.plumbing uses it)."""
    link = _get_link(ipr, name)
    if link is None:
        raise PlugError(f"no link {name}")
    return _fix(ipr, link, **want)


def _fix(ipr: IPRoute, link: Any, **want: Any) -> int:
    """Set whichever of mtu/address/state differ from `want`; the link's index."""
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
        _add_address(ipr, idx, iface)


def _add_address(ipr: IPRoute, idx: int,
                 iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> None:
    ipr.addr("add", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen,
             **({"flags": IFA_F_NODAD} if iface.version == 6 else {}))


def _iface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    return ipaddress.ip_interface(text)


def _fix_routes(ipr: IPRoute, idx: int, gateways: Sequence[str],
                routes: Sequence[tuple[str, str]], fresh: bool = False) -> None:
    """Replace makes each route right whatever was there; a family that no longer has a
    gateway loses its default route through this interface (`fresh`: a new interface has
    none to lose)."""
    families = set()
    for gw in gateways:
        fam = AF_INET6 if ipaddress.ip_address(gw).version == 6 else AF_INET
        families.add(fam)
        ipr.route("replace", dst="::/0" if fam == AF_INET6 else "0.0.0.0/0",
                  gateway=gw, oif=idx, family=fam)
    for fam in () if fresh else {AF_INET, AF_INET6} - families:
        for r in ipr.get_routes(family=fam, oif=idx):
            if r["dst_len"] == 0 and r.get_attr("RTA_GATEWAY"):
                ipr.route("del", dst="::/0" if fam == AF_INET6 else "0.0.0.0/0",
                          gateway=r.get_attr("RTA_GATEWAY"), oif=idx, family=fam)
    for dst, nexthop in routes:
        net = ipaddress.ip_network(dst, strict=False)
        fam = AF_INET6 if net.version == 6 else AF_INET
        ipr.route("replace", dst=str(net), gateway=nexthop, oif=idx, family=fam)
