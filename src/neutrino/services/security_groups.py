"""Security groups: the per-project default group, create, read, update, delete.

Rules live in `security_group_rules.py`; a group is always read with its rules, and every
rule change bumps the group's revision (`bump`), so the group's change-log entry carries the
rules as they are after the change.
"""

from __future__ import annotations

from dataclasses import replace

from neutrino.db import Tx
from neutrino.db.repos import security_groups as repo
from neutrino.domain import security_group as sg
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.security_group import (
    RuleSpec,
    SecurityGroup,
    SecurityGroupCreate,
    SecurityGroupRule,
    SecurityGroupUpdate,
)
from neutrino.domain.standard import changed_fields
from neutrino.services import _common as common
from neutrino.services import quotas
from neutrino.services._env import Env

RESOURCE = "security_group"
RULE = "security_group_rule"


# --------------------------------------------------------------------------- default group


def ensure_default(tx: Tx, env: Env, project_id: str) -> str:
    """The id of the project's default group, created with its rules on first use.

    Safe when two transactions race: both may build a group, but only one can take the
    project's row in default_security_groups; the other's savepoint is rolled back and it
    returns the winner's id. Quotas do not apply: the system, not the user, creates it."""
    existing = repo.default_group_id(tx, project_id)
    if existing is not None:
        return existing
    group = SecurityGroup(
        id=common.new_id(),
        project_id=project_id,
        name=sg.DEFAULT_NAME,
        description=sg.DEFAULT_DESCRIPTION,
    )
    specs = sg.template_rules(group.id, is_default=True)
    stored = repo.insert_default(tx, group, rules_from(specs, group, is_default=True))
    if stored is None:
        winner = repo.default_group_id(tx, project_id)
        if winner is None:  # the insert failed for another reason than the race
            raise sg.default_conflict(project_id)
        return winner
    _record_created(tx, stored)
    return stored.id


def default_project_for_list(ctx: Context, query: ListQuery) -> str | None:
    """Whose default group a list request should make sure of (Neutron does it on lists):
    the project filtered on, else the caller's; only the admin or that project itself."""
    requested = query.filters.get("project_id") or ()
    project = next((p for p in requested if isinstance(p, str) and p), ctx.project_id)
    if not project or not (ctx.is_service or project == ctx.project_id):
        return None
    return project


# --------------------------------------------------------------------------- create


def create(env: Env, ctx: Context, req: SecurityGroupCreate) -> SecurityGroup:
    with env.db.write() as tx:
        return create_in(tx, env, ctx, req)


def create_in(tx: Tx, env: Env, ctx: Context, req: SecurityGroupCreate) -> SecurityGroup:
    """Create inside the caller's transaction; the group starts with the egress rules."""
    project_id = common.owning_project(ctx, req.project_id)
    ensure_default(tx, env, project_id)
    group_id = common.new_id()
    specs = sg.template_rules(group_id, is_default=False)
    quotas.check(tx, env, project_id, RESOURCE, 1)
    quotas.check(tx, env, project_id, RULE, len(specs))
    group = SecurityGroup(
        id=group_id,
        project_id=project_id,
        name=req.name,
        description=req.description,
        stateful=req.stateful,
        tags=tuple(sorted(set(req.tags))),
    )
    stored = repo.groups.insert(tx, group)
    rules = tuple(repo.rules.insert(tx, r) for r in rules_from(specs, group, is_default=False))
    stored = replace(stored, rules=sg.in_order(rules))
    _record_created(tx, stored)
    return stored


def rules_from(
    specs: tuple[RuleSpec, ...], group: SecurityGroup, *, is_default: bool
) -> list[SecurityGroupRule]:
    return [
        SecurityGroupRule(
            id=common.new_id(),
            project_id=group.project_id,
            security_group_id=group.id,
            direction=spec.direction,
            ethertype=spec.ethertype,
            remote_group_id=spec.remote_group_id,
            belongs_to_default_sg=is_default,
        )
        for spec in specs
    ]


def _record_created(tx: Tx, group: SecurityGroup) -> None:
    tx.record(Change.of(Op.CREATE, RESOURCE, group))
    for rule in group.rules:
        tx.record(Change.of(Op.CREATE, RULE, rule))


# --------------------------------------------------------------------------- read


def get(env: Env, ctx: Context, group_id: str) -> SecurityGroup:
    with env.db.read() as tx:
        return load_visible(tx, ctx, group_id)


def load_visible(
    tx: Tx, ctx: Context, group_id: str, *, for_update: bool = False
) -> SecurityGroup:
    """The group with its rules if the caller may see it (its own, or admin), else 404."""
    group = repo.groups.get(tx, group_id, for_update=for_update)
    if group is None or not (ctx.is_admin or group.project_id == ctx.project_id):
        raise sg.group_not_found(group_id)
    return replace(group, rules=repo.rules_of(tx, [group.id])[group.id])


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[SecurityGroup]:
    """List, creating the project's default group first if it has none yet.

    The usual case is one read transaction; only a project's first list writes."""
    project = default_project_for_list(ctx, query)
    with env.db.read() as tx:
        if project is None or repo.default_group_id(tx, project) is not None:
            return _page(tx, ctx, query)
    with env.db.write() as tx:
        ensure_default(tx, env, project)
        return _page(tx, ctx, query)


def _page(tx: Tx, ctx: Context, query: ListQuery) -> Page[SecurityGroup]:
    page = repo.groups.list(tx, query, common.scope(ctx))
    rules = repo.rules_of(tx, [g.id for g in page.items])
    return Page([replace(g, rules=rules[g.id]) for g in page.items], page.has_more)


# --------------------------------------------------------------------------- update, delete


def update(
    env: Env, ctx: Context, group_id: str, req: SecurityGroupUpdate, if_match: int | None = None
) -> SecurityGroup:
    with env.db.write() as tx:
        old = load_visible(tx, ctx, group_id, for_update=True)
        common.require_owner(ctx, old, "update", RESOURCE)
        common.check_revision(old, if_match)
        changes = changed_fields(req)
        stateful = changes.get("stateful", old.stateful)
        if stateful != old.stateful and repo.group_in_use(tx, old.id):
            raise sg.group_in_use(old.id)
        if "name" in changes and old.name == sg.DEFAULT_NAME:
            raise sg.cannot_update_default()
        new = replace(old, **changes)
        if new == old:
            return old
        new = repo.groups.update(tx, old, new)
        tx.record(Change.of(Op.UPDATE, RESOURCE, new))
        return new


def delete(env: Env, ctx: Context, group_id: str) -> None:
    """Delete a group and its rules, and other groups' rules that name it as remote group
    (as Neutron's foreign keys cascade). Refused while a port uses it, and for the default
    group unless the caller is an admin."""
    with env.db.write() as tx:
        group = load_visible(tx, ctx, group_id, for_update=True)
        common.require_owner(ctx, group, "delete", RESOURCE)
        if repo.group_in_use(tx, group.id):
            raise sg.group_in_use(group.id)
        if group.name == sg.DEFAULT_NAME and not ctx.is_admin:
            raise sg.cannot_remove_default()
        pointing = repo.rules_with_remote(tx, group.id)
        repo.delete_rules(tx, [r.id for r in (*pointing, *group.rules)])
        for rule in (*pointing, *group.rules):
            tx.record(Change.of(Op.DELETE, RULE, rule))
        for other_id in sorted({r.security_group_id for r in pointing}):
            bump(tx, other_id)
        repo.release_default(tx, group.id)
        repo.groups.delete(tx, group.id)
        tx.record(Change.of(Op.DELETE, RESOURCE, group))


def bump(tx: Tx, group_id: str) -> SecurityGroup:
    """A new revision of the group after one of its rules changed, recorded with its rules."""
    group = common.found(repo.groups.get(tx, group_id, for_update=True), RESOURCE, group_id)
    current = replace(group, rules=repo.rules_of(tx, [group_id])[group_id])
    stored = repo.groups.bump(tx, current)
    tx.record(Change.of(Op.UPDATE, RESOURCE, stored))
    return stored
