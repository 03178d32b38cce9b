"""FirewallSpec -> nft script (pure): the full script, its static digest, set element updates.

Pure (STYLE habit 4): no I/O here; `nft.py` is the shell that reads and writes the kernel.

Why the script has two tables (measured on kernel 6.18, nft 1.0.6; see the package README):
the bridge family has no conntrack, and with br_netfilter the inet `forward` hook sees bridged
packets with conntrack but with `iifname`/`oifname` set to the *bridge*, not the port. So

* `table bridge neutrino` knows the port. Its `prerouting` chain (priority -300, before
  br_netfilter) sends a frame from a filtered port's tap to that port's stateless spoof chain
  (MAC, IPv4/IPv6 source against fixed IPs + allowed address pairs, ARP sender, rogue DHCP
  server and router advertisements) which also writes the port's index into the high 16 bits
  of the packet mark. Its `forward` chain (priority -200, before br_netfilter's -1) writes the
  destination port's index into the low 16 bits.
* `table inet neutrino` is stateful. Two forward base chains (egress at priority 0, ingress at
  1) accept established/related, then dispatch on the mark with verdict maps to a per-port
  chain that jumps to one chain per security group; a rule that allows `accept`s, which ends
  only that base chain, so a packet between two local ports passes the sender's egress chain
  AND the receiver's ingress chain. Remote groups are named interval sets `sg_<id>_v4/_v6`, so
  a membership change is a set element change (STYLE habit 8). The `input` hook runs egress
  chains for packets a port sends to this host.

Traffic to or from the VXLAN device (or any bridge port that is not a local port) carries only
one index, so it meets only the local port's chain: ingress on the host that owns the
destination, egress on the host that owns the source. Mark bits belong to us only on packets
entering from, or leaving to, a filtered tap.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Final

from neutrino.agent.firewall.spec import (
    ICMP,
    PORT_PROTOCOLS,
    FirewallSpec,
    PortSpec,
    RuleSpec,
    ident,
    set_name,
)
from neutrino.agent.names import NFT_TABLE, TAP_PREFIX

__all__ = ["DIGEST_SET", "render", "set_updates", "static_digest"]

FROM_MASK: Final = 0xFFFF0000
TO_MASK: Final = 0x0000FFFF
DIGEST_SET: Final = "spec_digest"  # an empty set whose comment holds static_digest(spec)
_FAMILY: Final = {4: "ip", 6: "ip6"}
_NFPROTO: Final = {4: "ipv4", 6: "ipv6"}
# Neutron's ICMPv6 allowances (neutron_lib.constants, agent/firewall.py).
_ICMPV6_UNSPEC_SRC: Final = (131, 135, 143)  # MLD report, NS, MLDv2 report from :: (DAD)
_ICMPV6_INGRESS: Final = (130, 135, 136)  # MLD query, NS, NA
_ICMPV6_RA: Final = 134

def static_digest(spec: FirewallSpec) -> str:
    """A hash of everything in the script except set elements. Both tables carry it, so equal
    digests in the kernel mean only set members can differ (then `set_updates` suffices)."""
    bare = replace(spec, sets=tuple(replace(s, elements=()) for s in spec.sets))
    return hashlib.sha256(_tables(bare, "").encode()).hexdigest()


def render(spec: FirewallSpec, digest: str | None = None) -> str:
    """The whole firewall as one `nft -f` transaction that replaces both of our tables (and
    touches no other table): `add` then `delete` makes the delete valid when absent.
    `digest` is `static_digest(spec)` when the caller already has it."""
    head = "".join(f"add table {family} {NFT_TABLE}\ndelete table {family} {NFT_TABLE}\n"
                   for family in ("inet", "bridge"))
    return head + _tables(spec, digest if digest is not None else static_digest(spec))


def set_updates(old: FirewallSpec, new: FirewallSpec) -> str | None:
    """Element commands turning `old`'s sets into `new`'s, when nothing else differs; None
    when something else changed (render `new` in full). "" when there is nothing to do.
    Deletions come first, so a host replaced by a network that covers it never overlaps."""
    if static_digest(old) != static_digest(new):
        return None
    before = {s.name: set(s.elements) for s in old.sets}
    lines_del, lines_add = [], []
    for s in new.sets:
        gone = sorted(before.get(s.name, set()) - set(s.elements))
        came = sorted(set(s.elements) - before.get(s.name, set()))
        if gone:
            lines_del.append(f"delete element inet {NFT_TABLE} {s.name} {{ {', '.join(gone)} }}")
        if came:
            lines_add.append(f"add element inet {NFT_TABLE} {s.name} {{ {', '.join(came)} }}")
    return "".join(line + "\n" for line in lines_del + lines_add)


def _tables(spec: FirewallSpec, digest: str) -> str:
    return _inet(spec, digest) + _bridge(spec, digest)


def _digest_set(digest: str) -> list[str]:
    return [f"  set {DIGEST_SET} {{", "    type ipv4_addr", f'    comment "{digest}"', "  }"]


def _map(name: str, key: str, elements: list[str]) -> list[str]:
    body = [f"  map {name} {{", f"    type {key} : verdict"]
    if elements:
        body.append("    elements = { " + ", ".join(elements) + " }")
    return [*body, "  }"]


def _chain(name: str, rules: list[str], hook: str = "") -> list[str]:
    return [f"  chain {name} {{", *([f"    {hook}"] if hook else []),
            *(f"    {r}" for r in rules), "  }"]


def _inet(spec: FirewallSpec, digest: str) -> str:
    ports = spec.filtered
    out = [f"table inet {NFT_TABLE} {{", *_digest_set(digest)]
    for s in spec.sets:
        out += [f"  set {s.name} {{", f"    type ipv{s.version}_addr", "    flags interval"]
        if s.elements:
            out.append("    elements = { " + ", ".join(s.elements) + " }")
        out.append("  }")
    out += _map("egress", "mark",
                [f"0x{p.index << 16:08x} : jump out_{ident(p.id)}" for p in ports])
    out += _map("ingress", "mark", [f"0x{p.index:08x} : jump in_{ident(p.id)}" for p in ports])
    established = "ct state established,related accept"
    for name, hook, prio, rule in (
            ("forward_out", "forward", 0, f"meta mark and 0x{FROM_MASK:08x} vmap @egress"),
            ("forward_in", "forward", 1, f"meta mark and 0x{TO_MASK:08x} vmap @ingress"),
            ("input_out", "input", 0, f"meta mark and 0x{FROM_MASK:08x} vmap @egress")):
        out += _chain(name, [established, rule],
                      f"type filter hook {hook} priority {prio}; policy accept;")
    for p in ports:
        out += _chain(f"out_{ident(p.id)}", _egress_rules(p))
        out += _chain(f"in_{ident(p.id)}", _ingress_rules(p))
    for g in spec.groups:
        out += _chain(f"sgout_{ident(g.id)}", [_rule_text(r, "daddr") for r in g.egress])
        out += _chain(f"sgin_{ident(g.id)}", [_rule_text(r, "saddr") for r in g.ingress])
    return "\n".join([*out, "}", ""])


def _egress_rules(p: PortSpec) -> list[str]:
    """Neutron's fixed egress allowances (DHCP client, ICMPv6 except RA, dropped earlier),
    then the groups; what no group allows is dropped."""
    return ["ct state invalid drop",
            "meta nfproto ipv4 udp sport 68 udp dport 67 accept",
            "meta nfproto ipv6 udp sport 546 udp dport 547 accept",
            "meta l4proto ipv6-icmp accept",
            *(f"jump sgout_{ident(g)}" for g in p.groups), "drop"]


def _ingress_rules(p: PortSpec) -> list[str]:
    """Neutron's provider rules: DHCP replies to the port's own addresses or broadcast, the
    ICMPv6 that neighbour discovery needs, RA when the port has IPv6; then the groups."""
    v4 = [ip for ip in p.fixed_ips if ":" not in ip]
    v6 = [ip for ip in p.fixed_ips if ":" in ip]
    rules = ["ct state invalid drop",
             f"ip daddr {{ {', '.join([*v4, '255.255.255.255'])} }} "
             "udp sport 67 udp dport 68 accept",
             f"ip6 daddr {{ {', '.join([*v6, 'fe80::/64'])} }} udp sport 547 udp dport 546 accept",
             f"icmpv6 type {{ {', '.join(map(str, _ICMPV6_INGRESS))} }} accept"]
    if v6:
        rules.append(f"icmpv6 type {_ICMPV6_RA} accept")
    return [*rules, *(f"jump sgin_{ident(g)}" for g in p.groups), "drop"]


def _rule_text(rule: RuleSpec, direction: str) -> str:
    family = _FAMILY[rule.version]
    if rule.remote_prefix is not None:
        parts = [f"{family} {direction} {rule.remote_prefix}"]
    elif rule.remote_group is not None:
        parts = [f"{family} {direction} @{set_name(rule.remote_group, rule.version)}"]
    else:
        parts = [f"meta nfproto {_NFPROTO[rule.version]}"]
    if rule.protocol is not None:
        parts.append(f"meta l4proto {rule.protocol}")
        if rule.protocol in PORT_PROTOCOLS and rule.port_min is not None:
            ports = (str(rule.port_min) if rule.port_min == rule.port_max
                     else f"{rule.port_min}-{rule.port_max}")
            parts.append(f"th dport {ports}")
        elif rule.protocol == ICMP[rule.version] and rule.port_min is not None:
            icmp = "icmp" if rule.version == 4 else "icmpv6"
            parts.append(f"{icmp} type {rule.port_min}")
            if rule.port_max is not None:
                parts.append(f"{icmp} code {rule.port_max}")
    return " ".join([*parts, "accept"])


def _bridge(spec: FirewallSpec, digest: str) -> str:
    ports = spec.filtered
    out = [f"table bridge {NFT_TABLE} {{", *_digest_set(digest)]
    out += _map("from_port", "ifname",
                [f'"{p.device}" : jump spoof_{ident(p.id)}' for p in ports])
    out += _map("to_port", "ifname", [f'"{p.device}" : jump to_{ident(p.id)}' for p in ports])
    out += _chain("prerouting", ["iifname vmap @from_port"],
                  "type filter hook prerouting priority -300; policy accept;")
    out += _chain("forward", [*_dhcp_local(spec.dhcp_devices), "oifname vmap @to_port"],
                  "type filter hook forward priority -200; policy accept;")
    for p in ports:
        out += _chain(f"spoof_{ident(p.id)}", _spoof_rules(p))
        out += _chain(f"to_{ident(p.id)}",
                      [f"meta mark set meta mark and 0x{FROM_MASK:08x} or 0x{p.index:08x}"])
    return "\n".join([*out, "}", ""])


def _dhcp_local(devices: tuple[str, ...]) -> list[str]:
    """Keep DHCP host-local. Every host answers its own ports from the same DHCP port (one
    MAC and address on all hosts), so a DHCP tap's frames must never leave through the VXLAN
    device (remote bridges would learn the shared MAC at whichever VTEP spoke last), nor
    through a flat/VLAN uplink (a physical switch would see the MAC flap between hosts), and
    nothing from those may reach a DHCP tap (a remote client's DISCOVER is its own host's to
    answer). So a DHCP tap talks only to taps: local ports. The bridge forward hook sees each
    flooded copy per output port, so this cuts broadcasts and unknown unicast too."""
    if not devices:
        return []
    names = "{ " + ", ".join(f'"{d}"' for d in devices) + " }"
    local = f'"{TAP_PREFIX}*"'
    return [f"iifname {names} oifname != {local} drop",
            f"iifname != {local} oifname {names} drop"]


def _spoof_rules(p: PortSpec) -> list[str]:
    """Stateless checks of what a port sends; a frame that passes `return`s to be forwarded.

    Per family the source address must pair with the frame's MAC (Neutron's IP/MAC pairs); a
    family with no pair at all is checked by MAC only, as Neutron does. Other ethertypes
    (VLAN tags included) are dropped: they would bypass the IP filter."""
    macs = sorted({m for m, _ in p.pairs})
    rules = [f"meta mark set 0x{p.index << 16:08x}",
             "udp sport 67 udp dport 68 drop",  # a DHCP server on a port (rogue)
             "udp sport 547 udp dport 546 drop",
             f"icmpv6 type {_ICMPV6_RA} drop",
             f"ether saddr != {{ {', '.join(macs)} }} drop"]
    v4 = _pairs_by_mac(p, 4)
    if v4:
        rules.append("ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return")
        rules += _pair_rules(v4, "ip saddr", "ether type ip")
        rules.append("ether type ip drop")
        rules.append(f"arp saddr ip 0.0.0.0 arp saddr ether {{ {', '.join(macs)} }} return")
        rules += _pair_rules(v4, "arp saddr ip", "ether type arp", arp=True)
        rules.append("ether type arp drop")
    v6 = _pairs_by_mac(p, 6)
    if v6:
        types = ", ".join(map(str, _ICMPV6_UNSPEC_SRC))
        rules.append(f"ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type {{ {types} }} return")
        rules += _pair_rules(v6, "ip6 saddr", "ether type ip6")
        rules.append("ether type ip6 drop")
    return [*rules, "ether type { ip, ip6, arp } return", "drop"]


def _pairs_by_mac(p: PortSpec, version: int) -> dict[str, list[str | None]]:
    """MAC -> the addresses of one family it may send from (None = any). Empty when the
    port has no pair of that family (then Neutron checks that family by MAC only)."""
    out: dict[str, list[str | None]] = {}
    for mac, addr in p.pairs:
        if addr is None:
            out.setdefault(mac, []).append(None)
        elif (":" in addr) == (version == 6):
            out.setdefault(mac, []).append(addr)
    if all(None in addrs for addrs in out.values()):
        return {}
    return out


def _pair_rules(by_mac: dict[str, list[str | None]], match: str, any_match: str,
                arp: bool = False) -> list[str]:
    rules = []
    for mac, addrs in sorted(by_mac.items()):
        head = f"ether saddr {mac}" + (f" arp saddr ether {mac}" if arp else "")
        if None in addrs:
            rules.append(f"{head} {any_match} return")
        else:
            rules.append(f"{head} {match} {{ {', '.join(a for a in addrs if a)} }} return")
    return rules
