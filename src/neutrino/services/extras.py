"""Cross-family reads and cascades that a network needs from the families built on it.

Kept in one place so that `networks.py` stays about networks; each function grows as the
families it reads (subnets, ports) land.
"""

from __future__ import annotations

from dataclasses import replace

from neutrino.db import Tx
from neutrino.db.repos import ports as port_repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import InUse
from neutrino.domain.network import Network
from neutrino.domain.subnet import Subnet
from neutrino.services._env import Env


def network_extras(tx: Tx, nets: list[Network]) -> list[Network]:
    """Fill derived attributes (the subnet ids) of networks read from the store: one query
    for the whole page."""
    ids = subnet_repo.ids_by_network(tx, [n.id for n in nets])
    return [replace(n, subnets=ids.get(n.id, ())) for n in nets]


def foreign_ports_on_network(tx: Tx, net: Network) -> bool:
    """Whether another project has ports on the network (unsharing must then fail)."""
    return False


def delete_network_children(tx: Tx, env: Env, ctx: Context, net: Network) -> None:
    """Delete the network's service-owned ports, unused floating IPs and its subnets; 409 if
    user ports remain."""
    from neutrino.services import floatingips, ports, subnets

    if net.external:
        floatingips.delete_disassociated_in(tx, env, net.id)
    if subnet_repo.user_ports_on_network(tx, net.id):
        raise InUse(
            f"Unable to complete operation on network {net.id}. There are one or more ports "
            "still in use on the network.",
            type_name="NetworkInUse",
        )
    for port in port_repo.on_network(tx, net.id):
        ports.delete_in(tx, env, port)
    for subnet in subnet_repo.by_network(tx, net.id):
        subnets.remove_in(tx, env, subnet)


def drop_port_addresses(tx: Tx, env: Env, subnet: Subnet) -> None:
    """A subnet is being deleted and only ports that don't keep it alive still hold addresses
    on it (DHCP ports; any port on a SLAAC subnet): those addresses leave the ports, and each
    port's change is logged. (The IPAM state goes with the subnet.)"""
    for port_id in subnet_repo.ports_holding(tx, subnet.id):
        port = port_repo.get(tx, port_id, for_update=True)
        if port is None:
            continue
        gone = [f for f in port.fixed_ips if f.subnet_id == subnet.id]
        kept = tuple(f for f in port.fixed_ips if f.subnet_id != subnet.id)
        port_repo.remove_fixed_ips(tx, port, gone)
        stored = port_repo.crud.bump(tx, replace(port, fixed_ips=kept))
        tx.record(Change.of(Op.UPDATE, "port", stored))
