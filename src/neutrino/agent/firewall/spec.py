"""Security groups and port security as data: HostSnapshot -> FirewallSpec (pure).

`render` turns a spec into the nft script; the design of that script is described there.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from neutrino.agent.dhcp.desired import serves
from neutrino.agent.names import tap_name
from neutrino.domain import validate
from neutrino.wire.snapshot import HostSnapshot, SnapshotPort, SnapshotRule

__all__ = [
    "ICMP",
    "MAX_PORTS",
    "PORT_PROTOCOLS",
    "FirewallSpec",
    "GroupSpec",
    "PortSpec",
    "RuleSpec",
    "SetSpec",
    "collapsed",
    "firewall_spec",
    "ident",
    "set_name",
]

TRUSTED_OWNER_PREFIX: Final = "network:"  # Neutron never filters its own ports (DHCP, router)
MAX_PORTS: Final = 0xFFFF  # a port index must fit 16 bits of the mark
PORT_PROTOCOLS: Final = frozenset({6, 17, 33, 132, 136})  # tcp udp dccp sctp udplite
ICMP: Final = {4: 1, 6: 58}
_ETHERTYPE_VERSION: Final = {"IPv4": 4, "IPv6": 6}
_SAFE_ID: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One allow rule of a group, in canonical form (equal rules compare equal)."""

    version: int  # 4 | 6
    protocol: int | None = None  # IP protocol number; None = any
    port_min: int | None = None  # L4 destination ports, or ICMP type
    port_max: int | None = None  # ... or ICMP code
    remote_prefix: str | None = None  # canonical network, never /0
    remote_group: str | None = None  # matched through the set set_name(group, version)


@dataclass(frozen=True, slots=True)
class GroupSpec:
    id: str
    ingress: tuple[RuleSpec, ...]  # sorted, no duplicates
    egress: tuple[RuleSpec, ...]


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port on this host. `pairs` are (MAC, address or CIDR | None=any address): the port's
    own MAC with each fixed IP (None when it has none) plus the allowed address pairs, and the
    EUI-64 link-local address of each MAC that has an IPv6 pair, as Neutron allows."""

    id: str
    device: str
    mac: str
    port_security: bool
    index: int  # 1..MAX_PORTS among filtered ports, 0 when port security is off
    fixed_ips: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str | None], ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetSpec:
    """The addresses of a remote group's members, one family: `sg_<group>_v4|_v6`."""

    group_id: str
    version: int
    elements: tuple[str, ...]  # collapsed (non-overlapping, non-adjacent) and sorted

    @property
    def name(self) -> str:
        return set_name(self.group_id, self.version)


@dataclass(frozen=True, slots=True)
class FirewallSpec:
    ports: tuple[PortSpec, ...] = ()  # sorted by id
    groups: tuple[GroupSpec, ...] = ()  # sorted by id; only groups of filtered ports
    sets: tuple[SetSpec, ...] = ()  # sorted by name
    dhcp_devices: tuple[str, ...] = ()  # the DHCP taps on this host's bridges, sorted

    @property
    def filtered(self) -> tuple[PortSpec, ...]:
        return tuple(p for p in self.ports if p.port_security)




def firewall_spec(snapshot: HostSnapshot) -> FirewallSpec:
    """What the host's firewall must be. Deterministic: equal snapshots -> equal specs, and
    the order of ports, rules and members in the snapshot does not matter."""
    ports = sorted(snapshot.ports, key=lambda p: p.id)
    filtered = [p for p in ports if _secured(p)]
    if len(filtered) > MAX_PORTS:
        raise ValueError(f"{len(filtered)} filtered ports; at most {MAX_PORTS} per host")
    index = {p.id: i for i, p in enumerate(filtered, start=1)}
    used = sorted({g for p in filtered for g in p.security_groups})
    groups = tuple(_group(g, [r for r in snapshot.rules if r.security_group_id == g])
                   for g in used)
    wanted = sorted({(r.remote_group, r.version) for g in groups for r in g.ingress + g.egress
                     if r.remote_group is not None})
    sets = tuple(SetSpec(gid, version, collapsed(snapshot.group_members.get(gid, ()), version))
                 for gid, version in wanted)
    return FirewallSpec(
        ports=tuple(_port(p, index.get(p.id, 0)) for p in ports),
        groups=groups, sets=tuple(sorted(sets, key=lambda s: s.name)),
        dhcp_devices=_dhcp_devices(snapshot))


def _secured(port: SnapshotPort) -> bool:
    """Filtered: port security on, and not a port Neutron trusts (device_owner network:*)."""
    return port.port_security_enabled and not port.device_owner.startswith(TRUSTED_OWNER_PREFIX)


def _dhcp_devices(snapshot: HostSnapshot) -> tuple[str, ...]:
    """The tap of each network's DHCP port that this host serves (as `dhcp.desired`)."""
    by_net: dict[str, list[SnapshotPort]] = {}
    for port in snapshot.ports:
        by_net.setdefault(port.network_id, []).append(port)
    return tuple(sorted(tap_name(n.dhcp_port.id) for n in snapshot.networks
                        if n.dhcp_port is not None and serves(n, by_net.get(n.id, ()))))


def collapsed(addresses: Iterable[str], version: int) -> tuple[str, ...]:
    """The addresses of one family with every network that another one covers left out,
    sorted: the form a set's elements are written and compared in. An interval set refuses
    overlapping elements; adjacent ones are kept apart, so one member is one element."""
    nets: dict[tuple[int, int], tuple[int, str]] = {}
    for text in addresses:
        parsed = _parse(text)
        if parsed is not None and parsed[0] == version:
            _, start, prefix, last, canonical = parsed
            nets[start, prefix] = (last, canonical)
    kept: list[str] = []
    covered = -1
    for key in sorted(nets):  # by start, shorter prefix first: a covering one comes first
        last, canonical = nets[key]
        if key[0] <= covered:
            continue
        kept.append(canonical)
        covered = last
    return tuple(kept)


@lru_cache(maxsize=1 << 16)
def _parse(text: str) -> tuple[int, int, int, int, str] | None:
    """(version, first address, prefix length, last address, canonical text) of an address
    or network, None when it is neither. Cached: a host's addresses repeat every snapshot,
    and parsing them was most of `firewall_spec`'s time at 1,000 ports."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return (net.version, int(net.network_address), net.prefixlen,
            int(net.broadcast_address), _net_text(net))


def _canonical(text: str) -> str:
    parsed = _parse(text)
    if parsed is None:
        raise ValueError(f"not an address or network: {text!r}")
    return parsed[4]


def _net_text(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def _port(port: SnapshotPort, index: int) -> PortSpec:
    mac = port.mac_address.lower()
    fixed = tuple(sorted({ip for _, ip in port.fixed_ips}))
    pairs: set[tuple[str, str | None]] = set()
    for ip in fixed:
        pairs.add((mac, _canonical(ip)))
    for ip, pair_mac in port.allowed_address_pairs:
        pairs.add(((pair_mac or mac).lower(), _canonical(ip)))
    if not fixed:
        pairs.add((mac, None))
    for m in {m for m, a in pairs if a is not None and ":" in a}:
        pairs.add((m, _link_local(m)))
    return PortSpec(
        id=port.id, device=tap_name(port.id), mac=mac,
        port_security=_secured(port), index=index, fixed_ips=fixed,
        pairs=tuple(sorted(pairs, key=lambda p: (p[0], p[1] or ""))),
        groups=tuple(sorted(set(port.security_groups))) if _secured(port) else ())


@lru_cache(maxsize=1 << 16)
def _link_local(mac: str) -> str:
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


def _group(group_id: str, rules: list[SnapshotRule]) -> GroupSpec:
    compiled: dict[str, set[RuleSpec]] = {"ingress": set(), "egress": set()}
    for rule in rules:
        spec = _rule(rule)
        if spec is not None and rule.direction in compiled:
            compiled[rule.direction].add(spec)
    return GroupSpec(group_id, tuple(sorted(compiled["ingress"], key=_rule_key)),
                     tuple(sorted(compiled["egress"], key=_rule_key)))


def _rule_key(rule: RuleSpec) -> tuple[object, ...]:
    return (rule.version, rule.protocol if rule.protocol is not None else -1,
            rule.port_min if rule.port_min is not None else -1,
            rule.port_max if rule.port_max is not None else -1,
            rule.remote_prefix or "", rule.remote_group or "")


def _rule(rule: SnapshotRule) -> RuleSpec | None:
    """A stored rule in nft terms, or None if it can never match (the server validated it;
    this only guards against a rule the kernel would refuse)."""
    version = _ETHERTYPE_VERSION.get(rule.ethertype)
    if version is None:
        return None
    proto_name = validate.canonical_protocol(rule.protocol, rule.ethertype)
    try:
        protocol = validate.protocol_number(proto_name)
    except ValueError:
        return None
    if protocol == 0:  # "ip"/"hopopt"/"0": Neutron's "any protocol"
        protocol = None
    low, high = rule.port_range_min, rule.port_range_max
    if protocol in PORT_PROTOCOLS:
        if low is not None or high is not None:
            low, high = low if low is not None else high, high if high is not None else low
            if (low, high) == (1, 65535) or (low, high) == (0, 65535):
                low = high = None
    elif protocol != ICMP[version] or low is None:
        low = high = None
    prefix = None
    if rule.remote_ip_prefix:
        try:
            net = ipaddress.ip_network(rule.remote_ip_prefix, strict=False)
        except ValueError:
            return None
        if net.version != version:
            return None
        prefix = None if net.prefixlen == 0 else str(net)
    return RuleSpec(version, protocol, low, high, prefix, rule.remote_group_id or None)


def ident(value: str) -> str:
    """An id usable inside an nft identifier: kept when it is UUID-like, else a short hash."""
    if _SAFE_ID.fullmatch(value):
        return value
    return "h" + hashlib.sha256(value.encode()).hexdigest()[:20]


def set_name(group_id: str, version: int) -> str:
    return f"sg_{ident(group_id)}_v{version}"
