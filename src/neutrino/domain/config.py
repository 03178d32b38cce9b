"""Server settings that shape behaviour (not how to reach things): pure data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SegmentRanges:
    """Tenant segmentation ids per type: VXLAN VNIs, and VLAN ids per physical network."""

    vni: tuple[tuple[int, int], ...] = ((1, 65535),)
    vlan: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    flat_networks: tuple[str, ...] = ("*",)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    global_physnet_mtu: int = 1500
    # Type drivers, by name in the `neutrino.type_drivers` entry-point group (Neutron's ML2
    # `type_drivers`, in its order); a provider network of any other type is refused.
    type_drivers: tuple[str, ...] = ("local", "flat", "vlan", "vxlan")
    # Types tenant networks are allocated from, tried in order; each must be in type_drivers.
    tenant_network_types: tuple[str, ...] = ("vxlan",)
    segments: SegmentRanges = field(default_factory=SegmentRanges)
    # Pagination: 0 = unlimited, like Neutron's default.
    max_page_size: int = 0
    default_quotas: dict[str, int] = field(
        default_factory=lambda: {
            "network": 100,
            "subnet": 100,
            "port": 500,
            "router": 10,
            "floatingip": 50,
            "security_group": 10,
            "security_group_rule": 100,
            "subnetpool": -1,
            "rbac_policy": 10,
        }
    )
    change_log_keep: int = 100_000
    # Seconds between compactions of the change log down to `change_log_keep`; 0 = never.
    change_log_compact_every: float = 60.0
    base_mac: str = "fa:16:3e:00:00:00"
    # Names ports' addresses get (dns_assignment, the agents' DNS); under this default, as in
    # Neutron, a port's own dns_name is not kept and addresses are named host-<address>.
    dns_domain: str = "openstacklocal."
    # The IPAM driver, by its name in the `neutrino.ipam` entry-point group.
    ipam_driver: str = "builtin"
    # Mechanism drivers, by name in the `neutrino.mechanism_drivers` entry-point group, asked
    # in order to bind a port; the first that binds wins.
    mechanism_drivers: tuple[str, ...] = ("linux",)
    # Seconds after its last heartbeat that an agent counts as down (Neutron's default).
    agent_down_time: float = 75
