"""Pure security group rule checks: canonical form, Neutron's errors, duplicate keys."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.domain import security_group as sg
from neutrino.domain import validate as v
from neutrino.domain.errors import NeutronError
from neutrino.domain.security_group import RuleSpec, SecurityGroupRuleCreate

GROUP = "3b0c3a2f-5a55-4b8b-9a3b-6a8d7c1e2f00"
OTHER = "5d1c3a2f-5a55-4b8b-9a3b-6a8d7c1e2f11"


def request(**body: Any) -> SecurityGroupRuleCreate:
    """Convert a body as the schema does, then build the create request."""
    converters = {
        "protocol": v.protocol,
        "ethertype": v.ethertype,
        "port_range_min": v.port_value,
        "port_range_max": v.port_value,
        "remote_ip_prefix": v.ip_prefix_as_given,
        "remote_group_id": sg.remote_group,
    }
    fields = {k: converters.get(k, lambda x: x)(raw) for k, raw in body.items()}
    return SecurityGroupRuleCreate(
        security_group_id=GROUP, direction=fields.pop("direction", "ingress"), **fields
    )


def check(**body: Any) -> RuleSpec:
    return sg.checked_rule(request(**body))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, RuleSpec("ingress", "IPv4")),
        ({"protocol": "Tcp", "port_range_min": 80, "port_range_max": "80"},
         RuleSpec("ingress", "IPv4", "tcp", 80, 80)),
        ({"protocol": 6, "port_range_min": 1, "port_range_max": 65535},
         RuleSpec("ingress", "IPv4", "6")),
        ({"port_range_min": 1, "port_range_max": 65535}, RuleSpec("ingress", "IPv4")),
        ({"protocol": "any"}, RuleSpec("ingress", "IPv4")),
        ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
         RuleSpec("ingress", "IPv4", "icmp", 8, 0)),
        ({"protocol": "icmp", "port_range_min": 0}, RuleSpec("ingress", "IPv4", "icmp", 0)),
        ({"ethertype": "IPv6", "protocol": "icmp"}, RuleSpec("ingress", "IPv6", "ipv6-icmp")),
        ({"ethertype": "IPv6", "protocol": "icmpv6", "port_range_min": 135},
         RuleSpec("ingress", "IPv6", "ipv6-icmp", 135)),
        ({"ethertype": "IPv6", "protocol": "1"}, RuleSpec("ingress", "IPv6", "58")),
        ({"protocol": "58", "ethertype": "IPv6"}, RuleSpec("ingress", "IPv6", "58")),
        ({"protocol": "dccp", "port_range_min": 5, "port_range_max": 6},
         RuleSpec("ingress", "IPv4", "dccp", 5, 6)),
        ({"protocol": "132", "port_range_min": 5, "port_range_max": 5},
         RuleSpec("ingress", "IPv4", "132", 5, 5)),
        ({"remote_ip_prefix": "10.0.0.9/8"},
         RuleSpec("ingress", "IPv4", remote_ip_prefix="10.0.0.9/8")),
        ({"ethertype": "ipv6", "remote_ip_prefix": "2001:DB8::1"},
         RuleSpec("ingress", "IPv6", remote_ip_prefix="2001:db8::1/128")),
        ({"remote_group_id": GROUP, "direction": "egress"},
         RuleSpec("egress", "IPv4", remote_group_id=GROUP)),
    ],
)
def test_checked_rule_canonical_form(body: dict[str, Any], expected: RuleSpec) -> None:
    assert check(**body) == expected


@pytest.mark.parametrize(
    ("body", "type_name", "message"),
    [
        ({"protocol": "xyz"}, "SecurityGroupRuleInvalidProtocol", None),
        ({"protocol": -1}, "SecurityGroupRuleInvalidProtocol", None),
        ({"protocol": True}, "SecurityGroupRuleInvalidProtocol", None),
        ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType",
         "Security group rule for ethertype 'IPv5' not supported. "
         "Allowed values are ['IPv4', 'IPv6']."),
        ({"port_range_min": 5}, "SecurityGroupProtocolRequiredWithPorts",
         "Must also specify protocol if port range is given."),
        ({"protocol": "udp", "port_range_max": 5}, "SecurityGroupInvalidPortRange", None),
        ({"protocol": "udp", "port_range_min": 6, "port_range_max": 5},
         "SecurityGroupInvalidPortRange", None),
        ({"protocol": "udp", "port_range_min": 0, "port_range_max": 0},
         "SecurityGroupInvalidPortValue", "Invalid value for port 0"),
        ({"protocol": "udp", "port_range_min": 65536, "port_range_max": 65536},
         "SecurityGroupInvalidPortValue", "Invalid value for port 65536"),
        ({"protocol": "tcp", "port_range_min": True, "port_range_max": 2},
         "SecurityGroupInvalidPortValue", None),
        ({"protocol": "icmp", "port_range_min": 300}, "SecurityGroupInvalidIcmpValue",
         "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."),
        ({"protocol": "ipv6-icmp", "ethertype": "IPv6", "port_range_min": 1,
          "port_range_max": 256}, "SecurityGroupInvalidIcmpValue",
         "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255."),
        ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType",
         "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing."),
        ({"protocol": "vrrp", "port_range_min": 1, "port_range_max": 1},
         "SecurityGroupInvalidProtocolForPort",
         "Ports cannot be specified for protocol 112. "
         "Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE."),
        ({"remote_ip_prefix": "::/0"}, "SecurityGroupRuleParameterConflict",
         "Conflicting value ethertype IPv4 for CIDR ::/0"),
        ({"remote_ip_prefix": "nonsense"}, "InvalidCIDR",
         "Invalid CIDR nonsense given as IP prefix."),
        ({"protocol": "icmpv6"}, "SecurityGroupEthertypeConflictWithProtocol",
         "Invalid ethertype IPv4 for protocol icmpv6."),
        ({"protocol": "ipv6-frag"}, "SecurityGroupEthertypeConflictWithProtocol", None),
        ({"protocol": "44"}, "SecurityGroupEthertypeConflictWithProtocol", None),
        ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": GROUP},
         "SecurityGroupMultipleRemoteEntites",
         "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id "
         "may be provided."),
    ],
)
def test_checked_rule_refuses_like_neutron(
    body: dict[str, Any], type_name: str, message: str | None
) -> None:
    with pytest.raises(NeutronError) as exc:
        check(**body)
    assert exc.value.type == type_name
    assert exc.value.kind.value == "bad_request"
    if message is not None:
        assert exc.value.message == message


def test_protocol_error_lists_neutrons_protocols_in_order() -> None:
    with pytest.raises(NeutronError) as exc:
        v.protocol("xyz")
    assert exc.value.message.startswith(
        "Security group rule protocol xyz not supported. Only protocol values "
        "(None, 'any', 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', "
        "'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt',")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (RuleSpec("ingress", "IPv4", "tcp", 22, 22), RuleSpec("ingress", "IPv4", "6", 22, 22)),
        (RuleSpec("ingress", "IPv6", "ipv6-icmp"), RuleSpec("ingress", "IPv6", "58")),
        (RuleSpec("ingress", "IPv6", "icmp"), RuleSpec("ingress", "IPv6", "icmpv6")),
        (RuleSpec("egress", "IPv4"), RuleSpec("egress", "IPv4", remote_ip_prefix="0.0.0.0/0")),
        (RuleSpec("egress", "IPv6"), RuleSpec("egress", "IPv6", remote_ip_prefix="::/0")),
        (RuleSpec("ingress", "IPv4", "ip"), RuleSpec("ingress", "IPv4", "0")),
    ],
)
def test_rule_key_treats_equivalent_rules_as_duplicates(a: RuleSpec, b: RuleSpec) -> None:
    assert sg.rule_key(a) == sg.rule_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (RuleSpec("ingress", "IPv4", "tcp"), RuleSpec("egress", "IPv4", "tcp")),
        (RuleSpec("ingress", "IPv4", "tcp"), RuleSpec("ingress", "IPv6", "tcp")),
        (RuleSpec("ingress", "IPv4", "tcp", 1, 2), RuleSpec("ingress", "IPv4", "tcp", 1, 3)),
        (RuleSpec("ingress", "IPv4", "tcp"), RuleSpec("ingress", "IPv4", "udp")),
        (RuleSpec("ingress", "IPv4", "tcp"), RuleSpec("ingress", "IPv4")),
        (RuleSpec("ingress", "IPv4", remote_ip_prefix="10.0.0.5/24"),
         RuleSpec("ingress", "IPv4", remote_ip_prefix="10.0.0.0/24")),  # stored as given
        (RuleSpec("ingress", "IPv4", remote_group_id=GROUP),
         RuleSpec("ingress", "IPv4", remote_group_id=OTHER)),
        (RuleSpec("ingress", "IPv4", remote_group_id=GROUP), RuleSpec("ingress", "IPv4")),
    ],
)
def test_rule_key_tells_different_rules_apart(a: RuleSpec, b: RuleSpec) -> None:
    assert sg.rule_key(a) != sg.rule_key(b)


@given(st.sampled_from(sorted(v.PROTOCOL_NUMBERS)), st.sampled_from(v.SG_ETHERTYPES))
def test_a_protocol_name_and_its_number_share_a_key(name: str, ethertype: str) -> None:
    number = str(v.PROTOCOL_NUMBERS[name])
    by_name = sg.protocol_key(name, ethertype)
    by_number = sg.protocol_key(number, ethertype)
    assert by_name is not None and by_number is not None
    assert by_name[1] == by_number[1]
    # hopopt and ip are both 0, and Neutron keeps them apart by name; icmpv6 is only
    # canonicalised on IPv6 rules (IPv4 ones refuse it).
    if name not in ("hopopt", "ip") and (name, ethertype) != ("icmpv6", "IPv4"):
        assert by_name == by_number


def test_template_rules() -> None:
    assert sg.template_rules(GROUP, is_default=False) == (
        RuleSpec("egress", "IPv4"), RuleSpec("egress", "IPv6"))
    assert sg.template_rules(GROUP, is_default=True) == (
        RuleSpec("egress", "IPv4"),
        RuleSpec("egress", "IPv6"),
        RuleSpec("ingress", "IPv4", remote_group_id=GROUP),
        RuleSpec("ingress", "IPv6", remote_group_id=GROUP),
    )


@pytest.mark.parametrize("name", ["default", "Default", "DEFAULT"])
def test_the_default_name_is_reserved(name: str) -> None:
    with pytest.raises(NeutronError) as exc:
        sg.group_name(name)
    assert exc.value.type == "SecurityGroupDefaultAlreadyExists"
    assert exc.value.kind.value == "conflict"


def test_group_names() -> None:
    assert sg.group_name("web") == "web"
    assert sg.group_name("") == ""
    assert sg.group_name("defaults") == "defaults"
    with pytest.raises(v.InvalidValue):
        sg.group_name("x" * 256)
    with pytest.raises(v.InvalidValue):
        sg.group_name(5)


@pytest.mark.parametrize(
    ("prefix", "normalized"),
    [
        (None, None),
        ("10.0.0.5/24", "10.0.0.0/24"),
        ("10.0.0.5/32", "10.0.0.5/32"),
        ("2001:db8::1/64", "2001:db8::/64"),
        ("::ffff:10.0.0.1/120", "::ffff:10.0.0.0/120"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_normalized_cidr(prefix: str | None, normalized: str | None) -> None:
    assert sg.normalized_cidr(prefix) == normalized


def test_remote_group_accepts_any_string() -> None:
    assert sg.remote_group(None) is None
    assert sg.remote_group("") is None
    assert sg.remote_group("not-a-uuid") == "not-a-uuid"  # unknown ids answer 404 later
    with pytest.raises(v.InvalidValue):
        sg.remote_group(7)
