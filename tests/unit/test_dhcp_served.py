"""`Served.of(network, previous)` patches the previous per-MAC view instead of rebuilding it;
whatever the change, the result must be exactly the full build's."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork
from neutrino.agent.dhcp.served import Served

BASE = DhcpNetwork(network_id="n", netns="ns", interface="tap", bridge="br", server_mac="m",
                   server_addresses=("10.0.0.2/24",), subnets=(), hosts=(), mtu=1500,
                   dns_domain="example.")
# a few MACs so that collisions (the same MAC on two hosts) happen often
MACS = [f"fa:16:3e:00:00:{i:02x}" for i in range(12)]


def host(i: int, mac: str) -> DhcpHost:
    return DhcpHost(f"p{i}", mac, (f"10.0.0.{i % 250 + 3}",), f"h{i}")


# an edit: ("insert", position, mac) / ("delete", position) / ("replace", position, mac)
edits = st.lists(st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 40), st.sampled_from(MACS)),
    st.tuples(st.just("delete"), st.integers(0, 40)),
    st.tuples(st.just("replace"), st.integers(0, 40), st.sampled_from(MACS + [m.upper()
                                                                         for m in MACS])),
), max_size=6)


def edited(hosts: tuple[DhcpHost, ...], changes: list[tuple], serial: int
           ) -> tuple[DhcpHost, ...]:
    out = list(hosts)
    for n, change in enumerate(changes):
        kind, at = change[0], change[1]
        if kind == "insert":
            out.insert(min(at, len(out)), host(serial + n, change[2]))
        elif out and kind == "delete":
            del out[at % len(out)]
        elif out:
            out[at % len(out)] = host(serial + n, change[2])
    return tuple(out)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 30), steps=st.lists(edits, min_size=1, max_size=5))
def test_a_patched_view_equals_a_fresh_one(size: int, steps: list[list[tuple]]) -> None:
    hosts = tuple(host(i, f"fa:16:3e:01:{i // 256:02x}:{i % 256:02x}") for i in range(size))
    view = Served.of(replace(BASE, hosts=hosts))
    for serial, changes in enumerate(steps, start=1):
        hosts = edited(hosts, changes, serial * 100)
        network = replace(BASE, hosts=hosts)
        view = Served.of(network, view)
        fresh = Served.of(network)
        assert view.by_mac == fresh.by_mac
        for mac in {h.mac_address for h in hosts}:
            assert view.for_mac(mac) == fresh.for_mac(mac)


def test_a_published_view_is_never_mutated() -> None:
    hosts = tuple(host(i, f"fa:16:3e:02:00:{i:02x}") for i in range(40))
    first = Served.of(replace(BASE, hosts=hosts))
    before = dict(first.by_mac)
    Served.of(replace(BASE, hosts=(*hosts[:10], host(99, MACS[0]), *hosts[11:])), first)
    assert first.by_mac == before


def test_few_changes_are_patched_not_rebuilt() -> None:
    """The cheap path is taken (the shared values are the previous view's objects)."""
    hosts = tuple(host(i, f"fa:16:3e:03:00:{i:02x}") for i in range(100))
    first = Served.of(replace(BASE, hosts=hosts))
    added = host(500, MACS[1])
    second = Served.of(replace(BASE, hosts=(*hosts[:50], added, *hosts[50:])), first)
    assert second.by_mac is not first.by_mac
    assert second.by_mac[MACS[1]] is added and len(second.by_mac) == 101
    # unchanged: the very same dict
    assert Served.of(second.network, second).by_mac is second.by_mac
