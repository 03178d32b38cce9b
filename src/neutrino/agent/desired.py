"""Pure core of the L2 dataplane: one host's snapshot -> the kernel objects it should have.

`host_spec` does no I/O, so it is tested exhaustively (tests/unit/test_desired.py) and the
appliers in `agent.linux` only diff its output against what the kernel has (DESIGN §3,
STYLE habits 4 and 7). Every name comes from `agent.names`, so everything we create carries
our prefix. A network this host cannot realize is not silently skipped: its ports are listed
in `unbindable`, so the loop can report them ERROR with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neutrino.agent.dhcp.desired import serves
from neutrino.agent.names import bridge_name, tap_name, vlan_name, vxlan_name
from neutrino.wire import snapshot as wire

VXLAN_PORT = 4789  # IANA; the Linux default (8472) would not talk to other VTEPs
FLOOD_MAC = "00:00:00:00:00:00"  # an all-zero FDB entry: where to send BUM traffic


@dataclass(frozen=True, slots=True)
class HostConfig:
    """This agent's local facts: its underlay address (VXLAN) and physnet -> interface."""

    local_ip: str | None = None
    physical_interfaces: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Bridge:
    name: str
    mtu: int
    up: bool = True


@dataclass(frozen=True, slots=True)
class Vxlan:
    """A network's VXLAN device: learning off, because the FDB comes from the server."""

    name: str
    vni: int
    local_ip: str
    bridge: str
    mtu: int
    dstport: int = VXLAN_PORT
    learning: bool = False
    up: bool = True


@dataclass(frozen=True, slots=True)
class Uplink:
    """A physical-network attachment on the bridge: the interface itself (flat, `vlan_id`
    None, never created, deleted or resized by us) or a VLAN sub-interface we create."""

    name: str
    bridge: str
    parent: str | None = None  # VLAN: the physnet's interface
    vlan_id: int | None = None
    mtu: int | None = None  # None: leave the interface's MTU alone (flat)
    up: bool = True


@dataclass(frozen=True, slots=True, order=True)
class FdbEntry:
    """A static VXLAN FDB entry: `mac` is reached through the VTEP `dst`. The all-zero MAC
    (FLOOD_MAC) appears once per remote VTEP: head-end replication, no multicast."""

    device: str
    mac: str
    dst: str


@dataclass(frozen=True, slots=True)
class Tap:
    """The host end of a port's veth. It is created by plug (as Nova or a CNI would); L2
    only enslaves it and sets MTU and state. `port_id` is not read back from the kernel, so
    it is left out of equality."""

    name: str
    bridge: str
    mtu: int
    up: bool
    port_id: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Unbindable:
    """A port this host cannot realize, and why (reported as ERROR by the loop)."""

    port_id: str
    network_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class L2Spec:
    """The L2 state of one host. Each tuple is sorted by name, so equal states compare equal."""

    bridges: tuple[Bridge, ...] = ()
    vxlans: tuple[Vxlan, ...] = ()
    uplinks: tuple[Uplink, ...] = ()
    fdb: tuple[FdbEntry, ...] = ()
    taps: tuple[Tap, ...] = ()
    unbindable: tuple[Unbindable, ...] = ()


def host_spec(snapshot: wire.HostSnapshot, config: HostConfig) -> L2Spec:
    """Bridges, VXLAN devices, uplinks, FDB entries and taps for the networks that have a
    port on this host; the taps include the DHCP veth of each network served here.
    Deterministic: the same snapshot always gives an equal spec."""
    ports_by_net: dict[str, list[wire.SnapshotPort]] = {}
    for port in snapshot.ports:
        ports_by_net.setdefault(port.network_id, []).append(port)
    networks = {n.id: n for n in snapshot.networks}

    bridges: list[Bridge] = []
    vxlans: list[Vxlan] = []
    uplinks: list[Uplink] = []
    fdb: set[FdbEntry] = set()
    taps: list[Tap] = []
    unbindable: list[Unbindable] = []

    flat_on: dict[str, str] = {}  # interface -> the flat network that has it
    for net_id, ports in sorted(ports_by_net.items()):
        net = networks.get(net_id)
        reason = _unbindable_reason(net, config)
        if reason is None and net is not None and net.network_type == "flat":
            iface = config.physical_interfaces[net.physical_network or ""]
            if flat_on.setdefault(iface, net.id) != net.id:
                reason = f"{iface} already carries flat network {flat_on[iface]}"
        if net is None or reason is not None:
            unbindable.extend(Unbindable(p.id, net_id, reason or "network not in snapshot")
                              for p in ports)
            continue
        br = bridge_name(net.id)
        bridges.append(Bridge(br, net.mtu))
        if net.network_type == "vxlan":
            assert net.segmentation_id is not None and config.local_ip is not None
            vx = vxlan_name(net.segmentation_id)
            vxlans.append(Vxlan(vx, net.segmentation_id, config.local_ip, br, net.mtu))
            fdb.update(_fdb(vx, net, config.local_ip))
        elif net.network_type in ("flat", "vlan"):
            iface = config.physical_interfaces[net.physical_network or ""]
            if net.network_type == "flat":
                uplinks.append(Uplink(iface, br))
            else:
                assert net.segmentation_id is not None
                uplinks.append(Uplink(vlan_name(iface, net.segmentation_id), br, iface,
                                      net.segmentation_id, net.mtu))
        taps.extend(Tap(tap_name(p.id), br, net.mtu, p.admin_state_up and net.admin_state_up,
                        port_id=p.id) for p in ports)
        if net.dhcp_port is not None and serves(net, ports):
            # The DHCP namespace's veth (created by dhcp.plumbing): named here so that L2
            # enslaves it and never releases it as a stranger on our bridge.
            dhcp_tap = tap_name(net.dhcp_port.id)
            if all(p.id != net.dhcp_port.id for p in ports):
                taps.append(Tap(dhcp_tap, br, net.mtu, net.admin_state_up,
                                port_id=net.dhcp_port.id))

    return L2Spec(
        bridges=tuple(sorted(bridges, key=lambda b: b.name)),
        vxlans=tuple(sorted(vxlans, key=lambda v: v.name)),
        uplinks=tuple(sorted(uplinks, key=lambda u: u.name)),
        fdb=tuple(sorted(fdb)),
        taps=tuple(sorted(taps, key=lambda t: t.name)),
        unbindable=tuple(sorted(unbindable, key=lambda u: u.port_id)),
    )


def _unbindable_reason(net: wire.SnapshotNetwork | None, config: HostConfig) -> str | None:
    if net is None:
        return "network not in snapshot"
    kind = net.network_type
    if kind == "local":
        return None
    if kind == "vxlan":
        if config.local_ip is None:
            return "vxlan network but this host has no local_ip"
        if net.segmentation_id is None:
            return "vxlan network without a VNI"
        return None
    if kind in ("flat", "vlan"):
        if net.physical_network not in config.physical_interfaces:
            return f"physical network {net.physical_network!r} is not on this host"
        if kind == "vlan" and net.segmentation_id is None:
            return "vlan network without a VLAN id"
        return None
    return f"unknown network type {kind!r}"


def _fdb(device: str, net: wire.SnapshotNetwork, local_ip: str) -> set[FdbEntry]:
    """Flood to every remote VTEP; one static entry per remote port. Our own address is
    never a destination (it would loop back), and a MAC listed twice keeps its first VTEP,
    because the kernel holds one unicast entry per MAC."""
    entries = {FdbEntry(device, FLOOD_MAC, vtep)
               for vtep in (*net.remote_vteps, *(r.vtep for r in net.remote_ports))
               if vtep != local_ip}
    seen: set[str] = set()
    for remote in net.remote_ports:
        mac = remote.mac_address.lower()
        if remote.vtep == local_ip or mac in seen:
            continue
        seen.add(mac)
        entries.add(FdbEntry(device, mac, remote.vtep))
    return entries
