"""What the `dnsmasq` DHCP driver hands to dnsmasq, pure: the hosts file, the additional
hosts file (DNS), the options file, the initial leases file and the command line, rendered
from a `DhcpNetwork`.

The point of this driver is to behave exactly as Neutron's DHCP agent does (it is the
reference our built-in server and the benchmarks are measured against), so every line below
follows `neutron.agent.linux.dhcp.Dnsmasq` (Neutron 29): `_output_hosts_file`,
`_output_addn_hosts_file`, `_output_opts_file` (`_generate_opts_per_subnet` / `_per_port`,
`_format_option`), `_output_init_lease_file` and `_build_cmdline_callback`. DNS is on, as
in Neutron: dnsmasq answers for the hosts' names (`--addn-hosts`, `--domain`), forwards
nothing (`--no-resolv`, no `--server`), and is the DNS server it announces for a subnet
without dns_nameservers; the built-in driver's `responder_dns` answers the same names.
Deliberate differences:

* no metadata route (169.254.169.254): neutrino has no metadata service;
* `--interface` names the namespace end of the DHCP veth (Neutron has none: its namespace
  holds only `lo` and that veth too), so dnsmasq never answers DHCP or DNS anywhere else
  (which also makes Neutron's `--local-service` a no-op; it stays, as in Neutron);
* the hosts (`--dhcp-hostsfile`, initial leases, per-port options) are the ports bound to
  this host (DHCP is distributed, see `neutrino.agent.dhcp`); `--addn-hosts` names every
  port of the network, as Neutron's does: those and the network's peers (bound elsewhere),
  which dnsmasq thus answers DNS for but never DHCP.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork, DhcpPeer
from neutrino.agent.dhcp.hostnames import hostname_and_fqdn
from neutrino.wire import SnapshotSubnet

SUBNET_TAG = "subnet-{}"
PORT_TAG = "port-{}"
HOST_DHCPV6_TAG = "tag:dhcpv6,"  # Neutron's, for dnsmasq >= 2.81 (host-tag support)
CLIENT_ID_OPTS = ("client-id", "61")  # extra_dhcp_opts that name the client, not an option
LEASE_MAX = 2**24  # Neutron's dnsmasq_lease_max default
MS_CLASSLESS_ROUTES = 249  # Windows 2003's option 121
DHCPV6_STATEFUL, DHCPV6_STATELESS, SLAAC = "dhcpv6-stateful", "dhcpv6-stateless", "slaac"


@dataclass(frozen=True, slots=True)
class Files:
    """One network's files, in its own directory (Neutron: <dhcp_confs>/<network id>/)."""

    directory: Path

    @property
    def pid(self) -> Path:
        return self.directory / "pid"

    @property
    def host(self) -> Path:
        return self.directory / "host"

    @property
    def addn_hosts(self) -> Path:
        return self.directory / "addn_hosts"

    @property
    def opts(self) -> Path:
        return self.directory / "opts"

    @property
    def leases(self) -> Path:
        return self.directory / "leases"


# --------------------------------------------------------------------------- subnets
def range_mode(subnet: SnapshotSubnet) -> str | None:
    """dnsmasq's mode for a subnet's `--dhcp-range`, None when dnsmasq must not range it
    (SLAAC: the router's RAs do it all; Neutron leaves RAs to the router, so no --enable-ra)."""
    if not subnet.enable_dhcp:
        return None
    if subnet.ip_version == 4:
        return "static"
    address_mode, ra_mode = subnet.ipv6_address_mode, subnet.ipv6_ra_mode
    if address_mode in (DHCPV6_STATEFUL, DHCPV6_STATELESS) or (not address_mode
                                                                and not ra_mode):
        return "static"
    return None


def ranged_subnets(network: DhcpNetwork) -> list[SnapshotSubnet]:
    """The subnets dnsmasq gets a `--dhcp-range` for (IPv6 prefixes shorter than /64 are
    skipped, as Neutron does). None at all means there is nothing for dnsmasq to do."""
    return [s for s in network.subnets if range_mode(s) is not None
            and (s.ip_version == 4 or ipaddress.ip_network(s.cidr).prefixlen >= 64)]


def _subnet_of(network: DhcpNetwork, address: str) -> SnapshotSubnet | None:
    ip = ipaddress.ip_address(address)
    for subnet in network.subnets:
        net = ipaddress.ip_network(subnet.cidr, strict=False)
        if subnet.enable_dhcp and ip.version == net.version and ip in net:
            return subnet
    return None


def _no_dhcp(subnet: SnapshotSubnet) -> bool:
    """An IPv6 subnet whose addresses are not leased (SLAAC or stateless: options only)."""
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in (SLAAC, DHCPV6_STATELESS)


# --------------------------------------------------------------------------- hosts file
def _client_id(host: DhcpHost) -> str | None:
    return next((v for n, v, _ in host.extra_opts if n in CLIENT_ID_OPTS), None)


def _host_entries(network: DhcpNetwork, host: DhcpHost) -> Iterator[tuple[SnapshotSubnet,
                                                                           str]]:
    """(subnet, address for dnsmasq) per allocation, in Neutron's order: stateless IPv6
    first (dnsmasq reads the file from its end and would otherwise stop at an address-less
    line), and the addresses of one DHCPv6-stateful subnet merged into one `[a],[b]` entry."""
    found = [(s, a) for a in host.ip_addresses if (s := _subnet_of(network, a)) is not None]
    found.sort(key=lambda e: e[0].ipv6_address_mode == DHCPV6_STATELESS
               and e[0].ip_version == 6, reverse=True)
    stateful: dict[str, tuple[SnapshotSubnet, list[str]]] = {}
    for subnet, address in found:
        if subnet.ip_version == 6 and subnet.ipv6_address_mode == DHCPV6_STATEFUL:
            stateful.setdefault(subnet.id, (subnet, []))[1].append(f"[{address}]")
        elif subnet.ip_version == 6:
            yield subnet, f"[{address}]"
        else:
            yield subnet, address
    for subnet, addresses in stateful.values():
        yield subnet, ",".join(addresses)


def hosts_file(network: DhcpNetwork) -> str:
    """`--dhcp-hostsfile`: `mac,[tag,][id:cid,]fqdn,ip[,set:port-<id>]` per allocation; the
    `set:` tag is what the port's extra_dhcp_opts in the options file are keyed on."""
    lines = []
    domain = network.dns_domain.strip(".")
    for host in network.hosts:
        mac = host.mac_address.lower()
        port_tag = "set:" + PORT_TAG.format(host.port_id)
        client_id = _client_id(host)
        for subnet, address in _host_entries(network, host):
            tag = HOST_DHCPV6_TAG if subnet.ip_version == 6 else ""
            if _no_dhcp(subnet):
                if host.extra_opts and subnet.ipv6_address_mode != SLAAC:
                    lines.append(f"{mac},{tag}{port_tag}")
                continue
            first = address.split(",", 1)[0].strip("[]")
            _, fqdn = hostname_and_fqdn(host, first, domain)
            if host.extra_opts and client_id is not None and len(host.extra_opts) > 1:
                lines.append(f"{mac},{tag}id:{client_id},{fqdn},{address},{port_tag}")
            elif host.extra_opts and client_id is not None:
                lines.append(f"{mac},{tag}id:{client_id},{fqdn},{address}")
            elif host.extra_opts:
                lines.append(f"{mac},{tag}{fqdn},{address},{port_tag}")
            else:
                lines.append(f"{mac},{tag}{fqdn},{address}")
    return "".join(line + "\n" for line in lines)


def addn_hosts_file(network: DhcpNetwork) -> str:
    """`--addn-hosts`, the names dnsmasq's DNS answers: `ip<TAB>fqdn hostname` per address
    in /etc/hosts form, the FQDN first so that PTR answers carry it (Neutron's
    `_output_addn_hosts_file`); our clients first, then the peers (DNS only: they are in
    no other file)."""
    domain = network.dns_domain.strip(".")
    lines = []
    named: tuple[DhcpHost | DhcpPeer, ...] = (*network.hosts, *network.peers)
    for host in named:
        for address in host.ip_addresses:
            hostname, fqdn = hostname_and_fqdn(host, address, domain)
            lines.append(f"{address}\t{fqdn} {hostname}\n")
    return "".join(lines)


def init_leases_file(network: DhcpNetwork) -> str:
    """The leases dnsmasq starts from (Neutron's `_output_init_lease_file`): every IPv4
    allocation, expiry 0 (= infinite), so that a restarted dnsmasq ACKs its clients'
    renewals instead of ignoring or NAKing them. Written only before a start; dnsmasq
    keeps the file afterwards. (IPv6 leases need the client's IAID: left to dnsmasq.)"""
    lines = []
    for host in network.hosts:
        for subnet, address in _host_entries(network, host):
            if subnet.ip_version == 4:
                lines.append(f"0 {host.mac_address.lower()} {address} * *\n")
    return "".join(lines)


# --------------------------------------------------------------------------- options file
def format_option(ip_version: int, tag: str, option: str, *values: str) -> str:
    """Neutron's `_format_option`: `tag:<tag>[,<extra tag>],option[6]:<name>|<code>,values`.
    Anything after a newline is dropped: a value can never inject a line of its own."""
    option = option.split("\n", 1)[0]
    match = re.match(r"(tag:(.*),)?(.*)$", option)
    assert match is not None  # the pattern matches every string
    extra_tag, name = match.group(1), match.group(3)
    if ip_version == 6:
        name = f"option6:{name}"
    elif not name.isdigit():
        name = f"option:{name}"
    parts = [f"tag:{tag}", *([extra_tag[:-1]] if extra_tag else []), name]
    return ",".join(parts + [v.split("\n", 1)[0] for v in values])


def _is_any(addresses: tuple[str, ...], version: int) -> bool:
    """Neutron's is_dns_servers_any_address: 0.0.0.0 (::) alone means "announce none"."""
    return len(addresses) == 1 and addresses[0] == ("0.0.0.0" if version == 4 else "::")


def _subnet_options(network: DhcpNetwork, subnet: SnapshotSubnet) -> list[str]:
    tag = SUBNET_TAG.format(subnet.id)
    version = subnet.ip_version
    options = []
    if subnet.dns_nameservers:
        if _is_any(subnet.dns_nameservers, version):
            options.append(format_option(version, tag, "dns-server"))
        else:
            servers = [a if version == 4 else f"[{a}]" for a in subnet.dns_nameservers]
            options.append(format_option(version, tag, "dns-server", ",".join(servers)))
    domain = network.dns_domain.strip(".")
    if domain and version == 6:
        options.append(format_option(version, tag, "domain-search", domain))
    if version != 4:
        return options
    gateway = subnet.gateway_ip
    routes = []
    for destination, nexthop in subnet.host_routes:
        if destination == "0.0.0.0/0":
            gateway = gateway or nexthop
        else:
            routes.append(f"{destination},{nexthop}")
    # The network's other IPv4 subnets are on-link (all of them: we have no segments).
    routes[:0] = [f"{s.cidr},0.0.0.0" for s in reversed(network.subnets)
                  if s.ip_version == 4 and s.cidr != subnet.cidr]
    if routes:
        if gateway:
            routes.append(f"0.0.0.0/0,{gateway}")
        options.append(format_option(version, tag, "classless-static-route", ",".join(routes)))
        options.append(format_option(version, tag, str(MS_CLASSLESS_ROUTES), ",".join(routes)))
    if gateway:
        options.append(format_option(version, tag, "router", gateway))
    else:  # an empty router option: dnsmasq would otherwise announce itself as the router
        options.append(format_option(version, tag, "router"))
    return options


def _port_options(network: DhcpNetwork, host: DhcpHost) -> list[str]:
    versions = {ipaddress.ip_address(a).version for a in host.ip_addresses}
    tag = PORT_TAG.format(host.port_id)
    return [format_option(version, tag, name, value) for name, value, version in host.extra_opts
            if name not in CLIENT_ID_OPTS and version in versions]


def opts_file(network: DhcpNetwork) -> str:
    """`--dhcp-optsfile`: per DHCP subnet (tag `subnet-<id>`, set by its `--dhcp-range`) the
    DNS servers, routes and router; per port with extra_dhcp_opts (tag `port-<id>`, set by
    its hosts-file line) those options."""
    options = []
    for subnet in network.subnets:
        if subnet.enable_dhcp and not (subnet.ip_version == 6
                                       and subnet.ipv6_address_mode == SLAAC):
            options += _subnet_options(network, subnet)
    for host in network.hosts:
        if host.extra_opts:
            options += _port_options(network, host)
    return "\n".join(options)


# --------------------------------------------------------------------------- command line
def command_line(network: DhcpNetwork, files: Files, interface: str | None = None,
                 user: str | None = None) -> list[str]:
    """dnsmasq's argv, as `_build_cmdline_callback` builds it (bridged interface driver,
    no dnsmasq_dns_servers, no T1/T2, no log dir). What is here needs a restart to change
    (subnets, MTU, lease time, domain); the hosts, additional hosts and options files only
    a SIGHUP. `user`: run as this user instead of dnsmasq's default (see `DnsmasqDhcp`)."""
    cmd = ["dnsmasq", "--no-hosts", "--no-resolv",
           f"--pid-file={files.pid}",
           f"--dhcp-hostsfile={files.host}",
           f"--addn-hosts={files.addn_hosts}",
           f"--dhcp-optsfile={files.opts}",
           f"--dhcp-leasefile={files.leases}",
           "--dhcp-match=set:ipxe,175",
           "--dhcp-userclass=set:ipxe6,iPXE",
           "--local-service",
           *([f"--interface={interface}"] if interface else []),
           "--bind-dynamic"]
    lease = "infinite" if network.lease_time == -1 else f"{network.lease_time}s"
    possible = 0
    for subnet in ranged_subnets(network):
        net = ipaddress.ip_network(subnet.cidr, strict=False)
        tag = "set:" + SUBNET_TAG.format(subnet.id)
        size = net.netmask if net.version == 4 else net.prefixlen
        cmd.append(f"--dhcp-range={tag},{net.network_address},static,{size},{lease}")
        possible += net.num_addresses
    if network.mtu > 0:
        cmd.append(f"--dhcp-option-force=option:mtu,{network.mtu}")
    cmd.append(f"--dhcp-lease-max={min(possible, LEASE_MAX)}")
    cmd.append("--conf-file=/dev/null")
    if domain := network.dns_domain.strip("."):
        cmd.append(f"--domain={domain}")
    if user is not None:
        cmd.append(f"--user={user}")
    return cmd
