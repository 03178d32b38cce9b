"""The host snapshot: the server's whole state for one host's agent (`wire.HostSnapshot`).

Consistency rule: `seq` is read FIRST in the read transaction, then the data. Data newer
than `seq` is harmless (the agent sees the later changes in the log and fetches again);
data older than `seq` would be a lost update, and reading seq first rules it out on
PostgreSQL's READ COMMITTED as on SQLite's snapshot. A fixed handful of queries, whatever
the number of ports.

Each network carries its DHCP port (`services.dhcp`), bound nowhere, so never among the
host's `ports`, which are the ports bound to the host.

Ports carry their DNS name as their addresses are named (`domain.dns.assigned_name`: none
under the server's default domain), so the agent's DNS answers what `dns_assignment` says.

The other ports of the host's networks come from one query, for two purposes kept apart:
`remote_ports` (VXLAN networks: the ports on hosts with a VTEP, for the L2 applier's FDB
entries) and `peers` (networks the host serves DHCP for, i.e. with a DHCP port and a
DHCP-enabled subnet: every port not bound here, on any host or none, whose names the host's
internal DNS answers, as Neutron's dnsmasq answers for every port of the network).
"""

from __future__ import annotations

from collections import defaultdict

from neutrino import wire
from neutrino.db.repos import agents as agent_repo
from neutrino.db.repos import hosts as repo
from neutrino.db.repos import security_groups as sg_repo
from neutrino.domain import dns
from neutrino.domain.context import Context
from neutrino.domain.errors import PolicyNotAuthorized
from neutrino.domain.network import Network
from neutrino.domain.port import Port, is_dhcp_port
from neutrino.domain.security_group import SecurityGroupRule
from neutrino.domain.subnet import Subnet
from neutrino.services._env import Env


def snapshot(env: Env, ctx: Context, host: str) -> wire.HostSnapshot:
    if not ctx.is_service:
        raise PolicyNotAuthorized("(get_host_snapshot) is disallowed by policy")
    with env.db.read() as tx:
        seq = repo.last_seq(tx)  # first: see the module docstring
        # The DHCP port is bound nowhere; should an admin bind it, it stays off `ports`.
        ports = [p for p in repo.ports_on_host(tx, host) if not is_dhcp_port(p)]
        nets = repo.networks_by_ids(tx, {p.network_id for p in ports})
        subnets = repo.subnets_of(tx, nets)
        dhcp_ports = repo.dhcp_ports(tx, nets)
        vxlan = {n.id for n in nets.values()
                 if n.segment is not None and n.segment.network_type == "vxlan"}
        named = {nid for nid in nets if nid in dhcp_ports
                 and any(s.enable_dhcp for s in subnets.get(nid, ()))}
        others = repo.other_ports(tx, vxlan | named, host)
        agents = agent_repo.by_hosts(tx, {host, *(o.host for o in others
                                                  if o.host and o.network_id in vxlan)})
        groups = sorted({g for p in ports for g in p.security_groups})
        rules = [r for gid, rs in sorted(sg_repo.rules_of(tx, groups).items()) for r in rs]
        members = repo.group_addresses(tx, {r.remote_group_id for r in rules
                                            if r.remote_group_id})
    own = agents[host].local_ip if host in agents else None
    vteps = {h: a.local_ip for h, a in agents.items() if a.local_ip and a.local_ip != own}
    domain = env.config.dns_domain
    remote: dict[str, list[wire.RemotePort]] = defaultdict(list)
    peers: dict[str, list[wire.SnapshotPeer]] = defaultdict(list)
    for o in others:
        if o.network_id in vxlan and o.host in vteps:
            remote[o.network_id].append(wire.RemotePort(
                mac_address=o.mac_address, ip_addresses=tuple(sorted(a for _, a in o.fixed_ips)),
                vtep=vteps[o.host]))
        if o.network_id in named and o.fixed_ips:
            peers[o.network_id].append(wire.SnapshotPeer(
                port_id=o.id, fixed_ips=o.fixed_ips,
                dns_name=dns.assigned_name(o.dns_name, domain)))
    return wire.HostSnapshot(
        host=host,
        seq=seq,
        networks=tuple(_network(nets[nid], subnets.get(nid, []), remote.get(nid, []),
                                dhcp_ports.get(nid), domain, peers.get(nid, []))
                       for nid in sorted(nets)),
        ports=tuple(_port(p, domain) for p in ports),
        rules=tuple(_rule(r) for r in rules),
        group_members={gid: tuple(sorted(addrs)) for gid, addrs in sorted(members.items())},
    )


def _network(net: Network, subnets: list[Subnet], remote: list[wire.RemotePort],
             dhcp_port: Port | None, default_dns_domain: str,
             peers: list[wire.SnapshotPeer]) -> wire.SnapshotNetwork:
    """`dns_domain`: the network's, else the server's (`dns_domain` in the configuration,
    Neutron's `openstacklocal`), as the DHCP server's domain."""
    seg = net.segment
    return wire.SnapshotNetwork(
        id=net.id,
        network_type=seg.network_type if seg else "local",
        physical_network=seg.physical_network if seg else None,
        segmentation_id=seg.segmentation_id if seg else None,
        mtu=net.mtu,
        admin_state_up=net.admin_state_up,
        subnets=tuple(_subnet(s) for s in subnets),
        remote_vteps=tuple(sorted({r.vtep for r in remote})),
        remote_ports=tuple(remote),
        dhcp_port=None if dhcp_port is None else _port(dhcp_port, default_dns_domain),
        dns_domain=net.dns_domain or default_dns_domain,
        peers=tuple(peers),
    )


def _subnet(s: Subnet) -> wire.SnapshotSubnet:
    return wire.SnapshotSubnet(
        id=s.id,
        cidr=str(s.cidr),
        ip_version=s.ip_version,
        gateway_ip=None if s.gateway_ip is None else str(s.gateway_ip),
        enable_dhcp=s.enable_dhcp,
        dns_nameservers=tuple(s.dns_nameservers),
        host_routes=tuple((str(r.destination), str(r.nexthop)) for r in s.host_routes),
        ipv6_address_mode=s.ipv6_address_mode,
        ipv6_ra_mode=s.ipv6_ra_mode,
    )


def _port(p: Port, server_domain: str) -> wire.SnapshotPort:
    return wire.SnapshotPort(
        id=p.id,
        network_id=p.network_id,
        mac_address=p.mac_address,
        fixed_ips=tuple((f.subnet_id, f.text or str(f.ip_address)) for f in p.fixed_ips),
        admin_state_up=p.admin_state_up,
        device_owner=p.device_owner,
        port_security_enabled=p.port_security_enabled,
        security_groups=tuple(p.security_groups),
        allowed_address_pairs=tuple((a.ip_address, a.mac_address or p.mac_address)
                                    for a in p.allowed_address_pairs),
        revision_number=p.revision_number,
        status=p.status,
        extra_dhcp_opts=tuple((o.opt_name, o.opt_value, o.ip_version)
                              for o in p.extra_dhcp_opts if o.opt_value is not None),
        dns_name=dns.assigned_name(p.dns_name, server_domain),
    )


def _rule(r: SecurityGroupRule) -> wire.SnapshotRule:
    return wire.SnapshotRule(
        id=r.id,
        security_group_id=r.security_group_id,
        direction=r.direction,
        ethertype=r.ethertype,
        protocol=r.protocol,
        port_range_min=r.port_range_min,
        port_range_max=r.port_range_max,
        remote_ip_prefix=r.remote_ip_prefix,
        remote_group_id=r.remote_group_id,
    )
