"""Networks: the L2 segment everything else hangs off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neutrino.domain.standard import UNSET, Standard


@dataclass(frozen=True, slots=True)
class Segment:
    """Where a network lives on the wire (ML2's provider attributes)."""

    network_type: str
    physical_network: str | None = None
    segmentation_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Network(Standard):
    admin_state_up: bool = True
    shared: bool = False
    external: bool = False
    mtu: int = 1500
    port_security_enabled: bool = True
    status: str = "ACTIVE"
    segment: Segment | None = None
    subnets: tuple[str, ...] = ()
    dns_domain: str = ""

    @property
    def provider_network_type(self) -> str | None:
        return self.segment.network_type if self.segment else None

    @property
    def provider_physical_network(self) -> str | None:
        return self.segment.physical_network if self.segment else None

    @property
    def provider_segmentation_id(self) -> int | None:
        return self.segment.segmentation_id if self.segment else None


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkCreate:
    """A validated POST body. Fields left UNSET take the service's defaults."""

    project_id: Any = UNSET
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    shared: bool = False
    external: bool = False
    mtu: Any = UNSET
    port_security_enabled: bool = True
    provider_network_type: Any = UNSET
    provider_physical_network: Any = UNSET
    provider_segmentation_id: Any = UNSET
    dns_domain: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkUpdate:
    """A validated PUT body: only the fields the request named are set."""

    name: Any = UNSET
    description: Any = UNSET
    admin_state_up: Any = UNSET
    shared: Any = UNSET
    external: Any = UNSET
    mtu: Any = UNSET
    port_security_enabled: Any = UNSET
    dns_domain: Any = UNSET
