"""The DNS names of a port, shared by what every driver hands out: the hostname and FQDN in
DHCP replies and dnsmasq's hosts files, and the names the internal DNS answers for (of our
clients and of the network's other ports, our peers, alike)."""

from __future__ import annotations

import re

from neutrino.agent.dhcp import DhcpHost, DhcpPeer
from neutrino.domain.dns import generated_hostname

_HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(\.(?!-)[A-Za-z0-9-]{1,63})*$")


def hostname_and_fqdn(host: DhcpHost | DhcpPeer, address: str, domain: str
                      ) -> tuple[str, str]:
    """Neutron's `_get_dns_assignment`: the port's DNS name, else `host-<ip with dashes>`;
    qualified with the network's domain (given without its trailing dot). A name dnsmasq
    would reject falls back to the generated one, so that one odd dns_name never costs the
    port its lease (nor its DNS name)."""
    name = host.hostname.rstrip(".")
    if not name or not _HOSTNAME.match(name):
        name = generated_hostname(address)
    if "." in name or not domain:
        return name.split(".", 1)[0], name
    return name, f"{name}.{domain}"
