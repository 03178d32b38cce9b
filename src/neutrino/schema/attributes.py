"""Resource attribute semantics as data, and the one engine that reads them.

Each resource declares a `Resource`: its attributes with Neutron's allow_post / allow_put,
required, visibility, filter and sort flags (neutron-lib's RESOURCE_ATTRIBUTE_MAP, as our own
table). Request parsing, response projection, list filters and sort keys all read that table;
nothing is re-coded per endpoint.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from neutrino.domain import validate as v
from neutrino.domain.config import ServerConfig
from neutrino.domain.errors import BadRequest, InvalidInput, PolicyNotAuthorized

Converter = Callable[[Any], Any]
Dumper = Callable[[Any], Any]
# A value shown that the object alone does not determine: it also depends on the server's
# settings (a port's dns_assignment names its addresses under the server's dns_domain).
Deriver = Callable[[Any, ServerConfig], Any]
# Projects one object with no `fields=` (the settings go to derived attributes only).
_Projector = Callable[[Any, ServerConfig], dict[str, Any]]


def _identity(value: Any) -> Any:
    return value


def string(max_len: int) -> Converter:
    """A converter for a string of at most `max_len` characters."""

    def convert(value: Any) -> str:
        return v.string(value, max_len)

    return convert


@lru_cache(maxsize=4096)
def _format_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def dump_time(value: datetime | None) -> str | None:
    """Neutron's timestamp format: ISO 8601 in UTC, seconds precision, with a Z.

    Cached: the rows of one listing mostly share a handful of seconds, and strftime is a
    visible share of a 10,000-port list.
    """
    return None if value is None else _format_time(value)


def dump_list(value: Iterable[Any]) -> list[Any]:
    return list(value)


def dump_json_list(value: Iterable[Any]) -> list[Any]:
    """For tuples of value objects that know their JSON shape (`to_json`)."""
    return [item.to_json() for item in value]


def dump_str(value: Any) -> str | None:
    return None if value is None else str(value)


# Neutron converts list-filter values but never validates them: `?network_id=private` is a
# 200 with nothing in it, not a 400 (`openstack port list --security-group default`).
_ID_VALIDATORS: frozenset[Converter] = frozenset({v.uuid_str, v.uuid_or_none})


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of a resource, as the API sees it.

    `field` is the domain object's field (defaults to the JSON name with ':' -> '_');
    `convert` turns request JSON into the typed value and raises InvalidInput;
    `filter_convert` does the same for one list-filter value (defaults to `convert`).
    `admin_only` attributes are hidden from and refused to non-admins (provider:*, binding:*);
    `admin_write` ones are visible to all but only admins may set them (shared, external).
    `derive` computes a read-only attribute from the object and the server's settings, when
    it is shown (never stored).
    """

    name: str
    convert: Converter = _identity
    post: bool = False
    put: bool = False
    required: bool = False
    visible: bool = True
    filter: bool = False
    sort: bool = False
    admin_only: bool = False
    admin_write: bool = False
    dump: Dumper = _identity
    field: str = ""
    filter_convert: Converter | None = None
    derive: Deriver | None = None

    def __post_init__(self) -> None:
        if not self.field:
            object.__setattr__(self, "field", self.name.replace(":", "_").replace("-", "_"))

    def convert_filter(self, raw: str) -> Any:
        convert = self.filter_convert or self.convert
        if convert in _ID_VALIDATORS:
            return v.uuid_filter(raw)
        return convert(raw)


def standard_attrs(*, name_filter: bool = True) -> tuple[Attr, ...]:
    """The standard attributes (id, project, name, description, timestamps, revision, tags)."""
    return (
        Attr("id", v.uuid_str, filter=True, sort=True),
        Attr("project_id", v.project_id, post=True, filter=True, sort=True),
        Attr("tenant_id", v.project_id, post=True, filter=True, sort=True, field="project_id"),
        Attr("name", v.name_string, post=True, put=True, filter=name_filter, sort=True),
        Attr("description", v.description, post=True, put=True, filter=True, sort=True),
        Attr("created_at", dump=dump_time, filter=True, sort=True),
        Attr("updated_at", dump=dump_time, filter=True, sort=True),
        Attr("revision_number", v.to_int, filter=True, sort=True),
        Attr("tags", v.tags, post=True, dump=dump_list),
    )


@dataclass(frozen=True)
class Resource:
    """A resource's attribute table plus the domain types its bodies parse into."""

    member: str
    collection: str
    attrs: tuple[Attr, ...]
    create_type: type | None = None
    update_type: type | None = None
    # The URL segment when it differs from the JSON collection key (`security-groups`).
    path: str = ""
    by_name: Mapping[str, Attr] = field(init=False)
    _projection: tuple[tuple[str, Callable[[Any], Any], Dumper, bool], ...] = field(init=False)
    _derived: tuple[tuple[str, Deriver, Dumper, bool], ...] = field(init=False)
    _project_admin: _Projector = field(init=False)
    _project_member: _Projector = field(init=False)

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", self.collection)
        object.__setattr__(self, "by_name", {a.name: a for a in self.attrs})
        projection = tuple(
            (a.name, operator.attrgetter(a.field), a.dump, a.admin_only)
            for a in self.attrs
            if a.visible and a.derive is None
        )
        derived = tuple((a.name, a.derive, a.dump, a.admin_only)
                        for a in self.attrs if a.visible and a.derive is not None)
        object.__setattr__(self, "_projection", projection)
        object.__setattr__(self, "_derived", derived)
        object.__setattr__(self, "_project_admin", _projector(projection, derived, admin=True))
        object.__setattr__(self, "_project_member",
                           _projector(projection, derived, admin=False))

    # -- requests -----------------------------------------------------------------------

    def unwrap(self, body: Any) -> Mapping[str, Any]:
        """The member dict of `{"network": {...}}`, or a clear 400."""
        if not isinstance(body, dict) or self.member not in body:
            raise BadRequest(f"Unable to find '{self.member}' in request body")
        inner = body[self.member]
        if not isinstance(inner, dict):
            raise BadRequest(f"Invalid input for {self.member}. Reason: must be an object.")
        return inner

    def unwrap_many(self, body: Any) -> list[Mapping[str, Any]]:
        """Single or bulk (`{"networks": [...]}`) create bodies, as a list of member dicts."""
        if isinstance(body, dict) and self.collection in body and self.member not in body:
            items = body[self.collection]
            if not isinstance(items, list) or not items:
                raise BadRequest(f"Invalid input for {self.collection}: must be a non-empty list")
            if not all(isinstance(item, dict) for item in items):
                raise BadRequest(f"Invalid input for {self.collection}: items must be objects")
            return items
        return [self.unwrap(body)]

    def parse(self, values: Mapping[str, Any], *, create: bool, is_admin: bool) -> dict[str, Any]:
        """Check and convert a member dict into domain field values.

        Raises 400 for unknown attributes, attributes not allowed for the operation, missing
        required ones and bad values; 403 for admin-only attributes set by a non-admin.
        """
        unknown = [name for name in values if name not in self.by_name]
        if unknown:
            raise BadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
        out: dict[str, Any] = {}
        verb = "POST" if create else "PUT"
        for name, raw in values.items():
            attr = self.by_name[name]
            if not (attr.post if create else attr.put):
                raise BadRequest(f"Attribute '{name}' not allowed in {verb}")
            try:
                value = attr.convert(raw)
            except InvalidInput as exc:
                raise BadRequest(f"Invalid input for {name}. Reason: {exc.reason}") from None
            # Like Neutron's policy, an admin-write flag left at its falsy default is no claim.
            if not is_admin and (attr.admin_only or (attr.admin_write and value)):
                action = "create" if create else "update"
                raise PolicyNotAuthorized(
                    f"(rule:{action}_{self.member}:{name}) is disallowed by policy"
                )
            if attr.field in out and out[attr.field] != value:
                raise BadRequest(f"'{name}' conflicts with another attribute in the request")
            out[attr.field] = value
        if create:
            missing = [a.name for a in self.attrs if a.required and a.name not in values]
            if missing:
                raise BadRequest(
                    f"Failed to parse request. Required attribute '{missing[0]}' not specified"
                )
        return out

    def parse_create(self, values: Mapping[str, Any], *, is_admin: bool) -> Any:
        assert self.create_type is not None, f"{self.member} has no create"
        return self.create_type(**self.parse(values, create=True, is_admin=is_admin))

    def parse_update(self, values: Mapping[str, Any], *, is_admin: bool) -> Any:
        assert self.update_type is not None, f"{self.member} has no update"
        return self.update_type(**self.parse(values, create=False, is_admin=is_admin))

    # -- responses ----------------------------------------------------------------------

    def project(
        self, obj: Any, *, fields: frozenset[str] | None = None, is_admin: bool = False,
        config: ServerConfig | None = None,
    ) -> dict[str, Any]:
        """The JSON dict of one object: visible attributes, admin-only ones for admins only.
        `config` is the server's settings, which a resource with derived attributes needs."""
        if self._derived and config is None:
            raise TypeError(f"showing a {self.member} needs the server's settings")
        settings: Any = config  # None only where nothing reads it (no derived attribute)
        if fields is None:
            return (self._project_admin(obj, settings) if is_admin
                    else self._project_member(obj, settings))
        out: dict[str, Any] = {}
        for name, get, dump, admin_only in self._projection:
            if admin_only and not is_admin:
                continue
            if fields is not None and name not in fields:
                continue
            out[name] = dump(get(obj))
        for name, derive, dump, admin_only in self._derived:
            if (is_admin or not admin_only) and name in fields:
                out[name] = dump(derive(obj, settings))
        return out


def _projector(
    projection: tuple[tuple[str, Callable[[Any], Any], Dumper, bool], ...],
    derived: tuple[tuple[str, Deriver, Dumper, bool], ...], *, admin: bool
) -> _Projector:
    """A function that projects one object with no `fields=`: the hot path of every list.

    The attribute list is fixed per resource and role, so the loop keeps only what it needs
    (no per-attribute role or field checks, no call for attributes dumped as they are).
    """
    plain = tuple((name, get) for name, get, dump, admin_only in projection
                  if (admin or not admin_only) and dump is _identity)
    dumped = tuple((name, get, dump) for name, get, dump, admin_only in projection
                   if (admin or not admin_only) and dump is not _identity)
    computed = tuple((name, derive, dump) for name, derive, dump, admin_only in derived
                     if admin or not admin_only)

    def project(obj: Any, config: ServerConfig) -> dict[str, Any]:
        out = {name: get(obj) for name, get in plain}
        for name, get, dump in dumped:
            out[name] = dump(get(obj))
        for name, derive, dump in computed:
            out[name] = dump(derive(obj, config))
        return out

    return project
