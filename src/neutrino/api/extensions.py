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
    Extension("agent", "agent", "The agent management extension."),
    Extension("provider", "Provider Network", "Expose mapping of virtual networks to "
              "physical networks"),
    Extension("external-net", "Neutron external network", "Adds external network attribute"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    Extension("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute "
              "for a network resource."),
    Extension("port-security", "Port Security", "Provides port security"),
    Extension("security-group", "security-group", "The security groups extension."),
    Extension("stateful-security-group", "Stateful security group",
              "Indicates if the security group is stateful or not"),
    Extension("security-groups-normalized-cidr",
              "Normalized CIDR field for security group rules",
              "Add new field with normalized remote_ip_prefix cidr in SG rule"),
    Extension("security-groups-rules-belongs-to-default-sg",
              "Security group rule belongs to the project's default security group",
              "Flag to determine if the security group rule belongs to the project's default "
              "security group"),
    Extension("dns-integration", "DNS Integration", "Provides integration with DNS."),
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
    Extension("subnet", "Neutron L3 Subnet", "Layer 3 subnet abstraction"),
    Extension("subnetpool", "Neutron L3 Subnet Pool", "Layer 3 subnet pool abstraction"),
    Extension("subnet_allocation", "Subnet Allocation",
              "Enables allocation of subnets from a subnet pool"),
    Extension("default-subnetpools", "Default Subnetpools",
              "Provides ability to mark and use a subnetpool as the default."),
    Extension("subnetpool-prefix-ops", "Subnet Pool Prefix Operations",
              "Provides support for adjusting the prefix list of subnet pools"),
    Extension("address-scope", "Address scope", "Address scopes extension."),
    Extension("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding "
              "between L2 Neutron networks and access to external networks via a NAT gateway."),
    Extension("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
              "Extension of the router abstraction for specifying whether SNAT should occur "
              "on the external gateway"),
    Extension("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    Extension("extraroute-atomic", "Atomically add/remove extra routes",
              "Edit extra routes of a router on server side by atomically adding/removing "
              "extra routes"),
    Extension("fip-port-details", "Floating IP Port Details Extension",
              "Add port_details attribute to Floating IP resource"),
    Extension("floatingip-pools", "Floating IP Pools Extension",
              "Provides a floating IP pools API."),
    Extension("dvr", "Distributed Virtual Router",
              "Enables configuration of Distributed Virtual Routers."),
    Extension("l3-ha", "HA Router extension", "Adds HA capability to routers."),
    Extension("subnet-external-network", "Subnet belongs to an external network",
              "Informs if the subnet belongs to an external network"),
    Extension("binding", "Port Binding",
              "Expose port bindings of a virtual port to external application"),
    Extension("allowed-address-pairs", "Allowed Address Pairs",
              "Provides allowed address pairs"),
    Extension("extra_dhcp_opt", "Neutron Extra DHCP options",
              "Extra options configuration for DHCP. For example PXE boot options to DHCP "
              "clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)"),
    Extension("ip-substring-filtering", "IP address substring filtering",
              "Provides IP address substring filtering when listing ports"),
    Extension("metering", "Neutron Metering", "Neutron Metering extension."),
    Extension("metering_source_and_destination_fields",
              "Neutron Metering with source and destination filtering",
              "Neutron Metering extension that enables the use of source and destination IP "
              "prefixes to create metering label rules."),
    Extension("service-type", "Neutron Service Type Management",
              "API for retrieving service providers for Neutron advanced services"),
)


@cache
def by_alias() -> dict[str, Extension]:
    return {e.alias: e for e in EXTENSIONS}
