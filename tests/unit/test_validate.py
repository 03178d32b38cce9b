"""Converters and validators: typed results and Neutron's error wording/types."""

from __future__ import annotations

import ipaddress
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.domain import validate as v
from neutrino.domain.errors import BadRequest, InvalidInput, Kind
from neutrino.domain.values import (
    AddressPair,
    DhcpOpt,
    FixedIpRequest,
    HostRoute,
    IpRange,
    ip_str,
)

IP4 = ipaddress.IPv4Address
IP6 = ipaddress.IPv6Address
NET4 = ipaddress.IPv4Network
NET6 = ipaddress.IPv6Network
SUBNET_ID = "3b0c3a2f-5a55-4b8b-9a3b-6a8d7c1e2f00"


def reason_of(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return exc.value.reason


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        ("1", True),
        (1, True),
        ("yes", True),
        (" on ", True),
        ("false", False),
        ("False", False),
        ("0", False),
        (0, False),
        ("no", False),
    ],
)
def test_to_bool_accepts_neutron_spellings(raw: object, expected: bool) -> None:
    assert v.to_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", 2, None, 1.0, "", [1]])
def test_to_bool_rejects_with_converter_error(raw: object) -> None:
    with pytest.raises(InvalidInput) as exc:
        v.to_bool(raw)
    assert exc.value.reason == f"'{raw}' cannot be converted to boolean"
    assert exc.value.type == "InvalidInput"
    assert (
        exc.value.message == f"Invalid input for operation: '{raw}' cannot be converted to boolean"
    )
    assert not isinstance(exc.value, v.InvalidValue)


def test_to_bool_or_none() -> None:
    assert v.to_bool_or_none(None) is None
    assert v.to_bool_or_none("t") is True


@pytest.mark.parametrize(("raw", "expected"), [(5, 5), ("42", 42), (" 7 ", 7), (True, 1), (3.9, 3)])
def test_to_int_follows_python_int(raw: object, expected: int) -> None:
    assert v.to_int(raw) == expected


@pytest.mark.parametrize("raw", ["4.5", "x", None, [], float("inf"), float("nan")])
def test_to_int_rejects(raw: object) -> None:
    with pytest.raises(InvalidInput) as exc:
        v.to_int(raw)
    assert reason_of(exc) == f"'{raw}' is not an integer"


def test_to_int_or_none() -> None:
    assert v.to_int_or_none(None) is None
    assert v.to_int_or_none("3") == 3


def test_ip_version() -> None:
    assert v.ip_version(4) == 4
    assert v.ip_version("6") == 6
    with pytest.raises(v.InvalidValue) as exc:
        v.ip_version(5)
    assert reason_of(exc) == "5 is not in valid_values"  # sic: Neutron never names the values
    with pytest.raises(InvalidInput) as exc2:
        v.ip_version("four")
    assert reason_of(exc2) == "'four' is not an integer"


def test_direction() -> None:
    assert v.direction("ingress") == "ingress"
    with pytest.raises(v.InvalidValue, match="up is not in valid_values"):
        v.direction("up")


@pytest.mark.parametrize(
    "raw",
    [
        "3B0C3A2F-5A55-4B8B-9A3B-6A8D7C1E2F00",
        "{3b0c3a2f-5a55-4b8b-9a3b-6a8d7c1e2f00}",
        "urn:uuid:3b0c3a2f-5a55-4b8b-9a3b-6a8d7c1e2f00",
        "3b0c3a2f5a554b8b9a3b6a8d7c1e2f00",
        SUBNET_ID,
    ],
)
def test_uuid_str_canonicalises(raw: str) -> None:
    assert v.uuid_str(raw) == SUBNET_ID


@pytest.mark.parametrize(
    "raw", ["", "not-a-uuid", "3b0c3a2f-5a55-4b8b-9a3b-6a8d7c1e2f0", 42, None, "3b0c3a2f_5a55"]
)
def test_uuid_str_rejects(raw: object) -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.uuid_str(raw)
    assert reason_of(exc) == f"'{raw}' is not a valid UUID"


@given(st.uuids())
def test_uuid_str_round_trips(u: uuid.UUID) -> None:
    assert v.uuid_str(str(u).upper()) == str(u)
    assert v.uuid_str(u.hex) == str(u)


def test_uuid_or_none() -> None:
    assert v.uuid_or_none(None) is None


def test_string_checks_type_and_length() -> None:
    assert v.string("abc", 3) == "abc"
    assert v.string("x" * 1000) == "x" * 1000
    with pytest.raises(v.InvalidValue) as exc:
        v.string("abcd", 3)
    assert reason_of(exc) == "'abcd' exceeds maximum length of 3"
    with pytest.raises(v.InvalidValue) as exc2:
        v.string(12)
    assert reason_of(exc2) == "'12' is not a valid string"
    assert v.string_or_none(None) is None


def test_description_and_project_id_limits() -> None:
    assert v.description("") == ""
    assert v.description("d" * 255) == "d" * 255
    with pytest.raises(v.InvalidValue, match="exceeds maximum length of 255"):
        v.description("d" * 256)
    assert v.project_id("not-a-uuid-is-fine") == "not-a-uuid-is-fine"
    with pytest.raises(v.InvalidValue, match="exceeds maximum length of 255"):
        v.project_id("p" * 256)


@pytest.mark.parametrize("name", ["", "net1", "my net", "réseau", "名前", "a\u00a0b"])
def test_name_string_accepts_printable(name: str) -> None:
    assert v.name_string(name) == name


@pytest.mark.parametrize("name", [" lead", "trail ", "tab\there", "new\nline", "\u200bzw", "🙂"])
def test_name_string_rejects_unprintable_or_padded(name: str) -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.name_string(name)
    assert reason_of(exc) == f"'{name}' is not a valid string"


def test_name_string_length() -> None:
    assert v.name_string("n" * 255) == "n" * 255
    with pytest.raises(v.InvalidValue, match="exceeds maximum length of 255"):
        v.name_string("n" * 256)


def test_oneline_not_empty_string() -> None:
    assert v.oneline_not_empty_string("x") == "x"
    with pytest.raises(v.InvalidValue, match="Blank strings are not permitted"):
        v.oneline_not_empty_string("   ")
    with pytest.raises(v.InvalidValue, match="Multi-line string is not allowed: 'a\nb'"):
        v.oneline_not_empty_string("a\nb")


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.0.0.1", IP4("10.0.0.1")),
        ("0.0.0.0", IP4("0.0.0.0")),
        ("2001:DB8::1", IP6("2001:db8::1")),
        ("::ffff:1.2.3.4", IP6("::ffff:1.2.3.4")),
        ("::", IP6("::")),
    ],
)
def test_ip_address_accepts(raw: str, expected: object) -> None:
    assert v.ip_address(raw) == expected


def test_ip_address_leading_zeros_get_neutrons_recommendation() -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.ip_address("010.000.0.1")
    assert (
        reason_of(exc) == "'010.000.0.1' is not an accepted IP address, '10.0.0.1' is recommended"
    )


@pytest.mark.parametrize(
    "raw",
    [
        *(" 10.0.0.1", "10.0.0.1 ", "10.0.0", "10.0.0.256", "1.2.3.4.5", "fe80::1%eth0"),
        *("2001:db8::g", "", "10.0.0.1/32", 167772161, None, "0x0a.0.0.1", "1" * 59),
    ],
)
def test_ip_address_rejects(raw: object) -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.ip_address(raw)
    assert reason_of(exc) == f"'{raw}' is not a valid IP address"


def test_ip_or_none() -> None:
    assert v.ip_or_none(None) is None
    assert v.ip_or_none("::1") == IP6("::1")


def _ipaddress_accepts(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


ADDRESSY = st.text(alphabet="0123456789abcdefABCDEF:./% ", max_size=45)


@given(ADDRESSY | st.ip_addresses().map(str) | st.ip_addresses().map(lambda a: a.exploded))
def test_ip_address_accepts_what_ipaddress_accepts_minus_zones(text: str) -> None:
    expected = _ipaddress_accepts(text) and "%" not in text
    try:
        parsed = v.ip_address(text)
    except v.InvalidValue:
        assert not expected
    else:
        assert expected
        assert parsed == ipaddress.ip_address(text)


@given(st.ip_addresses())
def test_ip_address_round_trips_canonical_text(addr: IP4 | IP6) -> None:
    assert v.ip_address(str(addr)) == addr


def test_cidr_normalises_host_bits_like_create_subnet() -> None:
    assert v.cidr("10.0.0.5/24") == NET4("10.0.0.0/24")
    assert v.cidr("2001:DB8::1/64") == NET6("2001:db8::/64")
    assert v.cidr("10.0.0.1") == NET4("10.0.0.1/32")  # netaddr reads a bare address as /32
    assert v.cidr("10.0.0.0/255.255.255.0") == NET4("10.0.0.0/24")


@pytest.mark.parametrize("raw", ["10.0.0.0/33", "10.0.0/24", "010.0.0.0/8", "x", " 10.0.0.0/8"])
def test_cidr_rejects_with_converter_message(raw: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        v.cidr(raw)
    assert reason_of(exc) == f"{raw} is not in a CIDR format"
    assert exc.value.type == "InvalidInput"


def test_cidr_strict_mode_uses_old_neutron_message() -> None:
    assert v.cidr("10.0.0.0/24", strict=True) == NET4("10.0.0.0/24")
    with pytest.raises(InvalidInput) as exc:
        v.cidr("10.0.0.1/24", strict=True)
    assert (
        reason_of(exc)
        == "'10.0.0.1/24' isn't a recognized IP subnet cidr, '10.0.0.0/24' is recommended"
    )


def _interface_or_none(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_interface(text).network
    except ValueError:
        return None


@given(
    ADDRESSY
    | st.builds(
        lambda a, p: f"{a}/{p}", st.ip_addresses(), st.integers(min_value=-1, max_value=130)
    )
)
def test_cidr_accepts_exactly_ipaddress_interfaces(text: str) -> None:
    expected = _interface_or_none(text) if "%" not in text else None
    try:
        got = v.cidr(text)
    except InvalidInput:
        assert expected is None
    else:
        assert got == expected


def test_ip_subnet_is_the_unconverted_type_subnet_check() -> None:
    assert v.ip_subnet("10.0.0.1/24") == NET4("10.0.0.0/24")
    for bad in ("10.0.0.1", "10.0.0.0/255.255.255.0", "10.0.0.0/33", 5):
        with pytest.raises(v.InvalidValue) as exc:
            v.ip_subnet(bad)
        assert reason_of(exc) == f"'{bad}' is not a valid IP subnet"


def test_route_cidr() -> None:
    assert v.route_cidr("0.0.0.0/0") == NET4("0.0.0.0/0")
    with pytest.raises(v.InvalidValue) as exc:
        v.route_cidr("10.0.0.1/24")
    assert reason_of(exc) == "'10.0.0.1/24' is not a valid CIDR"
    with pytest.raises(v.InvalidValue) as exc2:
        v.route_cidr("10.0.0.0")
    assert reason_of(exc2) == "'10.0.0.0' is not a valid CIDR"
    with pytest.raises(v.InvalidValue) as exc3:
        v.route_cidr("127.0.0.0/8")
    assert reason_of(exc3) == "'127.0.0.0/8' is not a routable CIDR"


def test_ip_prefix_normalises_and_as_given_keeps_host_bits() -> None:
    assert v.ip_prefix("10.0.0.5/24") == NET4("10.0.0.0/24")
    assert v.ip_prefix("10.0.0.5") == NET4("10.0.0.5/32")
    assert v.ip_prefix(None) is None
    assert v.ip_prefix("") is None
    assert v.ip_prefix_as_given("10.0.0.5/24") == "10.0.0.5/24"
    assert v.ip_prefix_as_given("10.0.0.5") == "10.0.0.5/32"
    assert v.ip_prefix_as_given("2001:DB8:0::1") == "2001:db8::1/128"
    assert v.ip_prefix_as_given(None) is None


def test_ip_prefix_rejects_with_invalid_cidr() -> None:
    with pytest.raises(BadRequest) as exc:
        v.ip_prefix("10.0.0.0/40")
    assert exc.value.type == "InvalidCIDR"
    assert exc.value.message == "Invalid CIDR 10.0.0.0/40 given as IP prefix."


@given(st.ip_addresses(), st.data())
def test_ip_prefix_equals_strict_false_network(addr: IP4 | IP6, data: st.DataObject) -> None:
    prefixlen = data.draw(st.integers(min_value=0, max_value=addr.max_prefixlen))
    text = f"{addr}/{prefixlen}"
    assert v.ip_prefix(text) == ipaddress.ip_network(text, strict=False)


@pytest.mark.parametrize(
    "raw",
    [
        "fa:16:3e:12:34:56",
        "FA-16-3E-12-34-56",
        "fa16.3e12.3456",
        "fa16:3e12:3456",
        "fa163e:123456",
        "fa163e-123456",
        "FA163E123456",
    ],
)
def test_mac_address_accepts_netaddr_formats(raw: str) -> None:
    assert v.mac_address(raw) == "fa:16:3e:12:34:56"


def test_mac_address_pads_short_groups_and_allows_multicast() -> None:
    assert v.mac_address("a:b:c:d:e:f") == "0a:0b:0c:0d:0e:0f"
    assert v.mac_address("01:00:5e:00:00:01") == "01:00:5e:00:00:01"


@pytest.mark.parametrize(
    "raw",
    [
        *("00:00:00:00:00:00", "FF:FF:FF:FF:FF:FF", "fa:16:3e:12:34", "fa:16-3e:12:34:56"),
        *("fa:16:3e:12:34:56 ", "gg:16:3e:12:34:56", "", None, 0xFA163E123456),
    ],
)
def test_mac_address_rejects(raw: object) -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.mac_address(raw)
    assert reason_of(exc) == f"'{raw}' is not a valid MAC address"


@given(st.integers(min_value=1, max_value=2**48 - 2))
def test_mac_address_round_trips(value: int) -> None:
    text = v.format_mac(value)
    assert v.mac_address(text.upper().replace(":", "-")) == text
    assert v.is_multicast_mac(text) == bool(value >> 40 & 1)


def test_mac_or_none() -> None:
    assert v.mac_or_none(None) is None


# --------------------------------------------------------------------------- subnet lists


def test_dns_nameservers_keeps_strings() -> None:
    assert v.dns_nameservers(["8.8.8.8", "2001:4860:4860::8888"]) == (
        "8.8.8.8",
        "2001:4860:4860::8888",
    )
    assert v.dns_nameservers(None) == ()
    assert v.dns_nameservers([]) == ()


def test_dns_nameservers_errors() -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.dns_nameservers(["8.8.8.8", "8.8.8.8"])
    assert reason_of(exc) == "Duplicate nameserver '8.8.8.8'"
    with pytest.raises(v.InvalidValue) as exc2:
        v.dns_nameservers(["dns.example"])
    assert reason_of(exc2) == (
        "'dns.example' is not a valid nameserver. 'dns.example' is not a valid IP address"
    )
    with pytest.raises(v.InvalidValue) as exc3:
        v.dns_nameservers(5)
    assert reason_of(exc3) == "Invalid data format for nameserver: '5'"


def test_host_routes_parse() -> None:
    routes = v.host_routes(
        [
            {"destination": "0.0.0.0/0", "nexthop": "10.0.0.1"},
            {"destination": "2001:db8::/64", "nexthop": "2001:db8::1"},
        ]
    )
    assert routes == (
        HostRoute(NET4("0.0.0.0/0"), IP4("10.0.0.1")),
        HostRoute(NET6("2001:db8::/64"), IP6("2001:db8::1")),
    )
    assert routes[1].to_json() == {"destination": "2001:db8::/64", "nexthop": "2001:db8::1"}
    assert v.host_routes(None) == ()


def test_host_routes_errors() -> None:
    route = {"destination": "10.1.0.0/16", "nexthop": "10.0.0.1"}
    with pytest.raises(v.InvalidValue) as exc:
        v.host_routes([route, dict(route)])
    assert reason_of(exc) == f"Duplicate hostroute '{route}'"
    with pytest.raises(v.InvalidValue) as exc2:
        v.host_routes([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1", "metric": 1}])
    assert reason_of(exc2) == (
        "Validation of dictionary's keys failed. Expected keys: {'destination', 'nexthop'} "
        "Provided keys: {'destination', 'metric', 'nexthop'}"
    )
    with pytest.raises(v.InvalidValue) as exc3:
        v.host_routes(["10.1.0.0/16"])
    assert reason_of(exc3) == (
        "Invalid input. '10.1.0.0/16' must be a dictionary with keys: ['destination', 'nexthop']"
    )
    with pytest.raises(v.InvalidValue) as exc4:
        v.host_routes([{"destination": "10.1.0.1/16", "nexthop": "10.0.0.1"}])
    assert reason_of(exc4) == "'10.1.0.1/16' is not a valid CIDR"
    with pytest.raises(v.InvalidValue) as exc5:
        v.host_routes([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.x"}])
    assert reason_of(exc5) == "'10.0.0.x' is not a valid IP address"
    with pytest.raises(v.InvalidValue, match="Invalid data format for hostroute: 'x'"):
        v.host_routes("x")


def test_allocation_pools_raw_parses_ranges() -> None:
    pools = v.allocation_pools_raw(
        [{"start": "10.0.0.10", "end": "10.0.0.20"}, {"start": "10.0.0.30", "end": "10.0.0.30"}]
    )
    assert pools == (
        IpRange(IP4("10.0.0.10"), IP4("10.0.0.20")),
        IpRange(IP4("10.0.0.30"), IP4("10.0.0.30")),
    )
    assert pools[0].to_json() == {"start": "10.0.0.10", "end": "10.0.0.20"}
    assert v.allocation_pools_raw(None) == ()
    assert v.allocation_pools_raw([]) == ()


def test_allocation_pools_raw_invalid_pool() -> None:
    with pytest.raises(BadRequest) as exc:
        v.allocation_pools_raw([{"start": "10.0.0.20", "end": "10.0.0.10"}])
    assert exc.value.type == "InvalidAllocationPool"
    assert exc.value.message == (
        "The allocation pool {'start': '10.0.0.20', 'end': '10.0.0.10'} is not valid."
    )
    with pytest.raises(BadRequest) as exc2:
        v.allocation_pools_raw([{"start": "10.0.0.1", "end": "2001:DB8::1"}])
    assert exc2.value.message == (
        "The allocation pool {'start': '10.0.0.1', 'end': '2001:db8::1'} is not valid."
    )


def test_allocation_pools_raw_shape_errors() -> None:
    with pytest.raises(InvalidInput) as exc:
        v.allocation_pools_raw({"start": "10.0.0.2", "end": "10.0.0.9"})
    assert reason_of(exc) == "Invalid data format for allocation pools"
    assert not isinstance(exc.value, v.InvalidValue)
    with pytest.raises(v.InvalidValue) as exc2:
        v.allocation_pools_raw([{"start": "10.0.0.2"}])
    assert reason_of(exc2) == (
        "Validation of dictionary's keys failed. Expected keys: {'end', 'start'} "
        "Provided keys: {'start'}"
    )
    with pytest.raises(v.InvalidValue) as exc3:
        v.allocation_pools_raw([{"start": "10.0.0.2", "end": "10.0.0.300"}])
    assert reason_of(exc3) == "'10.0.0.300' is not a valid IP address"


def test_fixed_ips_raw() -> None:
    got = v.fixed_ips_raw(
        [
            {"subnet_id": SUBNET_ID.upper()},
            {"ip_address": "10.0.0.5"},
            {"subnet_id": SUBNET_ID, "ip_address": "2001:db8::5", "ignored": True},
        ]
    )
    assert got == (
        FixedIpRequest(subnet_id=SUBNET_ID),
        FixedIpRequest(ip_address=IP4("10.0.0.5")),
        FixedIpRequest(subnet_id=SUBNET_ID, ip_address=IP6("2001:db8::5")),
    )
    assert got[2].to_json() == {"subnet_id": SUBNET_ID, "ip_address": "2001:db8::5"}
    assert got[0].to_json() == {"subnet_id": SUBNET_ID}
    assert v.fixed_ips_raw([]) == ()


def test_fixed_ips_raw_errors() -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.fixed_ips_raw([{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}])
    assert reason_of(exc) == "Duplicate IP address '10.0.0.5'"
    with pytest.raises(v.InvalidValue, match="Duplicate IP address '2001:DB8::5'"):
        v.fixed_ips_raw([{"ip_address": "2001:db8::5"}, {"ip_address": "2001:DB8::5"}])
    with pytest.raises(InvalidInput) as exc2:
        v.fixed_ips_raw([{}])
    assert reason_of(exc2) == "IP allocation requires subnet_id or ip_address"
    with pytest.raises(v.InvalidValue, match="'nope' is not a valid UUID"):
        v.fixed_ips_raw([{"subnet_id": "nope"}])
    with pytest.raises(v.InvalidValue, match="Invalid data format for fixed IP: 'x'"):
        v.fixed_ips_raw(["x"])
    with pytest.raises(v.InvalidValue, match="Invalid data format for fixed IP: 'None'"):
        v.fixed_ips_raw(None)


# --------------------------------------------------------------------------- port extensions


def test_allowed_address_pairs_keep_strings() -> None:
    pairs = v.allowed_address_pairs(
        [
            {"ip_address": "10.0.0.7"},
            {"ip_address": "10.0.1.0/24", "mac_address": "FA:16:3E:00:00:01"},
            {"ip_address": "10.0.0.7", "mac_address": "fa:16:3e:00:00:02"},
        ]
    )
    assert pairs == (
        AddressPair("10.0.0.7"),
        AddressPair("10.0.1.0/24", "FA:16:3E:00:00:01"),
        AddressPair("10.0.0.7", "fa:16:3e:00:00:02"),
    )
    assert pairs[1].to_json() == {"ip_address": "10.0.1.0/24", "mac_address": "FA:16:3E:00:00:01"}
    assert pairs[0].to_json() == {"ip_address": "10.0.0.7"}
    assert v.allowed_address_pairs(None) == ()
    assert v.allowed_address_pairs([{"ip_address": "0.0.0.0/0"}]) == (AddressPair("0.0.0.0/0"),)


@pytest.mark.parametrize(
    ("raw", "type_name", "message"),
    [
        ("x", "HTTPBadRequest", "Allowed address pairs must be a list."),
        ([{"mac_address": "fa:16:3e:00:00:01"}], "AllowedAddressPairsMissingIP",
         "AllowedAddressPair must contain ip_address"),
        ([{"ip_address": "10.0.0.7"}, {"ip_address": "10.0.0.7"}],
         "DuplicateAddressPairInRequest",
         "Request contains duplicate address pair: mac_address None ip_address 10.0.0.7."),
        ([{"ip_address": "10.0.0.7", "vlan": 3}], "HTTPBadRequest",
         "Unrecognized attribute(s) 'vlan'"),
        ([{"ip_address": "10.0.0.300"}], "HTTPBadRequest",
         "'10.0.0.300' is not a valid IP address"),
        ([{"ip_address": "10.0.0.1/33"}], "HTTPBadRequest",
         "'10.0.0.1/33' is not a valid IP subnet"),
        ([{"ip_address": "10.0.0.7", "mac_address": "zz"}], "HTTPBadRequest",
         "'zz' is not a valid MAC address"),
        ([{"ip_address": "239.1.1.1"}], "HTTPBadRequest",
         "IP 239.1.1.1 is a multicast address, which is not supported."),
        ([{"ip_address": "224.0.0.0/3"}], "HTTPBadRequest",
         "Subnet 224.0.0.0/3 overlaps with multicast range 224.0.0.0/4, which is not supported."),
        ([{"ip_address": "::/0"}], "HTTPBadRequest",
         "Subnet ::/0 overlaps with multicast range ff00::/8, which is not supported."),
        ([{"ip_address": "10.0.0.7", "mac_address": "01:00:5e:00:00:01"}], "HTTPBadRequest",
         "MAC address 01:00:5e:00:00:01 is a multicast address, which is not supported."),
        ([{"ip_address": str(i)} for i in range(11)], "AllowedAddressPairExhausted",
         "The number of allowed address pair exceeds the maximum 10."),
    ],
)  # fmt: skip
def test_allowed_address_pairs_errors(raw: object, type_name: str, message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        v.allowed_address_pairs(raw)
    assert (exc.value.type, exc.value.message) == (type_name, message)
    assert exc.value.kind is Kind.BAD_REQUEST


def test_allowed_address_pairs_non_dict_is_a_validator_reason() -> None:
    with pytest.raises(v.InvalidValue) as exc:
        v.allowed_address_pairs(["10.0.0.7"])
    assert reason_of(exc) == "'10.0.0.7' is not a dictionary"


def test_extra_dhcp_opts() -> None:
    opts = v.extra_dhcp_opts(
        [
            {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
            {"opt_name": "router", "opt_value": ""},
            {"opt_name": "dns-server", "opt_value": None, "ip_version": "6"},
        ]
    )
    assert opts == (
        DhcpOpt("bootfile-name", "pxelinux.0", 4),
        DhcpOpt("router", "", 4),
        DhcpOpt("dns-server", None, 6),
    )
    assert opts[0].to_json() == {
        "opt_name": "bootfile-name",
        "opt_value": "pxelinux.0",
        "ip_version": 4,
    }
    assert v.extra_dhcp_opts(None) == ()


@pytest.mark.parametrize(
    "item",
    [
        {"opt_name": "tftp-server", "opt_value": ""},
        {"opt_name": "tftp-server"},
        {"opt_name": "", "opt_value": "x"},
        {"opt_name": "a\nb", "opt_value": "x"},
        {"opt_name": "tftp-server", "opt_value": "x", "ip_version": 5},
        {"opt_name": "tftp-server", "opt_value": "x", "extra": 1},
        {"opt_name": "n" * 65, "opt_value": "x"},
        "tftp-server",
    ],
)
def test_extra_dhcp_opts_no_spec_matched(item: object) -> None:
    with pytest.raises(InvalidInput) as exc:
        v.extra_dhcp_opts([item])
    assert reason_of(exc) == f"No valid key specs matched for: {item}"
    assert exc.value.type == "InvalidInput"


def test_extra_dhcp_opts_list_errors() -> None:
    item = {"opt_name": "a", "opt_value": "b"}
    with pytest.raises(InvalidInput) as exc:
        v.extra_dhcp_opts([item, dict(item)])
    assert reason_of(exc) == f"Duplicate items in the list: '{item}'"
    with pytest.raises(InvalidInput, match="'x' is not a list"):
        v.extra_dhcp_opts("x")
    with pytest.raises(InvalidInput) as exc2:
        v.extra_dhcp_opts([{"opt_name": "a", "opt_value": "b", "ip_version": "four"}])
    assert reason_of(exc2) == "'four' is not an integer"


def test_tags() -> None:
    assert v.tags(["red", "blue,green", ""]) == ("red", "blue,green", "")
    assert v.tag("t" * 255) == "t" * 255
    with pytest.raises(InvalidInput) as exc:
        v.tag("t" * 256)
    assert reason_of(exc) == f"'{'t' * 256}' exceeds maximum length of 255"
    with pytest.raises(InvalidInput) as exc2:
        v.tags(["a", "b", "a", "b"])
    assert reason_of(exc2) == "Duplicate items in the list: 'a, b'"
    with pytest.raises(InvalidInput, match="'3' is not a valid string"):
        v.tags([3])
    assert v.tags_body({"tags": ["x"]}) == ("x",)
    with pytest.raises(InvalidInput, match="Invalid tags body"):
        v.tags_body({"tag": []})


def test_tags_limit() -> None:
    v.tags_limit("networks", [str(i) for i in range(50)])
    with pytest.raises(BadRequest) as exc:
        v.tags_limit("networks", [str(i) for i in range(51)])
    assert exc.value.type == "BadRequest"
    assert exc.value.message == (
        "Bad networks request: The number of tags exceed the per-resource limit of 50."
    )


# --------------------------------------------------------------------------- security groups


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("any", None),
        ("ANY", None),
        ("TCP", "tcp"),
        ("icmpv6", "icmpv6"),
        ("ipv6-icmp", "ipv6-icmp"),
        (6, "6"),
        ("0", "0"),
        ("255", "255"),
        ("017", "17"),
    ],
)
def test_protocol_accepts(raw: object, expected: str | None) -> None:
    assert v.protocol(raw) == expected


@pytest.mark.parametrize("raw", ["256", -1, "-1", "foo", 6.0, True, ""])
def test_protocol_rejects(raw: object) -> None:
    with pytest.raises(BadRequest) as exc:
        v.protocol(raw)
    assert exc.value.type == "SecurityGroupRuleInvalidProtocol"
    assert exc.value.message.startswith(
        f"Security group rule protocol {raw} not supported. Only protocol values "
        "(None, 'any', 'ah', 'dccp', "
    )
    assert exc.value.message.endswith("and integer representations [0 to 255] are supported.")


def test_port_value() -> None:
    assert v.port_value(None) is None
    assert v.port_value("80") == 80
    assert v.port_value(0) == 0
    for bad in (65536, -1, "http", True):
        with pytest.raises(BadRequest) as exc:
            v.port_value(bad)
        assert (exc.value.type, exc.value.message) == (
            "SecurityGroupInvalidPortValue",
            f"Invalid value for port {bad}",
        )


@pytest.mark.parametrize(
    ("proto", "lo", "hi", "expected"),
    [
        ("tcp", 22, 22, (22, 22)),
        ("udp", "1000", "2000", (1000, 2000)),
        ("6", 80, 443, (80, 443)),
        ("tcp", 1, 65535, (None, None)),
        (None, 1, 65535, (None, None)),  # canonicalised before the protocol check
        ("gre", 1, 65535, (None, None)),
        ("tcp", None, None, (None, None)),
        ("icmp", 8, 0, (8, 0)),
        ("icmp", 8, None, (8, None)),
        ("ipv6-icmp", 255, 255, (255, 255)),
        ("58", 128, None, (128, None)),
        ("icmpv6", 0, 0, (0, 0)),
        ("gre", None, None, (None, None)),
    ],
)
def test_port_range_accepts(proto: str | None, lo: object, hi: object, expected: object) -> None:
    assert v.port_range(proto, lo, hi) == expected


@pytest.mark.parametrize(
    ("proto", "lo", "hi", "type_name", "message"),
    [
        ("tcp", 10, 5, "SecurityGroupInvalidPortRange",
         "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
        ("tcp", 10, None, "SecurityGroupInvalidPortRange",
         "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
        ("sctp", 0, 10, "SecurityGroupInvalidPortValue", "Invalid value for port 0"),
        ("tcp", 1, 70000, "SecurityGroupInvalidPortValue", "Invalid value for port 70000"),
        (None, 22, 22, "SecurityGroupProtocolRequiredWithPorts",
         "Must also specify protocol if port range is given."),
        ("icmp", 256, None, "SecurityGroupInvalidIcmpValue",
         "Invalid value for ICMP type (port_range_min) 256. It must be 0 to 255."),
        ("icmp", 8, 300, "SecurityGroupInvalidIcmpValue",
         "Invalid value for ICMP code (port_range_max) 300. It must be 0 to 255."),
        ("icmp", None, 0, "SecurityGroupMissingIcmpType",
         "ICMP code (port-range-max) 0 is provided but ICMP type (port-range-min) is missing."),
        ("gre", 1, 2, "SecurityGroupInvalidProtocolForPort",
         "Ports cannot be specified for protocol 47. "
         "Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE."),
        ("0", 1, 1, "SecurityGroupInvalidProtocolForPort",
         "Ports cannot be specified for protocol 0. "
         "Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE."),
    ],
)  # fmt: skip
def test_port_range_rejects(
    proto: str | None, lo: object, hi: object, type_name: str, message: str
) -> None:
    with pytest.raises(BadRequest) as exc:
        v.port_range(proto, lo, hi)
    assert (exc.value.type, exc.value.message) == (type_name, message)


def test_ethertype() -> None:
    assert v.ethertype("ipv4") == "IPv4"
    assert v.ethertype("IPV6") == "IPv6"
    with pytest.raises(BadRequest) as exc:
        v.ethertype("arp")
    assert exc.value.type == "SecurityGroupRuleInvalidEtherType"
    assert exc.value.message == (
        "Security group rule for ethertype 'arp' not supported. "
        "Allowed values are ['IPv4', 'IPv6']."
    )


def test_canonical_protocol() -> None:
    assert v.canonical_protocol("icmp", "IPv6") == "ipv6-icmp"
    assert v.canonical_protocol("icmpv6", "IPv6") == "ipv6-icmp"
    assert v.canonical_protocol("1", "IPv6") == "58"
    assert v.canonical_protocol("icmp", "IPv4") == "icmp"
    assert v.canonical_protocol(None, "IPv6") is None


def test_check_prefix_family() -> None:
    v.check_prefix_family("IPv4", "10.0.0.0/8")
    v.check_prefix_family("IPv6", NET6("::/0"))
    v.check_prefix_family("IPv6", None)
    with pytest.raises(BadRequest) as exc:
        v.check_prefix_family("IPv6", "10.0.0.1/32")
    assert exc.value.type == "SecurityGroupRuleParameterConflict"
    assert exc.value.message == "Conflicting value ethertype IPv6 for CIDR 10.0.0.1/32"


def test_check_ethertype_protocol() -> None:
    v.check_ethertype_protocol("IPv6", "ipv6-icmp")
    v.check_ethertype_protocol("IPv4", "icmp")
    for proto in ("ipv6-icmp", "icmpv6", "58", "ipv6-frag"):
        with pytest.raises(BadRequest) as exc:
            v.check_ethertype_protocol("IPv4", proto)
        assert exc.value.type == "SecurityGroupEthertypeConflictWithProtocol"
        assert exc.value.message == f"Invalid ethertype IPv4 for protocol {proto}."


def test_remote_exclusive() -> None:
    v.remote_exclusive("10.0.0.0/8", None, None)
    v.remote_exclusive(None, "", SUBNET_ID)
    with pytest.raises(BadRequest) as exc:
        v.remote_exclusive("10.0.0.0/8", SUBNET_ID, None)
    assert exc.value.type == "SecurityGroupMultipleRemoteEntites"
    assert exc.value.message == (
        "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id "
        "may be provided."
    )


def test_ip_str_formats_like_netaddr() -> None:
    assert ip_str(IP6("::ffff:1.2.3.4")) == "::ffff:1.2.3.4"
    assert ip_str(IP6("2001:0db8:0000:0000:0000:0000:0000:0001")) == "2001:db8::1"
    assert ip_str(IP6("::1")) == "::1"
    assert ip_str(IP4("10.0.0.1")) == "10.0.0.1"
