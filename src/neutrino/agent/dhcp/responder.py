"""The DHCPv4 server's brain, pure (STYLE habit 4): a request and the desired `DhcpNetwork`
in, a reply (with where to send it) and the new lease state out. The shell (`server.py`) only
receives, decodes, calls `answer`, encodes and sends; it keeps `Answer.leases` for the next
call (per network), and logs `Answer.event`.

Addresses are static, as Neutron's dnsmasq `static` ranges: a client is a MAC in
`network.hosts`, its address is its fixed IP on a DHCP subnet; every other MAC gets no answer.
Leases are bookkeeping (who holds what until when) plus the one thing RFC 2131 makes state:
an address a client DECLINEd is not offered again for `DECLINE_HOLD` seconds.

Port updates: every call reads the `DhcpNetwork` it is given, so a new fixed IP takes effect
on the client's next renewal without restarting anything: the RENEWING/REBINDING REQUEST for
the old address (ciaddr) is NAKed, the client restarts at DISCOVER and is offered the new one.

Relays (RFC 3046): a request with giaddr set is answered for the subnet containing giaddr, to
giaddr:67, with option 82 echoed as the last option.

Options: 53 and 54 first, then those the client's parameter request list names, in its
order, then the rest (all of them always: mask, router, DNS, domain, hostname, lease and
T1/T2, MTU, broadcast, 121 with the default route in it when there are other routes; 249
only when asked for). DNS (6) is the subnet's dns_nameservers, or when it has none our own
address on the subnet (the driver's internal DNS answers there), as Neutron's dnsmasq does.
The port's IPv4 extra_dhcp_opts (dnsmasq names or codes; `tag:ipxe` / `tag:!ipxe` honoured,
other tags never match) override them, except 53, 54, 61 and 82.
Not done: honouring option 57 (max message size); our replies are small unless extra
options make them big.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from neutrino.agent.dhcp import DhcpHost, DhcpNetwork
from neutrino.agent.dhcp.codec import (
    BOOTREPLY,
    BROADCAST_FLAG,
    BY_CODE,
    NAMED,
    ZERO,
    DhcpMessage,
    MessageType,
    Opt,
    classless_routes,
    dns_name,
    ips,
    parse_opt_name,
    tags_match,
    u16,
    u32,
)
from neutrino.wire import SnapshotSubnet

SERVER_PORT, CLIENT_PORT = 67, 68
BROADCAST_IP, BROADCAST_MAC = "255.255.255.255", "ff:ff:ff:ff:ff:ff"
DECLINE_HOLD = 600.0  # s an address stays unoffered after a DECLINE (as dnsmasq)
T1_FRACTION, T2_FRACTION = 0.5, 0.875  # RFC 2131 4.4.5


@dataclass(frozen=True, slots=True)
class Lease:
    mac: str
    address: str
    expires: float  # for a declined address: when it may be offered again
    declined: bool = False


Leases = Mapping[str, Lease]  # by MAC (lower case)


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply and its destination (RFC 2131 4.1). `dest_mac`: None = an ordinary routed or
    ARP-resolved send; BROADCAST_MAC = link broadcast; the client's MAC = unicast to a client
    that has no address yet (the shell needs a raw socket or a static ARP entry for that, or
    may broadcast instead)."""

    message: DhcpMessage
    dest_ip: str
    dest_port: int
    dest_mac: str | None


@dataclass(frozen=True, slots=True)
class Event:
    """Something to log or report: kind is offer | ack | nak | release | decline | ignored."""

    kind: str
    mac: str
    address: str | None = None
    port_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    reply: Reply | None
    leases: Leases  # the new state: pass it to the next call
    event: Event | None = None


def answer(msg: DhcpMessage, network: DhcpNetwork, now: float,
           leases: Leases | None = None) -> Answer:
    """Answer one decoded request. Pure: same inputs, same outputs."""
    leases = _expire(leases or {}, now)
    mac = msg.mac.lower()
    kind = msg.message_type
    host = next((h for h in network.hosts if h.mac_address.lower() == mac), None)
    if msg.op != 1 or msg.htype != 1 or msg.hlen != 6 or host is None or kind is None:
        return Answer(None, leases)
    binding = _binding(msg, network, host)
    if binding is None:
        return Answer(None, leases, Event("ignored", mac, None, host.port_id,
                                          "no DHCP subnet for this client here"))
    subnet, address, server_id = binding
    ctx = _Ctx(msg, network, host, subnet, address, server_id, mac, now)
    if msg.server_id not in (None, server_id) and kind in (
            MessageType.REQUEST, MessageType.RELEASE, MessageType.DECLINE):
        return Answer(None, leases, ctx.event("ignored", "for another server"))
    if kind == MessageType.DISCOVER:
        held = leases.get(mac)
        if held is not None and held.declined and held.address == address:
            return Answer(None, leases, ctx.event("ignored", "address declined recently"))
        return Answer(ctx.reply(MessageType.OFFER), leases, ctx.event("offer"))
    if kind == MessageType.REQUEST:
        wanted = msg.requested_ip or (msg.ciaddr if msg.ciaddr != ZERO else None)
        if wanted is None:
            return Answer(None, leases, ctx.event("ignored", "REQUEST without an address"))
        if wanted != address:
            return Answer(ctx.nak(f"{wanted} is not yours"), leases,
                          ctx.event("nak", f"asked for {wanted}", wanted))
        lease = Lease(mac, address, now + network.lease_time)
        return Answer(ctx.reply(MessageType.ACK), {**leases, mac: lease}, ctx.event("ack"))
    if kind == MessageType.INFORM:
        return Answer(ctx.reply(MessageType.ACK, inform=True), leases, ctx.event("ack"))
    if kind == MessageType.RELEASE:
        rest = {m: lease for m, lease in leases.items() if m != mac}
        return Answer(None, rest, ctx.event("release", "", msg.ciaddr))
    if kind == MessageType.DECLINE:
        declined = msg.requested_ip or address
        hold = Lease(mac, declined, now + DECLINE_HOLD, declined=True)
        return Answer(None, {**leases, mac: hold}, ctx.event("decline", "", declined))
    return Answer(None, leases)


def expire(leases: Leases, now: float) -> Leases:
    """Drop the leases and decline holds that ended before `now`."""
    return _expire(leases, now)


def _expire(leases: Leases, now: float) -> Leases:
    if all(lease.expires > now for lease in leases.values()):
        return leases
    return {m: lease for m, lease in leases.items() if lease.expires > now}


def _binding(msg: DhcpMessage, network: DhcpNetwork, host: DhcpHost
             ) -> tuple[SnapshotSubnet, str, str] | None:
    """(subnet, the client's address, our address there) for this request, or None."""
    candidates = []
    for text in host.ip_addresses:
        ip = ipaddress.ip_address(text)
        if ip.version != 4:
            continue
        for subnet in network.subnets:
            net = ipaddress.ip_network(subnet.cidr)
            if subnet.ip_version == 4 and subnet.enable_dhcp and ip in net:
                candidates.append((subnet, net, str(ip)))
    if msg.giaddr != ZERO:  # relayed: the relay's subnet only
        relay = ipaddress.IPv4Address(msg.giaddr)
        candidates = [c for c in candidates if relay in c[1]]
    wanted = {msg.requested_ip, msg.ciaddr}  # prefer the address the client names
    candidates.sort(key=lambda c: c[2] not in wanted)
    for subnet, net, address in candidates:
        for server in network.server_addresses:
            iface = ipaddress.ip_interface(server)
            if iface.version == 4 and iface.ip in net:
                return subnet, address, str(iface.ip)
    return None


@dataclass(frozen=True, slots=True)
class _Ctx:
    msg: DhcpMessage
    network: DhcpNetwork
    host: DhcpHost
    subnet: SnapshotSubnet
    address: str
    server_id: str
    mac: str
    now: float

    def event(self, kind: str, detail: str = "", address: str | None = None) -> Event:
        return Event(kind, self.mac, address or self.address, self.host.port_id, detail)

    def nak(self, message: str) -> Reply:
        options: list[tuple[int, bytes]] = [(Opt.MESSAGE_TYPE, bytes([MessageType.NAK])),
                   (Opt.SERVER_ID, ips([self.server_id])), (Opt.MESSAGE, message.encode())]
        reply = self._base(options, broadcast=self.msg.giaddr != ZERO)
        if self.msg.giaddr != ZERO:
            return Reply(reply, self.msg.giaddr, SERVER_PORT, None)
        return Reply(reply, BROADCAST_IP, CLIENT_PORT, BROADCAST_MAC)

    def reply(self, kind: MessageType, inform: bool = False) -> Reply:
        options, siaddr, file_ = self._options(kind, inform)
        reply = replace(self._base(options, broadcast=self.msg.broadcast),
                        ciaddr=self.msg.ciaddr if kind == MessageType.ACK else ZERO,
                        yiaddr=ZERO if inform else self.address,
                        siaddr=siaddr or ZERO, file=file_ or b"")
        return Reply(reply, *self._destination(reply))

    def _base(self, options: list[tuple[int, bytes]], broadcast: bool) -> DhcpMessage:
        """RFC 2131 table 3; the client identifier echoed (RFC 6842), and the relay agent
        information last (RFC 3046 2.2)."""
        if (client_id := self.msg.client_id) is not None:
            options.append((Opt.CLIENT_ID, client_id))
        if (relay_info := self.msg.get(Opt.RELAY_AGENT_INFO)) is not None:
            options.append((Opt.RELAY_AGENT_INFO, relay_info))
        flags = self.msg.flags | (BROADCAST_FLAG if broadcast else 0)
        return DhcpMessage(op=BOOTREPLY, xid=self.msg.xid, chaddr=self.msg.chaddr,
                           htype=self.msg.htype, hlen=self.msg.hlen, flags=flags,
                           giaddr=self.msg.giaddr,
                           options=tuple(options))

    def _destination(self, reply: DhcpMessage) -> tuple[str, int, str | None]:
        msg = self.msg
        if msg.giaddr != ZERO:
            return msg.giaddr, SERVER_PORT, None
        if msg.ciaddr != ZERO:
            return msg.ciaddr, CLIENT_PORT, None
        if msg.broadcast or reply.yiaddr == ZERO:
            return BROADCAST_IP, CLIENT_PORT, BROADCAST_MAC
        return reply.yiaddr, CLIENT_PORT, self.mac

    def _options(self, kind: MessageType, inform: bool
                 ) -> tuple[list[tuple[int, bytes]], str | None, bytes | None]:
        subnet, network = self.subnet, self.network
        net = ipaddress.IPv4Network(subnet.cidr)
        values: dict[int, bytes] = {int(Opt.SUBNET_MASK): net.netmask.packed}
        if not inform:
            lease = network.lease_time
            values[Opt.LEASE_TIME] = u32(lease)
            values[Opt.RENEWAL_TIME] = u32(int(lease * T1_FRACTION))
            values[Opt.REBINDING_TIME] = u32(int(lease * T2_FRACTION))
        routes = _routes(subnet, network)
        if subnet.gateway_ip:
            values[Opt.ROUTER] = ips([subnet.gateway_ip])
        if routes:
            values[Opt.CLASSLESS_ROUTES] = classless_routes(routes)
            if Opt.MS_CLASSLESS_ROUTES in self.msg.parameter_request_list:
                values[Opt.MS_CLASSLESS_ROUTES] = values[Opt.CLASSLESS_ROUTES]
        if subnet.dns_nameservers:  # 0.0.0.0 alone: Neutron's "announce none"
            dns = [d for d in subnet.dns_nameservers
                   if ipaddress.ip_address(d).version == 4 and d != ZERO]
        else:  # our own internal DNS (`responder_dns`), as dnsmasq announces itself
            dns = [self.server_id]
        if dns:
            values[Opt.DNS] = ips(dns)
        if network.dns_domain.strip("."):
            values[Opt.DOMAIN_NAME] = network.dns_domain.strip(".").encode()
        if self.host.hostname:
            values[Opt.HOSTNAME] = self.host.hostname.encode()
        if network.mtu >= 68:
            values[Opt.MTU] = u16(network.mtu)
        values[Opt.BROADCAST] = net.broadcast_address.packed
        tags = {"ipxe"} if self.msg.get(Opt.IPXE_ENCAP) is not None else set()
        extra = render_extra(self.host.extra_opts, tags)
        values.update(extra.options)
        for fixed in (Opt.MESSAGE_TYPE, Opt.SERVER_ID, Opt.CLIENT_ID, Opt.RELAY_AGENT_INFO):
            values.pop(fixed, None)  # ours to set, whatever the port's extra options say
        if inform:
            for timer in (Opt.LEASE_TIME, Opt.RENEWAL_TIME, Opt.REBINDING_TIME):
                values.pop(timer, None)
        # 53 and 54 first, then what the client asked for in its order, then the rest.
        ordered: list[tuple[int, bytes]] = [(Opt.MESSAGE_TYPE, bytes([kind])),
                                            (Opt.SERVER_ID, ips([self.server_id]))]
        for code in self.msg.parameter_request_list:
            if code in values:
                ordered.append((code, values.pop(code)))
        ordered.extend(values.items())
        return ordered, extra.siaddr, extra.file


def _routes(subnet: SnapshotSubnet, network: DhcpNetwork) -> list[tuple[str, str]]:
    """Option 121's routes, as Neutron's dnsmasq driver: the other IPv4 subnets of the network
    on-link, then host_routes, then the default route via the gateway (RFC 3442: a client
    that gets 121 ignores option 3). Empty when there is nothing but the default route."""
    routes = [(s.cidr, ZERO) for s in network.subnets
              if s.ip_version == 4 and s.cidr != subnet.cidr]
    routes += [(dest, hop) for dest, hop in subnet.host_routes
               if ipaddress.ip_network(dest, strict=False).version == 4]
    if not routes:
        return []
    has_default = any(ipaddress.ip_network(d, strict=False).prefixlen == 0 for d, _ in routes)
    if subnet.gateway_ip and not has_default:
        routes.append(("0.0.0.0/0", subnet.gateway_ip))
    return routes


# --------------------------------------------------------------------------- extra_dhcp_opts
@dataclass(frozen=True, slots=True)
class ExtraOptions:
    options: dict[int, bytes]
    siaddr: str | None = None  # "server-ip-address" (next server)
    file: bytes | None = None  # option 67 also fills the BOOTP `file` field, for PXE ROMs


def render_extra(opts: Iterable[tuple[str, str, int]], present: set[str]) -> ExtraOptions:
    """The IPv4 extra_dhcp_opts of a port as option values; those whose tags do not match,
    whose names we do not know, or whose values do not parse, are left out."""
    options: dict[int, bytes] = {}
    siaddr: str | None = None
    for name, value, version in opts:
        tags, opt = parse_opt_name(name)
        if version != 4 or not tags_match(tags, present):
            continue
        try:
            if opt in NAMED:
                code, kind = NAMED[opt]
            elif opt.isdigit() and 0 < int(opt) < 255:
                code, kind = int(opt), BY_CODE.get(int(opt), "guess")
            else:
                continue
            raw = _value(kind, value)
        except (ValueError, OverflowError):
            continue
        if code < 0:
            siaddr = str(ipaddress.IPv4Address(raw))
        elif code != Opt.OVERLOAD:
            options[code] = raw
    bootfile = options.get(Opt.BOOTFILE_NAME)
    file_ = bootfile if bootfile is not None and len(bootfile) <= 128 else None
    return ExtraOptions(options, siaddr, file_)


def _value(kind: str, value: str) -> bytes:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if kind == "guess":  # as dnsmasq guesses for a bare code
        if parts and all(_is_ipv4(p) for p in parts):
            kind = "ips"
        elif value.strip().isdigit():
            n = int(value)
            return n.to_bytes(1 if n < 0x100 else 2 if n < 0x10000 else 4, "big")
        else:
            kind = "str"
    if kind == "str":
        return value.encode()
    if kind in ("ip", "ips"):
        if not parts or (kind == "ip" and len(parts) != 1):
            raise ValueError(value)
        return ips(parts)
    if kind == "routes":
        if not parts or len(parts) % 2:
            raise ValueError(value)
        return classless_routes(zip(parts[::2], parts[1::2], strict=True))
    if kind == "names":
        return b"".join(dns_name(p) for p in parts)
    if kind == "bool":
        return bytes([value.strip().lower() in ("1", "true", "yes", "on")])
    size = {"u8": 1, "u16": 2, "u32": 4, "i32": 4}[kind]
    return int(value).to_bytes(size, "big", signed=kind == "i32")


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True
