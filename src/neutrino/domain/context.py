"""Who is asking: the request context every service call receives."""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN = "admin"
MEMBER = "member"
READER = "reader"
SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Context:
    """The caller's identity and roles, already authenticated by the API's auth layer.

    `project_id` is None only for an admin acting without a project (Neutron's admin context).
    """

    project_id: str | None
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_service(self) -> bool:
        return SERVICE in self.roles or self.is_admin

    @property
    def can_write(self) -> bool:
        """Readers (and only readers) may not change anything."""
        return bool(self.roles - {READER}) or not self.roles

    @staticmethod
    def admin(project_id: str | None = None) -> Context:
        return Context(project_id=project_id, roles=frozenset({ADMIN, MEMBER, READER}))
