"""Host agents: registration by heartbeat, and Neutron's admin-only agent resource.

Agents heartbeat every few seconds, so a heartbeat that changes nothing but the timestamp
(and `applied_seq`) writes no change-log entry: only registration, a changed host
configuration, coming back alive, and admin updates/deletes do. An agent that registers or
comes back alive gets the ports on its host that failed to bind bound again, in the same
transaction.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from neutrino.db import Tx
from neutrino.db.repos import agents as repo
from neutrino.domain.agent import Agent, AgentUpdate, alive_since, is_alive
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, PolicyNotAuthorized, not_found
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.standard import changed_fields
from neutrino.services import _common as common
from neutrino.services import ports
from neutrino.services._env import Env
from neutrino.wire import AgentReport
from neutrino.wire import check as check_protocol

RESOURCE = "agent"


def report(env: Env, ctx: Context, rep: AgentReport) -> Agent:
    """Upsert the reporting host's agent and stamp its heartbeat."""
    if not ctx.is_service:
        raise PolicyNotAuthorized("(create_agent) is disallowed by policy")
    _check_report(rep)
    with env.db.write() as tx:
        old = repo.by_host(tx, rep.host, for_update=True)
        if old is None:
            agent = _register(tx, rep)
            if agent is None:  # another process registered the host first: a heartbeat
                old = repo.by_host(tx, rep.host, for_update=True)
        if old is not None:
            agent = _heartbeat(tx, env, old, rep)
        assert agent is not None
        return _with_alive(env, tx, agent)


def _register(tx: Tx, rep: AgentReport) -> Agent | None:
    agent = Agent(
        id=common.new_id(), host=rep.host, protocol=rep.protocol, local_ip=rep.local_ip,
        physical_interfaces=dict(rep.physical_interfaces), applied_seq=rep.applied_seq,
        created_at=tx.now, started_at=tx.now, heartbeat_timestamp=tx.now, alive=True,
    )
    if not repo.insert(tx, agent):
        return None
    tx.record(Change.of(Op.CREATE, RESOURCE, agent))
    return agent


def _heartbeat(tx: Tx, env: Env, old: Agent, rep: AgentReport) -> Agent:
    restarted = (rep.protocol, rep.local_ip) != (old.protocol, old.local_ip)
    agent = replace(
        old, protocol=rep.protocol, local_ip=rep.local_ip,
        physical_interfaces=dict(rep.physical_interfaces), applied_seq=rep.applied_seq,
        heartbeat_timestamp=tx.now, started_at=tx.now if restarted else old.started_at,
        alive=True,
    )
    repo.update(tx, agent)
    was_alive = is_alive(old.heartbeat_timestamp, tx.now, env.config.agent_down_time)
    reconfigured = restarted or agent.physical_interfaces != old.physical_interfaces
    if reconfigured or not was_alive:
        tx.record(Change.of(Op.UPDATE, RESOURCE, agent))
        # Order matters: the driver reads the agent row just written.
        ports.rebind_failed(tx, env, agent.host)
    return agent


def _check_report(rep: AgentReport) -> None:
    check_protocol(rep.protocol)
    if not rep.host or len(rep.host) > 255:
        raise BadRequest("Invalid agent report: host must be 1 to 255 characters")
    if rep.local_ip is not None:
        try:
            ipaddress.ip_address(rep.local_ip)
        except ValueError:
            raise BadRequest(f"Invalid agent report: local_ip '{rep.local_ip}' is not an "
                             "IP address") from None
    if not all(isinstance(k, str) and isinstance(v, str)
               for k, v in rep.physical_interfaces.items()):
        raise BadRequest("Invalid agent report: physical_interfaces maps names to names")
    if rep.applied_seq < 0:
        raise BadRequest("Invalid agent report: applied_seq must not be negative")


def _with_alive(env: Env, tx: Tx, agent: Agent) -> Agent:
    return replace(agent, alive=is_alive(agent.heartbeat_timestamp, tx.now,
                                         env.config.agent_down_time))


# -- Neutron's agent resource: admin only (neutron's policy: get/update/delete_agent) -------


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[Agent]:
    """Every agent for admins; nobody else sees any (as Neutron, an empty list, not 403)."""
    if not ctx.is_admin:
        return Page([], False)
    filters = dict(query.filters)
    alive = filters.pop("alive", None)
    with env.db.read() as tx:
        extra = [] if alive is None else [
            repo.alive_clause(alive, alive_since(tx.now, env.config.agent_down_time))]
        page = repo.list_(tx, replace(query, filters=filters), extra)
        return Page([_with_alive(env, tx, a) for a in page.items], page.has_more)


def get(env: Env, ctx: Context, agent_id: str) -> Agent:
    with env.db.read() as tx:
        return _with_alive(env, tx, _load(tx, ctx, agent_id))


def _load(tx: Tx, ctx: Context, agent_id: str, *, for_update: bool = False) -> Agent:
    """The agent, for admins; 404 for everyone else, so ids don't leak (Neutron)."""
    agent = repo.get(tx, agent_id, for_update=for_update) if ctx.is_admin else None
    if agent is None:
        raise not_found(RESOURCE, agent_id)
    return agent


def update(env: Env, ctx: Context, agent_id: str, req: AgentUpdate,
           if_match: int | None = None) -> Agent:
    """admin_state_up and description. Enabling an agent binds its host's failed ports."""
    with env.db.write() as tx:
        old = _load(tx, ctx, agent_id, for_update=True)
        new = replace(old, **changed_fields(req))
        if new == old:
            return _with_alive(env, tx, old)
        repo.update(tx, new)
        new = _with_alive(env, tx, new)
        tx.record(Change.of(Op.UPDATE, RESOURCE, new))
        if new.admin_state_up and not old.admin_state_up:
            ports.rebind_failed(tx, env, new.host)
        return new


def delete(env: Env, ctx: Context, agent_id: str) -> None:
    """Forget the agent (it registers again with its next heartbeat, as in Neutron). Ports
    bound to its host keep their binding."""
    with env.db.write() as tx:
        agent = _load(tx, ctx, agent_id, for_update=True)
        repo.delete(tx, agent.id)
        tx.record(Change.of(Op.DELETE, RESOURCE, agent))
