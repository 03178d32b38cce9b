"""The floating IP resource (neutron-lib `router` floatingips, `fip-port-details`,
`dns-integration`) and the read-only floating IP pools (`floatingip-pools`)."""

from __future__ import annotations

from typing import Any

from neutrino.domain import dns
from neutrino.domain import validate as v
from neutrino.domain.floatingip import FloatingIpCreate, FloatingIpUpdate, PortDetails
from neutrino.domain.values import IPAddress, IPNetwork, ip_str, net_str
from neutrino.schema.attributes import Attr, Resource, standard_attrs


def dump_ip(value: IPAddress | None) -> str | None:
    return None if value is None else ip_str(value)


def dump_port_details(value: PortDetails | None) -> dict[str, Any] | None:
    return None if value is None else value.to_json()


def dump_cidr(value: IPNetwork) -> str:
    return net_str(value)


FLOATINGIP = Resource(
    member="floatingip",
    collection="floatingips",
    create_type=FloatingIpCreate,
    update_type=FloatingIpUpdate,
    attrs=(
        # Floating IPs have every standard attribute but a name.
        *(a for a in standard_attrs() if a.name != "name"),
        Attr("floating_network_id", v.uuid_str, post=True, required=True, filter=True,
             sort=True),
        Attr("floating_ip_address", v.ip_or_none, post=True, filter=True, sort=True,
             dump=dump_ip),
        Attr("subnet_id", v.uuid_or_none, post=True, visible=False),
        Attr("port_id", v.uuid_or_none, post=True, put=True, filter=True),
        Attr("fixed_ip_address", v.ip_or_none, post=True, put=True, filter=True, sort=True,
             dump=dump_ip),
        Attr("router_id", v.uuid_or_none, filter=True, sort=True),
        Attr("status", filter=True, sort=True),
        Attr("port_details", dump=dump_port_details),
        Attr("dns_name", dns.fip_dns_name, post=True),
        Attr("dns_domain", dns.dns_domain_name, post=True),
    ),
)

FLOATINGIP_POOL = Resource(
    member="floatingip_pool",
    collection="floatingip_pools",
    attrs=(
        Attr("subnet_id"),
        Attr("subnet_name"),
        Attr("network_id"),
        Attr("cidr", dump=dump_cidr),
        Attr("project_id"),
    ),
)
