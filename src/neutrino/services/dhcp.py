"""The network's DHCP port: one `network:dhcp` port per network, kept in step with the
network's DHCP-enabled subnets inside the subnet operations' own transactions.

DHCP is distributed (see `agent.dhcp`): every host's agent serves its own ports from this
one port (same MAC and addresses on every host), so the server, not a DHCP agent, owns it:

- made with the network's first DHCP-enabled subnet (create, or update to enable_dhcp=true)
  and given an address on each further one, as Neutron's DHCP agent asks for one fixed IP
  on every DHCP-enabled subnet (`DeviceManager.setup_dhcp_port`): IPv4, and IPv6 in every
  mode (on SLAAC / DHCPv6-stateless subnets that address is the port's EUI-64 one);
- loses its address on a subnet whose DHCP is disabled or that is deleted, and is deleted
  with the last DHCP-enabled subnet (as the agent releases its port) or with the network;
- like Neutron's: device_owner `network:dhcp`, the network's project, name "", admin up,
  no security groups, port security as the network has it. Its device_id is
  `dhcp-<network id>` (Neutron's agent uses `dhcp<host uuid>-<network id>`; ours names no
  host). It is never bound (it lives on every host) and is ACTIVE from the start: no agent
  reports its status (it is in no host's `ports`), and it serves wherever a port needs it.
- it counts against no quota: made without the quota check, and left out of the project's
  port usage (`db.repos.quotas`). Neutron counts it; we don't, so a project's port quota is
  about its own ports only.

A full subnet (no free address) gets no DHCP address rather than failing the subnet request:
Neutron's agent makes the port asynchronously and its failure never fails the request either.

Every change goes through `ports.create_in` / `update_in` / `delete_in`, so IPAM and the
change log (which wakes the agents) stay right. Callers hold the network's row lock, so two
requests never both make a DHCP port for one network.
"""

from __future__ import annotations

import logging

from neutrino.db import Tx
from neutrino.db.repos import ports as port_repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.domain.context import Context
from neutrino.domain.errors import Conflict
from neutrino.domain.network import Network
from neutrino.domain.port import DHCP_OWNER, Port, PortCreate, PortUpdate, dhcp_device_id
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import FixedIpRequest
from neutrino.services import ports
from neutrino.services._env import Env

log = logging.getLogger(__name__)

STATUS = "ACTIVE"


def _service(project_id: str) -> Context:
    return Context.admin(project_id=project_id or None)


def port_of(tx: Tx, network_id: str, *, for_update: bool = False) -> Port | None:
    """The network's DHCP port, if it has one."""
    return port_repo.dhcp_ports(tx, [network_id], for_update=for_update).get(network_id)


def subnet_added(tx: Tx, env: Env, net: Network, subnet: Subnet) -> None:
    """`subnet` is new or has just enabled DHCP: the DHCP port gets an address on it (and is
    made if the network has none)."""
    if not subnet.enable_dhcp:
        return
    port = port_of(tx, net.id, for_update=True)
    if port is not None and any(f.subnet_id == subnet.id for f in port.fixed_ips):
        return
    try:
        if port is None:
            ports.create_in(tx, env, _service(net.project_id), PortCreate(
                network_id=net.id, project_id=net.project_id, admin_state_up=True,
                device_id=dhcp_device_id(net.id), device_owner=DHCP_OWNER,
                fixed_ips=(FixedIpRequest(subnet_id=subnet.id),),
            ), check_quota=False, status=STATUS)
        else:
            kept = tuple(FixedIpRequest(f.subnet_id, f.ip_address) for f in port.fixed_ips)
            _readdress(tx, env, port, (*kept, FixedIpRequest(subnet_id=subnet.id)))
    except Conflict as exc:
        if exc.type != "IpAddressGenerationFailure":
            raise
        log.warning("subnet %s has no free address for network %s's DHCP port",
                    subnet.id, net.id)


def subnet_removed(tx: Tx, env: Env, subnet: Subnet) -> None:
    """`subnet` is being deleted (its addresses still allocated) or has just disabled DHCP:
    the DHCP port gives its address there back, and goes when no DHCP subnet is left."""
    port = port_of(tx, subnet.network_id, for_update=True)
    if port is None:
        return
    others = [s for s in subnet_repo.by_network(tx, subnet.network_id, with_tags=False)
              if s.enable_dhcp and s.id != subnet.id]
    if not others:
        ports.delete_in(tx, env, port)
        return
    kept = tuple(FixedIpRequest(f.subnet_id, f.ip_address) for f in port.fixed_ips
                 if f.subnet_id != subnet.id)
    if len(kept) != len(port.fixed_ips):
        _readdress(tx, env, port, kept)


def _readdress(tx: Tx, env: Env, port: Port, wanted: tuple[FixedIpRequest, ...]) -> None:
    ports.update_in(tx, env, _service(port.project_id), port.id,
                    PortUpdate(fixed_ips=wanted))
