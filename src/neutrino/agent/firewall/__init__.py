"""Security groups and port security in nftables: `compile` (pure) and `nft` (the shell)."""

from neutrino.agent.firewall.compile import FirewallSpec, firewall_spec, render, set_updates
from neutrino.agent.firewall.nft import Firewall, FirewallError

__all__ = ["Firewall", "FirewallError", "FirewallSpec", "firewall_spec", "render",
           "set_updates"]
