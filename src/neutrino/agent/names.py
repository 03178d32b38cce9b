"""Kernel object names the agent owns. Everything it creates carries one of these prefixes,
and it never touches an object without one (STYLE habit 7). Linux names are at most 15
bytes, hence Neutron's convention of a prefix plus the first 11 characters of the id."""

from __future__ import annotations

IFNAMSIZ = 15
BRIDGE_PREFIX = "brq"  # a network's bridge on this host
TAP_PREFIX = "tap"  # the host end of a port's veth
VXLAN_PREFIX = "vxlan-"  # a network's VXLAN device: vxlan-<vni>
VLAN_SEPARATOR = "."  # a VLAN sub-interface: <physical interface>.<vlan id>
NFT_TABLE = "neutrino"  # our nftables tables (inet and bridge families)


def bridge_name(network_id: str) -> str:
    return BRIDGE_PREFIX + network_id[: IFNAMSIZ - len(BRIDGE_PREFIX)]


def tap_name(port_id: str) -> str:
    return TAP_PREFIX + port_id[: IFNAMSIZ - len(TAP_PREFIX)]


def vxlan_name(vni: int) -> str:
    return f"{VXLAN_PREFIX}{vni}"


def vlan_name(interface: str, vlan_id: int) -> str:
    """`eth1.100`; a long interface name is cut so that the whole fits IFNAMSIZ."""
    suffix = f"{VLAN_SEPARATOR}{vlan_id}"
    return interface[: IFNAMSIZ - len(suffix)] + suffix

DHCP_NETNS_PREFIX = "nqdhcp-"  # a network's DHCP namespace on this host


def dhcp_netns(network_id: str) -> str:
    """The namespace where this host serves DHCP for a network (Neutron's qdhcp-<id>)."""
    return DHCP_NETNS_PREFIX + network_id
