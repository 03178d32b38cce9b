"""`/v2.0/agents`: Neutron's agent registry, answered honestly as empty.

neutrino's host agents follow the change log (`/v2.0/changes`) and do not register as
Neutron agents, so the collection has no members: clients (and Tempest's
`test_list_agents_non_admin`) get an empty list, and any member is 404 AgentNotFound.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from neutrino import policy
from neutrino.api.resources import context_of, json_response
from neutrino.domain.errors import NotFound


async def collection(request: Request) -> Response:
    policy.check_read(await context_of(request), "agent")
    return json_response({"agents": []})


async def member(request: Request) -> Response:
    policy.check_read(await context_of(request), "agent")
    agent_id = request.path_params["id"]
    raise NotFound(f"Agent {agent_id} could not be found.", type_name="AgentNotFound")
