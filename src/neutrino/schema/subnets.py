"""The subnet resource (neutron-lib `subnet`, `subnet_allocation`, `default-subnetpools`,
`subnet-external-network`)."""

from __future__ import annotations

from typing import Any

from neutrino.domain import validate as v
from neutrino.domain.subnet import IPV6_MODES, SubnetCreate, SubnetUpdate
from neutrino.domain.values import IPAddress, IPNetwork, ip_str, net_str
from neutrino.schema.attributes import (
    Attr,
    Resource,
    dump_json_list,
    dump_list,
    standard_attrs,
)


def cidr_or_none(value: Any) -> IPNetwork | None:
    """`type:subnet_or_none`: a CIDR with a '/', host bits allowed (and dropped)."""
    return None if value is None else v.ip_subnet(value)


def ipv6_mode(value: Any) -> str | None:
    return None if value is None else str(v.one_of(value, IPV6_MODES))


def non_negative(value: Any) -> int:
    number = v.to_int(value)
    if number < 0:
        raise v.InvalidValue(f"'{number}' should be non-negative")
    return number


def dump_cidr(value: IPNetwork) -> str:
    return net_str(value)


def dump_ip(value: IPAddress | None) -> str | None:
    return None if value is None else ip_str(value)


SUBNET = Resource(
    member="subnet",
    collection="subnets",
    create_type=SubnetCreate,
    update_type=SubnetUpdate,
    attrs=(
        *standard_attrs(),
        Attr("network_id", v.uuid_str, post=True, required=True, filter=True, sort=True),
        Attr("ip_version", v.ip_version, post=True, required=True, filter=True, sort=True),
        Attr("subnetpool_id", v.uuid_or_none, post=True, filter=True, sort=True),
        Attr("prefixlen", non_negative, post=True, visible=False),
        Attr("use_default_subnetpool", v.to_bool, post=True, visible=False),
        Attr("cidr", cidr_or_none, post=True, filter=True, sort=True, dump=dump_cidr),
        Attr("gateway_ip", v.ip_or_none, post=True, put=True, filter=True, sort=True,
             dump=dump_ip),
        Attr("allocation_pools", v.allocation_pools_raw, post=True, put=True,
             dump=dump_json_list),
        Attr("dns_nameservers", v.dns_nameservers, post=True, put=True, dump=dump_list),
        Attr("host_routes", v.host_routes, post=True, put=True, dump=dump_json_list),
        Attr("enable_dhcp", v.to_bool, post=True, put=True, filter=True, sort=True),
        Attr("ipv6_ra_mode", ipv6_mode, post=True, filter=True, sort=True),
        Attr("ipv6_address_mode", ipv6_mode, post=True, filter=True, sort=True),
        Attr("shared", v.to_bool, visible=False, filter=True),
        Attr("router:external", v.to_bool, filter=True, field="external"),
    ),
)
