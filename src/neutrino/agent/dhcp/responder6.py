"""The DHCPv6 server's brain (RFC 8415), pure: a decoded request and the desired `DhcpNetwork`
in, the reply out. No lease state: addresses are the ports' fixed IPs.

Clients: a client is a host of `network.hosts`, found by the MAC in its DUID-LL/DUID-LLT
(client identifier); failing that (DUID-EN, DUID-UUID, or no client id in an
INFORMATION-REQUEST) by `source_mac`, which the shell passes in: the MAC of the request's
link-local source address (`codec6.mac_from_link_local`), or the frame's Ethernet source if it
reads frames. Behind a relay, the relay's Client Link-Layer Address option (RFC 6939) or the
EUI-64 of `peer_address` stand in for it. Anyone else gets no answer.

Subnets: IA_NA addresses come only from `dhcpv6-stateful` subnets; `dhcpv6-stateless` and
stateful subnets get the information options (23 DNS servers: the subnets' dns_nameservers,
or our own address on a subnet that names none, as dnsmasq; 24 domain list); a network with
neither (SLAAC only, or no IPv6) gets no DHCPv6 answers. The server identifier is the DUID-LL
of `network.server_mac`.

Port updates: a RENEW/REBIND carries the client's old address; it comes back with lifetimes 0
next to the port's current address (RFC 8415 18.3.4), so a new fixed IP takes effect on the
next renewal without restarting anything.

Destinations: a reply goes to the source address of the request, at port 546 (client) or 547
(relay); `Reply6.dest_port` says which. Relay-forward / relay-reply is handled (nested too).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork
from neutrino.agent.dhcp.codec import dns_name, parse_opt_name, tags_match
from neutrino.agent.dhcp.codec6 import (
    Dhcp6Message,
    IaNa,
    MsgType,
    Opt6,
    RelayMessage,
    Status,
    addresses,
    duid_ll,
    encode,
    encode_ia_na,
    ia_address,
    mac_from_duid,
    mac_from_link_local,
    status_code,
)
from neutrino.agent.dhcp.responder import Event
from neutrino.wire import SnapshotSubnet

CLIENT_PORT, SERVER_PORT = 546, 547
T1_FRACTION, T2_FRACTION = 0.5, 0.8  # RFC 8415 21.4
STATEFUL, STATELESS = "dhcpv6-stateful", "dhcpv6-stateless"
_NAMED6 = {"dns-server": (Opt6.DNS_SERVERS, "ips"), "domain-search": (Opt6.DOMAIN_LIST, "names"),
           "bootfile-url": (Opt6.BOOTFILE_URL, "str")}


@dataclass(frozen=True, slots=True)
class Reply6:
    message: Dhcp6Message | RelayMessage
    dest_port: int  # to the request's source address


@dataclass(frozen=True, slots=True)
class Answer6:
    reply: Reply6 | None
    event: Event | None = None


def answer6(msg: Dhcp6Message | RelayMessage, network: DhcpNetwork,
            source_mac: str | None = None) -> Answer6:
    """Answer one decoded request (see the module docstring for `source_mac`). Pure."""
    if isinstance(msg, RelayMessage):
        if msg.msg_type != MsgType.RELAY_FORW:
            return Answer6(None)
        inner, event = _relayed(msg, network)
        return Answer6(None if inner is None else Reply6(inner, SERVER_PORT), event)
    reply, event = _answer(msg, network, source_mac, None)
    return Answer6(None if reply is None else Reply6(reply, CLIENT_PORT), event)


def _relayed(relay: RelayMessage, network: DhcpNetwork
             ) -> tuple[RelayMessage | None, Event | None]:
    inner = relay.relayed
    if isinstance(inner, RelayMessage):
        if inner.msg_type != MsgType.RELAY_FORW:
            return None, None
        reply: Dhcp6Message | RelayMessage | None
        reply, event = _relayed(inner, network)
    else:
        lladdr = relay.get(Opt6.CLIENT_LINKLAYER_ADDR) or b""
        mac = (":".join(f"{b:02x}" for b in lladdr[2:]) if len(lladdr) == 8
               else mac_from_link_local(relay.peer_address))
        link = None if relay.link_address == "::" else relay.link_address
        reply, event = _answer(inner, network, mac, link)
    if reply is None:
        return None, event
    options = [(c, v) for c, v in relay.options if c == Opt6.INTERFACE_ID]
    options.append((Opt6.RELAY_MSG, encode(reply)))
    return RelayMessage(MsgType.RELAY_REPL, relay.hop_count, relay.link_address,
                        relay.peer_address, tuple(options)), event


_NEEDS_SERVER_ID = {MsgType.REQUEST, MsgType.RENEW, MsgType.RELEASE, MsgType.DECLINE}
_NO_SERVER_ID = {MsgType.SOLICIT, MsgType.CONFIRM, MsgType.REBIND}
_HANDLED = _NEEDS_SERVER_ID | _NO_SERVER_ID | {MsgType.INFORMATION_REQUEST}


def _answer(msg: Dhcp6Message, network: DhcpNetwork, source_mac: str | None,
            link: str | None) -> tuple[Dhcp6Message | None, Event | None]:
    kind, client_id, server_duid = msg.msg_type, msg.client_id, duid_ll(network.server_mac)
    if kind not in _HANDLED or (client_id is None and kind != MsgType.INFORMATION_REQUEST):
        return None, None
    if msg.server_id not in ((server_duid,) if kind in _NEEDS_SERVER_ID else (None,)) and \
            not (kind == MsgType.INFORMATION_REQUEST and msg.server_id == server_duid):
        return None, None  # for another server, or malformed (RFC 8415 16)
    mac = (mac_from_duid(client_id) if client_id else None) or source_mac
    host = next((h for h in network.hosts
                 if mac is not None and h.mac_address.lower() == mac.lower()), None)
    subnets = [s for s in network.subnets if s.ip_version == 6 and s.enable_dhcp
               and s.ipv6_address_mode in (STATEFUL, STATELESS)
               and (link is None or ipaddress.IPv6Address(link) in ipaddress.ip_network(s.cidr))]
    if host is None or not subnets:
        return None, None
    ours = _addresses(host, subnets)
    options: list[tuple[int, bytes]] = [(Opt6.SERVERID, server_duid)]
    if client_id is not None:
        options.append((Opt6.CLIENTID, client_id))
    reply_type = MsgType.REPLY
    event = Event(MsgType(kind).name.lower(), mac or "", ours[0] if ours else None, host.port_id)
    if kind == MsgType.CONFIRM:
        claimed = [a.address for ia in msg.ia_nas for a in ia.addresses]
        if not claimed:
            return None, None
        on_link = all(any(ipaddress.IPv6Address(a) in ipaddress.ip_network(s.cidr)
                          for s in network.subnets if s.ip_version == 6) for a in claimed)
        options.append(status_code(Status.SUCCESS if on_link else Status.NOT_ON_LINK))
    elif kind in (MsgType.RELEASE, MsgType.DECLINE):
        options.append(status_code(Status.SUCCESS))
        claimed = [a.address for ia in msg.ia_nas for a in ia.addresses]
        event = Event(event.kind, event.mac, ",".join(claimed) or None, host.port_id)
    else:
        if kind != MsgType.INFORMATION_REQUEST:
            renewing = kind in (MsgType.RENEW, MsgType.REBIND)
            options += _ias(msg.ia_nas, ours, network.lease_time, renewing)
        if kind == MsgType.SOLICIT:
            if msg.rapid_commit and ours:
                options.append((Opt6.RAPID_COMMIT, b""))
            else:
                reply_type = MsgType.ADVERTISE
        options += _information(subnets, network, host, msg)
    return Dhcp6Message(reply_type, msg.transaction_id, tuple(options)), event


def _addresses(host: DhcpHost, subnets: list[SnapshotSubnet]) -> list[str]:
    nets = [ipaddress.ip_network(s.cidr) for s in subnets if s.ipv6_address_mode == STATEFUL]
    out: list[str] = []
    for text in host.ip_addresses:
        ip = ipaddress.ip_address(text)
        if ip.version == 6 and any(ip in net for net in nets):
            out.append(str(ip))
    return out


def _ias(requested: tuple[IaNa, ...], ours: list[str], lease: int, renewing: bool
         ) -> list[tuple[int, bytes]]:
    """One IA_NA per requested one: the first gets our addresses; a renewal's addresses that
    are not (or no longer) ours come back with lifetimes 0."""
    out: list[tuple[int, bytes]] = []
    for index, ia in enumerate(requested):
        given = ours if index == 0 else []
        stale = [a.address for a in ia.addresses if a.address not in given] if renewing else []
        options = [ia_address(a, lease, lease) for a in given]
        options += [ia_address(a, 0, 0) for a in stale]
        if not given:
            options.append(status_code(Status.NO_BINDING if renewing and not stale
                                       else Status.NO_ADDRS_AVAIL))
        t1, t2 = (int(lease * T1_FRACTION), int(lease * T2_FRACTION)) if given else (0, 0)
        out.append((Opt6.IA_NA, encode_ia_na(IaNa(ia.iaid, t1, t2, tuple(options)))))
    return out


def _nameservers(subnet: SnapshotSubnet, network: DhcpNetwork) -> list[str]:
    """The subnet's IPv6 dns_nameservers (`::` alone: Neutron's "announce none"), or when it
    has none our own address on it (the driver's internal DNS answers there), as dnsmasq."""
    if subnet.dns_nameservers:
        found = map(ipaddress.ip_address, subnet.dns_nameservers)
        return [str(a) for a in found if a.version == 6 and not a.is_unspecified]
    net = ipaddress.ip_network(subnet.cidr)
    return [str(i.ip) for i in map(ipaddress.ip_interface, network.server_addresses)
            if i.version == 6 and i.ip in net][:1]


def _information(subnets: list[SnapshotSubnet], network: DhcpNetwork, host: DhcpHost,
                 msg: Dhcp6Message) -> list[tuple[int, bytes]]:
    values: dict[int, bytes] = {}
    dns = [d for s in subnets for d in _nameservers(s, network)]
    if dns:
        values[Opt6.DNS_SERVERS] = addresses(dict.fromkeys(dns))
    if network.dns_domain.strip("."):
        values[Opt6.DOMAIN_LIST] = dns_name(network.dns_domain)
    user_class = msg.get(15) or b""
    present = {"ipxe6"} if b"iPXE" in user_class else set()
    for name, value, version in host.extra_opts:
        tags, opt = parse_opt_name(name)
        if version != 6 or not tags_match(tags, present):
            continue
        code, kind = _NAMED6.get(opt, (int(opt), "str") if opt.isdigit() else (0, ""))
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            if kind == "ips":
                values[code] = addresses(parts)
            elif kind == "names":
                values[code] = b"".join(dns_name(p) for p in parts)
            elif kind == "str" and 0 < code < 65536:
                values[code] = value.encode()
        except ValueError:
            continue
    return list(values.items())
