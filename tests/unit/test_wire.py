"""The agent protocol's JSON form: what the server writes, the agent reads back unchanged."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from neutrino import wire
from neutrino.domain.errors import BadRequest


def sample() -> wire.HostSnapshot:
    subnet = wire.SnapshotSubnet(
        id="s1", cidr="10.0.0.0/24", ip_version=4, gateway_ip="10.0.0.1", enable_dhcp=True,
        dns_nameservers=("10.0.0.53",), host_routes=(("192.168.0.0/16", "10.0.0.254"),))
    dhcp = wire.SnapshotPort(
        id="d1", network_id="n1", mac_address="fa:16:3e:00:00:09",
        fixed_ips=(("s1", "10.0.0.2"),), admin_state_up=True, device_owner="network:dhcp",
        port_security_enabled=False, security_groups=(), allowed_address_pairs=(),
        revision_number=1, status="ACTIVE")
    network = wire.SnapshotNetwork(
        id="n1", network_type="vxlan", physical_network=None, segmentation_id=1001, mtu=1450,
        subnets=(subnet,), remote_vteps=("192.0.2.2",), dhcp_port=dhcp, dns_domain="example.org.",
        remote_ports=(wire.RemotePort("fa:16:3e:00:00:02", ("10.0.0.5",), "192.0.2.2"),),
        peers=(wire.SnapshotPeer("p2", (("s1", "10.0.0.5"),)),
               wire.SnapshotPeer("p3", (("s1", "10.0.0.6"), ("s2", "2001:db8::6")), "db")))
    port = wire.SnapshotPort(
        id="p1", network_id="n1", mac_address="fa:16:3e:00:00:01",
        fixed_ips=(("s1", "10.0.0.4"),), admin_state_up=True, device_owner="compute:nova",
        port_security_enabled=True, security_groups=("g1",),
        allowed_address_pairs=(("10.0.0.100/32", "fa:16:3e:00:00:01"),), revision_number=3,
        status="DOWN", extra_dhcp_opts=(("bootfile-name", "pxelinux.0", 4),), dns_name="vm1")
    rule = wire.SnapshotRule(
        id="r1", security_group_id="g1", direction="ingress", ethertype="IPv4",
        protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix=None,
        remote_group_id="g1")
    return wire.HostSnapshot(host="h1", seq=42, networks=(network,), ports=(port,),
                             rules=(rule,), group_members={"g1": ("10.0.0.4", "10.0.0.5")})


def test_snapshot_survives_json() -> None:
    snapshot = sample()
    assert wire.HostSnapshot.from_json(orjson.loads(orjson.dumps(snapshot.to_json()))) == snapshot


def test_peers_are_a_minor_addition() -> None:
    """1.2 added `SnapshotNetwork.peers` with a default: a 1.1 server's snapshot (no such
    key) still reads, as a network without peers, and any 1.x agent is still served."""
    assert wire.PROTOCOL_VERSION == "1.2"
    data = orjson.loads(orjson.dumps(sample().to_json()))
    assert data["networks"][0]["peers"][1] == {
        "port_id": "p3", "fixed_ips": [["s1", "10.0.0.6"], ["s2", "2001:db8::6"]],
        "dns_name": "db"}
    for network in data["networks"]:
        del network["peers"]
    older = wire.HostSnapshot.from_json(data)
    assert older.networks[0].peers == ()
    assert older == replace(sample(), networks=tuple(replace(n, peers=())
                                                     for n in sample().networks))
    for version in ("1.0", "1.1", "1.2"):
        assert wire.check(version) == 1


def test_a_newer_minor_version_reads_without_its_additions() -> None:
    """A 1.(n+1) server may add keys anywhere; a 1.n agent reads the snapshot it knows
    (the peers of 1.2 failed a 1.1 agent with a TypeError before readers ignored them)."""
    data = orjson.loads(orjson.dumps(sample().to_json()))
    data["future"] = 1
    for network in data["networks"]:
        network["future"] = [1]
        for subnet in network["subnets"]:
            subnet["future"] = "x"
        for peer in network["peers"]:
            peer["future"] = None
    for port in data["ports"]:
        port["future"] = {}
    for rule in data["rules"]:
        rule["future"] = 2
    assert wire.HostSnapshot.from_json(data) == sample()


def test_reports_survive_json() -> None:
    report = wire.AgentReport(host="h1", protocol=wire.PROTOCOL_VERSION, local_ip="192.0.2.1",
                              physical_interfaces={"physnet1": "eth1"}, applied_seq=7)
    assert wire.AgentReport.from_json(orjson.loads(orjson.dumps(report.to_json()))) == report
    status = wire.PortStatus(port_id="p1", status="ERROR", revision=2, reason="nft failed")
    assert wire.PortStatus.from_json(orjson.loads(orjson.dumps(status.to_json()))) == status


@pytest.mark.parametrize("version", ["2.0", "0.9", "x", ""])
def test_other_major_versions_are_refused_with_advice(version: str) -> None:
    with pytest.raises(BadRequest, match="upgrade the agent or the server"):
        wire.check(version)


def test_same_major_any_minor_is_accepted() -> None:
    assert wire.check("1.7") == 1
    assert wire.check(None) == wire.SUPPORTED_MAJORS[-1]
