"""Security group rules: create (single or bulk), read, delete. Rules are never updated.

A rule is visible to the project that owns it and to the owner of its group. Creating or
deleting one takes the group's row lock first, so concurrent changes to one group's rules
are serialised and the duplicate check sees every committed rule.
"""

from __future__ import annotations

from neutrino.db import Tx
from neutrino.db.repos import security_groups as repo
from neutrino.domain import security_group as sg
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import PolicyNotAuthorized
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.security_group import (
    RuleSpec,
    SecurityGroup,
    SecurityGroupRule,
    SecurityGroupRuleCreate,
)
from neutrino.services import _common as common
from neutrino.services import quotas
from neutrino.services import security_groups as groups
from neutrino.services._env import Env

RESOURCE = groups.RULE


def create(env: Env, ctx: Context, req: SecurityGroupRuleCreate) -> SecurityGroupRule:
    with env.db.write() as tx:
        return create_in(tx, env, ctx, req)


def create_in(
    tx: Tx, env: Env, ctx: Context, req: SecurityGroupRuleCreate
) -> SecurityGroupRule:
    """Check, refuse duplicates, store, and bump the group (bulk runs this N times in one
    transaction, so a failing rule takes the ones before it back with it)."""
    spec = sg.checked_rule(req)
    scope = common.scope(ctx)
    if spec.remote_group_id and not repo.groups_exist_visible(tx, [spec.remote_group_id], scope):
        raise sg.group_not_found(spec.remote_group_id)
    group = groups.load_visible(tx, ctx, req.security_group_id, for_update=True)
    common.require_owner(ctx, group, "create", RESOURCE)
    # An admin adding a rule to a project's group makes it that project's rule.
    project_id = req.project_id if isinstance(req.project_id, str) and req.project_id else (
        group.project_id
    )
    created_before = _created_in_this_request(tx)
    _refuse_mixed_bulk(created_before, group.id, project_id)
    quotas.check(tx, env, project_id, RESOURCE, 1)
    _refuse_duplicate(group, spec, created_before)
    rule = SecurityGroupRule(
        id=common.new_id(),
        project_id=project_id,
        security_group_id=group.id,
        direction=spec.direction,
        ethertype=spec.ethertype,
        protocol=spec.protocol,
        port_range_min=spec.port_range_min,
        port_range_max=spec.port_range_max,
        remote_ip_prefix=spec.remote_ip_prefix,
        remote_group_id=spec.remote_group_id,
        description=req.description,
        belongs_to_default_sg=repo.is_default(tx, group.id),
    )
    stored = repo.insert_rule(tx, rule)
    if stored is None:
        raise sg.group_not_found(spec.remote_group_id or group.id)
    tx.record(Change.of(Op.CREATE, RESOURCE, stored))
    groups.bump(tx, group.id)
    return stored


def _created_in_this_request(tx: Tx) -> list[Change]:
    return [c for c in tx.changes if c.resource == RESOURCE and c.op is Op.CREATE and c.body]


def _refuse_mixed_bulk(earlier: list[Change], group_id: str, project_id: str) -> None:
    """A bulk create adds rules to one group of one project (Neutron's restriction)."""
    for change in earlier:
        assert change.body is not None
        if change.body["security_group_id"] != group_id:
            raise sg.not_single_group()
        if change.project_id != project_id:
            raise sg.not_single_project()


def _refuse_duplicate(group: SecurityGroup, spec: RuleSpec, earlier: list[Change]) -> None:
    key = sg.rule_key(spec)
    for existing in group.rules:
        if sg.rule_key(existing) == key:
            if any(change.resource_id == existing.id for change in earlier):
                raise sg.duplicate_in_post()
            raise sg.rule_exists(existing.id)


# --------------------------------------------------------------------------- read


def get(env: Env, ctx: Context, rule_id: str) -> SecurityGroupRule:
    with env.db.read() as tx:
        return load_visible(tx, ctx, rule_id)


def load_visible(tx: Tx, ctx: Context, rule_id: str) -> SecurityGroupRule:
    """The rule if the caller owns it or its group (or is admin), else 404."""
    rule = repo.rules.get(tx, rule_id)
    if rule is None:
        raise sg.rule_not_found(rule_id)
    if ctx.is_admin or rule.project_id == ctx.project_id:
        return rule
    if repo.groups_exist_visible(tx, [rule.security_group_id], ctx.project_id or ""):
        return rule
    raise sg.rule_not_found(rule_id)


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[SecurityGroupRule]:
    """List, making sure of the project's default group first (as Neutron does)."""
    project = groups.default_project_for_list(ctx, query)
    with env.db.read() as tx:
        if project is None or repo.default_group_id(tx, project) is not None:
            return repo.rules.list(tx, query, common.scope(ctx))
    with env.db.write() as tx:
        groups.ensure_default(tx, env, project)
        return repo.rules.list(tx, query, common.scope(ctx))


# --------------------------------------------------------------------------- delete


def delete(env: Env, ctx: Context, rule_id: str) -> None:
    """Only the group's owner (or an admin) deletes a rule; the group gets a new revision."""
    with env.db.write() as tx:
        rule = load_visible(tx, ctx, rule_id)
        group = repo.groups.get(tx, rule.security_group_id, for_update=True)
        if group is None:
            raise sg.rule_not_found(rule_id)
        if not (ctx.is_admin or group.project_id == ctx.project_id):
            raise PolicyNotAuthorized(f"(delete_{RESOURCE}) is disallowed by policy")
        repo.rules.delete(tx, rule.id)
        tx.record(Change.of(Op.DELETE, RESOURCE, rule))
        groups.bump(tx, group.id)
