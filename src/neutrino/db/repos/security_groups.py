"""Security groups and rules: rows <-> objects, each project's default group, port bindings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from neutrino.db._ids import id_in
from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.security_groups import (
    default_security_groups,
    security_group_port_bindings,
    security_group_rules,
    security_groups,
)
from neutrino.db.tx import Tx
from neutrino.domain.security_group import SecurityGroup, SecurityGroupRule, in_order

groups_t = security_groups
rules_t = security_group_rules
defaults_t = default_security_groups
bindings_t = security_group_port_bindings


# --------------------------------------------------------------------------- groups


def _group_obj(row: Any, tags: tuple[str, ...]) -> SecurityGroup:
    return SecurityGroup(**standard_fields(row, tags), stateful=row.stateful)


def _group_row(group: SecurityGroup) -> dict[str, Any]:
    return {**standard_row(group), "stateful": group.stateful}


groups: Crud[SecurityGroup] = Crud(
    resource="security_group", table=groups_t, to_obj=_group_obj, to_row=_group_row
)


# --------------------------------------------------------------------------- rules


def _rule_obj(row: Any, _tags: tuple[str, ...] = ()) -> SecurityGroupRule:
    return SecurityGroupRule(
        id=row.id,
        project_id=row.project_id,
        security_group_id=row.security_group_id,
        direction=row.direction,
        ethertype=row.ethertype,
        protocol=row.protocol,
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
        remote_group_id=row.remote_group_id,
        description=row.description,
        belongs_to_default_sg=row.belongs_to_default_sg,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revision_number=row.revision_number,
    )


def _rule_row(rule: SecurityGroupRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "project_id": rule.project_id,
        "description": rule.description,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
        "revision_number": rule.revision_number,
        "security_group_id": rule.security_group_id,
        "remote_group_id": rule.remote_group_id,
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "normalized_cidr": rule.normalized_cidr,
        "belongs_to_default_sg": rule.belongs_to_default_sg,
    }


def _rules_visible(project_id: str) -> sa.ColumnElement[bool]:
    """A project sees the rules it owns and every rule of the groups it owns."""
    own_groups = sa.select(groups_t.c.id).where(groups_t.c.project_id == project_id)
    return sa.or_(
        rules_t.c.project_id == project_id, rules_t.c.security_group_id.in_(own_groups)
    )


rules: Crud[SecurityGroupRule] = Crud(
    resource="security_group_rule",
    table=rules_t,
    to_obj=_rule_obj,
    to_row=_rule_row,
    scope=_rules_visible,
)


def insert_rule(tx: Tx, rule: SecurityGroupRule) -> SecurityGroupRule | None:
    """Store a rule, or None if a group it names is gone (deleted by a transaction that
    committed after our checks: PostgreSQL's foreign-key check waits for it, then fails)."""
    try:
        with tx.conn.begin_nested():
            return rules.insert(tx, rule)
    except IntegrityError:
        return None


def rules_of(tx: Tx, group_ids: Iterable[str]) -> dict[str, tuple[SecurityGroupRule, ...]]:
    """The rules of each group (every id given is a key), in creation order."""
    ids = list(group_ids)
    out: dict[str, list[SecurityGroupRule]] = {gid: [] for gid in ids}
    if not ids:
        return {}
    stmt = sa.select(rules_t).where(rules_t.c.security_group_id.in_(ids))
    for row in tx.conn.execute(stmt):
        out[row.security_group_id].append(_rule_obj(row))
    return {gid: in_order(found) for gid, found in out.items()}


def rules_with_remote(tx: Tx, group_id: str) -> list[SecurityGroupRule]:
    """Rules of other groups that name `group_id` as their remote group."""
    stmt = sa.select(rules_t).where(
        rules_t.c.remote_group_id == group_id, rules_t.c.security_group_id != group_id
    )
    return [_rule_obj(row) for row in tx.conn.execute(stmt)]


def delete_rules(tx: Tx, rule_ids: Iterable[str]) -> None:
    ids = list(rule_ids)
    if ids:
        tx.conn.execute(sa.delete(rules_t).where(rules_t.c.id.in_(ids)))


# --------------------------------------------------------------------------- default group


_DEFAULT_GROUP = sa.select(defaults_t.c.security_group_id).where(
    defaults_t.c.project_id == sa.bindparam("project")
)


def default_group_id(tx: Tx, project_id: str) -> str | None:
    """Built once (every port create asks): the project's default group, if it exists."""
    found = tx.conn.execute(_DEFAULT_GROUP, {"project": project_id}).scalar_one_or_none()
    return None if found is None else str(found)


def is_default(tx: Tx, group_id: str) -> bool:
    stmt = sa.select(defaults_t.c.project_id).where(defaults_t.c.security_group_id == group_id)
    return tx.conn.execute(stmt).first() is not None


def insert_default(
    tx: Tx, group: SecurityGroup, group_rules: Sequence[SecurityGroupRule]
) -> SecurityGroup | None:
    """Store a project's default group with its rules, or nothing and None if the project
    already has one (another transaction won the race: its insert into the
    default_security_groups key made ours fail, and only our savepoint is rolled back)."""
    try:
        with tx.conn.begin_nested():
            stored = groups.insert(tx, group)
            stored_rules = tuple(rules.insert(tx, rule) for rule in group_rules)
            tx.conn.execute(
                defaults_t.insert().values(project_id=group.project_id, security_group_id=group.id)
            )
    except IntegrityError:
        return None
    return replace(stored, rules=in_order(stored_rules))


def release_default(tx: Tx, group_id: str) -> None:
    tx.conn.execute(sa.delete(defaults_t).where(defaults_t.c.security_group_id == group_id))


# --------------------------------------------------------------------------- bindings


def groups_exist_visible(tx: Tx, group_ids: Iterable[str], project_id: str | None) -> set[str]:
    """The ids among `group_ids` that exist and that `project_id` may use (None: admin)."""
    ids = list(set(group_ids))
    if not ids:
        return set()
    stmt = sa.select(groups_t.c.id).where(groups_t.c.id.in_(ids))
    if project_id is not None:
        stmt = stmt.where(groups_t.c.project_id == project_id)
    return {str(row[0]) for row in tx.conn.execute(stmt)}


def stateful_flags(tx: Tx, group_ids: Iterable[str]) -> dict[str, bool]:
    """Group id -> stateful, for the groups that exist (ports must not mix the two)."""
    ids = list(set(group_ids))
    if not ids:
        return {}
    stmt = sa.select(groups_t.c.id, groups_t.c.stateful).where(groups_t.c.id.in_(ids))
    return {str(gid): bool(stateful) for gid, stateful in tx.conn.execute(stmt)}


def bindings_for_ports(tx: Tx, port_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Port id -> the ids of the groups it uses (sorted); every port asked for is a key."""
    ids = list(port_ids)
    out: dict[str, list[str]] = defaultdict(list)
    if ids:
        stmt = (
            sa.select(bindings_t.c.port_id, bindings_t.c.security_group_id)
            .where(id_in(bindings_t.c.port_id, ids, tx.dialect))
            .order_by(bindings_t.c.port_id, bindings_t.c.security_group_id)
        )
        for port_id, group_id in tx.conn.execute(stmt):
            out[port_id].append(group_id)
    return {pid: tuple(out.get(pid, ())) for pid in ids}


def set_port_bindings(
    tx: Tx, port_id: str, group_ids: Iterable[str], *, new_port: bool = False
) -> None:
    """Make the port's groups exactly `group_ids` (empty: none, e.g. before deleting it).
    A `new_port` has no bindings yet, so nothing needs deleting first."""
    if not new_port:
        tx.conn.execute(sa.delete(bindings_t).where(bindings_t.c.port_id == port_id))
    rows = [{"port_id": port_id, "security_group_id": gid} for gid in sorted(set(group_ids))]
    if rows:
        tx.conn.execute(bindings_t.insert(), rows)


def ports_in_groups_query(group_ids: Iterable[Any]) -> sa.Select[Any]:
    """The ids of ports bound to any of the groups (the ports' `security_groups` filter)."""
    return sa.select(bindings_t.c.port_id).where(
        bindings_t.c.security_group_id.in_([str(gid) for gid in group_ids])
    )


def group_in_use(tx: Tx, group_id: str) -> bool:
    """Whether any port uses the group."""
    stmt = sa.select(bindings_t.c.port_id).where(bindings_t.c.security_group_id == group_id)
    return tx.conn.execute(stmt.limit(1)).first() is not None

