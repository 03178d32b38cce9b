"""Type drivers: what a segment of each network type may look like, how its segments are
claimed and released, and the MTU a network of that type gets (DESIGN decision 7).

Drivers are found by name in the `neutrino.type_drivers` entry-point group; the ones named by
`ServerConfig.type_drivers` are loaded, and a provider network naming any other type is
refused as Neutron's ML2 TypeManager does. Drivers run inside the request's transaction and
never do outside I/O. `tests/contracts/test_type_drivers.py` is the contract every driver
passes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from neutrino.db import Tx
from neutrino.db.repos import networks as net_repo
from neutrino.domain.config import ServerConfig
from neutrino.domain.errors import Conflict, InvalidInput
from neutrino.domain.network import Segment
from neutrino.drivers import loader

GROUP = "neutrino.type_drivers"

VXLAN_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14
MIN_VLAN_TAG, MAX_VLAN_TAG = 1, 4094
MIN_VNI, MAX_VNI = 1, 2**24 - 1
# Bounded walk when concurrent allocators race for the same id (see `_allocate_id`).
ALLOCATION_ATTEMPTS = 64


class TypeDriver(Protocol):
    @property
    def name(self) -> str: ...

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        """The admin-requested provider segment, normalised; `InvalidInput` (400) if this
        type cannot have it. The result may be partial (no segmentation id yet)."""

    def reserve(self, tx: Tx, network_id: str, segment: Segment, config: ServerConfig) -> Segment:
        """Claim a validated provider segment for the network, allocating what it leaves
        out; `Conflict` (409) if another network holds it or none is free."""

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment | None:
        """Claim a tenant segment for the network; None when this type has none to give."""

    def release(self, tx: Tx, network_id: str, segment: Segment) -> None:
        """Give back the network's segment (network delete) so it can be claimed again."""

    def mtu(self, config: ServerConfig) -> int:
        """The largest MTU a network of this type can have."""


def _no_network_available() -> Conflict:
    return Conflict("Unable to create the network. No tenant network is available for "
                    "allocation.", type_name="NoNetworkAvailable")


def _prohibited(segment: Segment, allowed: tuple[str, ...], what: str) -> None:
    """Neutron's '<key> prohibited for <type> provider network' for fields a type lacks."""
    values = {"physical_network": segment.physical_network,
              "segmentation_id": segment.segmentation_id}
    for field_name in ("physical_network", "segmentation_id"):
        if field_name not in allowed and values[field_name] not in (None, ""):
            raise InvalidInput(f"{field_name} prohibited for {what} provider network")


def _pick_free(tx: Tx, network_type: str, physnet: str | None,
               ranges: Iterable[tuple[int, int]]) -> int | None:
    """A free segmentation id, chosen at random from the ranges.

    Random picks keep concurrent allocators from colliding on one id (on PostgreSQL the
    loser's insert would wait for the winner's commit) and cost one query whatever the fill
    level; only when the range is nearly full do we read every used id.
    """
    spans = [(low, high) for low, high in ranges if high >= low]
    if not spans:
        return None
    weights = [high - low + 1 for low, high in spans]
    picks = {
        random.randint(low, high)
        for low, high in random.choices(spans, weights=weights, k=16)
    }
    free = picks - net_repo.segmentation_ids_in_use(tx, network_type, physnet, picks)
    if free:
        return random.choice(sorted(free))
    used = net_repo.used_segmentation_ids(tx, network_type, physnet)
    for low, high in spans:
        for candidate in range(low, high + 1):
            if candidate not in used:
                return candidate
    return None


Ranges = tuple[tuple[int, int], ...]


def _allocate_id(tx: Tx, network_id: str, network_type: str,
                 pools: Iterable[tuple[str | None, Ranges]]) -> Segment | None:
    """Claim a free id from the ranges of the first (physnet, ranges) pool that has one.

    Concurrent allocators may pick the same id; the loser's savepoint insert fails and it
    picks again, a bounded walk over the range.
    """
    for physnet, spans in pools:
        for _ in range(ALLOCATION_ATTEMPTS):
            seg_id = _pick_free(tx, network_type, physnet, spans)
            if seg_id is None:
                break
            segment = Segment(network_type, physnet, seg_id)
            if net_repo.reserve_segment(tx, network_id, segment):
                return segment
    return None


@dataclass(frozen=True)
class Local:
    """A network confined to one host: nothing to reserve."""

    name: str = "local"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        _prohibited(segment, (), "local")
        return Segment("local")

    def reserve(self, tx: Tx, network_id: str, segment: Segment, config: ServerConfig) -> Segment:
        return Segment("local")

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment | None:
        return Segment("local")

    def release(self, tx: Tx, network_id: str, segment: Segment) -> None:
        pass

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu


@dataclass(frozen=True)
class Flat:
    """An untagged physical network, one network per physnet; provider networks only."""

    name: str = "flat"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        if not segment.physical_network:
            raise InvalidInput("physical_network required for flat provider network")
        allowed = config.segments.flat_networks
        if not allowed:
            raise InvalidInput("Flat provider networks are disabled")
        if "*" not in allowed and segment.physical_network not in allowed:
            raise InvalidInput(f"physical_network '{segment.physical_network}' unknown for "
                               "flat provider network")
        _prohibited(segment, ("physical_network",), "flat")
        return Segment("flat", segment.physical_network)

    def reserve(self, tx: Tx, network_id: str, segment: Segment, config: ServerConfig) -> Segment:
        if not net_repo.reserve_segment(tx, network_id, segment):
            raise Conflict(f"Unable to create the flat network. Physical network "
                           f"{segment.physical_network} is in use.",
                           type_name="FlatNetworkInUse")
        return segment

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment | None:
        return None  # as Neutron: flat networks are never tenant networks

    def release(self, tx: Tx, network_id: str, segment: Segment) -> None:
        net_repo.release_segment(tx, network_id)

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu


def _vlan_pools(config: ServerConfig) -> list[tuple[str | None, Ranges]]:
    """Tenant VLAN ranges, physnets in name order."""
    return [(physnet, ranges) for physnet, ranges in sorted(config.segments.vlan.items())]


@dataclass(frozen=True)
class Vlan:
    """802.1Q-tagged networks on a physnet; tenant VLANs come from `segments.vlan` ranges."""

    name: str = "vlan"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        if segment.physical_network:
            seg_id = segment.segmentation_id
            if seg_id is not None and not MIN_VLAN_TAG <= seg_id <= MAX_VLAN_TAG:
                raise InvalidInput(f"segmentation_id out of range ({MIN_VLAN_TAG} through "
                                   f"{MAX_VLAN_TAG})")
        elif segment.segmentation_id is not None:
            raise InvalidInput("segmentation_id requires physical_network for VLAN provider "
                               "network")
        return Segment("vlan", segment.physical_network or None, segment.segmentation_id)

    def reserve(self, tx: Tx, network_id: str, segment: Segment, config: ServerConfig) -> Segment:
        if segment.segmentation_id is None:  # partial: any free tag (on the physnet, if named)
            physnet = segment.physical_network
            pools = _vlan_pools(config) if not physnet else [
                (physnet, config.segments.vlan.get(physnet, ()))]
            got = _allocate_id(tx, network_id, "vlan", pools)
            if got is None:
                raise _no_network_available()
            return got
        if not net_repo.reserve_segment(tx, network_id, segment):
            raise Conflict(f"Unable to create the network. The VLAN {segment.segmentation_id} "
                           f"on physical network {segment.physical_network} is in use.",
                           type_name="VlanIdInUse")
        return segment

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment | None:
        return _allocate_id(tx, network_id, "vlan", _vlan_pools(config))

    def release(self, tx: Tx, network_id: str, segment: Segment) -> None:
        net_repo.release_segment(tx, network_id)

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu


@dataclass(frozen=True)
class Vxlan:
    """Overlay networks tunnelled over the underlay; tenant VNIs come from `segments.vni`."""

    name: str = "vxlan"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        if segment.physical_network:
            raise InvalidInput("provider:physical_network specified for vxlan network")
        seg_id = segment.segmentation_id
        if seg_id is not None and not MIN_VNI <= seg_id <= MAX_VNI:
            raise InvalidInput(f"segmentation_id out of range ({MIN_VNI} through {MAX_VNI})")
        return Segment("vxlan", None, seg_id)

    def reserve(self, tx: Tx, network_id: str, segment: Segment, config: ServerConfig) -> Segment:
        if segment.segmentation_id is None:
            got = self.allocate(tx, network_id, config)
            if got is None:
                raise _no_network_available()
            return got
        if not net_repo.reserve_segment(tx, network_id, segment):
            raise Conflict(f"Unable to create the network. The tunnel ID "
                           f"{segment.segmentation_id} is in use.", type_name="TunnelIdInUse")
        return segment

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment | None:
        return _allocate_id(tx, network_id, "vxlan", [(None, config.segments.vni)])

    def release(self, tx: Tx, network_id: str, segment: Segment) -> None:
        net_repo.release_segment(tx, network_id)

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu - VXLAN_OVERHEAD


@cache
def load_type_drivers(names: tuple[str, ...]) -> dict[str, TypeDriver]:
    """The drivers registered under `names` in the entry-point group, by type name."""
    drivers: dict[str, TypeDriver] = {}
    for name in names:
        driver: TypeDriver = loader.load(GROUP, name)()
        drivers[driver.name] = driver
    return drivers


def loaded(config: ServerConfig) -> dict[str, TypeDriver]:
    """The configured type drivers; every tenant network type must be one of them."""
    drivers = load_type_drivers(tuple(config.type_drivers))
    missing = [t for t in config.tenant_network_types if t not in drivers]
    if missing:
        raise LookupError(f"no type driver for tenant network type(s) {', '.join(missing)}; "
                          f"type_drivers: {', '.join(config.type_drivers) or '-'}")
    return drivers


def provider_segment(
    tx: Tx, network_id: str, requested: Segment, config: ServerConfig
) -> Segment:
    """Validate and claim an admin-requested segment (allocating what it leaves out)."""
    driver = loaded(config).get(requested.network_type)
    if driver is None:
        raise InvalidInput(f"network_type value '{requested.network_type}' not supported")
    segment = driver.validate(requested, config)
    return driver.reserve(tx, network_id, segment, config)


def tenant_segment(tx: Tx, network_id: str, config: ServerConfig) -> Segment:
    """Claim a segment of the first tenant network type (in configured order) that has one."""
    drivers = loaded(config)
    for type_name in config.tenant_network_types:
        segment = drivers[type_name].allocate(tx, network_id, config)
        if segment is not None:
            return segment
    raise _no_network_available()


def release_segment(tx: Tx, network_id: str, segment: Segment | None, config: ServerConfig) -> None:
    """Give back a deleted network's segment (whatever its type, even one no longer loaded)."""
    if segment is None:
        net_repo.release_segment(tx, network_id)
        return
    driver = load_type_drivers(tuple(config.type_drivers)).get(segment.network_type)
    if driver is None:
        net_repo.release_segment(tx, network_id)
    else:
        driver.release(tx, network_id, segment)


def network_mtu(segment: Segment | None, config: ServerConfig) -> int:
    if segment is None:
        return config.global_physnet_mtu
    driver = load_type_drivers(tuple(config.type_drivers)).get(segment.network_type)
    return config.global_physnet_mtu if driver is None else driver.mtu(config)
