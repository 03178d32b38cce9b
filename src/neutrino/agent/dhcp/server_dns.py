"""The DNS shell of the built-in driver: one network's internal DNS (`responder_dns` is the
brain) on UDP and TCP port 53 in its DHCP namespace. Runs on the driver's loop thread only.

Sockets: IPv4 and (when the kernel has it) IPv6, each UDP and TCP, on the wildcard address
bound to the namespace's veth (SO_BINDTODEVICE), so they serve every address of the DHCP
port, today's and those a later sync adds, without a rebind. A UDP reply leaves from the
address the query was sent to (IP_PKTINFO / IPV6_PKTINFO): a resolver drops a reply from any
other, and with several subnets the kernel's choice of source could be another one.

Answers come from `served`, swapped in by `update` as the DHCP servers' is, so a port update
is answered from the next query. They name every port of the network, our DHCP clients (the
network's `hosts`) and the ports bound elsewhere (its `peers`, which the DHCP servers never
look at). The name index (`responder_dns.Names`, O(hosts + peers)) is built on the loop by
the first query after the network changed: a sync costs nothing more, and syncs that change
nothing (the same `DhcpNetwork`, compared cheaply: the agent passes the very host objects
again) keep the index.

TCP (RFC 7766) for clients that retry after a truncated answer: length-prefixed messages,
pipelined answers in order, at most MAX_TCP_CLIENTS connections (a new one beyond that is
refused), each closed after TCP_IDLE seconds without a complete query. A packet that cannot
be answered is counted in `stats` and dropped: one bad client never stops the server.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from collections import Counter
from typing import Any

from neutrino.agent.dhcp import DhcpNetwork, responder_dns
from neutrino.agent.dhcp.datagrams import drain
from neutrino.agent.dhcp.served import Served
from neutrino.agent.inns import run_in_netns

logger = logging.getLogger("neutrino.agent.dhcp.server_dns")

PORT = 53
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value; Python 3.11 lacks the name
ANCILLARY = 64  # room for one in_pktinfo / in6_pktinfo control message
MAX_TCP_CLIENTS = 64
TCP_IDLE = 10.0  # s
TCP_BACKLOG = 16

Received = tuple[bytes, list[tuple[int, int, bytes]], int, Any]  # what recvmsg returns


class DnsServer:
    """Internal DNS for one network. Create with `open`; `update` swaps what it answers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, udp: list[socket.socket],
                 tcp: list[socket.socket], served: Served) -> None:
        self._loop, self._udp, self._tcp = loop, udp, tcp
        self._served = served
        self._names: tuple[DhcpNetwork, responder_dns.Names] | None = None
        self._clients: set[_TcpClient] = set()
        self.stats: Counter[str] = Counter()
        for sock in udp:
            loop.add_reader(sock.fileno(), self._udp_readable, sock)
        for sock in tcp:
            loop.add_reader(sock.fileno(), self._accept, sock)

    @staticmethod
    def open(loop: asyncio.AbstractEventLoop, netns: str, ifname: str,
             served: Served) -> DnsServer:
        """Make the sockets inside `netns` (from any thread) and start serving on `loop`
        (call on the loop thread). Raises OSError when IPv4 cannot be served."""
        udp, tcp = run_in_netns(netns, lambda: _sockets(ifname))
        return DnsServer(loop, udp, tcp, served)

    def update(self, served: Served) -> None:
        self._served = served

    def close(self) -> None:
        for client in list(self._clients):
            client.close()
        for sock in (*self._udp, *self._tcp):
            self._loop.remove_reader(sock.fileno())
            sock.close()

    def answer(self, data: bytes, tcp: bool = False) -> bytes | None:
        """The reply to one query (None: none is due); never raises."""
        self.stats["received"] += 1
        try:
            reply = responder_dns.respond(data, self._index(), tcp)
        except Exception:  # a responder bug must not stop the server
            self.stats["errors"] += 1
            logger.exception("DNS query")
            return None
        if reply is None:
            self.stats["dropped"] += 1
        return reply

    def _index(self) -> responder_dns.Names:
        network = self._served.network
        if self._names is None or (self._names[0] is not network
                                   and self._names[0] != network):
            self._names = network, responder_dns.Names.of(network)
        return self._names[1]

    # ------------------------------------------------------------------ UDP
    def _udp_readable(self, sock: socket.socket) -> None:
        drain(lambda: sock.recvmsg(responder_dns.TCP_MAX, socket.CMSG_SPACE(ANCILLARY)),
              lambda got: self._udp_reply(sock, got), self.stats)

    def _udp_reply(self, sock: socket.socket, got: Received) -> None:
        data, ancdata, _flags, source = got
        reply = self.answer(data)
        if reply is None:
            return
        try:
            sock.sendmsg([reply], _reply_pktinfo(ancdata), 0, source)
            self.stats["sent"] += 1
        except OSError as exc:
            self.stats["send_errors"] += 1
            logger.debug("send to %s: %s", source[0], exc)

    # ------------------------------------------------------------------ TCP
    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _source = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.stats["accept_errors"] += 1
            logger.debug("accept: %s", exc)
            return
        if len(self._clients) >= MAX_TCP_CLIENTS:
            self.stats["tcp_refused"] += 1
            conn.close()
            return
        conn.setblocking(False)
        self._clients.add(_TcpClient(self, self._loop, conn))

    def forget(self, client: _TcpClient) -> None:
        """`client`'s connection is closed."""
        self._clients.discard(client)


class _TcpClient:
    """One TCP connection: reads length-prefixed queries, writes replies in order."""

    def __init__(self, server: DnsServer, loop: asyncio.AbstractEventLoop,
                 conn: socket.socket) -> None:
        self._server, self._loop, self._conn = server, loop, conn
        self._inbox, self._outbox = bytearray(), bytearray()
        self._fd = conn.fileno()
        self._timer = self._loop.call_later(TCP_IDLE, self.close)
        self._loop.add_reader(self._fd, self._readable)

    def close(self) -> None:
        if self._fd < 0:
            return
        self._timer.cancel()
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._conn.close()
        self._fd = -1
        self._server.forget(self)

    def _readable(self) -> None:
        try:
            data = self._conn.recv(responder_dns.TCP_MAX + 2)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        self._inbox += data
        self._process()

    def _process(self) -> None:
        """Answer every complete query in the inbox, unless replies are still queued (then
        stop reading: a client that does not read its answers gets no more)."""
        while self._fd >= 0 and not self._outbox and len(self._inbox) >= 2:
            (size,) = struct.unpack("!H", self._inbox[:2])
            if len(self._inbox) < 2 + size:
                break
            query = bytes(self._inbox[2:2 + size])
            del self._inbox[:2 + size]
            self._timer.cancel()
            self._timer = self._loop.call_later(TCP_IDLE, self.close)
            reply = self._server.answer(query, tcp=True)
            if reply is not None:
                self._outbox += struct.pack("!H", len(reply)) + reply
                self._server.stats["sent"] += 1
                self._flush()
        if self._fd >= 0 and self._outbox:
            self._loop.remove_reader(self._fd)
            self._loop.add_writer(self._fd, self._writable)

    def _flush(self) -> None:
        try:
            sent = self._conn.send(self._outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._server.stats["send_errors"] += 1
            self.close()
            return
        del self._outbox[:sent]

    def _writable(self) -> None:
        self._flush()
        if self._fd >= 0 and not self._outbox:
            self._loop.remove_writer(self._fd)
            self._loop.add_reader(self._fd, self._readable)
            self._process()


def _reply_pktinfo(ancdata: list[tuple[int, int, bytes]]) -> list[tuple[int, int, bytes]]:
    """The control message that makes a reply leave from the query's destination address."""
    for level, kind, data in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= 12:
            # struct in_pktinfo {int ifindex; in_addr spec_dst; in_addr addr}: send from addr
            return [(level, kind, struct.pack("@i4s4s", 0, data[8:12], bytes(4)))]
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(data) >= 20:
            # struct in6_pktinfo {in6_addr addr; unsigned ifindex}: the same, as received
            return [(level, kind, data[:20])]
    return []


def _sockets(ifname: str) -> tuple[list[socket.socket], list[socket.socket]]:
    """Run inside the DHCP namespace: ([UDP v4, v6], [TCP v4, v6]); IPv6 is left out when
    the kernel has none."""
    udp: list[socket.socket] = []
    tcp: list[socket.socket] = []
    try:
        for family, wildcard in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            try:
                udp.append(_udp(family, wildcard, ifname))
            except OSError as exc:
                if family == socket.AF_INET6 and exc.errno == errno.EAFNOSUPPORT:
                    continue  # a kernel without IPv6
                raise
            tcp.append(_tcp(family, wildcard, ifname))
    except BaseException:
        for sock in (*udp, *tcp):
            sock.close()
        raise
    return udp, tcp


def _udp(family: socket.AddressFamily, wildcard: str, ifname: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        _common(sock, family, ifname)
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        sock.bind((wildcard, PORT))
    except BaseException:
        sock.close()
        raise
    return sock


def _tcp(family: socket.AddressFamily, wildcard: str, ifname: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        _common(sock, family, ifname)
        sock.bind((wildcard, PORT))
        sock.listen(TCP_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _common(sock: socket.socket, family: socket.AddressFamily, ifname: str) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.setblocking(False)

