"""The IPv6 shell of the built-in driver, for one network's DHCP namespace: DHCPv6 (RFC 8415,
`responder6` is the brain) and router advertisements (`ra`). Loop thread only.

DHCPv6: a UDP socket on [::]:547, bound to the veth, member of All_DHCP_Relay_Agents_and_
Servers (ff02::1:2) there. A reply goes back to the request's source (a link-local address,
or a relay) with the scope of the veth. The client's MAC comes from its DUID, else from its
EUI-64 link-local source, as `responder6` expects.

RAs: Neutron sends them from a router; neutrino has no L3 agent yet, so the DHCP port sends
them for the subnets with an `ipv6_ra_mode`, with router lifetime 0 (`ra` module docstring:
the DHCP port does not forward, so clients get prefixes, M/O flags and DNS, not a default
route). A raw ICMPv6 socket (the kernel fills in the checksum), hop limit 255, to ff02::1:
at start, on each change, in answer to a router solicitation (at most one per
MIN_DELAY_BETWEEN_RAS), and every 200-600 s (RFC 4861 6.2).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from collections import Counter

from neutrino.agent.dhcp import codec6, ra, responder6
from neutrino.agent.dhcp.codec import DhcpDecodeError
from neutrino.agent.dhcp.datagrams import drain
from neutrino.agent.dhcp.served import Served
from neutrino.agent.inns import run_in_netns

logger = logging.getLogger("neutrino.agent.dhcp.server6")

SERVER_PORT = 547
ALL_DHCP = "ff02::1:2"
ALL_ROUTERS = "ff02::2"
MIN_DELAY_BETWEEN_RAS = 3.0  # s, RFC 4861 10
INITIAL_INTERVALS = (1.0, 4.0, 16.0)  # the first RAs come sooner (RFC 4861 6.2.4)
ICMP6_FILTER = 1


def _join(sock: socket.socket, group: str, ifindex: int) -> None:
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", ifindex)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)


class Dhcp6Server:
    """DHCPv6 for one network."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, ifindex: int,
                 served: Served) -> None:
        self._loop, self._sock, self._ifindex = loop, sock, ifindex
        self.served = served
        self.stats: Counter[str] = Counter()
        loop.add_reader(sock.fileno(), self._readable)

    @staticmethod
    def open(loop: asyncio.AbstractEventLoop, netns: str, ifname: str,
             served: Served) -> Dhcp6Server:
        sock, ifindex = run_in_netns(netns, lambda: _dhcp6_socket(ifname))
        return Dhcp6Server(loop, sock, ifindex, served)

    def update(self, served: Served) -> None:
        self.served = served

    def close(self) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    def _readable(self) -> None:
        drain(lambda: self._sock.recvfrom(4096),
              lambda got: self.handle(got[0], str(got[1][0]), int(got[1][1])), self.stats)

    def handle(self, data: bytes, source: str, port: int) -> None:
        """Answer one datagram; never raises."""
        self.stats["received"] += 1
        try:
            msg = codec6.decode(data)
        except DhcpDecodeError:
            self.stats["malformed"] += 1
            return
        try:
            source_mac = codec6.mac_from_link_local(source)
            if isinstance(msg, codec6.RelayMessage):
                network = self.served.network  # rare: the responder finds the client inside
            else:
                client = msg.client_id
                mac = (codec6.mac_from_duid(client) if client else None) or source_mac
                found = self.served.for_mac(mac)
                if found is None:
                    self.stats["unknown_client"] += 1
                    return
                network = found
            result = responder6.answer6(msg, network, source_mac)
            if result.event is not None:
                self.stats[result.event.kind] += 1
            if result.reply is None:
                return
            destination = (source.split("%")[0], result.reply.dest_port, 0, self._ifindex)
            self._sock.sendto(codec6.encode(result.reply.message), destination)
            self.stats["sent"] += 1
        except OSError as exc:
            self.stats["send_errors"] += 1
            logger.debug("send to %s: %s", source, exc)
        except Exception:
            self.stats["errors"] += 1
            logger.exception("DHCPv6 request from %s", source)


def _dhcp6_socket(ifname: str) -> tuple[socket.socket, int]:
    """Run inside the DHCP namespace."""
    ifindex = socket.if_nametoindex(ifname)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::", SERVER_PORT))
        _join(sock, ALL_DHCP, ifindex)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock, ifindex


class RaSender:
    """Router advertisements for one network's ra-mode subnets (none: it stays quiet)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, ifindex: int,
                 served: Served) -> None:
        self._loop, self._sock, self._ifindex = loop, sock, ifindex
        self._message = _advertisement(served)
        self._last = float("-inf")
        self._sent = 0
        self._timer: asyncio.TimerHandle | None = None
        self.stats: Counter[str] = Counter()
        loop.add_reader(sock.fileno(), self._readable)
        self._schedule(0.0)

    @staticmethod
    def open(loop: asyncio.AbstractEventLoop, netns: str, ifname: str,
             served: Served) -> RaSender:
        sock, ifindex = run_in_netns(netns, lambda: _ra_socket(ifname))
        return RaSender(loop, sock, ifindex, served)

    def update(self, served: Served) -> None:
        message = _advertisement(served)
        if message != self._message:
            self._message = message
            self._sent = 0  # a change is announced like a start
            self._schedule(0.0)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    def _readable(self) -> None:
        drain(lambda: self._sock.recv(4096), self._solicited, self.stats)

    def _solicited(self, data: bytes) -> None:
        if ra.is_router_solicitation(data):
            self.stats["solicitations"] += 1
            self._schedule(0.0)

    def _schedule(self, delay: float) -> None:
        """Send after `delay`, but never sooner than MIN_DELAY_BETWEEN_RAS after the last
        one; an earlier pending send wins over a later one."""
        at = max(self._loop.time() + delay, self._last + MIN_DELAY_BETWEEN_RAS)
        if self._timer is not None:
            if self._timer.when() <= at:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(at, self._send)

    def _send(self) -> None:
        self._timer = None
        if self._message is None:
            return
        try:
            self._sock.sendto(self._message, (ra.ALL_NODES, 0, 0, self._ifindex))
            self.stats["sent"] += 1
        except OSError as exc:
            self.stats["send_errors"] += 1
            logger.debug("RA: %s", exc)
        self._last = self._loop.time()
        self._sent += 1
        if self._sent <= len(INITIAL_INTERVALS):
            interval = INITIAL_INTERVALS[self._sent - 1]
        else:
            interval = random.uniform(ra.MIN_RTR_ADV_INTERVAL, ra.MAX_RTR_ADV_INTERVAL)
        self._schedule(interval)


def _advertisement(served: Served) -> bytes | None:
    net = served.network
    advert = ra.build(net.subnets, source_mac=net.server_mac, mtu=net.mtu,
                      router_lifetime=0, dns_domain=net.dns_domain)
    return None if advert is None else ra.encode(advert)


def _ra_socket(ifname: str) -> tuple[socket.socket, int]:
    """Run inside the DHCP namespace: raw ICMPv6 that receives only router solicitations."""
    ifindex = socket.if_nametoindex(ifname)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        words = [0xFFFFFFFF] * 8  # block every type ...
        words[ra.ICMPV6_RS >> 5] &= ~(1 << (ra.ICMPV6_RS & 31))  # ... but RS
        sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("@8I", *words))
        _join(sock, ALL_ROUTERS, ifindex)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock, ifindex
