"""Who may do what, decided from the caller's roles alone (pure).

Ownership (a project touches only what it owns or what is shared with it) is a data-access
rule applied by the services inside their transaction; role rules live here: readers never
write, and only admins act for other projects.
"""

from __future__ import annotations

from neutrino.domain.context import Context
from neutrino.domain.errors import PolicyNotAuthorized

__all__ = ["check_read", "check_write"]


def check_write(ctx: Context, action: str, resource: str, project_id: object = None) -> None:
    """Refuse writes by readers, and creates for another project by non-admins."""
    if not ctx.can_write or ctx.roles == {"reader"}:
        raise PolicyNotAuthorized(f"rule:{action}_{resource} is disallowed by policy")
    if (
        isinstance(project_id, str)
        and project_id
        and not ctx.is_admin
        and project_id != ctx.project_id
    ):
        raise PolicyNotAuthorized(f"rule:{action}_{resource} is disallowed by policy")


def check_read(ctx: Context, resource: str) -> None:
    """Anyone authenticated may read; what they see is scoped by the services."""
    if not ctx.roles and ctx.project_id is None:
        raise PolicyNotAuthorized(f"rule:get_{resource} is disallowed by policy")
