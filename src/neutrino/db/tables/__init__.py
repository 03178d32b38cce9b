"""Every table, registered on one MetaData (what Alembic migrations are written against)."""

from neutrino.db.tables import (
    agents,
    core,
    ipam,
    metering,
    networks,
    ports,
    quotas,
    routers,
    security_groups,
    subnetpools,
    subnets,
)
from neutrino.db.tables._columns import metadata

__all__ = [
    "agents",
    "core",
    "ipam",
    "metadata",
    "metering",
    "networks",
    "ports",
    "quotas",
    "routers",
    "security_groups",
    "subnetpools",
    "subnets",
]
