"""openstacksdk against a live `neutrino serve`: a router with a gateway and an interface, and a
floating IP associated through it (SQLite, and PostgreSQL with two workers)."""

from __future__ import annotations

import pytest
from openstack import exceptions
from openstack.connection import Connection

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_router_and_floating_ip(live_server: LiveServer) -> None:
    conn = Connection(auth_type="none", network_endpoint_override=live_server.url)
    public = conn.network.create_network(name="public", is_router_external=True)
    conn.network.create_subnet(network_id=public.id, ip_version=4, cidr="172.24.4.0/24")
    private = conn.network.create_network(name="private")
    sub = conn.network.create_subnet(network_id=private.id, ip_version=4, cidr="10.0.0.0/24")

    router = conn.network.create_router(name="r", external_gateway_info={
        "network_id": public.id})
    assert router.external_gateway_info["network_id"] == public.id
    assert router.external_gateway_info["enable_snat"] is True
    info = conn.network.add_interface_to_router(router, subnet=sub.id)
    assert info["subnet_id"] == sub.id
    assert conn.network.get_port(info["port_id"]).device_owner == "network:router_interface"

    vm = conn.network.create_port(network_id=private.id, name="vm")
    fip = conn.network.create_ip(floating_network_id=public.id, port_id=vm.id)
    assert fip.router_id == router.id and fip.status == "DOWN"
    assert fip.fixed_ip_address == vm.fixed_ips[0]["ip_address"]
    assert [f.id for f in conn.network.ips(port_id=vm.id)] == [fip.id]
    with pytest.raises(exceptions.ConflictException):
        conn.network.remove_interface_from_router(router, subnet=sub.id)

    routed = conn.network.add_extra_routes_to_router(router, body={"router": {"routes": [
        {"destination": "192.168.0.0/24", "nexthop": "10.0.0.50"}]}})
    assert routed.routes == [{"destination": "192.168.0.0/24", "nexthop": "10.0.0.50"}]
    conn.network.remove_extra_routes_from_router(router, body={"router": {"routes": [
        {"destination": "192.168.0.0/24", "nexthop": "10.0.0.50"}]}})

    fip = conn.network.update_ip(fip, port_id=None)
    assert fip.port_id is None and fip.router_id is None
    conn.network.delete_ip(fip)
    conn.network.remove_interface_from_router(router, subnet=sub.id)
    conn.network.delete_router(router)
    assert list(conn.network.routers()) == []
    # What is left: the VM's port and the DHCP ports of the two networks (as in Neutron).
    left = list(conn.network.ports())
    assert [p.id for p in left if p.device_owner != "network:dhcp"] == [vm.id]
    assert sorted(p.network_id for p in left if p.device_owner == "network:dhcp") == sorted(
        [public.id, private.id])
