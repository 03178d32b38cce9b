"""Forget connections a firewall change no longer allows, as Neutron does.

The inet chains accept `established,related` before any rule, so a connection a removed rule
(or a removed remote-group member) allowed would live on in conntrack. `revoked` (pure) says
which flows lost their allowance, per port and direction, as narrowly as the rule was: the
port's addresses on one side, the rule's remote prefix or the removed members on the other,
its protocol and destination ports. `forget` dumps the namespace's conntrack table once over
ctnetlink and deletes each matching entry by its exact original tuple (and id) -- never a
flush. A flow another rule still allows loses its entry too (Neutron does the same); its next
packet is evaluated as new and passes again.
"""

from __future__ import annotations

import errno
import ipaddress
import struct
from dataclasses import dataclass
from typing import Final

from neutrino.agent.firewall import intervals
from neutrino.agent.firewall.intervals import Interval
from neutrino.agent.firewall.netlink import NetlinkError, NfNetlink, attr, attrs
from neutrino.agent.firewall.spec import (
    PORT_PROTOCOLS,
    FirewallSpec,
    GroupSpec,
    PortSpec,
    RuleSpec,
    set_name,
)

__all__ = ["Flow", "forget", "revoked"]

NFNL_SUBSYS_CTNETLINK: Final = 1
IPCTNL_MSG_CT_GET: Final = 1
IPCTNL_MSG_CT_DELETE: Final = 2
CTA_TUPLE_ORIG: Final = 1
CTA_TUPLE_IP: Final = 1
CTA_TUPLE_PROTO: Final = 2
CTA_IP_SRC: Final = {4: 1, 6: 3}
CTA_IP_DST: Final = {4: 2, 6: 4}
CTA_PROTO_NUM: Final = 1
CTA_PROTO_DST_PORT: Final = 3
CTA_ID: Final = 12
CTA_ZONE: Final = 18
AF: Final = {4: 2, 6: 10}


@dataclass(frozen=True, slots=True)
class Flow:
    """Connections (by their original direction) that lost their allowance. None = any."""

    version: int
    src: tuple[Interval, ...] | None
    dst: tuple[Interval, ...] | None
    protocol: int | None = None
    ports: tuple[int, int] | None = None  # destination port range, inclusive

    def matches(self, src: int, dst: int, protocol: int, dport: int | None) -> bool:
        return ((self.src is None or intervals.covers(self.src, src))
                and (self.dst is None or intervals.covers(self.dst, dst))
                and (self.protocol is None or self.protocol == protocol)
                and (self.ports is None or (dport is not None
                                            and self.ports[0] <= dport <= self.ports[1])))


def revoked(before: FirewallSpec, after: FirewallSpec) -> list[Flow]:
    """The flows `before` allowed through a rule or a remote-group member that `after` no
    longer has, for each port filtered in both (a port that left or stopped being filtered
    has nothing left to protect). One Flow per lost allowance, with every port that lost it
    on the port's side."""
    members_before = {s.name: {intervals.interval(a) for a in s.elements} for s in before.sets}
    members_after = {s.name: {intervals.interval(a) for a in s.elements} for s in after.sets}
    lost = {name: tuple(sorted(spans - members_after.get(name, set())))
            for name, spans in members_before.items()}
    if not any(lost.values()) and before.ports == after.ports and before.groups == after.groups:
        return []
    now = {p.id: p for p in after.filtered}
    groups_before = {g.id: g for g in before.groups}
    groups_after = {g.id: g for g in after.groups}
    taken: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[str, RuleSpec, bool]]] = {}
    # (direction, rule, remote) -> the port side's intervals (None: any address)
    found: dict[tuple[str, RuleSpec, tuple[Interval, ...] | None], set[Interval] | None] = {}
    for old in before.filtered:
        new = now.get(old.id)
        if new is None:
            continue
        key = (old.groups, new.groups)
        if key not in taken:  # ports share groups: once per combination
            taken[key] = _lost_rules(old.groups, new.groups, groups_before, groups_after, lost)
        for direction, rule, kept in taken[key]:
            if kept:  # only the members the remote group lost
                remote: tuple[Interval, ...] | None = intervals.merged(
                    lost.get(set_name(rule.remote_group or "", rule.version), ()))
            else:
                remote = _remote(rule, members_before)
            where = (direction, rule, remote)
            mine = _addresses(new, rule.version)
            if mine is None or found.get(where, set()) is None:
                found[where] = None
            else:
                found.setdefault(where, set()).update(mine)  # type: ignore[union-attr]
    return [_flow(rule, direction, None if port is None else intervals.merged(port), remote)
            for (direction, rule, remote), port in found.items()]


def _lost_rules(old: tuple[str, ...], new: tuple[str, ...], before: dict[str, GroupSpec],
                after: dict[str, GroupSpec], lost: dict[str, tuple[Interval, ...]]
                ) -> list[tuple[str, RuleSpec, bool]]:
    """(direction, rule, kept) a port with groups `old`, now `new`, lost: rules gone, and
    rules kept whose remote group lost members."""
    out = []
    for direction in ("ingress", "egress"):
        has = {r for g in new if g in after for r in getattr(after[g], direction)}
        for rule in {r for g in old if g in before for r in getattr(before[g], direction)}:
            if rule not in has:
                out.append((direction, rule, False))
            elif rule.remote_group is not None and lost.get(set_name(rule.remote_group,
                                                                     rule.version)):
                out.append((direction, rule, True))
    return out


def _remote(rule: RuleSpec, members: dict[str, set[Interval]]) -> tuple[Interval, ...] | None:
    if rule.remote_prefix is not None:
        return (intervals.interval(rule.remote_prefix),)
    if rule.remote_group is not None:
        return intervals.merged(members.get(set_name(rule.remote_group, rule.version), set()))
    return None


def _addresses(port: PortSpec, version: int) -> set[Interval] | None:
    """The port's addresses of one family (fixed IPs, pairs, link-local); None = any (a pair
    without an address)."""
    if any(a is None for _, a in port.pairs):
        return None
    return {intervals.interval(a) for _, a in port.pairs
            if a is not None and (":" in a) == (version == 6)}


def _flow(rule: RuleSpec, direction: str, port: tuple[Interval, ...] | None,
          remote: tuple[Interval, ...] | None) -> Flow:
    ports = None
    if rule.protocol in PORT_PROTOCOLS and rule.port_min is not None:
        ports = (rule.port_min, rule.port_max if rule.port_max is not None else rule.port_min)
    src, dst = (remote, port) if direction == "ingress" else (port, remote)
    return Flow(rule.version, src, dst, rule.protocol, ports)


def forget(netns: str | None, flows: list[Flow]) -> int:
    """Delete the conntrack entries of namespace `netns` that match any of `flows`; how many
    were deleted. Entries that vanish meanwhile are fine."""
    if not flows:
        return 0
    sock = NfNetlink(netns)
    try:
        deleted = 0
        for version in sorted({f.version for f in flows}):
            mine = [f for f in flows if f.version == version]
            for entry in sock.dump(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET, AF[version]):
                found = _match(entry, version, mine)
                if found is None:
                    continue
                try:
                    sock.ask(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE, AF[version], found)
                    deleted += 1
                except NetlinkError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
        return deleted
    finally:
        sock.close()


def _match(entry: bytes, version: int, flows: list[Flow]) -> bytes | None:
    """The delete request's attributes (original tuple, id, zone) when `entry` matches."""
    top = dict(attrs(entry))
    orig = top.get(CTA_TUPLE_ORIG)
    if orig is None:
        return None
    parts = dict(attrs(orig))
    ip = dict(attrs(parts.get(CTA_TUPLE_IP, b"")))
    proto = dict(attrs(parts.get(CTA_TUPLE_PROTO, b"")))
    if CTA_IP_SRC[version] not in ip or CTA_PROTO_NUM not in proto:
        return None
    src = int(ipaddress.ip_address(ip[CTA_IP_SRC[version]]))
    dst = int(ipaddress.ip_address(ip[CTA_IP_DST[version]]))
    number = proto[CTA_PROTO_NUM][0]
    dport = (struct.unpack(">H", proto[CTA_PROTO_DST_PORT][:2])[0]
             if CTA_PROTO_DST_PORT in proto else None)
    if not any(f.matches(src, dst, number, dport) for f in flows):
        return None
    request = attr(CTA_TUPLE_ORIG | 0x8000, orig)
    for kind in (CTA_ID, CTA_ZONE):
        if kind in top:
            request += attr(kind, top[kind])
    return request
