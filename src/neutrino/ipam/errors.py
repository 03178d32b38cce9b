"""What an allocator answers when it cannot hand out an address (Neutron's ipam exceptions).

Classes, so that a caller can catch "this subnet is full" and try the network's next subnet,
as Neutron's IpamSubnetGroup does.
"""

from __future__ import annotations

from neutrino.domain.errors import BadRequest, Conflict
from neutrino.domain.values import IPAddress, ip_str


class IpAddressGenerationFailure(Conflict):
    """No free address is left in the subnet's pools (409)."""

    type_name = "IpAddressGenerationFailure"

    def __init__(self, subnet_id: str) -> None:
        super().__init__(f"No more IP addresses available for subnet {subnet_id}.")
        self.subnet_id = subnet_id


class IpAddressAlreadyAllocated(Conflict):
    """The requested address is taken (409)."""

    type_name = "IpAddressAlreadyAllocated"

    def __init__(self, ip: IPAddress, subnet_id: str) -> None:
        super().__init__(f"IP address {ip_str(ip)} already allocated in subnet {subnet_id}")
        self.ip = ip
        self.subnet_id = subnet_id


class InvalidIpForSubnet(BadRequest):
    """The requested address is not a usable address of the subnet's cidr (400)."""

    type_name = "InvalidIpForSubnet"

    def __init__(self, ip: IPAddress, subnet_id: str) -> None:
        super().__init__(f"IP address {ip_str(ip)} does not belong to subnet {subnet_id}")
        self.ip = ip
        self.subnet_id = subnet_id
