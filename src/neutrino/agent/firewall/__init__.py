"""Security groups and port security in nftables.

`spec` (pure: HostSnapshot -> FirewallSpec), `render` (pure: FirewallSpec -> nft script and
its digest), `intervals` (pure: set element arithmetic), `netlink` (the set element hot path
in raw nf_tables netlink), `conntrack` (forgetting connections a change no longer allows) and
`nft` (the shell: Firewall, which reads the kernel and writes the difference).
"""

from neutrino.agent.firewall.nft import Firewall, FirewallError
from neutrino.agent.firewall.render import render, set_updates, static_digest
from neutrino.agent.firewall.spec import FirewallSpec, firewall_spec

__all__ = ["Firewall", "FirewallError", "FirewallSpec", "firewall_spec", "render",
           "set_updates", "static_digest"]
