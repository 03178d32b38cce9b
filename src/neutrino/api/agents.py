"""`/v2.0/agents`: Neutron's agent resource, for admins (Neutron's policy makes get, update
and delete admin-only; everyone else sees an empty list and 404s, as Tempest's
`test_list_agents_non_admin` expects). Agents appear by reporting (`api/agent_protocol.py`).
"""

from __future__ import annotations

from neutrino.api.resources import Binding
from neutrino.schema.agents import AGENT
from neutrino.services import agents

AGENTS = Binding(
    AGENT,
    list=agents.list_,
    get=agents.get,
    update=agents.update,
    delete=agents.delete,
)
