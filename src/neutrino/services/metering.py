"""Metering labels and rules: create, read, delete (Neutron has no update for either).

Who may: admins, and a project's managers for their own project (Neutron's new policy
defaults, ADMIN_OR_PROJECT_MANAGER); readers of the project may read. A label is visible to
its project only, shared or not (`shared` says which routers it counts on, not who sees it).
"""

from __future__ import annotations

from neutrino.db import Tx
from neutrino.db.repos import metering as repo
from neutrino.domain import metering as rules
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import PolicyNotAuthorized
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.metering import (
    MeteringLabel,
    MeteringLabelCreate,
    MeteringLabelRule,
    MeteringLabelRuleCreate,
)
from neutrino.services import _common as common
from neutrino.services._env import Env

LABEL = "metering_label"
RULE = "metering_label_rule"
MANAGER = "manager"


def _require_manager(ctx: Context, project_id: str, action: str, resource: str) -> None:
    if ctx.is_admin or (MANAGER in ctx.roles and project_id == ctx.project_id):
        return
    raise PolicyNotAuthorized(f"({action}_{resource}) is disallowed by policy")


# -- labels -------------------------------------------------------------------------------


def create_label_in(tx: Tx, env: Env, ctx: Context, req: MeteringLabelCreate) -> MeteringLabel:
    project_id = common.owning_project(ctx, req.project_id)
    _require_manager(ctx, project_id, "create", LABEL)
    label = repo.labels.insert(tx, MeteringLabel(
        id=common.new_id(), project_id=project_id, name=req.name,
        description=req.description, shared=req.shared,
    ))
    tx.record(Change.of(Op.CREATE, LABEL, label))
    return label


def _load_label(tx: Tx, ctx: Context, label_id: str, *, for_update: bool = False
                ) -> MeteringLabel:
    label = repo.labels.get(tx, label_id, for_update=for_update)
    if label is None or not (ctx.is_admin or label.project_id == ctx.project_id):
        raise rules.label_not_found(label_id)
    return label


def get_label(env: Env, ctx: Context, label_id: str) -> MeteringLabel:
    with env.db.read() as tx:
        return _load_label(tx, ctx, label_id)


def list_labels(env: Env, ctx: Context, query: ListQuery) -> Page[MeteringLabel]:
    with env.db.read() as tx:
        return repo.labels.list(tx, query, common.scope(ctx))


def delete_label(env: Env, ctx: Context, label_id: str) -> None:
    """Delete a label and its rules (each rule's deletion is logged too)."""
    with env.db.write() as tx:
        label = _load_label(tx, ctx, label_id, for_update=True)
        _require_manager(ctx, label.project_id, "delete", LABEL)
        for rule in repo.rules_of(tx, label.id):
            tx.record(Change.of(Op.DELETE, RULE, rule))
        repo.delete_rules_of(tx, label.id)
        repo.labels.delete(tx, label.id)
        tx.record(Change.of(Op.DELETE, LABEL, label))


# -- rules --------------------------------------------------------------------------------


def create_rule_in(tx: Tx, env: Env, ctx: Context, req: MeteringLabelRuleCreate
                   ) -> MeteringLabelRule:
    """Neutron's `create_metering_label_rule`: prefixes checked, the label locked so two
    overlapping rules cannot both pass the overlap check."""
    rules.check_rule_prefixes(req)
    label = _load_label(tx, ctx, req.metering_label_id, for_update=True)
    _require_manager(ctx, label.project_id, "create", RULE)
    rules.check_no_overlap(req, repo.rules_of(tx, label.id))
    rule = repo.rules.insert(tx, MeteringLabelRule(
        id=common.new_id(), project_id=label.project_id, metering_label_id=label.id,
        direction=req.direction, excluded=req.excluded,
        remote_ip_prefix=req.remote_ip_prefix, source_ip_prefix=req.source_ip_prefix,
        destination_ip_prefix=req.destination_ip_prefix,
    ))
    tx.record(Change.of(Op.CREATE, RULE, rule))
    return rule


def _load_rule(tx: Tx, ctx: Context, rule_id: str) -> MeteringLabelRule:
    rule = repo.rules.get(tx, rule_id)
    if rule is None or not (ctx.is_admin or rule.project_id == ctx.project_id):
        raise rules.rule_not_found(rule_id)
    return rule


def get_rule(env: Env, ctx: Context, rule_id: str) -> MeteringLabelRule:
    with env.db.read() as tx:
        return _load_rule(tx, ctx, rule_id)


def list_rules(env: Env, ctx: Context, query: ListQuery) -> Page[MeteringLabelRule]:
    with env.db.read() as tx:
        return repo.rules.list(tx, query, common.scope(ctx))


def delete_rule(env: Env, ctx: Context, rule_id: str) -> None:
    with env.db.write() as tx:
        rule = _load_rule(tx, ctx, rule_id)
        _require_manager(ctx, rule.project_id, "delete", RULE)
        repo.rules.delete(tx, rule.id)
        tx.record(Change.of(Op.DELETE, RULE, rule))
