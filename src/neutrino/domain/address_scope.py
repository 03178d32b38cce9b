"""Address scopes: subnet pools in one scope never overlap, so addresses inside a scope can be
routed without NAT (Neutron's `address-scope`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neutrino.domain.standard import UNSET, Standard


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressScope(Standard):
    ip_version: int
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressScopeCreate:
    ip_version: int
    project_id: Any = UNSET
    name: str = ""
    description: str = ""
    shared: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressScopeUpdate:
    name: Any = UNSET
    description: Any = UNSET
    shared: Any = UNSET
