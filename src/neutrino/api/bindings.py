"""Each resource's attribute table bound to its service functions."""

from __future__ import annotations

from neutrino.api.resources import Binding
from neutrino.schema.address_scopes import ADDRESS_SCOPE
from neutrino.schema.floatingips import FLOATINGIP
from neutrino.schema.networks import NETWORK
from neutrino.schema.ports import PORT
from neutrino.schema.routers import ROUTER
from neutrino.schema.security_groups import SECURITY_GROUP, SECURITY_GROUP_RULE
from neutrino.schema.subnetpools import SUBNETPOOL
from neutrino.schema.subnets import SUBNET
from neutrino.services import (
    address_scopes,
    floatingips,
    networks,
    ports,
    routers,
    security_group_rules,
    security_groups,
    subnetpools,
    subnets,
)

NETWORKS = Binding(
    NETWORK,
    list=networks.list_,
    get=networks.get,
    create_in=networks.create_in,
    update=networks.update,
    delete=networks.delete,
)

PORTS = Binding(
    PORT,
    list=ports.list_,
    get=ports.get,
    create_in=ports.create_in,
    update=ports.update,
    delete=ports.delete,
)

SECURITY_GROUPS = Binding(
    SECURITY_GROUP,
    list=security_groups.list_,
    get=security_groups.get,
    create_in=security_groups.create_in,
    update=security_groups.update,
    delete=security_groups.delete,
)

SECURITY_GROUP_RULES = Binding(
    SECURITY_GROUP_RULE,
    list=security_group_rules.list_,
    get=security_group_rules.get,
    create_in=security_group_rules.create_in,
    delete=security_group_rules.delete,
)

SUBNETS = Binding(
    SUBNET,
    list=subnets.list_,
    get=subnets.get,
    create_in=subnets.create_in,
    update=subnets.update,
    delete=subnets.delete,
)

SUBNETPOOLS = Binding(
    SUBNETPOOL,
    list=subnetpools.list_,
    get=subnetpools.get,
    create_in=subnetpools.create_in,
    update=subnetpools.update,
    delete=subnetpools.delete,
)

ADDRESS_SCOPES = Binding(
    ADDRESS_SCOPE,
    list=address_scopes.list_,
    get=address_scopes.get,
    create_in=address_scopes.create_in,
    update=address_scopes.update,
    delete=address_scopes.delete,
)

ROUTERS = Binding(
    ROUTER,
    list=routers.list_,
    get=routers.get,
    create_in=routers.create_in,
    update=routers.update,
    delete=routers.delete,
)

FLOATINGIPS = Binding(
    FLOATINGIP,
    list=floatingips.list_,
    get=floatingips.get,
    create_in=floatingips.create_in,
    update=floatingips.update,
    delete=floatingips.delete,
)

ALL = (NETWORKS, PORTS, SECURITY_GROUPS, SECURITY_GROUP_RULES, SUBNETS, SUBNETPOOLS, ADDRESS_SCOPES,
       ROUTERS, FLOATINGIPS)
