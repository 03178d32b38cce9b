"""Metering labels and rules: rows <-> domain objects, and a label's rules."""

from __future__ import annotations

import ipaddress
from typing import Any

import sqlalchemy as sa

from neutrino.db.repos._crud import Crud, standard_fields, standard_row
from neutrino.db.tables.metering import metering_label_rules, metering_labels
from neutrino.db.tx import Tx
from neutrino.domain.metering import MeteringLabel, MeteringLabelRule
from neutrino.domain.values import IPNetwork, net_str


def _label(row: Any, tags: tuple[str, ...]) -> MeteringLabel:
    return MeteringLabel(**standard_fields(row, ()), shared=row.shared)


def _label_row(label: MeteringLabel) -> dict[str, Any]:
    return {**standard_row(label), "shared": label.shared}


def _net(text: str | None) -> IPNetwork | None:
    return None if text is None else ipaddress.ip_network(text)


def _text(net: IPNetwork | None) -> str | None:
    return None if net is None else net_str(net)


def _rule(row: Any, tags: tuple[str, ...]) -> MeteringLabelRule:
    return MeteringLabelRule(
        **standard_fields(row, ()),
        metering_label_id=row.metering_label_id,
        direction=row.direction,
        excluded=row.excluded,
        remote_ip_prefix=_net(row.remote_ip_prefix),
        source_ip_prefix=_net(row.source_ip_prefix),
        destination_ip_prefix=_net(row.destination_ip_prefix),
    )


def _rule_row(rule: MeteringLabelRule) -> dict[str, Any]:
    return {
        **standard_row(rule),
        "metering_label_id": rule.metering_label_id,
        "direction": rule.direction,
        "excluded": rule.excluded,
        "remote_ip_prefix": _text(rule.remote_ip_prefix),
        "source_ip_prefix": _text(rule.source_ip_prefix),
        "destination_ip_prefix": _text(rule.destination_ip_prefix),
    }


labels: Crud[MeteringLabel] = Crud(
    resource="metering_label", table=metering_labels, to_obj=_label, to_row=_label_row)

rules: Crud[MeteringLabelRule] = Crud(
    resource="metering_label_rule", table=metering_label_rules, to_obj=_rule,
    to_row=_rule_row)


def rules_of(tx: Tx, label_id: str) -> list[MeteringLabelRule]:
    """A label's rules, oldest first."""
    t = metering_label_rules
    stmt = sa.select(t).where(t.c.metering_label_id == label_id).order_by(t.c.created_at,
                                                                          t.c.id)
    return [_rule(row, ()) for row in tx.conn.execute(stmt)]


def delete_rules_of(tx: Tx, label_id: str) -> None:
    t = metering_label_rules
    tx.conn.execute(sa.delete(t).where(t.c.metering_label_id == label_id))
