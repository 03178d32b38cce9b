"""Tags on any resource with standard attributes (`/v2.0/<collection>/{id}/tags[/{tag}]`).

A tag change is a change of the resource: its revision goes up and the change log says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from neutrino.db import Tx
from neutrino.db.repos import address_scopes as scope_repo
from neutrino.db.repos import floatingips as fip_repo
from neutrino.db.repos import networks as net_repo
from neutrino.db.repos import ports as port_repo
from neutrino.db.repos import routers as router_repo
from neutrino.db.repos import security_groups as sg_repo
from neutrino.db.repos import subnetpools as subnetpool_repo
from neutrino.db.repos import subnets as subnet_repo
from neutrino.db.repos import tags as tag_repo
from neutrino.db.repos._crud import Crud
from neutrino.domain import validate
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import NotFound
from neutrino.services import _common as common
from neutrino.services import (
    address_scopes,
    floatingips,
    networks,
    ports,
    routers,
    security_groups,
    subnetpools,
    subnets,
)
from neutrino.services._env import Env


@dataclass(frozen=True)
class Taggable:
    """How to find a resource the caller may see, and where it is stored."""

    resource: str
    crud: Crud[Any]
    load_visible: Callable[[Tx, Context, str], Any]


TAGGABLE: dict[str, Taggable] = {
    "networks": Taggable("network", net_repo.crud, networks.load_visible),
    "ports": Taggable("port", port_repo.crud, ports.load_visible),
    "security-groups": Taggable("security_group", sg_repo.groups, security_groups.load_visible),
    "subnets": Taggable("subnet", subnet_repo.crud, subnets.load_visible),
    "subnetpools": Taggable("subnetpool", subnetpool_repo.crud, subnetpools.load_visible),
    "address-scopes": Taggable("address_scope", scope_repo.crud, address_scopes.load_visible),
    "routers": Taggable("router", router_repo.crud, routers.load_visible),
    "floatingips": Taggable("floatingip", fip_repo.crud, floatingips.load_visible),
}


def _target(collection: str) -> Taggable:
    target = TAGGABLE.get(collection)
    if target is None:
        raise NotFound(f"Resource {collection} does not support tags", type_name="HTTPNotFound")
    return target


def get(env: Env, ctx: Context, collection: str, rid: str) -> tuple[str, ...]:
    target = _target(collection)
    with env.db.read() as tx:
        obj = target.load_visible(tx, ctx, rid)
        return tuple(obj.tags)


def has(env: Env, ctx: Context, collection: str, rid: str, tag: str) -> None:
    """Nothing if the resource carries `tag`, else 404 TagNotFound."""
    if tag not in get(env, ctx, collection, rid):
        raise NotFound(f"Tag {tag} could not be found for {collection} {rid}.",
                       type_name="TagNotFound")


def _write(env: Env, ctx: Context, collection: str, rid: str,
           change: Callable[[tuple[str, ...]], tuple[str, ...]]) -> tuple[str, ...]:
    target = _target(collection)
    with env.db.write() as tx:
        obj = target.load_visible(tx, ctx, rid)
        common.require_owner(ctx, obj, "update", target.resource)
        new_tags = tuple(sorted(set(change(tuple(obj.tags)))))
        validate.tags_limit(target.resource, new_tags)
        if new_tags == tuple(obj.tags):
            return new_tags
        tag_repo.replace(tx, target.resource, rid, new_tags)
        stored = target.crud.update(tx, obj, replace(obj, tags=new_tags))
        tx.record(Change.of(Op.UPDATE, target.resource, stored))
        return new_tags


def replace_all(env: Env, ctx: Context, collection: str, rid: str,
                tags: tuple[str, ...]) -> tuple[str, ...]:
    return _write(env, ctx, collection, rid, lambda _old: tags)


def add(env: Env, ctx: Context, collection: str, rid: str, tag: str) -> tuple[str, ...]:
    return _write(env, ctx, collection, rid, lambda old: (*old, tag))


def add_many(env: Env, ctx: Context, collection: str, rid: str,
             tags: tuple[str, ...]) -> tuple[str, ...]:
    return _write(env, ctx, collection, rid, lambda old: (*old, *tags))


def remove(env: Env, ctx: Context, collection: str, rid: str, tag: str) -> None:
    def drop(old: tuple[str, ...]) -> tuple[str, ...]:
        if tag not in old:
            raise NotFound(f"Tag {tag} could not be found for {collection} {rid}.",
                           type_name="TagNotFound")
        return tuple(t for t in old if t != tag)

    _write(env, ctx, collection, rid, drop)


def remove_all(env: Env, ctx: Context, collection: str, rid: str) -> None:
    _write(env, ctx, collection, rid, lambda _old: ())
