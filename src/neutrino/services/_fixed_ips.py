"""Which addresses a port gets: Neutron's fixed_ips semantics on top of the IPAM driver.

Runs inside the port's transaction; the IPAM driver allocates and releases in that same
transaction, so a failed request gives every address back by rolling back.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv6Network

from neutrino.db import Tx
from neutrino.domain.errors import BadRequest, Conflict
from neutrino.domain.port import ROUTER_INTERFACE_OWNERS, FixedIp
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import FixedIpRequest
from neutrino.services._env import Env

AUTO_ADDRESS_MODES = frozenset({"slaac", "dhcpv6-stateless"})


def _is_auto_address(subnet: Subnet) -> bool:
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in AUTO_ADDRESS_MODES


def _subnet_for(
    req: FixedIpRequest, subnets: Sequence[Subnet], network_id: str
) -> Subnet:
    """The network's subnet a request names, or the one whose cidr holds its address."""
    if req.subnet_id is not None:
        for subnet in subnets:
            if subnet.id == req.subnet_id:
                if req.ip_address is not None and req.ip_address not in subnet.cidr:
                    raise BadRequest(
                        f"IP address {req.ip_address} is not a valid IP for the specified "
                        "subnet.", type_name="InvalidIpForSubnet")
                return subnet
        raise BadRequest(
            f"Invalid input for operation: Failed to create port on network {network_id}, "
            f"because fixed_ips included invalid subnet {req.subnet_id}.",
            type_name="InvalidInput")
    assert req.ip_address is not None
    for subnet in subnets:
        if req.ip_address in subnet.cidr:
            return subnet
    raise BadRequest(
        f"IP address {req.ip_address} is not a valid IP for any of the subnets on the "
        "specified network.", type_name="InvalidIpForNetwork")


def _allocate_one(tx: Tx, env: Env, subnet: Subnet, req: FixedIpRequest, mac: str,
                  device_owner: str = "") -> FixedIp:
    # Router interfaces may hold any address of a SLAAC subnet (its gateway), as in Neutron.
    if req.ip_address is not None and _is_auto_address(subnet) and not _eui64_match(
        subnet, req.ip_address, mac
    ) and device_owner not in ROUTER_INTERFACE_OWNERS:
        raise BadRequest(
            f"IPv6 address {req.ip_address} cannot be directly assigned to a port on subnet "
            f"{subnet.id} with {subnet.ipv6_address_mode} address mode.",
            type_name="InvalidInput")
    address = env.ipam.allocate(tx, subnet, req.ip_address, mac)
    return FixedIp(subnet.id, address)


def _eui64_match(subnet: Subnet, ip: object, mac: str) -> bool:
    from neutrino.domain.addresses import eui64_address

    return isinstance(subnet.cidr, IPv6Network) and ip == eui64_address(subnet.cidr, mac)


def allocate(
    tx: Tx, env: Env, subnets: Sequence[Subnet], network_id: str, mac: str,
    requested: tuple[FixedIpRequest, ...] | None, device_owner: str,
) -> tuple[FixedIp, ...]:
    """Addresses for a new port: as requested, or automatically when `requested` is None.

    Automatic: one address from the first IPv4 subnet with room, one from the first stateful
    IPv6 subnet with room, and an EUI-64 address on every SLAAC / dhcpv6-stateless subnet
    (not for router interfaces), as Neutron does.
    """
    if requested is not None:
        targets = [_subnet_for(req, subnets, network_id) for req in requested]
        # Allocate in subnet-id order (the IPAM driver locks each subnet): two ports asking
        # for the same subnets in different orders must not deadlock. Answer in request order.
        order = sorted(range(len(requested)), key=lambda i: targets[i].id)
        placed: dict[int, FixedIp] = {}
        for i in order:
            placed[i] = _allocate_one(tx, env, targets[i], requested[i], mac, device_owner)
        result = tuple(placed[i] for i in range(len(requested)))
        if len({(f.subnet_id, f.ip_address) for f in result}) != len(result):
            raise BadRequest("Duplicate IP address in fixed_ips", type_name="InvalidInput")
        return result
    out = []
    for version in (4, 6):
        candidates = [s for s in subnets if s.ip_version == version and not _is_auto_address(s)]
        if candidates:
            out.append(_first_with_room(tx, env, candidates, mac, network_id))
    if device_owner not in ROUTER_INTERFACE_OWNERS:
        out.extend(
            _allocate_one(tx, env, s, FixedIpRequest(subnet_id=s.id), mac)
            for s in subnets if _is_auto_address(s)
        )
    return tuple(out)


def _first_with_room(
    tx: Tx, env: Env, subnets: Sequence[Subnet], mac: str, network_id: str
) -> FixedIp:
    for subnet in subnets:
        try:
            return _allocate_one(tx, env, subnet, FixedIpRequest(subnet_id=subnet.id), mac)
        except Conflict as exc:
            if exc.type != "IpAddressGenerationFailure":
                raise
    raise Conflict(f"No more IP addresses available on network {network_id}.",
                   type_name="IpAddressGenerationFailure")


def reallocate(
    tx: Tx, env: Env, subnets: Sequence[Subnet], network_id: str, mac: str,
    current: tuple[FixedIp, ...], requested: tuple[FixedIpRequest, ...], device_owner: str = "",
) -> tuple[FixedIp, ...]:
    """New fixed IPs for a port update: keep what is asked again, allocate what is new,
    release what is no longer asked for. A subnet-only entry keeps the port's address on it."""
    keep: list[FixedIp] = []
    new_reqs: list[FixedIpRequest] = []
    remaining = list(current)
    for req in requested:
        subnet = _subnet_for(req, subnets, network_id)
        match = next(
            (f for f in remaining if f.subnet_id == subnet.id
             and (req.ip_address is None or f.ip_address == req.ip_address)),
            None,
        )
        if match is not None:
            keep.append(match)
            remaining.remove(match)
        else:
            new_reqs.append(FixedIpRequest(subnet_id=subnet.id, ip_address=req.ip_address))
    by_id = {s.id: s for s in subnets}
    for gone in remaining:
        if gone.subnet_id in by_id:
            env.ipam.release(tx, by_id[gone.subnet_id], gone.ip_address)
    added = [_allocate_one(tx, env, by_id[r.subnet_id], r, mac, device_owner) for r in new_reqs
             if r.subnet_id is not None]
    return (*keep, *added)


def release(tx: Tx, env: Env, subnets: Sequence[Subnet], fixed: Sequence[FixedIp]) -> None:
    by_id = {s.id: s for s in subnets}
    for f in fixed:
        subnet = by_id.get(f.subnet_id)
        if subnet is not None:
            env.ipam.release(tx, subnet, f.ip_address)
