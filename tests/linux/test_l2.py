"""The L2 applier against the real kernel: hosts are namespaces on one underlay
(tests/linux/topology.py), workloads are plugged with `plug`, traffic is real ping."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from neutrino.agent.desired import FdbEntry, HostConfig, L2Spec, Vxlan, host_spec
from neutrino.agent.linux.l2 import L2, alink_events
from neutrino.agent.linux.plug import plug, unplug
from neutrino.agent.names import BRIDGE_PREFIX, TAP_PREFIX, bridge_name, tap_name, vxlan_name
from neutrino.wire.snapshot import HostSnapshot, RemotePort, SnapshotNetwork, SnapshotPort
from tests.linux.netns import requires_netns, run
from tests.linux.topology import PHYSNET, Topology, topology

pytestmark = requires_netns

NET_A, NET_B = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"


def pid(n: int) -> str:
    """A port id whose tap name (its first 11 characters) is unique."""
    return f"{n:08x}-0000-4000-8000-{n:012x}"


@dataclass(frozen=True)
class W:
    """A workload: its port, its host role, its namespace role and its address."""

    port_id: str
    net: str
    host: str
    ns: str
    ip: str

    @property
    def mac(self) -> str:
        n = int(self.port_id[-4:], 16)
        return f"fa:16:3e:00:{n >> 8:02x}:{n & 0xFF:02x}"


def _port(w: W) -> SnapshotPort:
    return SnapshotPort(id=w.port_id, network_id=w.net, mac_address=w.mac,
                        fixed_ips=(("sub", w.ip),), admin_state_up=True, device_owner="",
                        port_security_enabled=False, security_groups=(),
                        allowed_address_pairs=(), revision_number=1, status="DOWN")


def snapshot(topo: Topology, host: str, workloads: list[W],
             kinds: dict[str, tuple[str, int | None]]) -> HostSnapshot:
    """What the server would send `host`: its ports, and for VXLAN the other hosts' ports."""
    nets = []
    for net, (kind, seg) in kinds.items():
        local = [w for w in workloads if w.net == net and w.host == host]
        if not local:
            continue
        remote = [w for w in workloads if w.net == net and w.host != host]
        vteps = tuple(sorted({topo.hosts[w.host].underlay_ip for w in remote}))
        nets.append(SnapshotNetwork(
            id=net, network_type=kind, segmentation_id=seg, mtu=1450 if kind == "vxlan" else 1500,
            physical_network=PHYSNET if kind in ("flat", "vlan") else None,
            remote_vteps=vteps if kind == "vxlan" else (),
            remote_ports=tuple(RemotePort(w.mac, (w.ip,), topo.hosts[w.host].underlay_ip)
                               for w in remote) if kind == "vxlan" else ()))
    return HostSnapshot(host=host, seq=1, networks=tuple(nets),
                        ports=tuple(_port(w) for w in workloads if w.host == host))


def config(topo: Topology, host: str) -> HostConfig:
    h = topo.hosts[host]
    return HostConfig(local_ip=h.underlay_ip, physical_interfaces={PHYSNET: h.physnet_if})


def plug_all(topo: Topology, workloads: list[W], mtu: int = 1450) -> None:
    for w in workloads:
        plug(w.port_id, w.mac, mtu, [f"{w.ip}/24"], netns_name=topo.workloads[w.ns],
             host_netns=topo.hosts[w.host].ns)


def apply_all(topo: Topology, workloads: list[W],
              kinds: dict[str, tuple[str, int | None]]) -> dict[str, L2Spec]:
    specs = {}
    for host, h in topo.hosts.items():
        spec = host_spec(snapshot(topo, host, workloads, kinds), config(topo, host))
        with L2(h.ns) as l2:
            done = l2.apply(spec)
        assert not done.errors, done.errors
        assert not done.missing
        specs[host] = spec
    return specs


def pings(topo: Topology, src: W, dst_ip: str, deadline: float = 3.0) -> bool:
    """Whether `src` reaches `dst_ip` within `deadline` s (retries cover ARP and setup)."""
    end = time.monotonic() + deadline
    while True:
        done = run(topo.workloads[src.ns], "ping", "-c", "1", "-W", "0.3", dst_ip, check=False)
        if done.returncode == 0 or time.monotonic() > end:
            return done.returncode == 0


def no_ping(topo: Topology, src: W, dst_ip: str) -> bool:
    return run(topo.workloads[src.ns], "ping", "-c", "2", "-i", "0.2", "-W", "0.5", dst_ip,
               check=False).returncode != 0


def links(ns: str) -> str:
    return run(None, "ip", "-n", ns, "-o", "link").stdout


VX = {NET_A: ("vxlan", 100), NET_B: ("vxlan", 200)}


@pytest.fixture
def two_hosts() -> Iterator[tuple[Topology, list[W]]]:
    """host1: w1, w3 on A; host2: w2 on A. All plugged and applied."""
    with topology(["host1", "host2"], workloads=["w1", "w2", "w3"]) as topo:
        ws = [W(pid(0x101), NET_A, "host1", "w1", "10.0.0.1"),
              W(pid(0x202), NET_A, "host2", "w2", "10.0.0.2"),
              W(pid(0x303), NET_A, "host1", "w3", "10.0.0.3")]
        plug_all(topo, ws)
        apply_all(topo, ws, VX)
        yield topo, ws


def test_vxlan_ping_across_hosts_and_on_one_host(two_hosts: tuple[Topology, list[W]]) -> None:
    topo, (w1, w2, w3) = two_hosts
    assert pings(topo, w1, w2.ip)
    assert pings(topo, w1, w3.ip)
    assert pings(topo, w2, w3.ip)
    fdb = run(None, "bridge", "-n", topo.hosts["host1"].ns, "fdb", "show", "dev",
              vxlan_name(100)).stdout
    assert f"00:00:00:00:00:00 dst {topo.hosts['host2'].underlay_ip}" in fdb
    assert f"{w2.mac} dst {topo.hosts['host2'].underlay_ip}" in fdb


def test_second_apply_is_a_noop(two_hosts: tuple[Topology, list[W]]) -> None:
    topo, ws = two_hosts
    for host, h in topo.hosts.items():
        spec = host_spec(snapshot(topo, host, ws, VX), config(topo, host))
        with L2(h.ns) as l2:
            assert l2.plan(spec).steps == ()
            assert l2.apply(spec).steps == ()


def test_read_actual_agrees_with_iproute2(two_hosts: tuple[Topology, list[W]]) -> None:
    """The raw-netlink read (`rtnl`) against `ip -d -j link` and `bridge -j fdb`: the same
    links and fields, and only our VXLAN devices' static entries of the FDB (not what the
    bridge learned from the traffic below)."""
    topo, (w1, w2, _) = two_hosts
    assert pings(topo, w1, w2.ip)
    h1 = topo.hosts["host1"].ns
    with L2(h1) as l2:
        got = l2.read_actual()
    links = json.loads(run(None, "ip", "-n", h1, "-d", "-j", "link", "show").stdout)
    fdb = json.loads(run(None, "bridge", "-n", h1, "-j", "fdb", "show").stdout)
    assert {t.name: (t.bridge, t.mtu, t.up) for t in got.taps} == {
        k["ifname"]: (k["master"], k["mtu"], "UP" in k["flags"])
        for k in links if k["ifname"].startswith(TAP_PREFIX)}
    assert [(b.name, b.mtu, b.up) for b in got.bridges] == [
        (k["ifname"], k["mtu"], "UP" in k["flags"]) for k in links
        if k["ifname"].startswith(BRIDGE_PREFIX)]
    [vx] = [k for k in links if k.get("linkinfo", {}).get("info_kind") == "vxlan"]
    data = vx["linkinfo"]["info_data"]
    assert got.vxlans == (Vxlan(vx["ifname"], data["id"], data["local"], vx["master"],
                                vx["mtu"], data["port"], bool(data["learning"]), True),)
    assert len(got.fdb) == 2 and set(got.fdb) == {
        FdbEntry(e["ifname"], e["mac"], e["dst"]) for e in fdb
        if e.get("ifname") == vx["ifname"] and e.get("dst") and "self" in e["flags"]}
    assert any(e.get("master") for e in fdb), "the bridge learned something"


@pytest.mark.parametrize("breakage", [
    ["ip", "link", "del", bridge_name(NET_A)],
    ["ip", "link", "del", "vxlan-100"],
    ["bridge", "fdb", "flush", "dev", "vxlan-100", "self", "permanent"],
    ["ip", "link", "set", tap_name(pid(0x101)), "nomaster"],
    ["ip", "link", "set", "vxlan-100", "down"],
], ids=["bridge", "vxlan", "fdb", "tap-nomaster", "vxlan-down"])
def test_converges_after_breakage(two_hosts: tuple[Topology, list[W]],
                                  breakage: list[str]) -> None:
    topo, ws = two_hosts
    w1, w2, _ = ws
    h1 = topo.hosts["host1"].ns
    run(h1, *breakage)
    assert no_ping(topo, w1, w2.ip)
    spec = host_spec(snapshot(topo, "host1", ws, VX), config(topo, "host1"))
    with L2(h1) as l2:
        done = l2.apply(spec)
        assert done.steps and not done.errors and not done.missing
        assert l2.plan(spec).steps == ()
    assert pings(topo, w1, w2.ip)


def test_networks_are_isolated_even_with_the_same_addresses() -> None:
    with topology(["host1", "host2"], workloads=["a1", "a2", "b1", "b2"]) as topo:
        a1 = W(pid(0xa01), NET_A, "host1", "a1", "10.0.0.1")
        a2 = W(pid(0xa02), NET_A, "host2", "a2", "10.0.0.2")
        b1 = W(pid(0xb01), NET_B, "host1", "b1", "10.0.0.3")
        b2 = W(pid(0xb02), NET_B, "host2", "b2", "10.0.0.2")
        ws = [a1, a2, b1, b2]
        plug_all(topo, ws)
        apply_all(topo, ws, VX)
        assert pings(topo, a1, "10.0.0.2")  # a2, on A
        assert pings(topo, b1, "10.0.0.2")  # b2, on B: same address, other network
        # 10.0.0.2 was answered by A's a2, and b2 never saw A's ARP for it
        assert a2.mac in run(topo.workloads["a1"], "ip", "neigh", "show", "10.0.0.2").stdout
        assert a1.mac not in run(topo.workloads["b2"], "ip", "neigh", "show").stdout
        assert no_ping(topo, a1, b1.ip)  # B's address, seen from A: nobody answers
        assert no_ping(topo, b2, a1.ip)


def test_missing_tap_is_reported_then_bound_once_plugged() -> None:
    with topology(["host1"], workloads=["w1", "w2"]) as topo:
        w1 = W(pid(0xc01), NET_A, "host1", "w1", "10.0.0.1")
        w2 = W(pid(0xc02), NET_A, "host1", "w2", "10.0.0.2")
        plug_all(topo, [w1])
        spec = host_spec(snapshot(topo, "host1", [w1, w2], {NET_A: ("local", None)}),
                         config(topo, "host1"))
        with L2(topo.hosts["host1"].ns) as l2:
            assert l2.apply(spec).missing == (w2.port_id,)
            plug_all(topo, [w2], mtu=1500)
            done = l2.apply(spec)
            assert done.missing == () and not done.errors
        assert pings(topo, w1, w2.ip)


def test_removed_port_and_network_leave_no_trace(two_hosts: tuple[Topology, list[W]]) -> None:
    topo, (w1, w2, w3) = two_hosts
    h1 = topo.hosts["host1"].ns
    # w3's port is deleted: the loop applies the new spec (it deletes the tap) ...
    spec = host_spec(snapshot(topo, "host1", [w1, w2], VX), config(topo, "host1"))
    with L2(h1) as l2:
        assert not l2.apply(spec).errors
    assert tap_name(w3.port_id) not in links(h1)
    assert "eth0" not in links(topo.workloads["w3"])
    unplug(w3.port_id, host_netns=h1)  # ... and unplug after it is harmless
    assert pings(topo, w1, w2.ip)
    # the last local port goes: the network's bridge and VXLAN device go too
    unplug(w1.port_id, host_netns=h1)
    spec = host_spec(snapshot(topo, "host1", [w2], VX), config(topo, "host1"))
    with L2(h1) as l2:
        assert not l2.apply(spec).errors
        assert l2.read_actual() == L2Spec()
    left = links(h1)
    assert all(p not in left for p in ("tap", "brq", "vxlan-")), left


def test_flat_network_over_the_physical_interface() -> None:
    with topology(["host1", "host2"], workloads=["w1", "w2"]) as topo:
        w1 = W(pid(0xd01), NET_A, "host1", "w1", "10.0.0.1")
        w2 = W(pid(0xd02), NET_A, "host2", "w2", "10.0.0.2")
        plug_all(topo, [w1, w2], mtu=1500)
        flat = {NET_A: ("flat", None)}
        apply_all(topo, [w1, w2], flat)
        assert pings(topo, w1, w2.ip)
        # the network goes: the physical interface is released, not deleted
        h1 = topo.hosts["host1"].ns
        unplug(w1.port_id, host_netns=h1)
        with L2(h1) as l2:
            assert not l2.apply(host_spec(snapshot(topo, "host1", [w2], flat),
                                          config(topo, "host1"))).errors
        assert "pn0" in links(h1) and "master" not in run(
            None, "ip", "-n", h1, "-o", "link", "show", "pn0").stdout


def test_admin_down_port_carries_no_traffic(two_hosts: tuple[Topology, list[W]]) -> None:
    topo, (w1, w2, w3) = two_hosts
    snap = snapshot(topo, "host1", [w1, w2, w3], VX)
    down = replace(snap, ports=tuple(replace(p, admin_state_up=p.id != w3.port_id)
                                     for p in snap.ports))
    with L2(topo.hosts["host1"].ns) as l2:
        assert not l2.apply(host_spec(down, config(topo, "host1"))).errors
    assert no_ping(topo, w1, w3.ip)
    assert pings(topo, w1, w2.ip)


def test_link_events_report_a_plugged_tap() -> None:
    with topology(["host1"], workloads=["w1"]) as topo:
        w1 = W(pid(0xe01), NET_A, "host1", "w1", "10.0.0.1")

        async def first_event() -> tuple[str, bool]:
            events = alink_events(topo.hosts["host1"].ns)
            waiter = asyncio.ensure_future(anext(events))
            await asyncio.sleep(0.1)  # the socket is bound before the tap appears
            await asyncio.to_thread(plug_all, topo, [w1])
            ev = await asyncio.wait_for(waiter, 5)
            await events.aclose()
            return ev.name, ev.present

        assert asyncio.run(first_event()) == (tap_name(w1.port_id), True)


def _vlan_supported() -> bool:
    with topology(["probe"]) as topo:
        return run(None, "ip", "-n", topo.hosts["probe"].ns, "link", "add", "link", "pn0",
                   "name", "pn0.9", "type", "vlan", "id", "9", check=False).returncode == 0


def test_vlan_network_over_a_sub_interface() -> None:
    if not _vlan_supported():
        pytest.skip("kernel without 802.1Q (CONFIG_VLAN_8021Q)")
    with topology(["host1", "host2"], workloads=["w1", "w2"]) as topo:
        w1 = W(pid(0xf01), NET_A, "host1", "w1", "10.0.0.1")
        w2 = W(pid(0xf02), NET_A, "host2", "w2", "10.0.0.2")
        plug_all(topo, [w1, w2], mtu=1500)
        vlan = {NET_A: ("vlan", 42)}
        apply_all(topo, [w1, w2], vlan)
        assert pings(topo, w1, w2.ip)
        h1 = topo.hosts["host1"].ns
        run(h1, "ip", "link", "del", "pn0.42")
        with L2(h1) as l2:
            spec = host_spec(snapshot(topo, "host1", [w1, w2], vlan), config(topo, "host1"))
            assert not l2.apply(spec).errors and l2.plan(spec).steps == ()
        assert pings(topo, w1, w2.ip)
