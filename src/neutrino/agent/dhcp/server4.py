"""The DHCPv4 shell of the built-in driver: sockets in one network's DHCP namespace, an
asyncio reader, and `responder.answer` for the brain. Runs on the driver's loop thread only.

Receiving: a UDP socket on 0.0.0.0:67, SO_BINDTODEVICE to the namespace's veth (the only
interface there besides lo). Broadcast DISCOVERs from 0.0.0.0 reach it as they reach
dnsmasq's.

Sending, by the responder's `Reply.dest_mac` (RFC 2131 4.1):
* None (a renewing client's ciaddr, or a relay's giaddr): an ordinary UDP send, routed and
  ARP-resolved by the kernel;
* a MAC (the client's, to yiaddr, for a client that has no address yet; or ff:ff:ff:ff:ff:ff
  for broadcast): a packet socket (AF_PACKET, SOCK_DGRAM) with our own IPv4 and UDP headers,
  so the frame goes to that MAC without ARP, which the client could not answer yet. Its
  source address is our server identifier on the client's subnet. dhclient (which does not
  set the broadcast flag) gets unicast OFFER/ACK this way, as from ISC dhcpd or dnsmasq.

A packet that does not decode, that the responder trips over, or that cannot be sent is
counted in `stats` and dropped: one bad client never stops the server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
import time
from collections import Counter

from neutrino.agent.dhcp.codec import DhcpDecodeError, Opt, decode, encode
from neutrino.agent.dhcp.datagrams import drain
from neutrino.agent.dhcp.responder import Lease, answer
from neutrino.agent.dhcp.served import Served
from neutrino.agent.inns import run_in_netns

logger = logging.getLogger("neutrino.agent.dhcp.server4")

SERVER_PORT = 67
ETH_P_IP = 0x0800
RCVBUF = 4 << 20


class Dhcp4Server:
    """DHCPv4 for one network. Create with `open`; `update` swaps what it answers from."""

    def __init__(self, loop: asyncio.AbstractEventLoop, udp: socket.socket,
                 packet: socket.socket, ifname: str, served: Served) -> None:
        self._loop, self._udp, self._packet, self._ifname = loop, udp, packet, ifname
        self.served = served
        self.leases: dict[str, Lease] = {}  # by MAC: DECLINE holds
        self.stats: Counter[str] = Counter()
        loop.add_reader(udp.fileno(), self._readable)

    @staticmethod
    def open(loop: asyncio.AbstractEventLoop, netns: str, ifname: str,
             served: Served) -> Dhcp4Server:
        """Make the sockets inside `netns` (from any thread) and start serving on `loop`
        (call on the loop thread)."""
        udp, packet = run_in_netns(netns, lambda: _sockets(ifname))
        return Dhcp4Server(loop, udp, packet, ifname, served)

    def update(self, served: Served) -> None:
        self.served = served
        hosts = served.by_mac
        for mac in [m for m in self.leases if m not in hosts]:
            del self.leases[mac]  # a port gone: forget its decline hold

    def close(self) -> None:
        self._loop.remove_reader(self._udp.fileno())
        self._udp.close()
        self._packet.close()

    def _readable(self) -> None:
        drain(lambda: self._udp.recv(4096), self.handle, self.stats)

    def handle(self, data: bytes) -> None:
        """Answer one datagram; never raises."""
        self.stats["received"] += 1
        try:
            msg = decode(data)
        except DhcpDecodeError:
            self.stats["malformed"] += 1
            return
        if msg.op != 1:
            self.stats["ignored"] += 1
            return
        mac = msg.mac.lower()
        network = self.served.for_mac(mac)
        if network is None:
            self.stats["unknown_client"] += 1
            return
        try:
            held = self.leases.get(mac)
            result = answer(msg, network, time.time(), {mac: held} if held else {})
            lease = result.leases.get(mac)
            if lease is None:
                self.leases.pop(mac, None)
            else:
                self.leases[mac] = lease
            if result.event is not None:
                self.stats[result.event.kind] += 1
                logger.debug("%s %s %s", result.event.kind, mac, result.event.address)
            if result.reply is None:
                return
            reply = result.reply
            payload = encode(reply.message)
            if reply.dest_mac is None:
                self._udp.sendto(payload, (reply.dest_ip, reply.dest_port))
            else:
                source = _server_id(reply.message.get(Opt.SERVER_ID))
                frame = ipv4_udp(source, reply.dest_ip, SERVER_PORT, reply.dest_port, payload)
                self._packet.sendto(frame, (self._ifname, ETH_P_IP, 0, 0, _mac(reply.dest_mac)))
            self.stats["sent"] += 1
        except OSError as exc:
            self.stats["send_errors"] += 1
            logger.debug("send to %s: %s", mac, exc)
        except Exception:  # a responder bug must not stop the server
            self.stats["errors"] += 1
            logger.exception("DHCPv4 request from %s", mac)


def _sockets(ifname: str) -> tuple[socket.socket, socket.socket]:
    """Run inside the DHCP namespace."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        udp.bind(("0.0.0.0", SERVER_PORT))
        udp.setblocking(False)
        # Send only: protocol 0 registers no receive hook, so nothing queues up on it.
        packet = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        packet.bind((ifname, 0))
        packet.setblocking(False)
    except BaseException:
        udp.close()
        raise
    return udp, packet


def _server_id(raw: bytes | None) -> str:
    return str(ipaddress.IPv4Address(raw)) if raw and len(raw) == 4 else "0.0.0.0"


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def ipv4_udp(source: str, destination: str, sport: int, dport: int, payload: bytes) -> bytes:
    """An IPv4 packet carrying one UDP datagram, checksums filled in (RFC 791, 768)."""
    src, dst = ipaddress.IPv4Address(source).packed, ipaddress.IPv4Address(destination).packed
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length)
    udp = struct.pack("!HHHH", sport, dport, length, 0) + payload
    checksum = _checksum(pseudo + udp) or 0xFFFF  # 0 means "none" in UDP
    udp = udp[:6] + struct.pack("!H", checksum) + udp[8:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, 20 + length, 0, 0, 64,
                         socket.IPPROTO_UDP, 0, src, dst)
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + udp


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
