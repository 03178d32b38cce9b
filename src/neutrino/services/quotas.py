"""Quotas: defaults from configuration, per-project overrides, 409 OverQuota on create."""

from __future__ import annotations

from neutrino.db import Tx
from neutrino.db.repos import quotas as repo
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, OverQuota, PolicyNotAuthorized
from neutrino.services._env import Env

# Quota resource name -> the table whose rows count against it.
TABLES = {
    "network": "networks",
    "subnet": "subnets",
    "port": "ports",
    "router": "routers",
    "floatingip": "floatingips",
    "security_group": "securitygroups",
    "security_group_rule": "securitygrouprules",
    "subnetpool": "subnetpools",
    "rbac_policy": "rbac_policies",
}


def limits_in(tx: Tx, env: Env, project_id: str) -> dict[str, int]:
    return {**env.config.default_quotas, **repo.overrides(tx, project_id)}


def check(tx: Tx, env: Env, project_id: str, resource: str, adding: int) -> None:
    """Refuse with 409 OverQuota if `adding` more would pass the project's limit (-1 = none)."""
    table = TABLES[resource]
    default = env.config.default_quotas.get(resource, -1)
    limit, used = repo.limit_and_usage(tx, project_id, resource, table, default)
    # Only at the limit is the usage corrected for the rows that count against no quota
    # (DHCP ports): a second query, never on the way of a create under its limit.
    if (limit >= 0 and used + adding > limit
            and used - repo.uncounted(tx, table, project_id) + adding > limit):
        raise OverQuota(f"Quota exceeded for resources: ['{resource}'].")


def get(env: Env, ctx: Context, project_id: str) -> dict[str, int]:
    _may_read(ctx, project_id)
    with env.db.read() as tx:
        return limits_in(tx, env, project_id)


def defaults(env: Env) -> dict[str, int]:
    return dict(env.config.default_quotas)


def details(env: Env, ctx: Context, project_id: str) -> dict[str, dict[str, int]]:
    """Limit, used and reserved per resource (Neutron's quota-details extension)."""
    _may_read(ctx, project_id)
    with env.db.read() as tx:
        limits = limits_in(tx, env, project_id)
        out = {}
        for resource, limit in limits.items():
            table = TABLES.get(resource)
            used = repo.count(tx, table, project_id) if table and repo.has_table(table) else 0
            out[resource] = {"limit": limit, "used": used, "reserved": 0}
        return out


def list_all(env: Env, ctx: Context) -> list[tuple[str, dict[str, int]]]:
    if not ctx.is_admin:
        raise PolicyNotAuthorized("(get_quota) is disallowed by policy")
    with env.db.read() as tx:
        return [(p, limits_in(tx, env, p)) for p in repo.projects_with_overrides(tx)]


def update(env: Env, ctx: Context, project_id: str, limits: dict[str, int]) -> dict[str, int]:
    if not ctx.is_admin:
        raise PolicyNotAuthorized("(update_quota) is disallowed by policy")
    unknown = sorted(set(limits) - set(env.config.default_quotas))
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    for resource, value in limits.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < -1:
            raise BadRequest(
                f"Invalid input for {resource}. Reason: '{value}' is not an integer >= -1."
            )
    with env.db.write() as tx:
        repo.set_limits(tx, project_id, limits)
        return limits_in(tx, env, project_id)


def reset(env: Env, ctx: Context, project_id: str) -> None:
    if not ctx.is_admin:
        raise PolicyNotAuthorized("(delete_quota) is disallowed by policy")
    with env.db.write() as tx:
        repo.clear(tx, project_id)


def _may_read(ctx: Context, project_id: str) -> None:
    if not (ctx.is_admin or ctx.project_id == project_id):
        raise PolicyNotAuthorized("(get_quota) is disallowed by policy")
