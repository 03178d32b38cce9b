"""The router resource (neutron-lib `router`, `ext-gw-mode`, `extraroute`, `dvr`,
`l3-ha`)."""

from __future__ import annotations

from typing import Any

from neutrino.domain import router as rules
from neutrino.domain import validate as v
from neutrino.domain.errors import BadRequest, InvalidInput
from neutrino.domain.router import (
    GatewayInfo,
    GatewayRequest,
    InterfaceRequest,
    RouterCreate,
    RouterUpdate,
)
from neutrino.domain.standard import UNSET
from neutrino.domain.values import HostRoute
from neutrino.schema.attributes import Attr, Resource, dump_json_list, standard_attrs

_GATEWAY_KEYS = ("network_id", "enable_snat", "external_fixed_ips")


def gateway_request(value: Any) -> GatewayRequest | None:
    """`type:dict_or_nodata` with network_id (required), enable_snat, external_fixed_ips.

    No data (null, {}) means "no gateway"."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise v.InvalidValue(f"'{value}' is not a dictionary")
    if "network_id" not in value:
        raise v.InvalidValue(
            "Validation of dictionary's keys failed. Expected keys: {'network_id'} "
            f"Provided keys: {{{', '.join(repr(k) for k in sorted(value))}}}")
    unexpected = [k for k in value if k not in _GATEWAY_KEYS]
    if unexpected:
        raise v.InvalidValue(f"Unexpected keys supplied: {', '.join(unexpected)}")
    return GatewayRequest(
        network_id=v.uuid_str(value["network_id"]),
        enable_snat=v.to_bool(value["enable_snat"]) if "enable_snat" in value else None,
        external_fixed_ips=(
            v.fixed_ips_raw(value["external_fixed_ips"])
            if "external_fixed_ips" in value else None
        ),
    )


def bool_or_unset(value: Any) -> Any:
    """`convert_to_boolean_if_not_none`: null means "not specified" (the default applies)."""
    return UNSET if value is None else v.to_bool(value)


def dump_gateway(value: GatewayInfo | None) -> dict[str, Any] | None:
    return None if value is None else value.to_json()


ROUTER = Resource(
    member="router",
    collection="routers",
    create_type=RouterCreate,
    update_type=RouterUpdate,
    attrs=(
        *standard_attrs(),
        Attr("admin_state_up", v.to_bool, post=True, put=True, filter=True, sort=True),
        Attr("status", sort=True),
        Attr("external_gateway_info", gateway_request, post=True, put=True,
             dump=dump_gateway),
        Attr("routes", v.host_routes, put=True, dump=dump_json_list),
        Attr("distributed", bool_or_unset, post=True, put=True, admin_only=True),
        Attr("ha", bool_or_unset, post=True, put=True, admin_only=True),
    ),
)


def interface_request(body: Any) -> InterfaceRequest:
    """The body of add/remove_router_interface: `{"subnet_id": ...}` and/or `{"port_id": ...}`
    (other keys are ignored, as Neutron does)."""
    if not isinstance(body, dict):
        raise rules.bad_router_request(f"'{body}' is not a dictionary")
    ids: dict[str, str | None] = {"subnet_id": None, "port_id": None}
    for key in ids:
        if key in body:
            try:
                ids[key] = v.uuid_str(body[key])
            except InvalidInput as exc:
                raise rules.bad_router_request(exc.reason) from None
    return InterfaceRequest(subnet_id=ids["subnet_id"], port_id=ids["port_id"])


def routes_body(body: Any) -> tuple[HostRoute, ...]:
    """The body of add/remove_extraroutes: `{"router": {"routes": [...]}}`."""
    inner = ROUTER.unwrap(body)
    unknown = sorted(k for k in inner if k != "routes")
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    if "routes" not in inner:
        raise BadRequest("Failed to parse request. Required attribute 'routes' not specified")
    try:
        return v.host_routes(inner["routes"])
    except InvalidInput as exc:
        raise BadRequest(f"Invalid input for routes. Reason: {exc.reason}") from None
