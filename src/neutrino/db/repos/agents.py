"""Agents: rows <-> `Agent`. `alive` is left False here; the service derives it from the
heartbeat and its configured `agent_down_time`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from neutrino.db.repos._crud import Crud
from neutrino.db.tables.agents import agents
from neutrino.db.tx import Tx
from neutrino.domain.agent import Agent
from neutrino.domain.listing import ListQuery, Page

t = agents


def _to_obj(row: Any, _tags: tuple[str, ...] = ()) -> Agent:
    conf = row.configurations or {}
    return Agent(
        id=row.id,
        host=row.host,
        protocol=row.protocol,
        agent_type=row.agent_type,
        binary=row.binary,
        topic=row.topic,
        admin_state_up=row.admin_state_up,
        description=row.description,
        local_ip=conf.get("local_ip"),
        physical_interfaces=dict(conf.get("physical_interfaces") or {}),
        applied_seq=row.applied_seq,
        created_at=row.created_at,
        started_at=row.started_at,
        heartbeat_timestamp=row.heartbeat_timestamp,
    )


def _to_row(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "host": agent.host,
        "agent_type": agent.agent_type,
        "binary": agent.binary,
        "topic": agent.topic,
        "admin_state_up": agent.admin_state_up,
        "description": agent.description,
        "configurations": {
            "local_ip": agent.local_ip,
            "physical_interfaces": dict(agent.physical_interfaces),
            "protocol": agent.protocol,
        },
        "created_at": agent.created_at,
        "started_at": agent.started_at,
        "heartbeat_timestamp": agent.heartbeat_timestamp,
        "applied_seq": agent.applied_seq,
        "protocol": agent.protocol,
    }


crud: Crud[Agent] = Crud(resource="agent", table=t, to_obj=_to_obj, to_row=_to_row)


def get(tx: Tx, agent_id: str, *, for_update: bool = False) -> Agent | None:
    return crud.get(tx, agent_id, for_update=for_update, with_tags=False)


def by_host(tx: Tx, host: str, *, for_update: bool = False) -> Agent | None:
    stmt = sa.select(t).where(t.c.host == host)
    if for_update and tx.dialect == "postgresql":
        stmt = stmt.with_for_update()
    row = tx.conn.execute(stmt).one_or_none()
    return None if row is None else _to_obj(row)


def by_hosts(tx: Tx, hosts: Iterable[str]) -> dict[str, Agent]:
    wanted = sorted(set(hosts))
    if not wanted:
        return {}
    return {r.host: _to_obj(r) for r in tx.conn.execute(sa.select(t).where(t.c.host.in_(wanted)))}


def alive_clause(values: Sequence[Any], since: datetime) -> sa.ColumnElement[bool]:
    """The `alive=` list filter: heartbeats at or after `since` are alive."""
    wanted = {bool(v) for v in values}
    if wanted == {True, False}:
        return sa.true()
    if True in wanted:
        return t.c.heartbeat_timestamp >= since
    return t.c.heartbeat_timestamp < since


def list_(tx: Tx, query: ListQuery, extra: Sequence[sa.ColumnElement[bool]] = ()) -> Page[Agent]:
    rows, has_more = crud.rows(tx, query, None, extra)
    return Page([_to_obj(r) for r in rows], has_more)


def insert(tx: Tx, agent: Agent) -> bool:
    """Store a new agent; False if another request registered the host first."""
    try:
        with tx.conn.begin_nested():
            tx.conn.execute(t.insert(), _to_row(agent))
    except IntegrityError:
        return False
    return True


def update(tx: Tx, agent: Agent) -> None:
    row = _to_row(agent)
    del row["id"], row["created_at"]
    tx.conn.execute(sa.update(t).where(t.c.id == agent.id).values(row))


def delete(tx: Tx, agent_id: str) -> bool:
    return bool(tx.conn.execute(sa.delete(t).where(t.c.id == agent_id)).rowcount)
