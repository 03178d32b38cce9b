"""dns-integration's pure rules: Neutron's checks on dns_name and dns_domain (its wording),
what a port keeps of its name under the server's domain, and the names its addresses get."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.domain import dns
from neutrino.domain.errors import BadRequest, InvalidInput
from neutrino.domain.validate import InvalidValue

L63 = "a" * 63
# 4 labels of 63 and 3 dots: 255 characters, the longest name there is.
LONGEST = ".".join([L63] * 4)


def _refused(convert: object, raw: object) -> str:
    assert callable(convert)
    with pytest.raises(InvalidValue) as exc:
        convert(raw)
    return exc.value.reason


def _bad_name(name: str, reason: str) -> str:
    return f"'{name}' not a valid PQDN or FQDN. Reason: {reason}"


def _labels_too_long(label: str) -> str:
    return (f"Name '{label}' must be 1-63 characters long, each of which can only be "
            "alphanumeric or a hyphen")


# --------------------------------------------------------------------------- dns_name (ports)


@pytest.mark.parametrize(("raw", "expected"), [
    ("", ""),
    ("VM-1", "vm-1"),
    ("vm1.example.org.", "vm1.example.org."),
    ("123", "123"),  # one label may be all digits; only a TLD may not
    ("x1.y-2.z3", "x1.y-2.z3"),
    (L63, L63),
    (LONGEST, LONGEST),
    (LONGEST + ".", LONGEST + "."),  # the final dot does not count
    ("<project_id>.example", "<project_id>.example"),  # Neutron's domain keywords pass
])
def test_port_dns_names_accepted(raw: str, expected: str) -> None:
    assert dns.port_dns_name(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), [
    ("a" * 64, _bad_name("a" * 64, _labels_too_long("a" * 64))),
    ("vm_1", _bad_name("vm_1", _labels_too_long("vm_1"))),
    ("web server", _bad_name("web server", _labels_too_long("web server"))),
    ("-vm", _bad_name("-vm", "Name '-vm' must not start or end with a hyphen")),
    ("vm.a-", _bad_name("vm.a-", "Name 'a-' must not start or end with a hyphen")),
    ("a..b", _bad_name("a..b", "Encountered an empty component")),
    (".", _bad_name(".", "Encountered an empty component")),
    ("vm.123", _bad_name("vm.123", "TLD '123' must not be all numeric")),
    (LONGEST + "a", _bad_name(LONGEST + "a",
                              f"'{LONGEST}a' exceeds the 255 character FQDN limit")),
    # Neutron's `re.match(...$)` lets one final newline through; a name is no place for it.
    ("vm1\n", _bad_name("vm1\n", _labels_too_long("vm1\n"))),
])
def test_port_dns_names_refused_with_neutrons_reason(raw: str, reason: str) -> None:
    assert _refused(dns.port_dns_name, raw) == reason


@pytest.mark.parametrize("raw", [5, None, True, ["vm1"]])
def test_a_dns_name_is_a_string(raw: object) -> None:
    """The case conversion refuses first, as a converter (InvalidInput, not a validator's)."""
    with pytest.raises(InvalidInput) as exc:
        dns.port_dns_name(raw)
    assert not isinstance(exc.value, InvalidValue)
    assert exc.value.reason == f"Input value {raw} must be string type"


# --------------------------------------------------------------------------- floating IPs, domains


def test_floating_ip_dns_names() -> None:
    assert dns.fip_dns_name("") == ""
    assert dns.fip_dns_name("WWW") == "www"
    assert _refused(dns.fip_dns_name, "www.") == (
        "'www.' is a FQDN. It should be a relative domain name")
    assert _refused(dns.fip_dns_name, "w_w") == _bad_name("w_w", _labels_too_long("w_w"))
    longest = LONGEST[:252]
    assert dns.fip_dns_name(longest) == longest
    assert _refused(dns.fip_dns_name, LONGEST[:253]) == (
        f"'{LONGEST[:253]}' contains 253 characters. Adding a domain name will cause it to "
        "exceed the maximum length of a FQDN of '255'")


def test_dns_domains() -> None:
    assert dns.dns_domain_name("") == ""
    assert dns.dns_domain_name("Example.ORG.") == "example.org."
    assert _refused(dns.dns_domain_name, "example.org") == "'example.org' is not a FQDN"
    assert _refused(dns.dns_domain_name, "exa mple.") == _bad_name(
        "exa mple.", _labels_too_long("exa mple"))
    fits = LONGEST[:252] + "."
    assert dns.dns_domain_name(fits) == fits
    too_long = LONGEST[:253] + "."
    assert _refused(dns.dns_domain_name, too_long) == (
        f"'{too_long}' contains 254 characters. Adding a sub-domain will cause it to exceed "
        "the maximum length of a FQDN of '255'")


# --------------------------------------------------------------------------- the server's domain


@pytest.mark.parametrize(("configured", "names"), [
    ("openstacklocal.", False), ("openstacklocal", False), ("", False),
    ("example.org.", True), ("example.org", True),
])
def test_only_a_domain_other_than_the_default_names_ports(configured: str,
                                                           names: bool) -> None:
    assert dns.names_ports(configured) is names
    assert dns.kept_dns_name("vm1", configured) == ("vm1" if names else "")


def test_a_kept_name_fits_the_servers_domain() -> None:
    assert dns.kept_dns_name("vm1.example.org.", "example.org") == "vm1.example.org."
    assert dns.kept_dns_name("", "example.org.") == ""
    fqdn_rule = ("Invalid input for dns_name. Reason: The dns_name passed is a FQDN. Its higher "
                 "level labels must be equal to the dns_domain option of the server, that has "
                 "been set to 'example.org.'. It must also include one or more valid DNS "
                 "labels to the left of 'example.org.'")
    for name in ("vm1.other.org.", "example.org.", "xexample.org."):
        with pytest.raises(BadRequest) as exc:
            dns.kept_dns_name(name, "example.org.")
        assert exc.value.message == fqdn_rule and exc.value.type == "HTTPBadRequest"
    # ".example.org." is 13 characters: a relative name may have 242.
    assert dns.kept_dns_name(LONGEST[:242], "example.org.") == LONGEST[:242]
    with pytest.raises(BadRequest) as exc:
        dns.kept_dns_name(LONGEST[:243], "example.org.")
    assert exc.value.message == (
        "Invalid input for dns_name. Reason: The dns_name passed is a PQDN and its size is "
        "'243'. The dns_domain option of the server is set to example.org., with a length of "
        "'13'. When the two are concatenated to form a FQDN (with a '.' at the end), the "
        "resulting length exceeds the maximum size of '255'")
    # Under the default domain only the format counts: the name is not kept anyway.
    assert dns.kept_dns_name(LONGEST, "openstacklocal.") == ""


# --------------------------------------------------------------------------- dns_assignment


def test_addresses_are_named_host_address_under_the_default_domain() -> None:
    assert dns.assignment("web", ["10.0.0.5", "2001:db8::5"], "openstacklocal.") == [
        {"ip_address": "10.0.0.5", "hostname": "host-10-0-0-5",
         "fqdn": "host-10-0-0-5.openstacklocal."},
        {"ip_address": "2001:db8::5", "hostname": "host-2001-db8--5",
         "fqdn": "host-2001-db8--5.openstacklocal."},
    ]
    assert dns.assignment("", ["10.0.0.5"], "") == [
        {"ip_address": "10.0.0.5", "hostname": "host-10-0-0-5", "fqdn": "host-10-0-0-5"}]
    assert dns.assignment("web", [], "example.org.") == []


def test_addresses_carry_the_ports_name_under_another_domain() -> None:
    assert dns.assignment("web", ["10.0.0.5", "10.0.1.5"], "example.org") == [
        {"ip_address": "10.0.0.5", "hostname": "web", "fqdn": "web.example.org."},
        {"ip_address": "10.0.1.5", "hostname": "web", "fqdn": "web.example.org."},
    ]
    assert dns.assignment("web.example.org.", ["10.0.0.5"], "example.org.") == [
        {"ip_address": "10.0.0.5", "hostname": "web.example.org.",
         "fqdn": "web.example.org."}]
    assert dns.assignment("", ["10.0.0.5"], "example.org.") == [
        {"ip_address": "10.0.0.5", "hostname": "host-10-0-0-5",
         "fqdn": "host-10-0-0-5.example.org."}]
    assert dns.assigned_name("web", "example.org.") == "web"
    assert dns.assigned_name("web", "openstacklocal.") == ""


# --------------------------------------------------------------------------- properties

_LABELS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_NAMES = st.builds(
    lambda labels, dot: ".".join(labels) + dot,
    st.lists(_LABELS, min_size=1, max_size=5).filter(
        lambda ls: len(ls) == 1 or not ls[-1].isdigit()),
    st.sampled_from(["", "."]),
)
_DOMAINS = st.lists(_LABELS, min_size=1, max_size=3).filter(
    lambda ls: len(ls) == 1 or not ls[-1].isdigit()).map(lambda ls: ".".join(ls) + ".")


@given(_NAMES, st.data())
def test_every_well_formed_name_passes_in_any_case(name: str, data: st.DataObject) -> None:
    upper = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    mixed = "".join(c.upper() if up else c for c, up in zip(name, upper, strict=True))
    assert dns.port_dns_name(mixed) == name


_FOREIGN = st.characters().filter(lambda c: re.fullmatch(r"[a-z0-9.-]*", c.lower()) is None)


@given(_NAMES, st.data())
def test_a_foreign_character_anywhere_is_refused(name: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(name)))
    bad = name[:at] + data.draw(_FOREIGN) + name[at:]
    with pytest.raises(InvalidValue, match="not a valid PQDN or FQDN"):
        dns.port_dns_name(bad)


@given(st.text(max_size=300))
def test_any_text_is_either_its_lower_case_or_refused(text: str) -> None:
    try:
        assert dns.port_dns_name(text) == text.lower()
    except InvalidValue as exc:
        assert exc.reason.startswith(f"'{text.lower()}' not a valid PQDN or FQDN. Reason: ")


@given(_NAMES.filter(lambda n: not n.endswith(".")), _DOMAINS,
       st.lists(st.ip_addresses().map(str), max_size=3))
def test_a_kept_name_makes_fqdns_that_fit(name: str, domain: str, addresses: list[str]) -> None:
    try:
        kept = dns.kept_dns_name(name, domain)
    except BadRequest:
        assert len(name) + 1 + len(domain) > dns.FQDN_MAX_LEN
        return
    named = dns.assignment(kept, addresses, domain)
    assert [a["ip_address"] for a in named] == addresses
    for a in named:
        assert a["fqdn"].startswith(a["hostname"])  # Tempest's _confirm_dns_assignment
        assert len(a["fqdn"]) <= dns.FQDN_MAX_LEN + 1
        assert a["fqdn"] == (f"{kept}.{domain}" if dns.names_ports(domain) else
                             f"{a['hostname']}.{domain}")


# --------------------------------------------------------------------------- configuration


def test_the_server_config_sets_the_dns_domain(tmp_path: Path) -> None:
    from neutrino.cmd import config

    conf = tmp_path / "neutrino.toml"
    conf.write_text("[server]\n")
    assert config.load(str(conf)).server.dns_domain == "openstacklocal."
    conf.write_text('[server]\ndns_domain = "Example.ORG"\n')
    assert config.load(str(conf)).server.dns_domain == "example.org."
    conf.write_text('[server]\ndns_domain = "bad_domain"\n')
    with pytest.raises(SystemExit, match=r"dns_domain: 'bad_domain\.' not a valid PQDN"):
        config.load(str(conf))
