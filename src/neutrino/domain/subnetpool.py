"""Subnet pools: prefixes that subnets are carved from, with prefix-length bounds and a
per-project quota (Neutron's `subnet_allocation` and `default-subnetpools`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from neutrino.domain import prefixes as pfx
from neutrino.domain.errors import BadRequest, InvalidInput, OverQuota
from neutrino.domain.standard import UNSET, Standard
from neutrino.domain.values import IPNetwork

#: ip_version -> (address bits, default min_prefixlen, quota unit prefixlen)
VERSION_INFO: Final = {4: (32, 8, 32), 6: (128, 64, 64)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetPool(Standard):
    ip_version: int
    prefixes: tuple[IPNetwork, ...]
    default_prefixlen: int
    min_prefixlen: int
    max_prefixlen: int
    is_default: bool = False
    shared: bool = False
    default_quota: int | None = None
    address_scope_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetPoolCreate:
    name: str
    prefixes: tuple[IPNetwork, ...]
    project_id: Any = UNSET
    description: str = ""
    default_prefixlen: Any = UNSET
    min_prefixlen: Any = UNSET
    max_prefixlen: Any = UNSET
    default_quota: Any = UNSET
    is_default: bool = False
    shared: bool = False
    address_scope_id: Any = UNSET
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetPoolUpdate:
    name: Any = UNSET
    description: Any = UNSET
    prefixes: Any = UNSET
    default_prefixlen: Any = UNSET
    min_prefixlen: Any = UNSET
    max_prefixlen: Any = UNSET
    default_quota: Any = UNSET
    is_default: Any = UNSET
    address_scope_id: Any = UNSET


@dataclass(frozen=True, slots=True)
class Bounds:
    min_prefixlen: int
    max_prefixlen: int
    default_prefixlen: int


def read_prefixes(prefixes: Sequence[IPNetwork]) -> tuple[int, tuple[IPNetwork, ...]]:
    """The pool's IP version and its prefixes compacted (SubnetPoolReader._read_prefix_info)."""
    if not prefixes:
        raise BadRequest("Empty subnet pool prefix list.", type_name="EmptySubnetPoolPrefixList")
    versions = {p.version for p in prefixes}
    if len(versions) > 1:
        raise BadRequest(
            "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.",
            type_name="PrefixVersionMismatch",
        )
    version = versions.pop()
    return version, pfx.compact(prefixes, version)


def _illegal_bounds(kind: str, value: int, base_kind: str, base: int) -> BadRequest:
    return BadRequest(
        f"Illegal prefix bounds: {kind}={value}, {base_kind}={base}.",
        type_name="IllegalSubnetPoolPrefixBounds",
    )


def read_bounds(version: int, min_len: Any, max_len: Any, default_len: Any) -> Bounds:
    """Prefix-length bounds with Neutron's defaults (min 8 / 64, max 32 / 128, default = min),
    checked the way SubnetPoolHelper checks them."""
    bits, default_min, _unit = VERSION_INFO[version]
    low = default_min if min_len is UNSET else min_len
    high = bits if max_len is UNSET else max_len
    default = low if default_len is UNSET else default_len
    if low < 0:
        raise BadRequest(
            f"Prefix '{low}' not supported in IPv4 pool.",
            type_name="UnsupportedMinSubnetPoolPrefix",
        )
    if low > high:
        raise _illegal_bounds("min_prefixlen", low, "max_prefixlen", high)
    if high > bits:
        raise _illegal_bounds("max_prefixlen", high, "ip_version_max", bits)
    if default < low:
        raise _illegal_bounds("default_prefixlen", default, "min_prefixlen", low)
    if default > high:
        raise _illegal_bounds("default_prefixlen", default, "max_prefixlen", high)
    return Bounds(low, high, default)


def check_prefixlen(pool: SubnetPool, prefixlen: int) -> None:
    """A subnet's prefix length must lie within the pool's bounds."""
    if prefixlen > pool.max_prefixlen:
        raise BadRequest(
            f"Unable to allocate subnet with prefix length {prefixlen}, maximum allowed "
            f"prefix is {pool.max_prefixlen}.",
            type_name="MaxPrefixSubnetAllocationError",
        )
    if prefixlen < pool.min_prefixlen:
        raise BadRequest(
            f"Unable to allocate subnet with prefix length {prefixlen}, minimum allowed "
            f"prefix is {pool.min_prefixlen}.",
            type_name="MinPrefixSubnetAllocationError",
        )


def quota_units(version: int, prefixlen: int) -> int:
    """What a prefix costs against `default_quota`: IPv4 counts addresses, IPv6 /64s."""
    unit = VERSION_INFO[version][2]
    return 1 << max(unit - prefixlen, 0)


def check_quota(pool: SubnetPool, used: Sequence[IPNetwork], prefixlen: int) -> None:
    """The project's subnets from the pool plus the new one must fit `default_quota`."""
    if not pool.default_quota:
        return
    spent = sum(quota_units(pool.ip_version, n.prefixlen) for n in used)
    if spent + quota_units(pool.ip_version, prefixlen) > pool.default_quota:
        raise OverQuota(
            "Per-project subnet pool prefix quota exceeded.",
            type_name="SubnetPoolQuotaExceeded",
        )


def illegal_prefix_update(msg: str) -> BadRequest:
    return BadRequest(
        f"Illegal update to prefixes: {msg}.", type_name="IllegalSubnetPoolPrefixUpdate"
    )


def grown_prefixes(
    old: Sequence[IPNetwork], new: Sequence[IPNetwork]
) -> tuple[IPNetwork, ...]:
    """A prefix update may only add address space: the old set must stay covered."""
    version, compacted = read_prefixes(new)
    if old and old[0].version != version:
        raise BadRequest(
            "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.",
            type_name="PrefixVersionMismatch",
        )
    if not pfx.is_subset(old, compacted):
        raise illegal_prefix_update("Existing prefixes must be a subset of the new prefixes")
    return compacted


def default_exists_error() -> InvalidInput:
    return InvalidInput(
        "A default subnetpool for this IP family has already been set. Only one default "
        "may exist per IP family"
    )
