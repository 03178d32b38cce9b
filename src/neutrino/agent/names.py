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
DHCP_NETNS_SEPARATOR = "@"  # between the network id and the agent's own namespace


def dhcp_netns(network_id: str, host_netns: str | None = None) -> str:
    """The namespace where this host serves DHCP for a network (Neutron's qdhcp-<id>).

    Namespace names are machine-wide, and an agent that runs in a named namespace
    (`--netns`: several hosts on one machine, as the tests and labs do) is one of several
    serving the same network here: its namespaces carry its own namespace's name, so two
    agents never take each other's."""
    name = DHCP_NETNS_PREFIX + network_id
    return f"{name}{DHCP_NETNS_SEPARATOR}{host_netns}" if host_netns else name


def dhcp_network_of(netns_name: str, host_netns: str | None = None) -> str | None:
    """The network id of `netns_name` if it is a DHCP namespace of the agent in `host_netns`
    (`dhcp_netns`'s inverse), else None."""
    if not netns_name.startswith(DHCP_NETNS_PREFIX):
        return None
    rest = netns_name.removeprefix(DHCP_NETNS_PREFIX)
    network_id, sep, owner = rest.partition(DHCP_NETNS_SEPARATOR)
    if (owner if sep else None) != (host_netns or None) or not network_id:
        return None
    return network_id
