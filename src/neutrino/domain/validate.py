"""Pure converters and validators for Neutron API attribute values.

Each function takes the raw JSON value and returns the typed value, or raises with Neutron's
wording. Two flavours of failure, mirroring Neutron's API layer:

* `InvalidInput(reason)` from a *converter* (to_bool, to_int, cidr, ...). Neutron reports these as
  type `InvalidInput`, "Invalid input for operation: <reason>.".
* `InvalidValue(reason)` (a subclass of InvalidInput) from a *validator*. Neutron reports these as
  `HTTPBadRequest`, "Invalid input for <attr>. Reason: <reason>." -- the API layer knows the
  attribute name and should re-wrap `.reason`.

Where Neutron raises a dedicated exception (security group rules, allowed address pairs) we raise
`BadRequest(message, type_name=<Neutron's class name>)`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from neutrino.domain.errors import BadRequest, InvalidInput
from neutrino.domain.values import (
    AddressPair,
    DhcpOpt,
    FixedIpRequest,
    HostRoute,
    IPAddress,
    IPNetwork,
    IpRange,
    ip_str,
)

NAME_MAX_LEN: Final = 255
DESCRIPTION_MAX_LEN: Final = 255
PROJECT_ID_MAX_LEN: Final = 255
TAG_MAX_LEN: Final = 255
MAX_TAGS: Final = 50
MAX_ADDRESS_PAIRS: Final = 10
DHCP_OPT_NAME_MAX_LEN: Final = 64
DHCP_OPT_VALUE_MAX_LEN: Final = 255
BLANK_DHCP_OPTS: Final = ("router", "classless-static-route")
IP_VERSIONS: Final = (4, 6)


class InvalidValue(InvalidInput):
    """A validator (not a converter) rejected the value: Neutron answers HTTPBadRequest with
    "Invalid input for <attr>. Reason: <reason>." once the attribute name is known."""


# --------------------------------------------------------------------------- scalars

_TRUE_STRINGS: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE_STRINGS: Final = frozenset({"0", "f", "false", "off", "n", "no"})


def to_bool(v: object) -> bool:
    """Convert like convert_to_boolean (oslo strict bool_from_string): bools, 0/1, yes/no..."""
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in _TRUE_STRINGS:
        return True
    if text in _FALSE_STRINGS:
        return False
    raise InvalidInput(f"'{v}' cannot be converted to boolean")


def to_bool_or_none(v: object) -> bool | None:
    """`to_bool`, letting None through."""
    return None if v is None else to_bool(v)


def to_int(v: object) -> int:
    """Convert like convert_to_int: Python's int() of a number or numeric string."""
    if isinstance(v, int | float | str):
        try:
            return int(v)
        except (ValueError, OverflowError):
            pass
    raise InvalidInput(f"'{v}' is not an integer")


def to_int_or_none(v: object) -> int | None:
    """`to_int`, letting None through."""
    return None if v is None else to_int(v)


def one_of(v: object, allowed: Sequence[object]) -> object:
    """Neutron's `type:values` check; its message really says 'valid_values'."""
    if v not in allowed:
        raise InvalidValue(f"{v} is not in valid_values")
    return v


def ip_version(v: object) -> int:
    """Convert to int, then require 4 or 6."""
    version = to_int(v)
    one_of(version, IP_VERSIONS)
    return version


def direction(v: object) -> str:
    """A security group rule direction: 'ingress' or 'egress'."""
    return str(one_of(v, ("ingress", "egress")))


def _uuid_hex(text: str) -> str:
    """The 32 hex digits oslo's is_uuid_like compares against."""
    return text.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "").lower()


def uuid_str(v: object) -> str:
    """Validate a UUID as oslo is_uuid_like does; return the canonical lower-case dashed form."""
    if isinstance(v, str):
        try:
            parsed = uuid.UUID(v)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.hex == _uuid_hex(v):
            return str(parsed)
    raise InvalidValue(f"'{v}' is not a valid UUID")


def uuid_or_none(v: object) -> str | None:
    """`uuid_str`, letting None through."""
    return None if v is None else uuid_str(v)


def uuid_filter(v: str) -> str:
    """A list-filter value for an id: canonical when it is a UUID, else as given (it then
    matches no row), because Neutron validates no filter value."""
    try:
        return uuid_str(v)
    except InvalidValue:
        return v


def string(v: object, max_len: int | None = None) -> str:
    """A string, optionally at most `max_len` characters (validate_string)."""
    if not isinstance(v, str):
        raise InvalidValue(f"'{v}' is not a valid string")
    if max_len is not None and len(v) > max_len:
        raise InvalidValue(f"'{v}' exceeds maximum length of {max_len}")
    return v


def string_or_none(v: object, max_len: int | None = None) -> str | None:
    """`string`, letting None through."""
    return None if v is None else string(v, max_len)


def not_empty_string(v: object, max_len: int | None = None) -> str:
    """A string that is not blank (validate_not_empty_string)."""
    text = string(v, max_len)
    if not text.strip():
        raise InvalidValue(f"'{text}' Blank strings are not permitted")
    return text


def oneline_not_empty_string(v: object, max_len: int | None = None) -> str:
    """A non-blank string without line breaks (validate_oneline_not_empty_string)."""
    text = not_empty_string(v, max_len)
    if len(text.splitlines()) > 1:
        raise InvalidValue(f"Multi-line string is not allowed: '{text}'")
    return text


def _printable(char: str) -> bool:
    """Neutron's notion of printable: not a control/format char, not a non-space separator."""
    if ord(char) >= 0xFFFF:  # Neutron's regex only covers the BMP (below U+FFFF)
        return False
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _valid_name(text: str) -> bool:
    """Neutron's valid_name_regex: printable chars, no leading/trailing space separator."""
    if not text:
        return True
    edges_ok = unicodedata.category(text[0]) != "Zs" and unicodedata.category(text[-1]) != "Zs"
    return edges_ok and all(_printable(c) for c in text)


def name_string(v: object, max_len: int = NAME_MAX_LEN) -> str:
    """A resource name (validate_name_string): printable, no leading/trailing blanks."""
    text = string(v, max_len)
    if not _valid_name(text):
        raise InvalidValue(f"'{text}' is not a valid string")
    return text


def description(v: object, max_len: int = DESCRIPTION_MAX_LEN) -> str:
    """A description: any string up to `max_len`."""
    return string(v, max_len)


def project_id(v: object) -> str:
    """A project id: any string up to 255 characters (Neutron does not require a UUID)."""
    return string(v, PROJECT_ID_MAX_LEN)


# --------------------------------------------------------------------------- addresses

_WHITESPACE: Final = re.compile(r"\s")
_DIGITS: Final = frozenset("0123456789")


def _plain(v: object) -> str | None:
    """The value as a string if it is one without whitespace or an IPv6 zone, else None."""
    if not isinstance(v, str) or _WHITESPACE.search(v) or "%" in v:
        return None
    return v


def _ipv4_zero_padded(text: str) -> str | None:
    """For dotted-decimal text with leading zeros, the recommended form; else None."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p and _DIGITS.issuperset(p) for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if any(n > 255 for n in numbers):
        return None
    canonical = ".".join(str(n) for n in numbers)
    return canonical if canonical != text else None


def ip_address(v: object) -> IPAddress:
    """An IPv4/IPv6 address (validate_ip_address); IPv4 octets may not have leading zeros."""
    text = _plain(v)
    if text is not None and (":" in text or text.count(".") == 3):
        recommended = _ipv4_zero_padded(text)
        if recommended is not None:
            raise InvalidValue(
                f"'{text}' is not an accepted IP address, '{recommended}' is recommended"
            )
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            pass
    raise InvalidValue(f"'{v}' is not a valid IP address")


def ip_or_none(v: object) -> IPAddress | None:
    """`ip_address`, letting None through."""
    return None if v is None else ip_address(v)


def _interface(v: object) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    """Parse `addr[/prefix]` (prefix optional, host bits allowed), or None if malformed."""
    text = _plain(v)
    if text is None:
        return None
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        return None


def cidr(v: object, *, strict: bool = False) -> IPNetwork:
    """A subnet CIDR as Neutron's create_subnet treats it: host bits are zeroed, a bare address
    is a /32 (/128). With strict=True host bits are rejected instead (older Neutron)."""
    iface = _interface(v)
    if iface is None:
        raise InvalidInput(f"{v} is not in a CIDR format")
    if strict and iface.ip != iface.network.network_address:
        raise InvalidValue(
            f"'{v}' isn't a recognized IP subnet cidr, '{iface.network}' is recommended"
        )
    return iface.network


def ip_subnet(v: object) -> IPNetwork:
    """`type:subnet` on an unconverted value: needs a '/', IPv4 must be written canonically.
    Host bits are allowed (and dropped from the result)."""
    iface = _interface(v)
    if iface is None or "/" not in str(v) or (iface.version == 4 and str(iface) != v):
        raise InvalidValue(f"'{v}' is not a valid IP subnet")
    return iface.network


def route_cidr(v: object) -> IPNetwork:
    """A host-route destination (validate_route_cidr): a '/' and no host bits, not loopback."""
    iface = _interface(v)
    if iface is None or "/" not in str(v) or iface.ip != iface.network.network_address:
        raise InvalidValue(f"'{v}' is not a valid CIDR")
    if iface.network.is_loopback:
        raise InvalidValue(f"'{v}' is not a routable CIDR")
    return iface.network


def ip_prefix(v: object) -> IPNetwork | None:
    """A remote_ip_prefix, normalised to its network (10.0.0.5/24 -> 10.0.0.0/24); '' -> None.
    Neutron itself stores the prefix as given (see `ip_prefix_as_given`) and reports the
    normalised one as `normalized_cidr`."""
    if v is None or v == "":
        return None
    iface = _interface(v)
    if iface is None:
        raise BadRequest(f"Invalid CIDR {v} given as IP prefix.", type_name="InvalidCIDR")
    return iface.network


def ip_prefix_as_given(v: object) -> str | None:
    """A remote_ip_prefix the way Neutron stores it: host bits kept, '/32' (/128) added."""
    network = ip_prefix(v)
    if network is None:
        return None
    iface = _interface(v)
    assert iface is not None
    return f"{ip_str(iface.ip)}/{iface.network.prefixlen}"


_HEX2: Final = r"([0-9A-F]{1,2})"
_HEX4: Final = r"([0-9A-F]{1,4})"
_HEX6: Final = r"([0-9A-F]{5,6})"
#: netaddr's EUI-48 formats: 6 x 8 bits, 3 x 16 bits (Cisco), 2 x 24 bits (PostgreSQL), bare.
_MAC_FORMATS: Final = (
    *((re.compile(sep.join([_HEX2] * 6), re.I), 8) for sep in ":-"),
    *((re.compile(re.escape(sep).join([_HEX4] * 3), re.I), 16) for sep in ":-."),
    *((re.compile(sep.join([_HEX6] * 2), re.I), 24) for sep in ":-"),
    (re.compile(r"([0-9A-F]{11,12})", re.I), 48),
)
INVALID_MACS: Final = frozenset({0, 0xFFFFFFFFFFFF})


def _mac_int(text: str) -> int | None:
    """The 48-bit value of a MAC in any format netaddr accepts (unix, cisco, pgsql, bare)."""
    for pattern, width in _MAC_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            value = 0
            for word in match.groups():
                value = (value << width) | int(word, 16)
            return value
    return None


def format_mac(value: int) -> str:
    """A 48-bit MAC as lower-case colon-separated pairs."""
    raw = f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


def mac_address(v: object) -> str:
    """A MAC in any netaddr format (validate_mac_address), as xx:xx:xx:xx:xx:xx.
    All-zero and broadcast are rejected; multicast MACs are accepted, as in Neutron."""
    text = _plain(v)
    value = _mac_int(text) if text is not None else None
    if value is None or value in INVALID_MACS:
        raise InvalidValue(f"'{v}' is not a valid MAC address")
    return format_mac(value)


def mac_or_none(v: object) -> str | None:
    """`mac_address`, letting None through."""
    return None if v is None else mac_address(v)


def is_multicast_mac(mac: str) -> bool:
    """Whether the group bit (LSB of the first octet) is set."""
    value = _mac_int(mac)
    return value is not None and bool(value >> 40 & 1)


# --------------------------------------------------------------------------- subnet lists


def _items(v: object) -> list[object] | None:
    """The elements of a list value, or None if it is not a list."""
    return list(v) if isinstance(v, list) else None


def _fmt_keys(keys: Iterable[object]) -> str:
    """Render a key set like a Python set literal, in a stable order."""
    return "{" + ", ".join(repr(k) for k in sorted(keys, key=str)) + "}"


def _exact_keys(item: object, expected: Sequence[str]) -> Mapping[str, object]:
    """The item as a dict with exactly `expected` keys (Neutron's _verify_dict_keys)."""
    if not isinstance(item, dict):
        raise InvalidValue(
            f"Invalid input. '{item}' must be a dictionary with keys: {list(expected)}"
        )
    if set(item) != set(expected):
        raise InvalidValue(
            "Validation of dictionary's keys failed. "
            f"Expected keys: {_fmt_keys(expected)} Provided keys: {_fmt_keys(item)}"
        )
    return item


def dns_nameservers(v: object) -> tuple[str, ...]:
    """A list of unique nameserver IPs (validate_nameservers); strings are kept as given."""
    if v is None:
        return ()
    if not isinstance(v, list | tuple | str | dict):
        raise InvalidValue(f"Invalid data format for nameserver: '{v}'")
    hosts: list[str] = []
    for host in v:
        try:
            ip_address(host)
        except InvalidValue as exc:
            raise InvalidValue(f"'{host}' is not a valid nameserver. {exc.reason}") from None
        if host in hosts:
            raise InvalidValue(f"Duplicate nameserver '{host}'")
        hosts.append(str(host))
    return tuple(hosts)


def host_routes(v: object) -> tuple[HostRoute, ...]:
    """A list of unique {"destination": cidr, "nexthop": ip} dicts (validate_hostroutes)."""
    if v is None:
        return ()
    items = _items(v)
    if items is None:
        raise InvalidValue(f"Invalid data format for hostroute: '{v}'")
    routes: list[HostRoute] = []
    for item in items:
        raw = _exact_keys(item, ("destination", "nexthop"))
        route = HostRoute(route_cidr(raw["destination"]), ip_address(raw["nexthop"]))
        if route in routes:
            raise InvalidValue(f"Duplicate hostroute '{item}'")
        routes.append(route)
    return tuple(routes)


def _canonical_ip_text(v: object) -> object:
    """Neutron's convert_ip_to_canonical_format: compact IPv6, anything else unchanged."""
    if isinstance(v, str) and ":" in v and _plain(v) is not None:
        try:
            return ip_str(ipaddress.IPv6Address(v))
        except ValueError:
            return v
    return v


def _pool_dicts(v: object) -> list[dict[str, object]]:
    """Neutron's allocation-pool converter: a list of dicts with canonical IPv6 text."""
    items = _items(v)
    if items is None or not all(isinstance(p, dict) for p in items):
        raise InvalidInput("Invalid data format for allocation pools")
    return [{k: _canonical_ip_text(x) for k, x in p.items()} for p in items if isinstance(p, dict)]


def allocation_pools_raw(v: object) -> tuple[IpRange, ...]:
    """A list of {"start", "end"} pools with start <= end of one IP version each.
    Checks against the subnet live in addresses.validate_allocation_pools. None/[] -> ()."""
    if v is None:
        return ()
    pools: list[IpRange] = []
    for raw in _pool_dicts(v):
        pool = _exact_keys(raw, ("start", "end"))
        start, end = ip_address(pool["start"]), ip_address(pool["end"])
        if start.version != end.version or int(start) > int(end):
            raise BadRequest(
                f"The allocation pool {raw} is not valid.", type_name="InvalidAllocationPool"
            )
        pools.append(IpRange(start, end))
    return tuple(pools)


def _fixed_ip(item: object, seen: list[object]) -> FixedIpRequest:
    """One fixed_ips entry; unknown keys are ignored, as Neutron does."""
    if not isinstance(item, dict):
        raise InvalidValue(f"Invalid data format for fixed IP: '{item}'")
    address: IPAddress | None = None
    if "ip_address" in item:
        raw = item["ip_address"]
        if raw in seen:
            raise InvalidValue(f"Duplicate IP address '{raw}'")
        address = ip_address(raw)
        if address in seen:
            raise InvalidValue(f"Duplicate IP address '{raw}'")
        seen.extend((raw, address))
    subnet = uuid_str(item["subnet_id"]) if "subnet_id" in item else None
    return FixedIpRequest(subnet_id=subnet, ip_address=address)


def fixed_ips_raw(v: object) -> tuple[FixedIpRequest, ...]:
    """A port's fixed_ips: dicts with subnet_id and/or ip_address (no duplicate addresses)."""
    items = _items(v)
    if items is None:
        raise InvalidValue(f"Invalid data format for fixed IP: '{v}'")
    seen: list[object] = []
    requests = tuple(_fixed_ip(item, seen) for item in items)
    if any(r.subnet_id is None and r.ip_address is None for r in requests):
        raise InvalidInput("IP allocation requires subnet_id or ip_address")
    return requests


# --------------------------------------------------------------------------- port extensions


def _http_bad_request(message: str) -> BadRequest:
    """Neutron's bare webob HTTPBadRequest."""
    return BadRequest(message, type_name="HTTPBadRequest")


_MULTICAST: Final[dict[int, IPNetwork]] = {
    4: ipaddress.IPv4Network("224.0.0.0/4"),
    6: ipaddress.IPv6Network("ff00::/8"),
}


def _subnet_not_multicast(text: str) -> None:
    """validate_subnet_not_multicast: 0.0.0.0/0 is exempt (but ::/0 is not)."""
    iface = _interface(text)
    assert iface is not None
    network, mcast = iface.network, _MULTICAST[iface.version]
    if network.overlaps(mcast) and network != ipaddress.IPv4Network("0.0.0.0/0"):
        shown = f"{ip_str(iface.ip)}/{network.prefixlen}"
        raise InvalidValue(
            f"Subnet {shown} overlaps with multicast range {mcast}, which is not supported."
        )


def _pair_ip(ip: object) -> str:
    """An address pair's ip_address: an IP or a CIDR, not multicast; returned as given."""
    try:
        if isinstance(ip, str) and "/" in ip:
            ip_subnet(ip)
            _subnet_not_multicast(ip)
            return ip
        if ip_address(ip).is_multicast:
            raise InvalidValue(f"IP {ip} is a multicast address, which is not supported.")
    except InvalidValue as exc:
        raise _http_bad_request(exc.reason) from None
    return str(ip)


def _address_pair(item: object, seen: set[tuple[object, object]]) -> AddressPair:
    """One allowed address pair, checked in Neutron's order."""
    if not isinstance(item, dict):
        raise InvalidValue(f"'{item}' is not a dictionary")
    mac = item.get("mac_address")
    if "mac_address" in item:
        try:
            mac_address(mac)
        except InvalidValue as exc:
            raise _http_bad_request(exc.reason) from None
    if "ip_address" not in item:
        raise BadRequest(
            "AllowedAddressPair must contain ip_address", type_name="AllowedAddressPairsMissingIP"
        )
    ip = item["ip_address"]
    key = (mac, ip)
    if key in seen:
        raise BadRequest(
            f"Request contains duplicate address pair: mac_address {mac} ip_address {ip}.",
            type_name="DuplicateAddressPairInRequest",
        )
    seen.add(key)
    extra = set(item) - {"mac_address", "ip_address"}
    if extra:
        raise _http_bad_request(f"Unrecognized attribute(s) '{', '.join(sorted(extra))}'")
    checked_ip = _pair_ip(ip)
    if mac is not None and is_multicast_mac(str(mac)):
        raise _http_bad_request(
            f"MAC address {mac} is a multicast address, which is not supported."
        )
    return AddressPair(ip_address=checked_ip, mac_address=None if mac is None else str(mac))


def allowed_address_pairs(
    v: object, *, max_pairs: int = MAX_ADDRESS_PAIRS
) -> tuple[AddressPair, ...]:
    """Allowed address pairs; strings kept as the client wrote them (Neutron stores them so)."""
    if v is None:
        return ()
    items = _items(v)
    if items is None:
        raise _http_bad_request("Allowed address pairs must be a list.")
    if len(items) > max_pairs:
        raise BadRequest(
            f"The number of allowed address pair exceeds the maximum {max_pairs}.",
            type_name="AllowedAddressPairExhausted",
        )
    seen: set[tuple[object, object]] = set()
    return tuple(_address_pair(item, seen) for item in items)


def _dups(items: Sequence[object]) -> list[object]:
    """Items that occur more than once, in first-repeat order (_collect_duplicates)."""
    seen: list[object] = []
    dups: list[object] = []
    for item in items:
        if item in seen and item not in dups:
            dups.append(item)
        seen.append(item)
    return dups


def _unique_list(v: object) -> list[object]:
    """A list without duplicates (_validate_list_of_items), as InvalidInput."""
    items = _items(v)
    if items is None:
        raise InvalidInput(f"'{v}' is not a list")
    dups = _dups(items)
    if dups:
        raise InvalidInput(f"Duplicate items in the list: '{', '.join(str(d) for d in dups)}'")
    return items


def _dhcp_opt_value(name: str, value: object) -> str | None:
    """The opt_value for `name`, or raise InvalidValue: blank is allowed only for some names."""
    if name in BLANK_DHCP_OPTS:
        return string_or_none(value, DHCP_OPT_VALUE_MAX_LEN)
    if value is None:
        return None
    return oneline_not_empty_string(value, DHCP_OPT_VALUE_MAX_LEN)


_DHCP_OPT_KEYS: Final = frozenset({"opt_name", "opt_value", "ip_version"})


def _dhcp_opt(item: object) -> DhcpOpt:
    """One extra DHCP option, matched against Neutron's two key specs."""
    if isinstance(item, dict) and {"opt_name", "opt_value"} <= set(item) <= _DHCP_OPT_KEYS:
        try:
            raw_name = item["opt_name"]
            if raw_name in BLANK_DHCP_OPTS:
                name = str(raw_name)
            else:
                name = oneline_not_empty_string(raw_name, DHCP_OPT_NAME_MAX_LEN)
            value = _dhcp_opt_value(name, item["opt_value"])
            version = ip_version(item["ip_version"]) if "ip_version" in item else 4
            return DhcpOpt(opt_name=name, opt_value=value, ip_version=version)
        except InvalidValue:
            pass
    raise InvalidInput(f"No valid key specs matched for: {item}")


def extra_dhcp_opts(v: object) -> tuple[DhcpOpt, ...]:
    """A port's extra_dhcp_opts: unique {"opt_name", "opt_value"[, "ip_version"]} dicts."""
    if v is None:
        return ()
    return tuple(_dhcp_opt(item) for item in _unique_list(v))


def tag(v: object) -> str:
    """One tag: any string up to 255 characters (Neutron allows '' and commas)."""
    try:
        return string(v, TAG_MAX_LEN)
    except InvalidValue as exc:
        raise InvalidInput(exc.reason) from None


def tags(v: object) -> tuple[str, ...]:
    """A list of unique tags (validate_list_of_unique_strings, 255 chars each)."""
    return tuple(tag(item) for item in _unique_list(v))


def tags_body(body: object) -> tuple[str, ...]:
    """The body of PUT .../tags: {"tags": [...]}."""
    if not isinstance(body, dict) or "tags" not in body:
        raise InvalidInput("Invalid tags body")
    return tags(body["tags"])


def tags_limit(resource: str, values: Iterable[str], *, limit: int = MAX_TAGS) -> None:
    """At most `limit` distinct tags per resource (e.g. resource='networks')."""
    if len(set(values)) > limit:
        raise BadRequest(
            f"Bad {resource} request: The number of tags exceed the per-resource limit of {limit}.",
            type_name="BadRequest",
        )


# --------------------------------------------------------------------------- security groups

PROTOCOL_NUMBERS: Final[dict[str, int]] = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ip": 0,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "icmpv6": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
SG_SUPPORTED_PROTOCOLS: Final[tuple[str | None, ...]] = (None, "any", *PROTOCOL_NUMBERS)
SG_PORT_PROTOCOLS: Final = ("dccp", "sctp", "tcp", "udp", "udplite")
SG_ETHERTYPES: Final = ("IPv4", "IPv6")
_PORT_PROTOCOL_NUMBERS: Final = frozenset(PROTOCOL_NUMBERS[p] for p in SG_PORT_PROTOCOLS)
_ICMP_NUMBERS: Final = frozenset({1, 58})
_IPV6_ONLY_PROTOCOLS: Final = frozenset(
    {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route"}
    | {"41", "44", "58", "59", "60", "43"}
)


def _sg_error(message: str, type_name: str) -> BadRequest:
    """A security-group InvalidInput subclass, by Neutron's class name."""
    return BadRequest(message, type_name=type_name)


def protocol(v: object) -> str | None:
    """A rule protocol: a known name (lower-cased) or 0..255 as a decimal string; any -> None."""
    if v is None or (isinstance(v, str) and v.lower() == "any"):
        return None
    number: int | None = None
    if isinstance(v, int) and not isinstance(v, bool):
        number = v
    elif isinstance(v, str) and v.strip().isascii() and v.strip().isdigit():
        number = int(v)
    if number is not None and 0 <= number <= 255:
        return str(number)
    if number is None and isinstance(v, str) and v.lower() in SG_SUPPORTED_PROTOCOLS:
        return v.lower()
    raise _sg_error(
        f"Security group rule protocol {v} not supported. Only protocol values "
        f"{SG_SUPPORTED_PROTOCOLS} and integer representations [0 to 255] are supported.",
        "SecurityGroupRuleInvalidProtocol",
    )


def protocol_number(proto: str | None) -> int | None:
    """The IP protocol number of a converted protocol (None for any)."""
    if proto is None:
        return None
    return PROTOCOL_NUMBERS[proto] if proto in PROTOCOL_NUMBERS else int(proto)


def canonical_protocol(proto: str | None, ethertype_: str) -> str | None:
    """For IPv6 rules Neutron rewrites icmp/icmpv6 to ipv6-icmp and '1' to '58'."""
    if ethertype_ == "IPv6" and proto in ("icmp", "icmpv6"):
        return "ipv6-icmp"
    if ethertype_ == "IPv6" and proto == "1":
        return "58"
    return proto


def port_value(v: object) -> int | None:
    """A port_range_min/max: None or an integer 0..65535 (convert_validate_port_value)."""
    if v is None:
        return None
    number: int | None = None
    if isinstance(v, int | float | str) and not isinstance(v, bool):
        try:
            number = int(v)
        except (ValueError, OverflowError):
            number = None
    if number is None or not 0 <= number <= 65535:
        raise _sg_error(f"Invalid value for port {v}", "SecurityGroupInvalidPortValue")
    return number


def _check_icmp_range(port_min: int | None, port_max: int | None) -> None:
    """ICMP: min is the type, max the code, each 0..255; a code needs a type."""
    for attr, field, value in (
        ("port_range_min", "type", port_min),
        ("port_range_max", "code", port_max),
    ):
        if value is not None and not 0 <= value <= 255:
            raise _sg_error(
                f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.",
                "SecurityGroupInvalidIcmpValue",
            )
    if port_min is None and port_max is not None:
        raise _sg_error(
            f"ICMP code (port-range-max) {port_max} is provided but ICMP type "
            "(port-range-min) is missing.",
            "SecurityGroupMissingIcmpType",
        )


def _check_l4_range(port_min: int | None, port_max: int | None) -> None:
    """TCP-like protocols: both bounds, 1..65535, min <= max."""
    if port_min == 0 or port_max == 0:
        raise _sg_error("Invalid value for port 0", "SecurityGroupInvalidPortValue")
    if port_min is None or port_max is None or port_min > port_max:
        raise _sg_error(
            "For TCP/UDP protocols, port_range_min must be <= port_range_max",
            "SecurityGroupInvalidPortRange",
        )


def port_range(
    proto: str | None, port_min: object, port_max: object
) -> tuple[int | None, int | None]:
    """Convert and check a rule's port range for its (converted) protocol.

    Returns the canonical range: 1..65535 becomes (None, None) for every protocol, as Neutron
    does before validating."""
    low, high = port_value(port_min), port_value(port_max)
    if (low, high) == (1, 65535):
        return None, None
    if low is None and high is None:
        return None, None
    if not proto:
        raise _sg_error(
            "Must also specify protocol if port range is given.",
            "SecurityGroupProtocolRequiredWithPorts",
        )
    number = protocol_number(proto)
    if number in _PORT_PROTOCOL_NUMBERS:
        _check_l4_range(low, high)
    elif number in _ICMP_NUMBERS:
        _check_icmp_range(low, high)
    else:
        valid = ", ".join(p.upper() for p in SG_PORT_PROTOCOLS)
        raise _sg_error(
            f"Ports cannot be specified for protocol {number}. "
            f"Ports are only supported for {valid}.",
            "SecurityGroupInvalidProtocolForPort",
        )
    return low, high


def ethertype(v: object) -> str:
    """'IPv4' or 'IPv6', matched case-insensitively."""
    if isinstance(v, str):
        for known in SG_ETHERTYPES:
            if known.lower() == v.lower():
                return known
    raise _sg_error(
        f"Security group rule for ethertype '{v}' not supported. "
        f"Allowed values are {list(SG_ETHERTYPES)}.",
        "SecurityGroupRuleInvalidEtherType",
    )


def check_prefix_family(ethertype_: str, prefix: str | IPNetwork | None) -> None:
    """The remote_ip_prefix must be of the rule's ethertype (pass the prefix as stored)."""
    if prefix is None or prefix == "":
        return
    network = prefix if not isinstance(prefix, str) else ip_prefix(prefix)
    if network is not None and ethertype_ != f"IPv{network.version}":
        raise _sg_error(
            f"Conflicting value ethertype {ethertype_} for CIDR {prefix}",
            "SecurityGroupRuleParameterConflict",
        )


def check_ethertype_protocol(ethertype_: str, proto: str | None) -> None:
    """IPv6-only protocols (ipv6-icmp, ipv6-frag, 58, ...) are refused on IPv4 rules."""
    if ethertype_ == "IPv4" and proto in _IPV6_ONLY_PROTOCOLS:
        raise _sg_error(
            f"Invalid ethertype {ethertype_} for protocol {proto}.",
            "SecurityGroupEthertypeConflictWithProtocol",
        )


def remote_exclusive(
    remote_ip_prefix: object, remote_group_id: object, remote_address_group_id: object
) -> None:
    """At most one of the three remote selectors may be set (truthy)."""
    if sum(1 for x in (remote_ip_prefix, remote_group_id, remote_address_group_id) if x) > 1:
        raise _sg_error(
            "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id "
            "may be provided.",
            "SecurityGroupMultipleRemoteEntites",
        )


def uuid_list(v: object) -> tuple[str, ...]:
    """A list of unique UUIDs (e.g. a port's security_groups), canonical form."""
    if v is None:
        return ()
    return tuple(dict.fromkeys(uuid_str(item) for item in _unique_list(v)))
