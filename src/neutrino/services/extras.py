"""Cross-family reads and cascades that a network needs from the families built on it.

Kept in one place so that `networks.py` stays about networks; each function grows as the
families it reads (subnets, ports) land.
"""

from __future__ import annotations

from neutrino.db import Tx
from neutrino.domain.context import Context
from neutrino.domain.network import Network
from neutrino.services._env import Env


def network_extras(tx: Tx, nets: list[Network]) -> list[Network]:
    """Fill derived attributes (the subnet ids) of networks read from the store."""
    return nets


def foreign_ports_on_network(tx: Tx, net: Network) -> bool:
    """Whether another project has ports on the network (unsharing must then fail)."""
    return False


def delete_network_children(tx: Tx, env: Env, ctx: Context, net: Network) -> None:
    """Delete the network's service-owned ports and its subnets; 409 if user ports remain."""
