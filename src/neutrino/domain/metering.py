"""Metering: labels (a set of traffic to count, per project or shared by all routers) and
their rules (which prefixes, in which direction, counted or excluded).

The rules here are pure and follow Neutron's `metering_plugin` checks and wording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from neutrino.domain.addresses import cidrs_overlap
from neutrino.domain.errors import BadRequest, Conflict, NotFound
from neutrino.domain.standard import UNSET, Standard
from neutrino.domain.values import IPNetwork, net_str

DIRECTIONS: Final = ("ingress", "egress")


@dataclass(frozen=True, slots=True, kw_only=True)
class MeteringLabel(Standard):
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MeteringLabelCreate:
    project_id: Any = UNSET
    name: str = ""
    description: str = ""
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MeteringLabelRule(Standard):
    """A rule; its project is its label's (kept for visibility, not shown)."""

    metering_label_id: str
    direction: str
    excluded: bool = False
    remote_ip_prefix: IPNetwork | None = None
    source_ip_prefix: IPNetwork | None = None
    destination_ip_prefix: IPNetwork | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeteringLabelRuleCreate:
    metering_label_id: str
    direction: str
    project_id: Any = UNSET
    excluded: bool = False
    remote_ip_prefix: IPNetwork | None = None
    source_ip_prefix: IPNetwork | None = None
    destination_ip_prefix: IPNetwork | None = None


def label_not_found(label_id: str) -> NotFound:
    return NotFound(f"Metering label '{label_id}' does not exist.",
                    type_name="MeteringLabelNotFound")


def rule_not_found(rule_id: str) -> NotFound:
    return NotFound(f"Metering label rule '{rule_id}' does not exist.",
                    type_name="MeteringLabelRuleNotFound")


def check_rule_prefixes(req: MeteringLabelRuleCreate) -> None:
    """remote_ip_prefix excludes source/destination prefixes, and one of them is needed.

    Neutron raises its unmapped `Invalid` here (a 500); we answer 400 with the same type."""
    if req.remote_ip_prefix is not None and (
        req.source_ip_prefix is not None or req.destination_ip_prefix is not None
    ):
        raise BadRequest("Cannot use 'remote-ip-prefix' in conjunction with "
                         "'source-ip-prefix' or 'destination-ip-prefix'.", type_name="Invalid")
    if req.remote_ip_prefix is None and req.source_ip_prefix is None \
            and req.destination_ip_prefix is None:
        raise BadRequest("You must define at least one of the following parameters "
                         "'remote_ip_prefix', or 'source_ip_prefix' or "
                         "'destination_ip_prefix'.", type_name="Invalid")


def check_no_overlap(req: MeteringLabelRuleCreate,
                     siblings: Iterable[MeteringLabelRule]) -> None:
    """A label's remote_ip_prefix rules of one direction and kind may not overlap (409)."""
    new = req.remote_ip_prefix
    if new is None:
        return
    for rule in siblings:
        if (rule.direction == req.direction and rule.excluded == req.excluded
                and rule.remote_ip_prefix is not None
                and cidrs_overlap(rule.remote_ip_prefix, new)):
            raise Conflict(f"Metering label rule with remote_ip_prefix '{net_str(new)}' "
                           "overlaps another.", type_name="MeteringLabelRuleOverlaps")
