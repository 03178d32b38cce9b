"""The network resource (neutron-lib `network`, `provider`, `external-net`, `net-mtu`,
`port-security`, `dns-integration`'s dns_domain)."""

from __future__ import annotations

from neutrino.domain import dns
from neutrino.domain import validate as v
from neutrino.domain.network import NetworkCreate, NetworkUpdate
from neutrino.schema.attributes import Attr, Resource, dump_list, standard_attrs, string

NETWORK = Resource(
    member="network",
    collection="networks",
    create_type=NetworkCreate,
    update_type=NetworkUpdate,
    attrs=(
        *standard_attrs(),
        Attr("admin_state_up", v.to_bool, post=True, put=True, filter=True, sort=True),
        Attr("status", filter=True, sort=True),
        Attr("subnets", dump=dump_list),
        Attr("shared", v.to_bool, post=True, put=True, filter=True, sort=True, admin_write=True),
        Attr("router:external", v.to_bool, post=True, put=True, filter=True, sort=True,
             field="external", admin_write=True),
        Attr("mtu", v.to_int, post=True, put=True, filter=True, sort=True),
        Attr("port_security_enabled", v.to_bool, post=True, put=True, filter=True),
        Attr("provider:network_type", string(255), post=True, admin_only=True, filter=True),
        Attr("provider:physical_network", string(255), post=True, admin_only=True, filter=True),
        Attr("provider:segmentation_id", v.to_int, post=True, admin_only=True, filter=True),
        Attr("dns_domain", dns.dns_domain_name, post=True, put=True),
    ),
)
