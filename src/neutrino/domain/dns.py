"""DNS names of ports and floating IPs (neutron-lib's `dns-integration`): the checks on
`dns_name` and `dns_domain`, and the names a port's addresses get (`dns_assignment`).

The server's `dns_domain` setting decides whether a port's own name counts, as in Neutron's
dns_integration driver: under the default, `openstacklocal.`, a port's dns_name is checked but
not kept, and each of its addresses is named `host-<address with dashes>`; under any other
domain the port keeps its name and every address carries it. Either way the FQDN is the name
followed by the server's domain (a name that ends with a dot already is one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from neutrino.domain.errors import BadRequest, InvalidInput
from neutrino.domain.validate import InvalidValue

DEFAULT_DOMAIN: Final = "openstacklocal."
FQDN_MAX_LEN: Final = 255
LABEL_MAX_LEN: Final = 63
# One label: lower-case letters, digits and hyphens; or one of the keywords Neutron's
# `dns-integration-domain-keywords` substitutes (accepted by its validator everywhere).
_LABEL: Final = re.compile(
    rf"[a-z0-9-]{{1,{LABEL_MAX_LEN}}}|<project_id>|<project_name>|<user_name>|<user_id>")
_DIGITS: Final = re.compile(r"[0-9]+")


# --------------------------------------------------------------------------- request values


def lower_case(value: object) -> str:
    """A string, lower-cased: DNS names are case-insensitive (Neutron's
    `convert_string_to_case_insensitive`, also applied to list filters)."""
    if not isinstance(value, str):
        raise InvalidInput(f"Input value {value} must be string type")
    return value.lower()


def _name_problem(name: str) -> str | None:
    """Why `name` is no valid relative or absolute DNS name (RFC 1123, 952), or None."""
    trimmed = name[:-1] if name.endswith(".") else name  # a final dot marks an FQDN
    if len(trimmed) > FQDN_MAX_LEN:
        return f"'{trimmed}' exceeds the {FQDN_MAX_LEN} character FQDN limit"
    labels = trimmed.split(".")
    for label in labels:
        if not label:
            return "Encountered an empty component"
        if label.startswith("-") or label.endswith("-"):
            return f"Name '{label}' must not start or end with a hyphen"
        if not _LABEL.fullmatch(label):
            return (f"Name '{label}' must be 1-{LABEL_MAX_LEN} characters long, each of which "
                    "can only be alphanumeric or a hyphen")
    if len(labels) > 1 and _DIGITS.fullmatch(labels[-1]):
        return f"TLD '{labels[-1]}' must not be all numeric"
    return None


def _check_name(name: str) -> None:
    problem = _name_problem(name) if name else None
    if problem:
        raise InvalidValue(f"'{name}' not a valid PQDN or FQDN. Reason: {problem}")


def port_dns_name(value: Any) -> str:
    """A port's `dns_name` (type:dns_host_name): "" or a relative or absolute DNS name.
    Whether it fits the server's domain is `kept_dns_name`'s to say."""
    name = lower_case(value)
    _check_name(name)
    return name


def fip_dns_name(value: Any) -> str:
    """A floating IP's `dns_name` (type:fip_dns_host_name): "" or a relative name, short
    enough that a domain still fits after it."""
    return _name_with_room(value, absolute=False)


def dns_domain_name(value: Any) -> str:
    """A `dns_domain` (type:dns_domain_name): "" or an absolute name (with its final dot),
    short enough that a label still fits before it."""
    return _name_with_room(value, absolute=True)


def _name_with_room(value: Any, *, absolute: bool) -> str:
    """A name that is to be joined with another: relative (a domain follows it) or absolute
    (a label precedes it), leaving room for the other's at least one character and dot."""
    name = lower_case(value)
    if not name:
        return name
    if name.endswith(".") != absolute:
        raise InvalidValue(f"'{name}' is not a FQDN" if absolute else
                           f"'{name}' is a FQDN. It should be a relative domain name")
    _check_name(name)
    room, other = (2, "a sub-domain") if absolute else (3, "a domain name")
    if len(name) > FQDN_MAX_LEN - room:
        raise InvalidValue(
            f"'{name}' contains {len(name)} characters. Adding {other} will cause it to "
            f"exceed the maximum length of a FQDN of '{FQDN_MAX_LEN}'")
    return name


# --------------------------------------------------------------------------- the server's domain


def server_domain(configured: str) -> str:
    """The server's `dns_domain` as names use it: "" or ending with a dot."""
    if not configured or configured.endswith("."):
        return configured
    return configured + "."


def names_ports(configured: str) -> bool:
    """Whether ports' own dns_names count: only under a domain other than the default."""
    domain = server_domain(configured)
    return bool(domain) and domain != DEFAULT_DOMAIN


def kept_dns_name(requested: str, configured: str) -> str:
    """What a port keeps of the (checked) dns_name it was given: nothing under the default
    domain; else the name, once its FQDN fits in 255 characters, and, given as an FQDN, once
    it is one or more labels under the server's domain. 400 otherwise, for the request."""
    if not requested or not names_ports(configured):
        return ""
    suffix = "." + server_domain(configured)
    if not requested.endswith("."):
        if len(requested) + len(suffix) > FQDN_MAX_LEN:
            raise _bad_dns_name(
                f"The dns_name passed is a PQDN and its size is '{len(requested)}'. The "
                f"dns_domain option of the server is set to {configured}, with a length of "
                f"'{len(suffix)}'. When the two are concatenated to form a FQDN (with a '.' at "
                f"the end), the resulting length exceeds the maximum size of '{FQDN_MAX_LEN}'")
        return requested
    if len(requested) <= len(suffix) or not requested.endswith(suffix):
        raise _bad_dns_name(
            "The dns_name passed is a FQDN. Its higher level labels must be equal to the "
            f"dns_domain option of the server, that has been set to '{configured}'. It must "
            f"also include one or more valid DNS labels to the left of '{configured}'")
    return requested


def _bad_dns_name(reason: str) -> BadRequest:
    return BadRequest(f"Invalid input for dns_name. Reason: {reason}")


# --------------------------------------------------------------------------- names given out


def generated_hostname(address: str) -> str:
    """The name of an address whose port has none: Neutron's `host-<address with dashes>`,
    the same on the server (`dns_assignment`) and in the agent's DHCP and DNS."""
    return "host-" + address.replace(".", "-").replace(":", "-")


def assigned_name(dns_name: str, configured: str) -> str:
    """The port's own name as its addresses carry it: "" under the default domain."""
    return dns_name if dns_name and names_ports(configured) else ""


def assignment(dns_name: str, addresses: Iterable[str], configured: str
               ) -> list[dict[str, str]]:
    """Each address's `{ip_address, hostname, fqdn}` (Neutron's `_get_dns_names_for_port`):
    the port's name, else `host-<address with dashes>`; then the server's domain.

    Shown with every port and computed each time (never stored), so it builds the JSON form
    directly: a 10,000-port listing pays it 10,000 times."""
    domain = server_domain(configured)
    name = assigned_name(dns_name, configured)
    out = []
    for address in addresses:
        if name:
            hostname = name
            fqdn = name if name.endswith(".") else f"{name}.{domain}"
        else:
            hostname = generated_hostname(address)
            fqdn = f"{hostname}.{domain}" if domain else hostname
        out.append({"ip_address": address, "hostname": hostname, "fqdn": fqdn})
    return out
