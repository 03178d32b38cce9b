"""The agent's reads and reports through the real app: host snapshots (two VXLAN hosts,
security-group members, consistency with the change log, a fixed number of queries) and
port status reports (applied, unchanged, stale, refused); on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dns.rcode
import dns.rdatatype
import sqlalchemy as sa
from starlette.testclient import TestClient

from neutrino import wire
from neutrino.agent.desired import FLOOD_MAC, FdbEntry, HostConfig, host_spec
from neutrino.agent.dhcp import DhcpPeer
from neutrino.agent.dhcp.desired import dhcp_networks
from neutrino.agent.dhcp.responder_dns import Names, lookup
from neutrino.agent.names import vxlan_name
from neutrino.services._env import Env
from tests.api.helpers import ALICE, client_with, err, net, port, rows, subnet
from tests.api.helpers import changes as changes_of
from tests.api.test_agents import AGENT, report


def snapshot(client: TestClient, host: str) -> wire.HostSnapshot:
    r = client.get(f"/v2.0/neutrino/hosts/{host}/snapshot", headers=AGENT)
    assert r.status_code == 200, r.text
    assert r.json()["protocol"] == wire.PROTOCOL_VERSION
    return wire.HostSnapshot.from_json(r.json()["snapshot"])


def on_host(client: TestClient, network: str, host: str, **attrs: Any) -> dict[str, Any]:
    """Nova's way: an admin binds alice's port to a host."""
    return port(client, network, **{"binding:host_id": host, "project_id": "alice",
                                    "device_owner": "compute:nova", **attrs})


def status(client: TestClient, port_id: str, value: str, revision: int,
           headers: dict[str, str] | None = None) -> Any:
    return client.put(f"/v2.0/neutrino/ports/{port_id}/status", headers=headers or AGENT,
                      json={"status": {"port_id": port_id, "status": value,
                                       "revision": revision}})


def last_seq(env: Env) -> int:
    return int(rows(env, "SELECT value FROM change_seq")[0][0])


# -- snapshot ---------------------------------------------------------------------------------


def test_two_vxlan_hosts_see_each_other(client: TestClient, env: Env) -> None:
    report(client, "host-a", local_ip="192.0.2.1")
    report(client, "host-b", local_ip="192.0.2.2")
    n = net(client, ALICE)
    sub = subnet(client, n, "10.7.0.0/24", ALICE, dns_nameservers=["10.7.0.53"],
                 host_routes=[{"destination": "10.8.0.0/24", "nexthop": "10.7.0.254"}])
    a = on_host(client, n, "host-a", allowed_address_pairs=[{"ip_address": "10.7.0.200"}])
    b = on_host(client, n, "host-b")
    elsewhere = net(client, ALICE)  # a network with no port on host-a: not in its snapshot
    on_host(client, elsewhere, "host-b")

    snap = snapshot(client, "host-a")
    assert snap.host == "host-a" and snap.seq == last_seq(env)
    assert [p.id for p in snap.ports] == [a["id"]]
    (sp,) = snap.ports
    assert sp.mac_address == a["mac_address"] and sp.device_owner == "compute:nova"
    assert sp.fixed_ips == ((sub["id"], a["fixed_ips"][0]["ip_address"]),)
    assert sp.allowed_address_pairs == (("10.7.0.200", a["mac_address"]),)
    assert sp.security_groups == tuple(a["security_groups"])
    assert sp.revision_number == a["revision_number"] and sp.status == "DOWN"
    (sn,) = snap.networks
    shown = client.get(f"/v2.0/networks/{n}").json()["network"]
    assert (sn.id, sn.network_type, sn.segmentation_id, sn.mtu) == (
        n, "vxlan", shown["provider:segmentation_id"], shown["mtu"])
    assert sn.subnets == (wire.SnapshotSubnet(
        id=sub["id"], cidr="10.7.0.0/24", ip_version=4, gateway_ip="10.7.0.1",
        enable_dhcp=True, dns_nameservers=("10.7.0.53",),
        host_routes=(("10.8.0.0/24", "10.7.0.254"),)),)
    assert sn.remote_vteps == ("192.0.2.2",)
    assert sn.remote_ports == (wire.RemotePort(
        mac_address=b["mac_address"], ip_addresses=(b["fixed_ips"][0]["ip_address"],),
        vtep="192.0.2.2"),)

    other = snapshot(client, "host-b")
    assert {p.id for p in other.ports} == {b["id"], *(p.id for p in other.ports
                                                    if p.network_id == elsewhere)}
    mine = next(x for x in other.networks if x.id == n)
    assert mine.remote_vteps == ("192.0.2.1",)
    assert [r.mac_address for r in mine.remote_ports] == [a["mac_address"]]
    lonely = next(x for x in other.networks if x.id == elsewhere)
    assert lonely.remote_vteps == () and lonely.remote_ports == ()


def test_rules_and_remote_group_members(client: TestClient) -> None:
    report(client, "host-a", local_ip="192.0.2.1")
    n = net(client, ALICE)
    subnet(client, n, "10.9.0.0/24", ALICE)
    web = client.post("/v2.0/security-groups", json={"security_group": {"name": "web"}},
                      headers=ALICE).json()["security_group"]
    client.post("/v2.0/security-group-rules", headers=ALICE, json={"security_group_rule": {
        "security_group_id": web["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"}})
    a = on_host(client, n, "host-a")  # in the project's default group
    w = on_host(client, n, "host-a", security_groups=[web["id"]])
    # Members on other hosts (and unbound ones) count too: with their address pairs.
    m = port(client, n, ALICE, allowed_address_pairs=[{"ip_address": "10.9.0.0/28"}])
    default = a["security_groups"][0]

    snap = snapshot(client, "host-a")
    groups = {r.security_group_id for r in snap.rules}
    assert groups == {default, web["id"]}
    http = [r for r in snap.rules if r.security_group_id == web["id"] and r.protocol == "tcp"]
    assert [(r.port_range_min, r.port_range_max, r.remote_ip_prefix) for r in http] == [
        (80, 80, "0.0.0.0/0")]
    remote = {r.remote_group_id for r in snap.rules if r.remote_group_id}
    assert remote == {default}  # the default group admits its own members
    expected = {a["fixed_ips"][0]["ip_address"], m["fixed_ips"][0]["ip_address"],
                "10.9.0.0/28"}
    assert set(snap.group_members[default]) == expected
    assert w["fixed_ips"][0]["ip_address"] not in snap.group_members[default]


def test_networks_carry_their_dhcp_port_and_ports_their_dhcp_options(
    client: TestClient, env: Env
) -> None:
    report(client, "host-a", local_ip="192.0.2.1")
    n = net(client, ALICE, dns_domain="example.org.")
    v4 = subnet(client, n, "10.5.0.0/24", ALICE)
    v6 = subnet(client, n, "2001:db8:5::/64", ALICE, ipv6_address_mode="slaac",
                ipv6_ra_mode="slaac")
    a = on_host(client, n, "host-a", extra_dhcp_opts=[
        {"opt_name": "mtu", "opt_value": "1400"},
        {"opt_name": "domain-search", "opt_value": "example.org", "ip_version": 6}])
    plain = net(client, ALICE)  # no dns_domain: the server's; no DHCP subnet: no DHCP port
    subnet(client, plain, "10.15.0.0/24", ALICE, enable_dhcp=False)
    on_host(client, plain, "host-a")
    (dhcp,) = client.get(f"/v2.0/ports?network_id={n}&device_owner=network:dhcp"
                         ).json()["ports"]

    snap = snapshot(client, "host-a")
    assert {p.id for p in snap.ports} == {a["id"], *(p.id for p in snap.ports
                                                   if p.network_id == plain)}
    assert dhcp["id"] not in {p.id for p in snap.ports}  # bound nowhere: on every host
    sn = next(x for x in snap.networks if x.id == n)
    assert sn.dns_domain == "example.org."
    assert sn.dhcp_port == wire.SnapshotPort(
        id=dhcp["id"], network_id=n, mac_address=dhcp["mac_address"],
        fixed_ips=tuple((f["subnet_id"], f["ip_address"]) for f in dhcp["fixed_ips"]),
        admin_state_up=True, device_owner="network:dhcp", port_security_enabled=True,
        security_groups=(), allowed_address_pairs=(),
        revision_number=dhcp["revision_number"], status="ACTIVE")
    assert {sid for sid, _ in sn.dhcp_port.fixed_ips} == {v4["id"], v6["id"]}
    assert sn.remote_ports == ()  # not a remote port either
    (sp,) = [p for p in snap.ports if p.id == a["id"]]
    assert set(sp.extra_dhcp_opts) == {("mtu", "1400", 4), ("domain-search", "example.org", 6)}
    assert sp.dns_name == ""
    other = next(x for x in snap.networks if x.id == plain)
    assert other.dhcp_port is None and other.dns_domain == env.config.dns_domain

    # A DHCP port change reaches the agents: a new DHCP subnet readdresses it, in the log.
    seq = snap.seq
    v4b = subnet(client, n, "10.25.0.0/24", ALICE)
    changed = rows(env, "SELECT resource, resource_id FROM change_log WHERE seq > :s",
                   s=seq)
    assert ("port", dhcp["id"]) in [tuple(r) for r in changed]
    later = next(x for x in snapshot(client, "host-a").networks if x.id == n)
    assert later.dhcp_port is not None
    assert v4b["id"] in {sid for sid, _ in later.dhcp_port.fixed_ips}


def peer_of(p: dict[str, Any]) -> wire.SnapshotPeer:
    """What a snapshot says of a port bound elsewhere: its id, addresses and DNS name."""
    return wire.SnapshotPeer(
        port_id=p["id"], fixed_ips=tuple((f["subnet_id"], f["ip_address"])
                                         for f in p["fixed_ips"]), dns_name="")


def test_a_dhcp_network_lists_its_ports_bound_elsewhere_for_dns(
    client: TestClient, env: Env
) -> None:
    """Every port of a network the host serves DHCP for, not bound to it (other hosts',
    unbound ones, the DHCP port), whatever the network type: its DNS answers for their
    names. No FDB material for all that: remote_ports stay VXLAN's."""
    physnets = {"physnet1": "eth1"}
    report(client, "host-a", local_ip="192.0.2.1", physical_interfaces=physnets)
    report(client, "host-b", local_ip="192.0.2.2", physical_interfaces=physnets)
    flat = net(client, **{"provider:network_type": "flat",
                          "provider:physical_network": "physnet1"})
    v4 = subnet(client, flat, "10.31.0.0/24")
    off = subnet(client, flat, "10.32.0.0/24", enable_dhcp=False)
    bound = {"device_owner": "compute:nova"}
    a = port(client, flat, fixed_ips=[{"subnet_id": v4["id"]}],
             **{"binding:host_id": "host-a", **bound})
    b = port(client, flat, fixed_ips=[{"subnet_id": v4["id"]}, {"subnet_id": off["id"]}],
             **{"binding:host_id": "host-b", **bound})
    unbound = port(client, flat, fixed_ips=[{"subnet_id": off["id"]}])  # no DHCP address
    (dhcp,) = client.get(f"/v2.0/ports?network_id={flat}&device_owner=network:dhcp"
                         ).json()["ports"]
    local = net(client, **{"provider:network_type": "local"})
    subnet(client, local, "10.33.0.0/24")
    la = port(client, local, **{"binding:host_id": "host-a", **bound})
    lb = port(client, local, **{"binding:host_id": "host-b", **bound})
    plain = net(client, **{"provider:network_type": "local"})  # no DHCP subnet: no names
    subnet(client, plain, "10.34.0.0/24", enable_dhcp=False)
    port(client, plain, **{"binding:host_id": "host-a", **bound})
    port(client, plain, **{"binding:host_id": "host-b", **bound})

    with counted(env) as statements:
        snap = snapshot(client, "host-a")
    by_id = {n.id: n for n in snap.networks}
    sf, sl, sp = by_id[flat], by_id[local], by_id[plain]
    assert sf.peers == tuple(sorted((peer_of(b), peer_of(unbound), peer_of(dhcp)),
                                    key=lambda q: q.port_id))
    assert len(peer_of(b).fixed_ips) == 2  # every address travels; the agent picks
    assert a["id"] not in {q.port_id for q in sf.peers}
    assert sl.dhcp_port is not None
    assert [q for q in sl.peers if q.port_id != sl.dhcp_port.id] == [peer_of(lb)]
    assert la["id"] not in {q.port_id for q in sl.peers}
    assert sp.dhcp_port is None and sp.peers == ()
    for n in (sf, sl, sp):  # nothing for the L2 applier on these networks
        assert n.remote_ports == () and n.remote_vteps == ()
    config = HostConfig(local_ip="192.0.2.1", physical_interfaces=physnets)
    assert host_spec(snap, config).fdb == ()
    assert len(statements) <= 12, statements

    # The agent names them as their own hosts name them, from DHCP addresses only.
    served = {n.network_id: n for n in dhcp_networks(snap)}
    b_ip = next(f["ip_address"] for f in b["fixed_ips"] if f["subnet_id"] == v4["id"])
    assert DhcpPeer(b["id"], (b_ip,), "host-" + b_ip.replace(".", "-")) in served[flat].peers
    assert {h.port_id for h in served[flat].hosts} == {a["id"]}
    assert unbound["id"] not in {q.port_id for q in served[flat].peers}  # nothing to name
    assert plain not in served

    other = snapshot(client, "host-b")  # and the other way round
    assert a["id"] in {q.port_id for q in next(n for n in other.networks if n.id == flat).peers}


def test_ports_and_peers_carry_their_dns_names(client: TestClient, env: Env) -> None:
    """Under a dns_domain of the server's own, each port's dns_name travels, for the host's
    ports and their peers alike, and the agent's DNS answers `<dns_name>.<domain>`; under
    the default domain no name travels (Neutron's host-<address> names)."""
    with client_with(env, dns_domain="example.org.") as named:
        report(named, "host-a", local_ip="192.0.2.1")
        n = net(named, ALICE)
        subnet(named, n, "10.36.0.0/24", ALICE)
        a = on_host(named, n, "host-a", dns_name="web")
        b = on_host(named, n, "host-b", dns_name="db.example.org.")
        c = port(named, n, ALICE)  # unbound, unnamed
        snap = snapshot(named, "host-a")
    (sp,) = snap.ports
    assert sp.id == a["id"] and sp.dns_name == "web"
    (sn,) = snap.networks
    assert sn.dhcp_port is not None and sn.dhcp_port.dns_name == ""
    assert {q.port_id: q.dns_name for q in sn.peers} == {
        b["id"]: "db.example.org.", c["id"]: "", sn.dhcp_port.id: ""}

    (served,) = dhcp_networks(snap)
    names = Names.of(served)

    def answer(name: str) -> list[str]:
        rcode, records = lookup(name, dns.rdatatype.A, names)
        assert rcode == dns.rcode.NOERROR, name
        return [v for _, values in records for v in values]

    (a_ip,), (b_ip,), (c_ip,) = ([f["ip_address"] for f in p["fixed_ips"]] for p in (a, b, c))
    assert answer("web.example.org") == answer("web") == [a_ip]
    assert answer("db.example.org") == answer("db") == [b_ip]
    assert answer("host-" + c_ip.replace(".", "-") + ".example.org") == [c_ip]

    # The same ports under the default domain: their names are not theirs to give.
    plain = snapshot(client, "host-a")
    assert [p.dns_name for p in plain.ports] == [""]
    assert {q.dns_name for q in plain.networks[0].peers} == {""}


def test_a_vxlan_network_keeps_its_fdb_material_apart_from_its_peers(client: TestClient) -> None:
    report(client, "host-a", local_ip="192.0.2.1")
    report(client, "host-b", local_ip="192.0.2.2")
    report(client, "host-c")  # no VTEP: its ports get no FDB entry, but have names
    n = net(client, ALICE)
    subnet(client, n, "10.35.0.0/24", ALICE)
    on_host(client, n, "host-a")
    b = on_host(client, n, "host-b")
    c = on_host(client, n, "host-c")
    unbound = port(client, n, ALICE)
    (sn,) = snapshot(client, "host-a").networks
    assert sn.remote_ports == (wire.RemotePort(
        mac_address=b["mac_address"], ip_addresses=(b["fixed_ips"][0]["ip_address"],),
        vtep="192.0.2.2"),)
    assert sn.dhcp_port is not None
    assert {q.port_id for q in sn.peers} == {b["id"], c["id"], unbound["id"], sn.dhcp_port.id}
    assert host_spec(snapshot(client, "host-a"), HostConfig(local_ip="192.0.2.1")).fdb == (
        FdbEntry(vxlan_name(sn.segmentation_id or 0), FLOOD_MAC, "192.0.2.2"),
        FdbEntry(vxlan_name(sn.segmentation_id or 0), b["mac_address"], "192.0.2.2"))


def test_snapshot_of_an_unknown_host_is_empty(client: TestClient, env: Env) -> None:
    net(client)
    snap = snapshot(client, "nowhere")
    assert snap == wire.HostSnapshot(host="nowhere", seq=last_seq(env))


def test_snapshot_is_for_agents_and_checks_the_protocol(client: TestClient) -> None:
    r = client.get("/v2.0/neutrino/hosts/h/snapshot", headers=ALICE)
    assert r.status_code == 403 and err(r) == "PolicyNotAuthorized"
    r = client.get("/v2.0/neutrino/hosts/h/snapshot",
                   headers={**AGENT, "X-Neutrino-Protocol": "2.0"})
    assert r.status_code == 400 and err(r) == "IncompatibleProtocolVersion"


@contextmanager
def counted(env: Env) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(env.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(env.db.engine, "before_cursor_execute", count)


def test_snapshot_queries_do_not_grow_with_ports(client: TestClient, env: Env) -> None:
    report(client, "host-a", local_ip="192.0.2.1")
    report(client, "host-b", local_ip="192.0.2.2")
    n = net(client, ALICE)
    subnet(client, n, "10.6.0.0/24", ALICE)  # with DHCP: the network has its DHCP port
    opts = [{"opt_name": "mtu", "opt_value": "1400"}]
    on_host(client, n, "host-a", extra_dhcp_opts=opts)
    on_host(client, n, "host-b")
    with counted(env) as few:
        snapshot(client, "host-a")
    for _ in range(10):
        on_host(client, n, "host-a", extra_dhcp_opts=opts)
        on_host(client, n, "host-b")
    with counted(env) as many:
        snap = snapshot(client, "host-a")
    assert len(snap.ports) == 11 and len(snap.networks[0].remote_ports) == 11
    assert snap.networks[0].dhcp_port is not None
    assert all(p.extra_dhcp_opts == (("mtu", "1400", 4),) for p in snap.ports)
    assert len(many) == len(few) <= 12, many


# -- port status ------------------------------------------------------------------------------


def test_status_reports_apply_once_and_stale_ones_are_ignored(
    client: TestClient, env: Env
) -> None:
    report(client, "host-a", local_ip="192.0.2.1")
    n = net(client, ALICE)
    p = on_host(client, n, "host-a")
    rev = p["revision_number"]

    r = status(client, p["id"], "ACTIVE", rev)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": {"port_id": p["id"], "status": "ACTIVE", "revision": rev + 1,
                                   "reason": ""}, "accepted": True}
    shown = client.get(f"/v2.0/ports/{p['id']}", headers=ALICE).json()["port"]
    assert shown["status"] == "ACTIVE" and shown["revision_number"] == rev + 1
    assert changes_of(env, "port", p["id"]) == ["create", "update"]

    seq = last_seq(env)
    again = status(client, p["id"], "ACTIVE", rev + 1)  # nothing to change: nothing written
    assert again.status_code == 200 and again.json()["accepted"] is True
    assert last_seq(env) == seq

    stale = status(client, p["id"], "ERROR", rev)  # about the revision before the update
    assert stale.status_code == 200 and stale.json()["accepted"] is False
    assert stale.json()["status"]["status"] == "ACTIVE"
    assert client.get(f"/v2.0/ports/{p['id']}").json()["port"]["status"] == "ACTIVE"
    assert last_seq(env) == seq

    down = status(client, p["id"], "DOWN", rev + 5)  # newer than ours: fine
    assert down.json()["accepted"] is True and down.json()["status"]["status"] == "DOWN"


def test_status_reports_are_checked(client: TestClient) -> None:
    n = net(client, ALICE)
    p = port(client, n, ALICE)
    rev = p["revision_number"]
    r = status(client, p["id"], "BUILD", rev)
    assert r.status_code == 400 and "ACTIVE, DOWN, ERROR" in r.json()["NeutronError"]["message"]
    assert status(client, p["id"], "ACTIVE", rev, headers=ALICE).status_code == 403
    r = status(client, p["id"], "ACTIVE", rev, headers={**AGENT, "X-Neutrino-Protocol": "2.0"})
    assert r.status_code == 400 and err(r) == "IncompatibleProtocolVersion"
    r = status(client, "0b5d2a4e-0000-4000-8000-000000000000", "ACTIVE", 0)
    assert r.status_code == 404 and err(r) == "PortNotFound"
    r = client.put(f"/v2.0/neutrino/ports/{p['id']}/status", headers=AGENT,
                   json={"status": {"status": "ACTIVE"}})  # no revision
    assert r.status_code == 400
