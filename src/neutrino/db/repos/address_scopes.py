"""Address scopes: rows <-> `AddressScope`, visibility (own or shared)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.subnetpools import address_scopes
from neutrino.domain.address_scope import AddressScope

t = address_scopes


def _to_obj(row: Any, tags: tuple[str, ...]) -> AddressScope:
    return AddressScope(**standard_fields(row, tags), ip_version=row.ip_version, shared=row.shared)


def _to_row(scope: AddressScope) -> dict[str, Any]:
    return {**standard_row(scope), "ip_version": scope.ip_version, "shared": scope.shared}


def _visible(project_id: str) -> sa.ColumnElement[bool]:
    return sa.or_(t.c.project_id == project_id, t.c.shared.is_(True))


crud: Crud[AddressScope] = Crud(
    resource="address_scope", table=t, to_obj=_to_obj, to_row=_to_row, scope=_visible
)
