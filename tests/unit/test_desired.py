"""host_spec (pure): snapshot -> the L2 objects one host should have; and the pure diff."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.desired import (
    FLOOD_MAC,
    Bridge,
    FdbEntry,
    HostConfig,
    L2Spec,
    Tap,
    Uplink,
    Vxlan,
    host_spec,
)
from neutrino.agent.linux.l2 import (
    RELEASE,
    AddFdb,
    CreateBridge,
    CreateVlan,
    CreateVxlan,
    DeleteLink,
    DelFdb,
    SetLink,
    plan,
)
from neutrino.agent.names import bridge_name, tap_name, vlan_name, vxlan_name
from neutrino.wire.snapshot import (
    HostSnapshot,
    RemotePort,
    SnapshotNetwork,
    SnapshotPeer,
    SnapshotPort,
)

LOCAL = "192.0.2.1"
CONFIG = HostConfig(local_ip=LOCAL, physical_interfaces={"physnet1": "eth1"})


def net(i: int, kind: str = "vxlan", **kw: object) -> SnapshotNetwork:
    base = SnapshotNetwork(id=f"{i:08x}-0000-4000-8000-000000000000", network_type=kind,
                           physical_network="physnet1" if kind in ("flat", "vlan") else None,
                           segmentation_id=100 + i if kind in ("vxlan", "vlan") else None,
                           mtu=1450 if kind == "vxlan" else 1500)
    return replace(base, **kw)  # type: ignore[arg-type]


def port(i: int, network: SnapshotNetwork, up: bool = True) -> SnapshotPort:
    return SnapshotPort(id=f"{i:08x}-1111-4000-8000-000000000000", network_id=network.id,
                        mac_address=f"fa:16:3e:00:00:{i:02x}", fixed_ips=(),
                        admin_state_up=up, device_owner="", port_security_enabled=True,
                        security_groups=(), allowed_address_pairs=(), revision_number=1,
                        status="DOWN")


def test_vxlan_network() -> None:
    n = net(1, remote_vteps=("192.0.2.2", "192.0.2.3", LOCAL),
            remote_ports=(RemotePort("FA:16:3E:AA:00:01", ("10.0.0.9",), "192.0.2.2"),))
    p = port(1, n)
    spec = host_spec(HostSnapshot("h", 1, networks=(n,), ports=(p,)), CONFIG)
    br, vx = bridge_name(n.id), vxlan_name(101)
    assert spec == L2Spec(
        bridges=(Bridge(br, 1450),),
        vxlans=(Vxlan(vx, 101, LOCAL, br, 1450),),
        fdb=(FdbEntry(vx, FLOOD_MAC, "192.0.2.2"), FdbEntry(vx, FLOOD_MAC, "192.0.2.3"),
             FdbEntry(vx, "fa:16:3e:aa:00:01", "192.0.2.2")),
        taps=(Tap(tap_name(p.id), br, 1450, True),))
    assert spec.vxlans[0].dstport == 4789 and not spec.vxlans[0].learning


def test_vlan_flat_local() -> None:
    v, f, lo = net(1, "vlan"), net(2, "flat"), net(3, "local")
    spec = host_spec(HostSnapshot("h", 1, networks=(v, f, lo),
                                  ports=(port(1, v), port(2, f), port(3, lo))), CONFIG)
    assert spec.uplinks == tuple(sorted([
        Uplink(vlan_name("eth1", 101), bridge_name(v.id), "eth1", 101, 1500),
        Uplink("eth1", bridge_name(f.id))], key=lambda u: u.name))
    assert {b.name for b in spec.bridges} == {bridge_name(n.id) for n in (v, f, lo)}
    assert spec.vxlans == () and spec.fdb == () and spec.unbindable == ()


@given(st.lists(st.integers(0, 255), unique=True, max_size=5),
       st.sampled_from(["vxlan", "vlan", "flat", "local"]))
def test_peers_are_dns_material_and_never_reach_l2(others: list[int], kind: str) -> None:
    """The network's ports bound elsewhere or nowhere (`peers`, protocol 1.2) change no L2
    object on any network type: FDB entries come from remote_ports, and only on VXLAN."""
    peers = tuple(SnapshotPeer(f"{m:08x}-5555-4000-8000-000000000000", (("s", f"10.0.0.{m}"),))
                  for m in others)
    n = net(1, kind)
    ports = (port(1, n),)
    without = host_spec(HostSnapshot("h", 1, networks=(n,), ports=ports), CONFIG)
    with_peers = host_spec(HostSnapshot("h", 1, networks=(replace(n, peers=peers),),
                                        ports=ports), CONFIG)
    assert with_peers == without and with_peers.fdb == ()


def test_unbindable_networks_are_reported_not_built() -> None:
    no_physnet = net(1, "vlan", physical_network="physnet9")
    vx = net(2)
    odd = net(3, "gre")
    ports = (port(1, no_physnet), port(2, vx), port(3, odd))
    snap = HostSnapshot("h", 1, networks=(no_physnet, vx, odd), ports=ports)
    spec = host_spec(snap, HostConfig(local_ip=None, physical_interfaces={}))
    assert spec.bridges == spec.taps == ()
    assert [u.port_id for u in spec.unbindable] == [p.id for p in ports]
    assert "physnet9" in spec.unbindable[0].reason and "local_ip" in spec.unbindable[1].reason


def test_admin_down_port_or_network_makes_a_down_tap() -> None:
    n, m = net(1), net(2, admin_state_up=False)
    spec = host_spec(HostSnapshot("h", 1, networks=(n, m),
                                  ports=(port(1, n, up=False), port(2, n), port(3, m))),
                     CONFIG)
    assert [t.up for t in spec.taps] == [False, True, False]


def test_a_second_flat_network_on_one_interface_is_unbindable() -> None:
    f1, f2 = net(1, "flat"), net(2, "flat")
    spec = host_spec(HostSnapshot("h", 1, networks=(f1, f2), ports=(port(1, f1), port(2, f2))),
                     CONFIG)
    assert spec.uplinks == (Uplink("eth1", bridge_name(f1.id)),)
    assert [u.port_id for u in spec.unbindable] == [port(2, f2).id]


# -- properties ---------------------------------------------------------------------------

@st.composite
def snapshots(draw: st.DrawFn) -> HostSnapshot:
    kinds = draw(st.lists(st.sampled_from(["vxlan", "vlan", "flat", "local"]),
                          min_size=1, max_size=5))
    # the server allows one flat network per physnet (a second one is unbindable, tested above)
    kinds = [k if k != "flat" or k not in kinds[:i] else "local" for i, k in enumerate(kinds)]
    vteps = ["192.0.2.2", "192.0.2.3", "192.0.2.4", LOCAL]
    nets = []
    for i, kind in enumerate(kinds):
        remote = draw(st.lists(st.tuples(st.integers(0, 255), st.sampled_from(vteps)),
                               max_size=6, unique_by=lambda r: r[0]))  # a MAC is unique
        nets.append(net(i, kind,
                        remote_vteps=tuple(draw(st.sets(st.sampled_from(vteps)))),
                        remote_ports=tuple(RemotePort(f"fa:16:3e:01:{i:02x}:{m:02x}", (), v)
                                           for m, v in remote)))
    owners = draw(st.lists(st.integers(0, len(nets) - 1), max_size=12))
    ports = tuple(port(j, nets[k], up=draw(st.booleans())) for j, k in enumerate(owners))
    return HostSnapshot("h", 1, networks=tuple(nets), ports=ports)


@given(snapshots())
def test_each_port_has_one_tap_on_its_networks_bridge(snap: HostSnapshot) -> None:
    spec = host_spec(snap, CONFIG)
    taps = {t.name: t for t in spec.taps}
    assert len(taps) == len(spec.taps) == len(snap.ports)
    for p in snap.ports:
        assert taps[tap_name(p.id)].bridge == bridge_name(p.network_id)
        assert taps[tap_name(p.id)].port_id == p.id


@given(snapshots())
def test_no_objects_for_networks_without_local_ports(snap: HostSnapshot) -> None:
    spec = host_spec(snap, CONFIG)
    used = {p.network_id for p in snap.ports}
    assert {b.name for b in spec.bridges} == {bridge_name(n) for n in used}
    assert {u.bridge for u in spec.uplinks} | {v.bridge for v in spec.vxlans} <= {
        b.name for b in spec.bridges}


@given(snapshots())
def test_fdb_matches_remote_ports(snap: HostSnapshot) -> None:
    spec = host_spec(snap, CONFIG)
    used = {p.network_id for p in snap.ports}
    want_unicast, want_flood = set(), set()
    for n in snap.networks:
        if n.id not in used or n.network_type != "vxlan":
            continue
        dev = vxlan_name(n.segmentation_id or 0)
        want_unicast |= {(dev, r.mac_address, r.vtep) for r in n.remote_ports if r.vtep != LOCAL}
        want_flood |= {(dev, FLOOD_MAC, v) for v in n.remote_vteps if v != LOCAL}
    got = {(e.device, e.mac, e.dst) for e in spec.fdb}
    assert {e for e in got if e[1] != FLOOD_MAC} == want_unicast
    assert want_flood <= {e for e in got if e[1] == FLOOD_MAC}
    assert all(e.dst != LOCAL for e in spec.fdb)


@given(snapshots())
def test_spec_is_deterministic_and_the_diff_to_itself_is_empty(snap: HostSnapshot) -> None:
    spec = host_spec(snap, CONFIG)
    assert host_spec(snap, CONFIG) == spec
    assert plan(spec, spec).steps == ()


@given(snapshots(), snapshots())
def test_plan_from_any_state_reaches_the_desired_one(a: HostSnapshot, b: HostSnapshot) -> None:
    """Executing the plan on a model of the kernel lands exactly on the desired spec."""
    have, want = host_spec(a, CONFIG), host_spec(b, CONFIG)
    p = plan(want, have)
    assert simulate(have, p.steps) == replace(
        want, taps=tuple(t for t in want.taps if t.name in {x.name for x in have.taps}),
        unbindable=()), p.steps
    assert set(p.missing) == {t.port_id for t in want.taps} - {
        t.port_id for t in have.taps if t.name in {x.name for x in want.taps}}


def simulate(state: L2Spec, steps: tuple[object, ...]) -> L2Spec:
    """A toy kernel: enough semantics to check that the plan's steps compose."""
    br = {b.name: b for b in state.bridges}
    vx = {v.name: v for v in state.vxlans}
    up = {u.name: u for u in state.uplinks}
    taps = {t.name: replace(t, port_id="") for t in state.taps}
    fdb = set(state.fdb)
    for s in steps:
        match s:
            case DeleteLink(n):
                for d in (br, vx, up, taps):
                    d.pop(n, None)
                fdb = {e for e in fdb if e.device != n}
                if n.startswith("brq"):  # the kernel releases a deleted bridge's ports
                    vx = {k: replace(v, bridge=RELEASE) if v.bridge == n else v
                          for k, v in vx.items()}
                    taps = {k: replace(t, bridge=RELEASE) if t.bridge == n else t
                            for k, t in taps.items()}
                    up = {k: replace(u, bridge=RELEASE) if u.bridge == n else u
                          for k, u in up.items()}
            case CreateBridge(b):
                br[b.name] = b
            case CreateVxlan(v):
                vx[v.name] = v
            case CreateVlan(u):
                up[u.name] = u
            case SetLink(n, master, mtu, up_):
                d = next(d for d in (br, vx, up, taps) if n in d) if any(
                    n in d for d in (br, vx, up, taps)) else None
                if d is None:  # a flat uplink enslaved for the first time
                    up[n] = Uplink(n, master or RELEASE, up=bool(up_))
                    continue
                cur = d[n]
                if master is not None:
                    cur = replace(cur, bridge=master)  # type: ignore[type-var]
                if mtu is not None:
                    cur = replace(cur, mtu=mtu)
                if up_ is not None:
                    cur = replace(cur, up=up_)
                d[n] = cur  # type: ignore[assignment]
            case AddFdb(e):
                fdb.add(e)
            case DelFdb(e):
                fdb.discard(e)
            case _:
                raise AssertionError(s)
    # a released foreign interface is no longer ours to report
    up = {k: u for k, u in up.items() if u.bridge != RELEASE or u.vlan_id is not None}
    return L2Spec(tuple(sorted(br.values(), key=lambda b: b.name)),
                  tuple(sorted(vx.values(), key=lambda v: v.name)),
                  tuple(sorted(up.values(), key=lambda u: u.name)), tuple(sorted(fdb)),
                  tuple(sorted(taps.values(), key=lambda t: t.name)))
