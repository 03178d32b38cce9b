"""Pluggable IP address and prefix allocation (the IPAM plug point).

`load_ipam_driver(name)` finds a driver class in the `neutrino.ipam` entry-point group and builds
it; `cmd/bootstrap.py` calls it with `ServerConfig.ipam_driver`.
"""

from __future__ import annotations

from neutrino.drivers import loader
from neutrino.ipam.driver import IpamDriver

GROUP = "neutrino.ipam"

__all__ = ["GROUP", "IpamDriver", "load_ipam_driver"]


def load_ipam_driver(name: str) -> IpamDriver:
    """An instance of the IPAM driver registered as `name`."""
    driver: IpamDriver = loader.load(GROUP, name)()
    return driver
