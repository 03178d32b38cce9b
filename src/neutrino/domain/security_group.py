"""Security groups and their rules: the objects, and the pure rule checks Neutron applies.

A rule is checked and put in canonical form once, by `checked_rule`, before anything is
stored: legacy IPv6 ICMP names become `ipv6-icmp`, the full port range 1-65535 becomes "any",
and the remote prefix keeps its host bits (as Neutron stores it) while `normalized_cidr`
reports the network. `rule_key` is what two rules must share to be duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from neutrino.domain import validate as v
from neutrino.domain.errors import BadRequest, Conflict, InUse, NotFound
from neutrino.domain.standard import UNSET, Standard
from neutrino.domain.values import net_str

DEFAULT_NAME: Final = "default"
DEFAULT_DESCRIPTION: Final = "Default security group"
INGRESS: Final = "ingress"
EGRESS: Final = "egress"
_ANY_PREFIXES: Final = frozenset({"0.0.0.0/0", "::/0"})
#: Number -> name for protocol keys; `icmpv6` is only an alias of `ipv6-icmp` (58).
_NUMBER_TO_NAME: Final = {
    str(num): name for name, num in v.PROTOCOL_NUMBERS.items() if name != "icmpv6"
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityGroupRule:
    """One allow rule. Rules are never updated, only created and deleted."""

    id: str
    project_id: str
    security_group_id: str
    direction: str
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""
    belongs_to_default_sg: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision_number: int = 0

    @property
    def normalized_cidr(self) -> str | None:
        """The remote prefix with its host bits cleared (10.0.0.5/24 -> 10.0.0.0/24)."""
        return normalized_cidr(self.remote_ip_prefix)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityGroup(Standard):
    stateful: bool = True
    rules: tuple[SecurityGroupRule, ...] = ()


def in_order(rules: Iterable[SecurityGroupRule]) -> tuple[SecurityGroupRule, ...]:
    """A group's rules in the one order every response shows them: oldest first, then id."""
    return tuple(sorted(rules, key=lambda r: (r.created_at is not None, r.created_at, r.id)))


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityGroupCreate:
    project_id: Any = UNSET
    name: str = ""
    description: str = ""
    stateful: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityGroupUpdate:
    name: Any = UNSET
    description: Any = UNSET
    stateful: Any = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityGroupRuleCreate:
    """A converted POST body; `checked_rule` applies the checks between attributes."""

    security_group_id: str
    direction: str
    project_id: Any = UNSET
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What a rule allows, canonical: the part of a rule that makes it a duplicate."""

    direction: str
    ethertype: str
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


# --------------------------------------------------------------------------- names


def group_name(value: object) -> str:
    """A group name; 'default' (any case) is reserved for the project's default group."""
    name = v.name_string(value)
    if name.lower() == DEFAULT_NAME:
        raise InUse("Default security group already exists.",
                    type_name="SecurityGroupDefaultAlreadyExists")
    return name


def remote_group(value: object) -> str | None:
    """remote_group_id: any string (Neutron does not check its form; unknown ids are 404)."""
    if value is None or value == "":
        return None
    return v.string(value, 255)


# --------------------------------------------------------------------------- rule checks


def normalized_cidr(prefix: str | None) -> str | None:
    network = v.ip_prefix(prefix)
    return None if network is None else net_str(network)


def checked_rule(req: SecurityGroupRuleCreate) -> RuleSpec:
    """Canonicalise and cross-check a rule's attributes, in Neutron's order.

    IPv6 ICMP legacy names, then the full port range, then ports for the protocol, then the
    prefix family, then ethertype vs protocol, then at most one remote selector."""
    protocol = v.canonical_protocol(req.protocol, req.ethertype)
    low, high = v.port_range(protocol, req.port_range_min, req.port_range_max)
    v.check_prefix_family(req.ethertype, req.remote_ip_prefix)
    v.check_ethertype_protocol(req.ethertype, protocol)
    v.remote_exclusive(req.remote_ip_prefix, req.remote_group_id, None)
    return RuleSpec(
        direction=req.direction,
        ethertype=req.ethertype,
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=req.remote_ip_prefix,
        remote_group_id=req.remote_group_id,
    )


def protocol_key(protocol: str | None, ethertype: str) -> tuple[str, str] | None:
    """(name, number) of a protocol, so that 'tcp' and '6' compare equal (None = any)."""
    if protocol is None:
        return None
    proto = v.canonical_protocol(protocol, ethertype) or protocol
    if proto in v.PROTOCOL_NUMBERS:
        return proto, str(v.PROTOCOL_NUMBERS[proto])
    if proto in _NUMBER_TO_NAME:
        return _NUMBER_TO_NAME[proto], proto
    return proto, proto


def rule_key(rule: RuleSpec | SecurityGroupRule) -> tuple[object, ...]:
    """Neutron's duplicate key: 0.0.0.0/0 and ::/0 mean the same as no prefix."""
    prefix = rule.remote_ip_prefix
    return (
        rule.direction,
        rule.ethertype,
        rule.port_range_max,
        rule.port_range_min,
        protocol_key(rule.protocol, rule.ethertype),
        rule.remote_group_id,
        None if prefix in _ANY_PREFIXES else prefix,
    )


def template_rules(group_id: str, *, is_default: bool) -> tuple[RuleSpec, ...]:
    """The rules a new group starts with (Neutron's default rule templates).

    Every group allows all egress traffic; the default group also allows ingress from its
    own members."""
    egress = tuple(RuleSpec(EGRESS, ethertype) for ethertype in v.SG_ETHERTYPES)
    if not is_default:
        return egress
    ingress = tuple(
        RuleSpec(INGRESS, ethertype, remote_group_id=group_id) for ethertype in v.SG_ETHERTYPES
    )
    return egress + ingress


# --------------------------------------------------------------------------- errors


def group_not_found(group_id: str) -> NotFound:
    return NotFound(f"Security group {group_id} does not exist",
                    type_name="SecurityGroupNotFound")


def rule_not_found(rule_id: str) -> NotFound:
    return NotFound(f"Security group rule {rule_id} does not exist",
                    type_name="SecurityGroupRuleNotFound")


def group_in_use(group_id: str) -> InUse:
    return InUse(f"Security Group {group_id} in use.", type_name="SecurityGroupInUse")


def rule_exists(rule_id: str) -> InUse:
    return InUse(f"Security group rule already exists. Rule id is {rule_id}.",
                 type_name="SecurityGroupRuleExists")


def duplicate_in_post() -> InUse:
    return InUse("Duplicate Security Group Rule in POST.",
                 type_name="DuplicateSecurityGroupRuleInPost")


def cannot_remove_default() -> InUse:
    return InUse("Insufficient rights for removing default security group.",
                 type_name="SecurityGroupCannotRemoveDefault")


def cannot_update_default() -> InUse:
    return InUse("Updating default security group not allowed.",
                 type_name="SecurityGroupCannotUpdateDefault")


def not_single_group() -> BadRequest:
    return BadRequest("Only allowed to update rules for one security profile at a time",
                      type_name="SecurityGroupNotSingleGroupRules")


def not_single_project() -> BadRequest:
    return BadRequest("Multiple project_ids in bulk security group rule create not allowed",
                      type_name="SecurityGroupRulesNotSingleProject")


def mixed_statefulness() -> Conflict:
    """For ports: stateful and stateless groups cannot be applied to one port together."""
    return Conflict(
        "Error Cannot apply both stateful and stateless security groups on the same port at "
        "the same time while attempting the operation.",
        type_name="SecurityGroupConflict",
    )


def default_conflict(project_id: str) -> Conflict:
    return Conflict(
        f"Error creating the default security group of project {project_id} while "
        "attempting the operation.",
        type_name="SecurityGroupConflict",
    )
