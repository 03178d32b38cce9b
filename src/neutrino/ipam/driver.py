"""The IPAM plug point: what any address allocator must do.

Drivers are found by name in the `neutrino.ipam` entry-point group and configured by name.
Every method runs inside the caller's transaction (`tx`) and never commits; a driver keeps
its own tables and must never hand out one address twice, also with several server processes.
`tests/contracts/test_ipam.py` is the contract every driver passes.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from neutrino.db import Tx
    from neutrino.domain.subnet import Subnet

IPAddress = IPv4Address | IPv6Address


class IpamDriver(Protocol):
    def add_subnet(self, tx: Tx, subnet: Subnet) -> None:
        """Start managing a new subnet's allocation pools."""

    def update_subnet(self, tx: Tx, old: Subnet, new: Subnet) -> None:
        """The pools (or gateway) changed; addresses already allocated stay allocated."""

    def remove_subnet(self, tx: Tx, subnet: Subnet) -> None:
        """Forget the subnet and all its allocations."""

    def allocate(
        self, tx: Tx, subnet: Subnet, address: IPAddress | None = None, mac: str | None = None
    ) -> IPAddress:
        """Allocate `address` if given, else any free address of the subnet's pools.

        SLAAC / dhcpv6-stateless subnets derive the address from `mac` (EUI-64).
        Raises (domain.errors, Neutron type names): IpAddressAlreadyAllocated (409) for a
        taken address, InvalidIpForSubnet (400) for one outside the cidr,
        IpAddressGenerationFailure (409) when no address is free.
        """

    def release(self, tx: Tx, subnet: Subnet, address: IPAddress) -> None:
        """Return an address to the pool (no error if it was not allocated)."""
