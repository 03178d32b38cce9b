"""The pure firewall compiler: spec and script properties, without a kernel."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.firewall.render import render, set_updates, static_digest
from neutrino.agent.firewall.spec import FirewallSpec, collapsed, firewall_spec
from neutrino.agent.names import tap_name
from neutrino.wire.snapshot import HostSnapshot, SnapshotPort, SnapshotRule

GROUPS = ("sg-a", "sg-b", "sg-c")


def _port(i: int, groups: tuple[str, ...], security: bool = True,
          pairs: tuple[tuple[str, str], ...] = ()) -> SnapshotPort:
    return SnapshotPort(
        id=f"{i:08x}-0000-4000-8000-{i:012x}", network_id="net",
        mac_address=f"FA:16:3E:00:00:{i:02X}",
        fixed_ips=(("sub", f"10.0.0.{i}"), ("sub6", f"2001:db8::{i:x}")), admin_state_up=True,
        device_owner="compute:nova", port_security_enabled=security, security_groups=groups,
        allowed_address_pairs=pairs, revision_number=1, status="ACTIVE")


def _rule(n: int, group: str, direction: str, protocol: str | None = None,
          low: int | None = None, high: int | None = None, prefix: str | None = None,
          remote: str | None = None, ethertype: str = "IPv4") -> SnapshotRule:
    return SnapshotRule(f"r{n}", group, direction, ethertype, protocol, low, high, prefix, remote)


addresses = st.one_of(
    st.integers(0, 255).map(lambda i: f"10.1.0.{i}"),
    st.integers(0, 255).map(lambda i: f"10.1.{i}.0/24"),
    st.integers(0, 0xFFFF).map(lambda i: f"2001:db8::{i:x}"),
    st.just("10.0.0.0/8"))
rules = st.lists(st.builds(
    _rule, st.integers(0, 10_000), st.sampled_from(GROUPS), st.sampled_from(["ingress", "egress"]),
    st.sampled_from([None, "tcp", "udp", "icmp", "6", "0", "sctp"]),
    st.one_of(st.none(), st.integers(1, 100)), st.one_of(st.none(), st.integers(100, 200)),
    st.sampled_from([None, "10.2.0.5/16", "0.0.0.0/0"]),
    st.sampled_from([None, *GROUPS])), max_size=12)
snapshots = st.builds(
    lambda ports, rs, members: HostSnapshot(host="h", seq=1, ports=tuple(ports), rules=tuple(rs),
                                           group_members=members),
    st.lists(st.builds(_port, st.integers(1, 200), st.lists(st.sampled_from(GROUPS), max_size=3,
                                                            unique=True).map(tuple),
                       st.booleans(),
                       st.lists(st.tuples(addresses, st.just("")), max_size=2).map(tuple)),
             max_size=6, unique_by=lambda p: p.id),
    rules,
    st.dictionaries(st.sampled_from(GROUPS), st.lists(addresses, max_size=8).map(tuple)))


def _elements(script: str) -> dict[str, set[str]]:
    """Set name -> elements, from a full script."""
    out: dict[str, set[str]] = {}
    for name, body in re.findall(r"set (sg_\S+) \{(.*?)\n  \}", script, re.S):
        found = re.search(r"elements = \{ (.*) \}", body)
        out[name] = set(found.group(1).split(", ")) if found else set()
    return out


@settings(max_examples=60, deadline=None)
@given(snapshots, st.randoms())
def test_render_is_deterministic_and_order_free(snap: HostSnapshot, rnd: object) -> None:
    shuffled = replace(snap, ports=tuple(reversed(snap.ports)), rules=tuple(reversed(snap.rules)),
                       group_members={k: tuple(reversed(v)) for k, v in snap.group_members.items()})
    assert render(firewall_spec(snap)) == render(firewall_spec(shuffled))


@settings(max_examples=60, deadline=None)
@given(snapshots)
def test_every_filtered_port_appears_and_unfiltered_ports_do_not(snap: HostSnapshot) -> None:
    script = render(firewall_spec(snap))
    for port in snap.ports:
        dev = f'"{tap_name(port.id)}"'
        if port.port_security_enabled:
            assert script.count(dev) == 2  # from_port and to_port maps
            assert f"chain in_{port.id} " in script and f"chain spoof_{port.id} " in script
        else:
            assert dev not in script and port.id not in script


@settings(max_examples=80, deadline=None)
@given(snapshots, st.dictionaries(st.sampled_from(GROUPS),
                                  st.lists(addresses, max_size=8).map(tuple)))
def test_set_updates_applied_to_old_sets_give_the_new_sets(
        snap: HostSnapshot, members: dict[str, tuple[str, ...]]) -> None:
    old, new = firewall_spec(snap), firewall_spec(replace(snap, group_members=members))
    script = set_updates(old, new)
    assert script is not None  # members alone never change the static part
    sets = _elements(render(old))
    for line in script.splitlines():
        verb, _, _, _, name, rest = line.split(" ", 5)
        elems = set(rest.strip("{} ").split(", "))
        if verb == "delete":
            assert elems <= sets[name]
            sets[name] -= elems
        else:
            assert not elems & sets[name]
            sets[name] |= elems
    assert sets == _elements(render(new))
    assert set_updates(new, new) == ""


def test_a_rule_change_needs_a_full_render() -> None:
    snap = HostSnapshot(host="h", seq=1, ports=(_port(1, ("sg-a",)),),
                        rules=(_rule(1, "sg-a", "ingress", "tcp", 22, 22),))
    other = replace(snap, rules=(_rule(1, "sg-a", "ingress", "tcp", 22, 23),))
    assert set_updates(firewall_spec(snap), firewall_spec(other)) is None
    assert static_digest(firewall_spec(snap)) != static_digest(firewall_spec(other))


@given(st.lists(addresses, max_size=20), st.sampled_from([4, 6]))
def test_collapsed_elements_never_overlap(addrs: list[str], version: int) -> None:
    nets = [ipaddress.ip_network(a) for a in collapsed(addrs, version)]
    assert all(n.version == version for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    wanted = [ipaddress.ip_network(a) for a in addrs if ipaddress.ip_network(a).version == version]
    assert all(any(w.subnet_of(n) for n in nets) for w in wanted)  # type: ignore[arg-type]


def test_rule_forms() -> None:
    snap = HostSnapshot(host="h", seq=1, ports=(_port(1, ("sg-a",)),), rules=(
        _rule(1, "sg-a", "ingress", "tcp", 22, 22),
        _rule(2, "sg-a", "ingress", "udp", 1000, 2000, prefix="10.9.8.7/24"),
        _rule(3, "sg-a", "ingress", "icmp", 8, 0),
        _rule(4, "sg-a", "ingress", "icmp", ethertype="IPv6"),  # icmp means ipv6-icmp here
        _rule(5, "sg-a", "egress", "tcp", 1, 65535, prefix="0.0.0.0/0"),  # = any tcp
        _rule(6, "sg-a", "egress", "0"),  # protocol 0 = any
        _rule(7, "sg-a", "ingress", remote="sg-b", ethertype="IPv6"),
        _rule(8, "sg-a", "ingress", "tcp", 22, 22),  # duplicate of r1
    ), group_members={"sg-b": ("2001:db8::9", "10.0.0.9")})
    script = render(firewall_spec(snap))
    sgin = script.split("chain sgin_sg-a {\n")[1].split("  }")[0].split("\n")
    assert [r.strip() for r in sgin if r.strip()] == [
        "meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0 accept",
        "meta nfproto ipv4 meta l4proto 6 th dport 22 accept",
        "ip saddr 10.9.8.0/24 meta l4proto 17 th dport 1000-2000 accept",
        "ip6 saddr @sg_sg-b_v6 accept",
        "meta nfproto ipv6 meta l4proto 58 accept",
    ]
    assert "meta nfproto ipv4 meta l4proto 6 accept" in script
    assert "meta nfproto ipv4 accept" in script
    assert _elements(script) == {"sg_sg-b_v6": {"2001:db8::9"}}


def test_spoof_chain_pairs_macs_with_addresses() -> None:
    port = _port(1, (), pairs=(("10.5.0.0/24", "fa:16:3e:aa:bb:cc"), ("10.0.0.77", "")))
    script = render(firewall_spec(HostSnapshot(host="h", seq=1, ports=(port,))))
    assert "ether saddr != { fa:16:3e:00:00:01, fa:16:3e:aa:bb:cc } drop" in script
    assert "ether saddr fa:16:3e:00:00:01 ip saddr { 10.0.0.1, 10.0.0.77 } return" in script
    assert "ether saddr fa:16:3e:aa:bb:cc ip saddr { 10.5.0.0/24 } return" in script
    # IPv6: the fixed address and the MAC's EUI-64 link-local address
    assert ("ether saddr fa:16:3e:00:00:01 ip6 saddr { 2001:db8::1, fe80::f816:3eff:fe00:1 } "
            "return") in script
    # a port with port security and no groups allows only what Neutron always allows
    assert "jump sgin_" not in script and "jump sgout_" not in script


def test_empty_spec_renders_empty_tables() -> None:
    script = render(FirewallSpec())
    assert script.startswith("add table inet neutrino\ndelete table inet neutrino\n")
    assert "table bridge neutrino {" in script and "elements" not in script
