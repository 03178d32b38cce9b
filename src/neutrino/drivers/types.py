"""Type drivers: what a segment of each network type may look like, how tenant segments are
allocated, and the MTU a network of that type gets."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from neutrino.db import Tx
from neutrino.db.repos import networks as net_repo
from neutrino.domain.config import ServerConfig
from neutrino.domain.errors import BadRequest, Conflict, InvalidInput
from neutrino.domain.network import Segment

VXLAN_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14


class TypeDriver(Protocol):
    @property
    def name(self) -> str: ...

    def validate(self, segment: Segment, config: ServerConfig) -> Segment: ...

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment: ...

    def mtu(self, config: ServerConfig) -> int: ...


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


def _claim(tx: Tx, network_id: str, segment: Segment) -> Segment:
    if not net_repo.reserve_segment(tx, network_id, segment):
        raise Conflict(
            f"Unable to create the network. The {segment.network_type} segment "
            f"{segment.segmentation_id or segment.physical_network} is in use.",
            type_name="SegmentInUse" if segment.segmentation_id else "FlatNetworkInUse",
        )
    return segment


@dataclass(frozen=True)
class Local:
    name: str = "local"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        if segment.physical_network or segment.segmentation_id is not None:
            raise InvalidInput("local networks take no physical_network or segmentation_id")
        return Segment("local")

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment:
        return Segment("local")

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu


@dataclass(frozen=True)
class Flat:
    name: str = "flat"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        if not segment.physical_network:
            raise InvalidInput("provider:physical_network required for flat provider network")
        if segment.segmentation_id is not None:
            raise InvalidInput("segmentation_id specified for flat provider network")
        allowed = config.segments.flat_networks
        if "*" not in allowed and segment.physical_network not in allowed:
            raise InvalidInput(f"physical_network '{segment.physical_network}' unknown for flat")
        return segment

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment:
        raise BadRequest("flat networks must be created with a provider physical_network")

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu


@dataclass(frozen=True)
class Vlan:
    name: str = "vlan"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        if not segment.physical_network:
            raise InvalidInput("provider:physical_network required for VLAN provider network")
        if segment.segmentation_id is None:
            raise InvalidInput("segmentation_id required for VLAN provider network")
        if not 1 <= segment.segmentation_id <= 4094:
            raise InvalidInput(
                f"segmentation_id out of range ({1} through {4094})"
            )
        return segment

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment:
        for physnet, ranges in sorted(config.segments.vlan.items()):
            vid = _pick_free(tx, "vlan", physnet, ranges)
            if vid is not None:
                return Segment("vlan", physnet, vid)
        raise Conflict("Unable to create the network. No tenant network is available for "
                       "allocation.", type_name="NoNetworkAvailable")

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu


@dataclass(frozen=True)
class Vxlan:
    name: str = "vxlan"

    def validate(self, segment: Segment, config: ServerConfig) -> Segment:
        if segment.physical_network:
            raise InvalidInput("provider:physical_network specified for vxlan network")
        if segment.segmentation_id is None:
            return segment
        if not 1 <= segment.segmentation_id <= 2**24 - 1:
            raise InvalidInput(f"segmentation_id out of range (1 through {2**24 - 1})")
        return segment

    def allocate(self, tx: Tx, network_id: str, config: ServerConfig) -> Segment:
        vni = _pick_free(tx, "vxlan", None, config.segments.vni)
        if vni is None:
            raise Conflict("Unable to create the network. No tenant network is available for "
                           "allocation.", type_name="NoNetworkAvailable")
        return Segment("vxlan", None, vni)

    def mtu(self, config: ServerConfig) -> int:
        return config.global_physnet_mtu - VXLAN_OVERHEAD


BUILTIN: dict[str, TypeDriver] = {d.name: d for d in (Local(), Flat(), Vlan(), Vxlan())}


def provider_segment(
    tx: Tx, network_id: str, requested: Segment, config: ServerConfig
) -> Segment:
    """Validate and claim an admin-requested segment (allocating the id if left out)."""
    driver = BUILTIN.get(requested.network_type)
    if driver is None:
        raise InvalidInput(f"network_type value '{requested.network_type}' not supported")
    segment = driver.validate(requested, config)
    if segment.network_type == "vxlan" and segment.segmentation_id is None:
        return tenant_segment(tx, network_id, config, only="vxlan")
    if segment.network_type == "local":
        return segment
    return _claim(tx, network_id, segment)


def tenant_segment(
    tx: Tx, network_id: str, config: ServerConfig, only: str | None = None
) -> Segment:
    """Allocate the lowest free segment of the first tenant type that has one.

    Concurrent allocators may pick the same id; the loser's savepoint insert fails and it
    moves on to the next id, a bounded walk over the range.
    """
    types = (only,) if only else config.tenant_network_types
    for type_name in types:
        driver = BUILTIN[type_name]
        for _ in range(64):
            segment = driver.allocate(tx, network_id, config)
            if segment.network_type == "local" or net_repo.reserve_segment(
                tx, network_id, segment
            ):
                return segment
    raise Conflict("Unable to create the network. No tenant network is available for "
                   "allocation.", type_name="NoNetworkAvailable")


def network_mtu(segment: Segment | None, config: ServerConfig) -> int:
    if segment is None:
        return config.global_physnet_mtu
    return BUILTIN[segment.network_type].mtu(config)
