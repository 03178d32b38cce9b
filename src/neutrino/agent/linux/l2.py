"""The L2 applier: make one host's bridges, VXLAN devices, uplinks, FDB and taps equal to an
`L2Spec`, over netlink (pyroute2).

It diffs against what the kernel has, never against memory (STYLE habit 7): `read_actual`
reads only our objects (names with our prefixes, plus VLAN sub-interfaces tagged with our
alias), `plan` is a pure diff, and `apply` runs it. Applying twice is a no-op; a deleted
bridge, VXLAN device or FDB entry comes back on the next apply; objects of networks that are
gone are removed. Our bridges are ours: a device on one of them that the spec does not name
is released (never deleted), so other components attach to a network through a port.

Taps are created by `plug` (as Nova or a CNI plugin would), not here: a desired tap that does
not exist yet is returned in `Applied.missing`, and `link_events` tells the loop when it
appears.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pyroute2 import AsyncIPRoute, IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_NEWLINK, RTMGRP_LINK

from neutrino.agent.desired import Bridge, FdbEntry, L2Spec, Tap, Uplink, Vxlan
from neutrino.agent.linux.rtnl import Rtnl
from neutrino.agent.names import BRIDGE_PREFIX, TAP_PREFIX, VXLAN_PREFIX

ALIAS = "neutrino"  # ifalias on the VLAN sub-interfaces we create: their names aren't ours
RELEASE = ""  # SetLink.master: leave whatever bridge the device is on
OUR_PREFIXES = (BRIDGE_PREFIX, TAP_PREFIX, VXLAN_PREFIX)

# (every tap of ours in the kernel, those the spec doesn't name) -> the ones not to delete yet
Spare = Callable[[frozenset[str], frozenset[str]], frozenset[str]]


# -- steps: what plan() emits and apply() executes, in order -------------------------------

@dataclass(frozen=True, slots=True)
class CreateBridge:
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class CreateVxlan:
    vxlan: Vxlan


@dataclass(frozen=True, slots=True)
class CreateVlan:
    uplink: Uplink


@dataclass(frozen=True, slots=True)
class SetLink:
    """Change only the fields that are not None; `master=RELEASE` takes it off its bridge."""

    name: str
    master: str | None = None
    mtu: int | None = None
    up: bool | None = None


@dataclass(frozen=True, slots=True)
class DeleteLink:
    name: str


@dataclass(frozen=True, slots=True)
class AddFdb:
    entry: FdbEntry


@dataclass(frozen=True, slots=True)
class DelFdb:
    entry: FdbEntry


Step = CreateBridge | CreateVxlan | CreateVlan | SetLink | DeleteLink | AddFdb | DelFdb


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]
    missing: tuple[str, ...]  # port ids whose tap doesn't exist: leave them DOWN
    spared: tuple[str, ...] = ()  # taps the spec doesn't name, kept this time (see `apply`)


@dataclass(frozen=True, slots=True)
class Applied:
    """What an apply did. `errors` are steps the kernel refused: the loop retries with
    backoff (a level-triggered apply redoes whatever is still different)."""

    steps: tuple[Step, ...]
    missing: tuple[str, ...]
    errors: tuple[tuple[Step, str], ...] = ()
    spared: tuple[str, ...] = ()


class TapGrace:
    """Which of the taps a snapshot doesn't name may be deleted (the agent's `Spare`).

    A snapshot is the server's state when it was read. `plug` makes a tap right after its port
    is created, so a reconcile whose snapshot was read just before that creation finds a tap
    it cannot name; deleting it would leave the port unplugged for good. So a tap goes only
    when a snapshot read after the tap was seen still doesn't name it: when it was seen by an
    apply under an older snapshot (that apply ended before this snapshot was read). A spared
    tap asks for another pass (`Applied.spared`), so a deleted port's tap goes one pass later.
    """

    def __init__(self) -> None:
        self._snapshot: object = None
        self._seen: frozenset[str] = frozenset()  # the taps at the last apply
        self._before: frozenset[str] = frozenset()  # ... at the last apply of an older snapshot

    def for_snapshot(self, snapshot: object) -> Spare:
        """The `Spare` for an apply of `snapshot` (the same object for every apply of one
        fetch)."""
        if snapshot is not self._snapshot:
            self._snapshot, self._before = snapshot, self._seen

        def spare(taps: frozenset[str], unnamed: frozenset[str]) -> frozenset[str]:
            self._seen = taps
            return unnamed - self._before

        return spare


# -- the pure diff -------------------------------------------------------------------------

def plan(desired: L2Spec, actual: L2Spec, spare: frozenset[str] = frozenset()) -> Plan:
    """The steps that turn `actual` into `desired`, in an order the kernel accepts:
    deletions first (a recreated VXLAN device must release its VNI), then creations, then
    link settings, then FDB entries (which need their device). Taps in `spare` are not
    deleted even if `desired` doesn't name them."""
    steps: list[Step] = []
    want_br = {b.name: b for b in desired.bridges}
    have_br = {b.name: b for b in actual.bridges}
    want_vx = {v.name: v for v in desired.vxlans}
    have_vx = {v.name: v for v in actual.vxlans}
    want_up = {u.name: u for u in desired.uplinks}
    have_up = {u.name: u for u in actual.uplinks}
    want_tap = {t.name: t for t in desired.taps}
    have_tap = {t.name: t for t in actual.taps}

    # Deletions. A device whose identity differs (VNI, local address, VLAN) is recreated.
    unnamed = have_tap.keys() - want_tap.keys()
    steps += [DeleteLink(n) for n in sorted(unnamed - spare)]
    fresh_vx = {n for n, v in want_vx.items()
                if n not in have_vx or _vx_identity(have_vx[n]) != _vx_identity(v)}
    steps += [DeleteLink(n) for n in sorted(have_vx) if n not in want_vx or n in fresh_vx]
    ours_vlan = {n for n, u in have_up.items() if u.vlan_id is not None}
    fresh_vlan = {n for n, u in want_up.items() if u.vlan_id is not None and (
        n not in have_up or (have_up[n].parent, have_up[n].vlan_id) != (u.parent, u.vlan_id))}
    steps += [DeleteLink(n) for n in sorted(ours_vlan)
              if n not in want_up or n in fresh_vlan]
    gone_br = have_br.keys() - want_br.keys()
    steps += [DeleteLink(n) for n in sorted(gone_br)]
    # A foreign device on a bridge we keep, that the spec doesn't name: release, never delete.
    steps += [SetLink(n, master=RELEASE) for n, u in sorted(have_up.items())
              if n not in want_up and n not in ours_vlan and u.bridge not in gone_br]
    steps += [DelFdb(e) for e in sorted(set(actual.fdb) - set(desired.fdb))
              if e.device in want_vx and e.device not in fresh_vx]

    # Creations, born with their master, MTU and state.
    steps += [CreateBridge(b) for n, b in sorted(want_br.items()) if n not in have_br]
    steps += [CreateVxlan(want_vx[n]) for n in sorted(fresh_vx)]
    steps += [CreateVlan(want_up[n]) for n in sorted(fresh_vlan)]

    # Settings of what already exists.
    for n, b in sorted(want_br.items()):
        if n in have_br:
            steps += _set(n, None, None, b.mtu, have_br[n].mtu, b.up, have_br[n].up)
    for n, v in sorted(want_vx.items()):
        if n not in fresh_vx:
            h = have_vx[n]
            steps += _set(n, v.bridge, h.bridge, v.mtu, h.mtu, v.up, h.up)
    for n, u in sorted(want_up.items()):
        if n in fresh_vlan:
            continue
        hu = have_up.get(n) or Uplink(n, bridge=RELEASE, up=False)  # flat, not enslaved yet
        steps += _set(n, u.bridge, hu.bridge, u.mtu, hu.mtu, u.up, hu.up)
    missing = []
    for n, t in sorted(want_tap.items()):
        if n not in have_tap:
            missing.append(t.port_id)
            continue
        ht = have_tap[n]
        steps += _set(n, t.bridge, ht.bridge, t.mtu, ht.mtu, t.up, ht.up)

    have_fdb = {e for e in actual.fdb if e.device not in fresh_vx}
    steps += [AddFdb(e) for e in desired.fdb if e not in have_fdb]
    return Plan(tuple(steps), tuple(sorted(missing)), tuple(sorted(unnamed & spare)))


def _vx_identity(v: Vxlan) -> tuple[int, str, int, bool]:
    return (v.vni, v.local_ip, v.dstport, v.learning)


def _set(name: str, master: str | None, have_master: str | None, mtu: int | None,
         have_mtu: int | None, up: bool, have_up: bool) -> list[Step]:
    step = SetLink(name,
                   master=master if master is not None and master != have_master else None,
                   mtu=mtu if mtu is not None and mtu != have_mtu else None,
                   up=up if up != have_up else None)
    return [step] if step != SetLink(name) else []


# -- the shell -----------------------------------------------------------------------------

class L2:
    """Reads and writes one network namespace's L2 objects (`netns=None`: our own).

    One netlink socket per instance; close() it, or use it as a context manager. Not
    thread-safe: the loop applies from one task."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self._ipr = IPRoute(netns=netns) if netns else IPRoute()
        self._rtnl = Rtnl(netns)
        self._index: dict[str, int] = {}

    def close(self) -> None:
        self._ipr.close()
        self._rtnl.close()

    def __enter__(self) -> L2:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_actual(self) -> L2Spec:
        """Our objects as the kernel has them, in the same shape as the desired spec: one
        link dump, and the FDB of our VXLAN devices only (`rtnl` says why not pyroute2 or
        `ip -j`). Writes stay on pyroute2."""
        links = self._rtnl.links()
        by_index = {link.index: link.name for link in links}
        self._index = {link.name: link.index for link in links}
        ours_br = {link.index for link in links
                   if link.name.startswith(BRIDGE_PREFIX) and link.kind == "bridge"}
        bridges, vxlans, uplinks, taps = [], [], [], []
        for link in links:
            name = link.name
            master = by_index.get(link.master, RELEASE)
            if link.index in ours_br:
                bridges.append(Bridge(name, link.mtu, link.up))
            elif name.startswith(VXLAN_PREFIX) and link.kind == "vxlan":
                vxlans.append(Vxlan(name, link.vni, link.local_ip, master, link.mtu,
                                    link.dstport, link.learning, link.up))
            elif name.startswith(TAP_PREFIX):
                taps.append(Tap(name, master, link.mtu, link.up))
            elif link.kind == "vlan" and link.alias == ALIAS:
                uplinks.append(Uplink(name, master, by_index.get(link.parent), link.vlan_id,
                                      link.mtu, link.up))
            elif link.master in ours_br:
                uplinks.append(Uplink(name, master, up=link.up))
        fdb = {FdbEntry(v.name, e.mac, e.dst)
               for v in vxlans for e in self._rtnl.fdb(self._index[v.name])
               if e.dst and e.self_}
        return L2Spec(
            bridges=tuple(sorted(bridges, key=lambda b: b.name)),
            vxlans=tuple(sorted(vxlans, key=lambda v: v.name)),
            uplinks=tuple(sorted(uplinks, key=lambda u: u.name)),
            fdb=tuple(sorted(fdb, key=lambda e: (e.device, e.mac, e.dst))),
            taps=tuple(sorted(taps, key=lambda t: t.name)))

    def plan(self, desired: L2Spec, spare: Spare | None = None) -> Plan:
        actual = self.read_actual()
        taps = frozenset(t.name for t in actual.taps)
        unnamed = taps - {t.name for t in desired.taps}
        return plan(desired, actual, spare(taps, unnamed) if spare else frozenset())

    def apply(self, desired: L2Spec, spare: Spare | None = None) -> Applied:
        """Read, diff, execute. A refused step doesn't stop the others: one broken network
        must not hold back the rest of the host. `spare(taps, unnamed)` (the agent's
        `TapGrace`) says which of the taps `desired` doesn't name to keep for now."""
        p = self.plan(desired, spare)
        index = dict(self._index)  # from the read just made
        errors = []
        for step in p.steps:
            try:
                self._execute(step, index)
            except (NetlinkError, KeyError, IndexError) as e:
                errors.append((step, f"{type(e).__name__}: {e}"))
        return Applied(p.steps, p.missing, tuple(errors), p.spared)

    def _execute(self, step: Step, index: dict[str, int]) -> None:
        ipr = self._ipr
        match step:
            case DeleteLink(name):
                ipr.link("del", index=index.pop(name))
            case CreateBridge(b):
                ipr.link("add", ifname=b.name, kind="bridge", mtu=b.mtu,
                         state="up" if b.up else "down")
                index[b.name] = ipr.link_lookup(ifname=b.name)[0]
            case CreateVxlan(v):
                ipr.link("add", ifname=v.name, kind="vxlan", vxlan_id=v.vni,
                         vxlan_local=v.local_ip, vxlan_port=v.dstport,
                         vxlan_learning=int(v.learning), mtu=v.mtu, master=index[v.bridge],
                         state="up" if v.up else "down")
                index[v.name] = ipr.link_lookup(ifname=v.name)[0]
            case CreateVlan(u):
                assert u.parent is not None and u.vlan_id is not None
                kw: dict[str, Any] = {"mtu": u.mtu} if u.mtu else {}
                ipr.link("add", ifname=u.name, kind="vlan", link=index[u.parent],
                         vlan_id=u.vlan_id, master=index[u.bridge], **kw)
                index[u.name] = ipr.link_lookup(ifname=u.name)[0]
                ipr.link("set", index=index[u.name], ifalias=ALIAS,
                         state="up" if u.up else "down")
            case SetLink(name, master, mtu, up):
                kw = {}
                if master is not None:
                    kw["master"] = index[master] if master else 0
                if mtu is not None:
                    kw["mtu"] = mtu
                if up is not None:
                    kw["state"] = "up" if up else "down"
                ipr.link("set", index=index[name], **kw)
            case AddFdb(e):
                ipr.fdb("append", ifindex=index[e.device], lladdr=e.mac, dst=e.dst)
            case DelFdb(e):
                ipr.fdb("del", ifindex=index[e.device], lladdr=e.mac, dst=e.dst)


# -- link events: "look again" for the loop --------------------------------------------------

@dataclass(frozen=True, slots=True)
class LinkEvent:
    """One of our devices appeared or changed (`present`), or disappeared. Only a hint to
    reconcile (STYLE habit 5); our own applies cause events too, and the apply that follows
    is a no-op, so the loop settles."""

    name: str
    present: bool


def _events(messages: Iterable[Any]) -> Iterator[LinkEvent]:
    for m in messages:
        kind = m["header"]["type"]
        name = m.get_attr("IFLA_IFNAME") or ""
        if kind in (RTM_NEWLINK, RTM_DELLINK) and name.startswith(OUR_PREFIXES):
            yield LinkEvent(name, kind == RTM_NEWLINK)


def link_events(netns: str | None = None) -> Iterator[LinkEvent]:
    """Blocking iterator over link events of `netns`, for a thread:

        for ev in link_events(): loop.call_soon_threadsafe(wake, ev)

    Close the generator (`.close()`) to release its socket."""
    ipr = IPRoute(netns=netns) if netns else IPRoute()
    try:
        ipr.bind(groups=RTMGRP_LINK)
        while True:
            yield from _events(ipr.get())
    finally:
        ipr.close()


async def alink_events(netns: str | None = None) -> AsyncIterator[LinkEvent]:
    """The same on the running asyncio loop, no thread needed:

        async for ev in alink_events(): dirty.add(ev.name)

    Cancel the task that iterates to stop it."""
    ipr = AsyncIPRoute(netns=netns) if netns else AsyncIPRoute()
    try:
        await ipr.bind(groups=RTMGRP_LINK)
        while True:
            async for m in ipr.get():
                for ev in _events((m,)):
                    yield ev
    finally:
        ipr.close()

