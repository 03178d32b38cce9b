"""Metering labels and rules bound to their services, plus the service-providers list.

Kept apart from `bindings.py`: both live under extension paths (`/v2.0/metering/...`,
`/v2.0/service-providers`) and nothing else reads them."""

from __future__ import annotations

from neutrino.api.resources import Binding
from neutrino.schema.metering import METERING_LABEL, METERING_LABEL_RULE
from neutrino.schema.service_providers import SERVICE_PROVIDER
from neutrino.services import metering, service_providers

METERING_LABELS = Binding(
    METERING_LABEL,
    list=metering.list_labels,
    get=metering.get_label,
    create_in=metering.create_label_in,
    delete=metering.delete_label,
)

METERING_LABEL_RULES = Binding(
    METERING_LABEL_RULE,
    list=metering.list_rules,
    get=metering.get_rule,
    create_in=metering.create_rule_in,
    delete=metering.delete_rule,
)

SERVICE_PROVIDERS = Binding(SERVICE_PROVIDER, list=service_providers.list_,
                            get=service_providers.get)

BINDINGS = (METERING_LABELS, METERING_LABEL_RULES)
