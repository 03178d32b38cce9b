"""Host agents: one per host, registered by its own heartbeat, shown as Neutron's agents.

Liveness is derived, never stored: an agent is alive while its last heartbeat is at most
`agent_down_time` seconds old (Neutron's `is_agent_down`). Whether an agent can carry a
network segment is a pure rule the mechanism driver asks before binding a port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from neutrino.domain.network import Segment
from neutrino.domain.standard import UNSET

# Neutron's constant, so `openstack network agent list` shows a familiar type.
AGENT_TYPE = "Linux bridge agent"
AGENT_BINARY = "neutrino-agent"
AGENT_TOPIC = "N/A"


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """An agent as stored, plus `alive` (derived on read from the heartbeat, not stored)."""

    id: str
    host: str
    protocol: str
    agent_type: str = AGENT_TYPE
    binary: str = AGENT_BINARY
    topic: str = AGENT_TOPIC
    admin_state_up: bool = True
    description: str | None = None
    local_ip: str | None = None  # underlay address for VXLAN
    physical_interfaces: dict[str, str] = field(default_factory=dict)  # physnet -> interface
    applied_seq: int = 0  # newest change-log seq the agent converged to
    created_at: datetime | None = None
    started_at: datetime | None = None
    heartbeat_timestamp: datetime | None = None
    alive: bool = False

    @property
    def configurations(self) -> dict[str, Any]:
        """Neutron's free-form `configurations`: what this agent reported about its host."""
        return {
            "local_ip": self.local_ip,
            "physical_interfaces": dict(self.physical_interfaces),
            "protocol": self.protocol,
            "applied_seq": self.applied_seq,
        }

    @property
    def availability_zone(self) -> None:
        return None

    @property
    def resources_synced(self) -> None:
        return None

    @property
    def live(self) -> bool:
        """May ports be bound here: alive and enabled by the admin."""
        return self.alive and self.admin_state_up


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentUpdate:
    """What an admin may change (`PUT /v2.0/agents/{id}`); UNSET = not asked."""

    admin_state_up: Any = UNSET
    description: Any = UNSET


def is_alive(heartbeat: datetime | None, now: datetime, down_time: float) -> bool:
    """Neutron's rule: down once the last heartbeat is older than `down_time` seconds."""
    return heartbeat is not None and now - heartbeat <= timedelta(seconds=down_time)


def alive_since(now: datetime, down_time: float) -> datetime:
    """The oldest heartbeat that still counts as alive at `now`."""
    return now - timedelta(seconds=down_time)


def can_carry(agent: Agent, segment: Segment | None) -> bool:
    """Whether the agent's host can plug a port of this segment (the linuxbridge rule):
    local always; flat and vlan only onto a physical network it has an interface for;
    vxlan only with an underlay address. A network without a segment is local."""
    if segment is None or segment.network_type == "local":
        return True
    if segment.network_type in ("flat", "vlan"):
        return segment.physical_network in agent.physical_interfaces
    if segment.network_type == "vxlan":
        return bool(agent.local_ip)
    return False
