"""Set element arithmetic, the netlink element encoding, and which connections a change
revokes: pure, without a kernel."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.firewall import intervals
from neutrino.agent.firewall.conntrack import revoked
from neutrino.agent.firewall.netlink import NFTA_LIST_ELEM, NftNetlink, _elements, _nested
from neutrino.agent.firewall.spec import collapsed, firewall_spec
from neutrino.wire.snapshot import HostSnapshot, SnapshotPort, SnapshotRule

v4 = st.one_of(st.integers(0, 255).map(lambda i: f"10.1.0.{i}"),
               st.integers(0, 255).map(lambda i: f"10.1.{i}.0/24"),
               st.just("255.255.255.255"), st.just("0.0.0.0/0"), st.just("10.1.0.0/16"))


@given(st.lists(v4, max_size=12))
def test_keys_round_trip_through_the_netlink_encoding(addresses: list[str]) -> None:
    spans = {intervals.interval(a) for a in collapsed(addresses, 4)}
    keys = [k for s in spans for k in intervals.to_keys(s, 4)]
    payload = b"".join(_nested(NFTA_LIST_ELEM, *NftNetlink._element(k.to_bytes(4, "big"), end))
                       for k, end in keys)
    assert sorted(_elements(payload)) == sorted(keys)
    assert intervals.from_keys(reversed(keys), 4) == spans


@given(st.lists(v4, max_size=12), st.lists(v4, max_size=12))
def test_changes_turn_one_set_into_the_other(have: list[str], want: list[str]) -> None:
    before = {intervals.interval(a) for a in collapsed(have, 4)}
    gone, came = intervals.changes(before, collapsed(want, 4))
    assert (before - set(gone)) | set(came) == {intervals.interval(a)
                                                for a in collapsed(want, 4)}
    for span in came:  # texts are what nft would accept and mean the same addresses
        net = ipaddress.ip_network(intervals.text(span, 4))
        assert (int(net.network_address), int(net.broadcast_address) + 1) == span


def test_text_of_a_range_that_is_no_network() -> None:
    low = int(ipaddress.IPv4Address("10.0.0.1"))
    assert intervals.text((low, low + 3), 4) == "10.0.0.1-10.0.0.3"
    assert intervals.text((low - 1, low + 3), 4) == "10.0.0.0/30"


def _snapshot(rules: tuple[SnapshotRule, ...], members: tuple[str, ...]) -> HostSnapshot:
    port = SnapshotPort(id="p1", network_id="n", mac_address="fa:16:3e:00:00:01",
                        fixed_ips=(("s", "10.0.0.1"),), admin_state_up=True,
                        device_owner="compute:nova", port_security_enabled=True,
                        security_groups=("sg",), allowed_address_pairs=(), revision_number=1,
                        status="ACTIVE")
    return HostSnapshot(host="h", seq=1, ports=(port,), rules=rules,
                        group_members={"sg": members})


def test_revoked_flows_are_as_narrow_as_what_was_removed() -> None:
    ssh = SnapshotRule("r1", "sg", "ingress", "IPv4", "tcp", 22, 22, None, None)
    peers = SnapshotRule("r2", "sg", "ingress", "IPv4", "tcp", 80, 80, None, "sg")
    snap = _snapshot((ssh, peers), ("10.0.0.1", "10.0.0.9"))
    old = firewall_spec(snap)
    assert revoked(old, old) == []
    assert revoked(old, firewall_spec(_snapshot((ssh, peers), ("10.0.0.1", "10.0.0.9",
                                                               "10.0.0.10")))) == []
    gone_member = revoked(old, firewall_spec(replace(snap, group_members={"sg": ("10.0.0.1",)})))
    one, nine = int(ipaddress.IPv4Address("10.0.0.1")), int(ipaddress.IPv4Address("10.0.0.9"))
    assert [(f.src, f.dst, f.protocol, f.ports) for f in gone_member] == [
        (((nine, nine + 1),), ((one, one + 1),), 6, (80, 80))]
    assert gone_member[0].matches(nine, one, 6, 80)
    assert not gone_member[0].matches(nine, one, 6, 22)
    gone_rule = revoked(old, firewall_spec(replace(snap, rules=(peers,))))
    assert [(f.src, f.dst, f.ports) for f in gone_rule] == [(None, ((one, one + 1),), (22, 22))]
    # a port that stops being filtered keeps everything: nothing to forget
    off = replace(snap, ports=(replace(snap.ports[0], port_security_enabled=False),))
    assert revoked(old, firewall_spec(off)) == []
