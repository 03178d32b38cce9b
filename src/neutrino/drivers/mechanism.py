"""Mechanism drivers: who can plug a port on its host, and how (DESIGN decision 7).

A driver is asked, inside the request's transaction, to bind a port whose `binding:host_id`
names a host; it answers the binding (vif_type, vif_details) or None when it cannot. The
services ask the configured drivers in order and the first that binds wins; when none does,
the port is visibly `binding_failed`. Drivers read what they need (agents) through `tx` and
never do outside I/O. `tests/contracts/test_mechanism.py` is the contract every driver passes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Protocol

from neutrino.db import Tx
from neutrino.db.repos import agents as agent_repo
from neutrino.domain.agent import can_carry, is_alive
from neutrino.domain.config import ServerConfig
from neutrino.domain.network import Network
from neutrino.domain.port import Binding, Port
from neutrino.drivers import loader

GROUP = "neutrino.mechanism_drivers"

VIF_BRIDGE = "bridge"


class MechanismDriver(Protocol):
    @property
    def name(self) -> str: ...

    def bind(self, tx: Tx, network: Network, port: Port, config: ServerConfig) -> Binding | None:
        """The port's binding on `port.binding.host_id` (same host, vnic type and profile;
        vif_type and vif_details filled in), or None if this driver cannot plug it there."""


@dataclass(frozen=True)
class LinuxDriver:
    """Ports on a Linux bridge per network, plugged by the host's neutrino agent.

    Binds only where a live agent (alive and admin_state_up) can carry the network's
    segment (`domain.agent.can_carry`), and only `normal` vNICs, as Neutron's linuxbridge."""

    name: str = "linux"

    def bind(self, tx: Tx, network: Network, port: Port, config: ServerConfig) -> Binding | None:
        binding = port.binding
        if not binding.host_id or binding.vnic_type != "normal":
            return None
        agent = agent_repo.by_host(tx, binding.host_id)
        if agent is None or not agent.admin_state_up:
            return None
        if not is_alive(agent.heartbeat_timestamp, tx.now, config.agent_down_time):
            return None
        if not can_carry(agent, network.segment):
            return None
        return replace(binding, vif_type=VIF_BRIDGE,
                       vif_details={"port_filter": True, "connectivity": "l2"})


@cache
def load_mechanism_drivers(names: tuple[str, ...]) -> tuple[MechanismDriver, ...]:
    """The drivers registered under `names` in the entry-point group, in that order."""
    return tuple(loader.load(GROUP, name)() for name in names)
