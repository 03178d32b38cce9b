"""Networks: create (with a segment and MTU), read, update, delete."""

from __future__ import annotations

from dataclasses import replace

from neutrino.db import Tx
from neutrino.db.repos import networks as repo
from neutrino.db.repos import tags as tag_repo
from neutrino.domain.change import Change, Op
from neutrino.domain.context import Context
from neutrino.domain.errors import BadRequest, Conflict, InvalidInput
from neutrino.domain.listing import ListQuery, Page
from neutrino.domain.network import Network, NetworkCreate, NetworkUpdate, Segment
from neutrino.domain.standard import UNSET, changed_fields
from neutrino.drivers import types
from neutrino.services import _common as common
from neutrino.services import quotas, security_groups
from neutrino.services._env import Env
from neutrino.services.extras import network_extras

RESOURCE = "network"


def create(env: Env, ctx: Context, req: NetworkCreate) -> Network:
    with env.db.write() as tx:
        return create_in(tx, env, ctx, req)


def create_in(tx: Tx, env: Env, ctx: Context, req: NetworkCreate) -> Network:
    """Create inside the caller's transaction (bulk create runs several in one)."""
    project_id = common.owning_project(ctx, req.project_id)
    security_groups.ensure_default(tx, env, project_id)  # Neutron does it on network create
    quotas.check(tx, env, project_id, RESOURCE, 1)
    net_id = common.new_id()
    if req.provider_network_type is not UNSET:
        requested = Segment(
            req.provider_network_type,
            req.provider_physical_network or None,
            None if req.provider_segmentation_id is UNSET else req.provider_segmentation_id,
        )
        segment = types.provider_segment(tx, net_id, requested, env.config)
    elif req.provider_physical_network is not UNSET or req.provider_segmentation_id is not UNSET:
        raise InvalidInput("network_type required")  # Neutron's ML2 wording
    else:
        segment = types.tenant_segment(tx, net_id, env.config)
    max_mtu = types.network_mtu(segment, env.config)
    mtu = max_mtu if req.mtu is UNSET else req.mtu
    if mtu > max_mtu or mtu < 68:
        raise BadRequest(
            f"Requested MTU is too big, maximum is {max_mtu}" if mtu > max_mtu
            else "Invalid input for mtu. Reason: must be 68 or greater"
        )
    net = Network(
        id=net_id,
        project_id=project_id,
        name=req.name,
        description=req.description,
        admin_state_up=req.admin_state_up,
        shared=req.shared,
        external=req.external,
        mtu=mtu,
        port_security_enabled=req.port_security_enabled,
        dns_domain=req.dns_domain,
        segment=segment,
        tags=tuple(sorted(set(req.tags))),
    )
    net = repo.crud.insert(tx, net)
    tx.record(Change.of(Op.CREATE, RESOURCE, net))
    return net


def get(env: Env, ctx: Context, net_id: str) -> Network:
    with env.db.read() as tx:
        return load_visible(tx, ctx, net_id)


def load_visible(
    tx: Tx, ctx: Context, net_id: str, *, for_update: bool = False, with_subnets: bool = True
) -> Network:
    """The network if the caller may see it (own, shared or external), else 404."""
    net = repo.crud.get(tx, net_id, for_update=for_update, with_tags=with_subnets)
    common.visible_or_404(ctx, net, RESOURCE, net_id,
                          shared=net is not None and (net.shared or net.external))
    assert net is not None
    return network_extras(tx, [net])[0] if with_subnets else net


def list_(env: Env, ctx: Context, query: ListQuery) -> Page[Network]:
    with env.db.read() as tx:
        page = repo.crud.list(tx, query, common.scope(ctx))
        return Page(network_extras(tx, page.items), page.has_more)


def update(
    env: Env, ctx: Context, net_id: str, req: NetworkUpdate, if_match: int | None = None
) -> Network:
    with env.db.write() as tx:
        old = load_visible(tx, ctx, net_id, for_update=True)
        common.require_owner(ctx, old, "update", RESOURCE)
        common.check_revision(old, if_match)
        changes = changed_fields(req)
        if "mtu" in changes:
            max_mtu = types.network_mtu(old.segment, env.config)
            if changes["mtu"] > max_mtu:
                raise BadRequest(f"Requested MTU is too big, maximum is {max_mtu}")
        if changes.get("shared") is False and old.shared:
            _refuse_unshare_in_use(tx, old)
        new = replace(old, **changes)
        if new == old:
            return old
        new = repo.crud.update(tx, old, new)
        tx.record(Change.of(Op.UPDATE, RESOURCE, new))
        return new


def _refuse_unshare_in_use(tx: Tx, net: Network) -> None:
    from neutrino.services.extras import foreign_ports_on_network

    if foreign_ports_on_network(tx, net):
        raise Conflict(
            f"Unable to reconfigure sharing settings for network {net.id}. "
            "Multiple tenants are using it.",
            type_name="InvalidSharedSetting",
        )


def delete(env: Env, ctx: Context, net_id: str) -> None:
    from neutrino.services.extras import delete_network_children

    with env.db.write() as tx:
        net = load_visible(tx, ctx, net_id, for_update=True)
        common.require_owner(ctx, net, "delete", RESOURCE)
        delete_network_children(tx, env, ctx, net)
        types.release_segment(tx, net.id, net.segment, env.config)
        repo.crud.delete(tx, net.id)
        tx.record(Change.of(Op.DELETE, RESOURCE, net))


def set_tags(tx: Tx, net: Network, tags: tuple[str, ...]) -> Network:
    tag_repo.replace(tx, RESOURCE, net.id, tags)
    return repo.crud.bump(tx, replace(net, tags=tags))
