"""The API extensions we really implement. `GET /v2.0/extensions` lists exactly these, so
clients (and Tempest) skip what we don't have instead of failing on it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

UPDATED = "2026-11-28T00:00:00-00:00"


@dataclass(frozen=True)
class Extension:
    alias: str
    name: str
    description: str

    def to_json(self) -> dict[str, Any]:
        return {"alias": self.alias, "name": self.name, "description": self.description,
                "updated": UPDATED, "links": []}


EXTENSIONS: tuple[Extension, ...] = (
    Extension("network", "Neutron L2 Network", "Layer 2 network abstraction"),
    Extension("provider", "Provider Network", "Expose mapping of virtual networks to "
              "physical networks"),
    Extension("external-net", "Neutron external network", "Adds external network attribute"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    Extension("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute "
              "for a network resource."),
    Extension("port-security", "Port Security", "Provides port security"),
    Extension("dns-domain", "DNS Domain", "Allows the DNS domain of networks to be set"),
    Extension("standard-attr-description", "standard-attr-description",
              "Extension to add descriptions to standard attributes"),
    Extension("standard-attr-revisions", "Resource revision numbers",
              "This extension will display the revision number of neutron resources."),
    Extension("standard-attr-timestamp", "Resource timestamps",
              "Adds created_at and updated_at fields to all Neutron resources that have "
              "Neutron standard attributes."),
    Extension("standard-attr-tag", "Tag support for resources with standard attribute",
              "Enables to set tag on resources with standard attribute."),
    Extension("tag-creation", "Tag support for resources during creation",
              "Enables to set tag on resources during creation"),
    Extension("revision-if-match", "If-Match constraints based on revision_number",
              "Extension indicating that If-Match based on revision_number is supported."),
    Extension("project-id", "project_id field enabled",
              "Extension that indicates that project_id field is enabled."),
    Extension("pagination", "Pagination support", "Extension that indicates that pagination "
              "is enabled."),
    Extension("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    Extension("filter-validation", "Filter parameters validation",
              "Provides validation on filter parameters."),
    Extension("quotas", "Quota management support", "Expose functions for quotas management"),
    Extension("quota_details", "Quota details management support",
              "Expose functions for quotas usage statistics per project"),
)


@cache
def by_alias() -> dict[str, Extension]:
    return {e.alias: e for e in EXTENSIONS}
