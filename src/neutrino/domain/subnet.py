"""Subnets: an IP range on a network, with its gateway, pools and DHCP settings.

The rules here are pure and follow Neutron's `_validate_subnet` and `ipam_backend_mixin` in
their order, so that a request that breaks two rules gets the error Neutron would give first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from neutrino.domain import addresses
from neutrino.domain.errors import BadRequest, Conflict, InvalidInput
from neutrino.domain.standard import UNSET, Standard
from neutrino.domain.values import HostRoute, IPAddress, IPNetwork, IpRange, net_str

SLAAC: Final = "slaac"
DHCPV6_STATEFUL: Final = "dhcpv6-stateful"
DHCPV6_STATELESS: Final = "dhcpv6-stateless"
IPV6_MODES: Final = (DHCPV6_STATEFUL, DHCPV6_STATELESS, SLAAC)
AUTO_ADDRESS_MODES: Final = (SLAAC, DHCPV6_STATELESS)
IPV4_MIN_MTU: Final = 68
IPV6_MIN_MTU: Final = 1280


@dataclass(frozen=True, slots=True, kw_only=True)
class Subnet(Standard):
    """A subnet as stored. `gateway_ip` None means no gateway; pools are inclusive ranges."""

    network_id: str
    ip_version: int
    cidr: IPNetwork
    gateway_ip: IPAddress | None = None
    allocation_pools: tuple[IpRange, ...] = ()
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    enable_dhcp: bool = True
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    subnetpool_id: str | None = None
    # subnet-external-network: the network's router:external, derived on read (not stored).
    external: bool = False

    @property
    def is_auto_address(self) -> bool:
        """SLAAC / DHCPv6-stateless: hosts derive their address from the MAC (EUI-64)."""
        return is_auto_address(self.ipv6_ra_mode, self.ipv6_address_mode)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetCreate:
    """A validated POST body. UNSET fields are decided by the service (gateway, pools, cidr
    from a subnet pool); `gateway_ip=None` is an explicit "no gateway"."""

    network_id: str
    ip_version: int
    project_id: Any = UNSET
    name: str = ""
    description: str = ""
    cidr: Any = UNSET  # IPNetwork | None
    prefixlen: Any = UNSET  # int
    subnetpool_id: Any = UNSET  # str | None
    use_default_subnetpool: bool = False
    gateway_ip: Any = UNSET  # IPAddress | None
    allocation_pools: Any = UNSET  # tuple[IpRange, ...]
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    enable_dhcp: bool = True
    ipv6_ra_mode: Any = UNSET  # str | None
    ipv6_address_mode: Any = UNSET  # str | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetUpdate:
    """A validated PUT body: only the fields the request named are set."""

    name: Any = UNSET
    description: Any = UNSET
    gateway_ip: Any = UNSET
    allocation_pools: Any = UNSET
    dns_nameservers: Any = UNSET
    host_routes: Any = UNSET
    enable_dhcp: Any = UNSET


def bad_subnets_request(msg: str) -> BadRequest:
    """Neutron's generic `BadRequest(resource='subnets', msg=...)`."""
    return BadRequest(f"Bad subnets request: {msg}.", type_name="BadRequest")


def is_auto_address(ra_mode: str | None, address_mode: str | None) -> bool:
    """Neutron's ipv6_utils.is_auto_address_subnet."""
    return address_mode in AUTO_ADDRESS_MODES or (
        address_mode is None and ra_mode in AUTO_ADDRESS_MODES
    )


def given(value: Any) -> Any:
    """UNSET -> None, anything else unchanged (for attributes where null means 'not set')."""
    return None if value is UNSET else value


# --------------------------------------------------------------------------- create


def validate_create(req: SubnetCreate, cidr: IPNetwork | None) -> None:
    """The request checks of Neutron's `_validate_subnet` for a new subnet.

    `cidr` is the requested one (None when a subnet pool will choose it)."""
    version = req.ip_version
    if cidr is not None:
        addresses.validate_subnet_cidr(cidr, version, enable_dhcp=req.enable_dhcp)
    gateway = req.gateway_ip
    if gateway is not UNSET and gateway is not None:
        if cidr is not None:
            addresses.validate_gateway(cidr, gateway)
        elif gateway.version != version:
            raise InvalidInput(
                f"gateway_ip '{gateway}' does not match the ip_version '{version}'"
            )
    addresses.validate_dns(version, req.dns_nameservers)
    addresses.validate_host_routes(req.host_routes, version)
    check_ipv6_modes(
        version, given(req.ipv6_ra_mode), given(req.ipv6_address_mode), req.enable_dhcp, cidr
    )


def check_ipv6_modes(
    ip_version: int,
    ra_mode: str | None,
    address_mode: str | None,
    enable_dhcp: bool,
    cidr: IPNetwork | None,
) -> None:
    """IPv6 modes only on IPv6 subnets with DHCP; equal when both given; SLAAC needs a /64."""
    if ip_version == 4:
        if ra_mode is not None:
            raise InvalidInput("ipv6_ra_mode is not valid when ip_version is 4")
        if address_mode is not None:
            raise InvalidInput("ipv6_address_mode is not valid when ip_version is 4")
        return
    if (ra_mode or address_mode) and not enable_dhcp:
        raise InvalidInput(
            "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False"
        )
    if ra_mode and address_mode and ra_mode != address_mode:
        raise InvalidInput(
            f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' "
            "is not valid. If both attributes are set, they must be the same value"
        )
    if (
        cidr is not None
        and (ra_mode or address_mode)
        and is_auto_address(ra_mode, address_mode)
        and cidr.prefixlen != 64
    ):
        raise InvalidInput(
            f"Invalid CIDR {net_str(cidr)} for IPv6 address mode. OpenStack uses the EUI-64 "
            "address format, which requires the prefix to be /64"
        )


def gateway_and_pools(
    cidr: IPNetwork,
    gateway: Any,
    pools: Any,
    *,
    from_subnetpool: bool = False,
) -> tuple[IPAddress | None, tuple[IpRange, ...]]:
    """The gateway (default: `addresses.default_gateway`) and the pools (default: the cidr
    around the gateway), checked against the cidr and each other."""
    gateway_ip = (
        addresses.default_gateway(cidr, from_subnetpool=from_subnetpool)
        if gateway is UNSET
        else gateway
    )
    if pools is UNSET:
        return gateway_ip, addresses.default_allocation_pools(cidr, gateway_ip)
    addresses.validate_allocation_pools(pools, cidr, gateway_ip)
    return gateway_ip, tuple(pools)


def check_network_mtu(network_id: str, mtu: int, ip_version: int) -> None:
    """A network whose MTU is below what IPv4/IPv6 need cannot carry such a subnet."""
    if not mtu or mtu >= IPV6_MIN_MTU:
        return
    if mtu < IPV4_MIN_MTU:
        raise _mtu_conflict(network_id, IPV4_MIN_MTU)
    if ip_version == 6:
        raise _mtu_conflict(network_id, IPV6_MIN_MTU)


def _mtu_conflict(network_id: str, mtu: int) -> Conflict:
    return Conflict(
        f"MTU of {network_id} is not valid, subnet requires a minimum of {mtu}",
        type_name="NetworkMTUSubnetConflict",
    )


def check_no_overlap(cidr: IPNetwork, network_id: str, others: Sequence[Subnet]) -> None:
    """No /0, and no two subnets of one network share an address (Neutron's
    `_validate_subnet_cidr`; the other subnet is not named, as in Neutron)."""
    if cidr.prefixlen == 0:
        raise InvalidInput("0 is not allowed as CIDR prefix length")
    if any(addresses.cidrs_overlap(cidr, s.cidr) for s in others):
        raise InvalidInput(
            f"Requested subnet with cidr: {net_str(cidr)} for network: {network_id} "
            "overlaps with another subnet"
        )


def check_pool_affinity(
    others: Sequence[Subnet],
    ip_version: int,
    subnetpool_id: str | None,
    pool_scope_id: str | None,
    network_scope_id: str | None,
) -> None:
    """Subnets of one family on a network come from one subnet pool, or, with address scopes,
    from pools of one scope (Neutron's `_validate_network_subnetpools`)."""
    if network_scope_id and subnetpool_id and pool_scope_id != network_scope_id:
        raise BadRequest(
            "Subnets of the same address family hosted on the same network must all "
            "participate in the same address scope.",
            type_name="NetworkAddressScopeAffinityError",
        )
    for other in others:
        if other.ip_version != ip_version:
            continue
        if subnetpool_id:
            clash = other.subnetpool_id != subnetpool_id and not network_scope_id
        else:
            clash = other.subnetpool_id is not None
        if clash:
            raise BadRequest(
                "Subnets hosted on the same network must be allocated from the same subnet "
                "pool.",
                type_name="NetworkSubnetPoolAffinityError",
            )


# --------------------------------------------------------------------------- update


def validate_update(old: Subnet, changes: dict[str, Any]) -> None:
    """Neutron's `_validate_subnet` with `cur_subnet`, plus the pool/gateway checks of
    `_update_subnet_precommit`. `changes` holds only the fields the request set."""
    enable_dhcp = changes.get("enable_dhcp", old.enable_dhcp)
    addresses.validate_subnet_cidr(
        old.cidr, old.ip_version, enable_dhcp=enable_dhcp, dhcp_was_enabled=old.enable_dhcp
    )
    gateway = changes.get("gateway_ip")
    if gateway is not None:
        addresses.validate_gateway(old.cidr, gateway)
    if "dns_nameservers" in changes:
        addresses.validate_dns(old.ip_version, changes["dns_nameservers"], subnet_id=old.id)
    if "host_routes" in changes:
        addresses.validate_host_routes(changes["host_routes"], old.ip_version, subnet_id=old.id)
    if (
        old.ip_version == 6
        and changes.get("enable_dhcp") is False
        and (old.ipv6_ra_mode or old.ipv6_address_mode)
    ):
        raise InvalidInput("Cannot disable enable_dhcp with ipv6 attributes set")
    pools = changes.get("allocation_pools")
    if pools is not None:
        addresses.validate_allocation_pools(pools, old.cidr)
    new_gateway = changes.get("gateway_ip", old.gateway_ip)
    if new_gateway is not None and (new_gateway != old.gateway_ip or pools is not None):
        addresses.validate_gateway_outside_pools(
            new_gateway, pools if pools is not None else old.allocation_pools
        )
