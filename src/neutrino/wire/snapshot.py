"""The host snapshot: everything one host's agent needs to compute its desired kernel state.

The server builds it (`GET /v2.0/neutrino/hosts/{host}/snapshot`) from the ports bound to
the host; the agent turns it into bridges, VXLAN FDB entries, veths and nftables rules
(`agent.desired`). Full snapshots are the baseline: a change-log entry only tells the agent
to look again (STYLE habit 5). Addresses travel as strings, in canonical form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any


@dataclass(frozen=True, slots=True)
class AgentReport:
    """Agent -> server heartbeat (`POST /v2.0/neutrino/agents`), every `report_interval` s.

    `applied_seq` is the newest change-log seq the agent has converged to (as OVN's nb_cfg):
    "has everything up to N reached host H?" is answerable from the agents list."""

    host: str
    protocol: str
    local_ip: str | None = None  # underlay address for VXLAN
    physical_interfaces: dict[str, str] = field(default_factory=dict)  # physnet -> interface
    applied_seq: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> AgentReport:
        return AgentReport(
            host=str(data["host"]), protocol=str(data["protocol"]),
            local_ip=data.get("local_ip"),
            physical_interfaces=dict(data.get("physical_interfaces") or {}),
            applied_seq=int(data.get("applied_seq") or 0),
        )


@dataclass(frozen=True, slots=True)
class PortStatus:
    """Agent -> server: what the agent achieved for one port (`PUT .../ports/{id}/status`).

    The server ignores a report whose `revision` is older than the port's (the port changed
    since the agent looked; its next report will be about the new revision)."""

    port_id: str
    status: str  # ACTIVE | DOWN | ERROR
    revision: int
    reason: str = ""  # why, when ERROR

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> PortStatus:
        return PortStatus(port_id=str(data["port_id"]), status=str(data["status"]),
                          revision=int(data["revision"]), reason=str(data.get("reason") or ""))


@dataclass(frozen=True, slots=True)
class SnapshotSubnet:
    id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    enable_dhcp: bool
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination cidr, nexthop)
    ipv6_address_mode: str | None = None
    ipv6_ra_mode: str | None = None


@dataclass(frozen=True, slots=True)
class RemotePort:
    """A port of the network bound to another host: its MAC is reached through `vtep`."""

    mac_address: str
    ip_addresses: tuple[str, ...]
    vtep: str


@dataclass(frozen=True, slots=True)
class SnapshotPeer:
    """(1.2) A port of the network not bound to this host (bound to another one, or to
    none: the DHCP port, a router's): what the internal DNS needs to answer for its name.
    Never a DHCP client here (DHCP is distributed: its own host serves it)."""

    port_id: str
    fixed_ips: tuple[tuple[str, str], ...]  # (subnet_id, ip_address), as SnapshotPort's
    dns_name: str = ""


@dataclass(frozen=True, slots=True)
class SnapshotNetwork:
    id: str
    network_type: str  # local | flat | vlan | vxlan
    physical_network: str | None
    segmentation_id: int | None
    mtu: int
    admin_state_up: bool = True
    subnets: tuple[SnapshotSubnet, ...] = ()
    # VXLAN: the underlay addresses of the other hosts with ports on this network (flood list)
    # and their ports (static FDB entries).
    remote_vteps: tuple[str, ...] = ()
    remote_ports: tuple[RemotePort, ...] = ()
    # DHCP (protocol 1.1): the network's `network:dhcp` port, the same on every host; each
    # host's agent serves DHCP for its own ports from it (None when no subnet has DHCP).
    dhcp_port: SnapshotPort | None = None
    dns_domain: str = ""
    # DNS (protocol 1.2), networks this host serves DHCP for: the network's other ports, any
    # host's or none's, by port id, so that their names resolve here too. Unrelated to
    # `remote_ports` (FDB material, VXLAN only, ports with a VTEP).
    peers: tuple[SnapshotPeer, ...] = ()


@dataclass(frozen=True, slots=True)
class SnapshotPort:
    id: str
    network_id: str
    mac_address: str
    fixed_ips: tuple[tuple[str, str], ...]  # (subnet_id, ip_address)
    admin_state_up: bool
    device_owner: str
    port_security_enabled: bool
    security_groups: tuple[str, ...]
    allowed_address_pairs: tuple[tuple[str, str], ...]  # (ip_address or cidr, mac_address)
    revision_number: int
    status: str
    # (opt_name, opt_value, ip_version): Neutron's extra_dhcp_opts, served by the DHCP driver.
    extra_dhcp_opts: tuple[tuple[str, str, int], ...] = ()
    dns_name: str = ""


@dataclass(frozen=True, slots=True)
class SnapshotRule:
    id: str
    security_group_id: str
    direction: str  # ingress | egress
    ethertype: str  # IPv4 | IPv6
    protocol: str | None  # a name (tcp, udp, icmp, ipv6-icmp, ...) or a number as text
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """The server's state for one host as of change-log `seq`."""

    host: str
    seq: int
    networks: tuple[SnapshotNetwork, ...] = ()
    ports: tuple[SnapshotPort, ...] = ()
    rules: tuple[SnapshotRule, ...] = ()  # of every group a port here is in
    # Remote groups the rules name -> the addresses of their member ports (all hosts),
    # fixed IPs and allowed-address-pair addresses alike.
    group_members: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> HostSnapshot:
        return HostSnapshot(
            host=str(data["host"]),
            seq=int(data["seq"]),
            networks=tuple(_network(n) for n in data.get("networks", ())),
            ports=tuple(_port(p) for p in data.get("ports", ())),
            rules=tuple(SnapshotRule(**_known(SnapshotRule, r)) for r in data.get("rules", ())),
            group_members={k: tuple(v) for k, v in (data.get("group_members") or {}).items()},
        )


@cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the keys `cls` does not know: a newer minor version of the protocol
    only adds keys, and an older reader must not fail on them."""
    names = _field_names(cls)
    return data if names.issuperset(data) else {k: v for k, v in data.items() if k in names}


def _pairs(items: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(a), str(b)) for a, b in items or ())


def _network(data: dict[str, Any]) -> SnapshotNetwork:
    subnets = tuple(
        SnapshotSubnet(**{**_known(SnapshotSubnet, s),
                          "dns_nameservers": tuple(s.get("dns_nameservers") or ()),
                          "host_routes": _pairs(s.get("host_routes"))})
        for s in data.get("subnets", ()))
    remote_ports = tuple(
        RemotePort(mac_address=r["mac_address"], ip_addresses=tuple(r["ip_addresses"]),
                   vtep=r["vtep"])
        for r in data.get("remote_ports", ()))
    peers = tuple(
        SnapshotPeer(port_id=str(p["port_id"]), fixed_ips=_pairs(p.get("fixed_ips")),
                     dns_name=str(p.get("dns_name") or ""))
        for p in data.get("peers") or ())
    dhcp_port = data.get("dhcp_port")
    return SnapshotNetwork(
        **{**_known(SnapshotNetwork, data), "subnets": subnets, "remote_ports": remote_ports,
           "remote_vteps": tuple(data.get("remote_vteps") or ()),
           "dhcp_port": None if dhcp_port is None else _port(dhcp_port), "peers": peers})


def _port(data: dict[str, Any]) -> SnapshotPort:
    return SnapshotPort(**{
        **_known(SnapshotPort, data),
        "fixed_ips": _pairs(data.get("fixed_ips")),
        "security_groups": tuple(data.get("security_groups") or ()),
        "allowed_address_pairs": _pairs(data.get("allowed_address_pairs")),
        "extra_dhcp_opts": tuple((str(n), str(v), int(ipv))
                                 for n, v, ipv in data.get("extra_dhcp_opts") or ()),
    })
