"""The port resource (neutron-lib `port`, `portbindings`, `port-security`,
`allowed-address-pairs`, `extra_dhcp_opt`, `security-group`, `dns-integration`)."""

from __future__ import annotations

from typing import Any

from neutrino.domain import dns
from neutrino.domain import validate as v
from neutrino.domain.config import ServerConfig
from neutrino.domain.port import VNIC_TYPES, Port, PortCreate, PortUpdate
from neutrino.schema.attributes import (
    Attr,
    Resource,
    dump_json_list,
    dump_list,
    standard_attrs,
    string,
)


def _vnic_type(value: Any) -> str:
    return str(v.one_of(value, VNIC_TYPES))


def _profile(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise v.InvalidValue(f"'{value}' is not a dictionary")
    return value


def _fixed_ip_filter(raw: str) -> tuple[str, str]:
    """`fixed_ips=ip_address=10.0.0.3`, `subnet_id=...` or `ip_address_substr=...`."""
    key, sep, value = raw.partition("=")
    if not sep or key not in ("ip_address", "subnet_id", "ip_address_substr"):
        raise v.InvalidValue(f"'{raw}' is not a valid fixed_ips filter")
    if key == "ip_address":
        value = str(v.ip_address(value))
    return key, value


def _status(value: Any) -> str:
    return str(v.one_of(value, ("ACTIVE", "DOWN", "BUILD", "ERROR")))


def _dns_assignment(port: Port, config: ServerConfig) -> list[dict[str, str]]:
    """One name per fixed IP, under the server's dns_domain: computed, never stored."""
    addresses = [f.text or str(f.ip_address) for f in port.fixed_ips]
    return dns.assignment(port.dns_name, addresses, config.dns_domain)


PORT = Resource(
    member="port",
    collection="ports",
    create_type=PortCreate,
    update_type=PortUpdate,
    attrs=(
        *standard_attrs(),
        Attr("network_id", v.uuid_str, post=True, required=True, filter=True, sort=True),
        Attr("admin_state_up", v.to_bool, post=True, put=True, filter=True, sort=True),
        Attr("mac_address", v.mac_address, post=True, put=True, filter=True, sort=True),
        Attr("fixed_ips", v.fixed_ips_raw, post=True, put=True, filter=True,
             dump=dump_json_list, filter_convert=_fixed_ip_filter),
        Attr("device_id", string(255), post=True, put=True, filter=True, sort=True),
        Attr("device_owner", string(255), post=True, put=True, filter=True, sort=True),
        Attr("status", _status, put=True, filter=True, sort=True, admin_write=True),
        Attr("security_groups", v.uuid_list, post=True, put=True, filter=True,
             dump=dump_list, filter_convert=v.uuid_str),
        Attr("port_security_enabled", v.to_bool, post=True, put=True, filter=True),
        Attr("allowed_address_pairs", v.allowed_address_pairs, post=True, put=True,
             dump=dump_json_list),
        Attr("extra_dhcp_opts", v.extra_dhcp_opts, post=True, put=True, dump=dump_json_list),
        Attr("binding:host_id", string(255), post=True, put=True, filter=True,
             admin_only=True),
        Attr("binding:vnic_type", _vnic_type, post=True, put=True, filter=True),
        Attr("binding:profile", _profile, post=True, put=True, admin_only=True),
        Attr("binding:vif_type", admin_only=True),
        Attr("binding:vif_details", admin_only=True),
        Attr("ip_allocation"),
        Attr("dns_name", dns.port_dns_name, post=True, put=True, filter=True,
             filter_convert=dns.lower_case),
        Attr("dns_assignment", derive=_dns_assignment),
    ),
)
