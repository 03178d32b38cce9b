"""A raw netlink socket in a chosen namespace: the framing rtnetlink (`linux/rtnl.py`) and
nf_tables / conntrack (`firewall/netlink.py`) share.

Why raw and not pyroute2 on these paths: they are the agent's hot reads and writes (a
1,000-port L2 diff, a set-element change), where pyroute2's generic message objects cost
more than the kernel's work; see those modules for figures. Everything else uses pyroute2.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from typing import Final

from neutrino.agent.inns import run_in_netns

NETLINK_ROUTE: Final = 0
NETLINK_NETFILTER: Final = 12
NLMSG_ERROR: Final = 2
NLMSG_DONE: Final = 3
NLM_F_REQUEST: Final = 0x1
NLM_F_MULTI: Final = 0x2
NLM_F_ACK: Final = 0x4
NLM_F_DUMP_INTR: Final = 0x10
NLM_F_DUMP: Final = 0x300
HDR: Final = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid


class NetlinkError(OSError):
    """The kernel refused a request (errno), or the socket failed."""


def netlink_socket(netns: str | None, protocol: int,
                   kind: int = socket.SOCK_DGRAM) -> socket.socket:
    """A netlink socket of namespace `netns` (None: ours). It stays in the namespace it was
    made in, so a short-lived thread that entered `netns` makes it (`inns`); pyroute2's
    `netns=` forks a helper process for this instead (~7 ms a socket)."""
    def make() -> socket.socket:
        return socket.socket(socket.AF_NETLINK, kind, protocol)
    return make() if netns is None else run_in_netns(netns, make)


class NetlinkSocket:
    """One netlink socket: numbered requests and the messages that answer them. Not
    thread-safe (one per thread, or a lock around it)."""

    def __init__(self, netns: str | None, protocol: int, receive_buffer: int,
                 kind: int = socket.SOCK_DGRAM) -> None:
        self.sock = netlink_socket(netns, protocol, kind)
        self.sock.settimeout(10)
        self.sock.bind((0, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.seq = 0
        self.interrupted = False  # the last answer had NLM_F_DUMP_INTR (a dump to redo)

    def close(self) -> None:
        self.sock.close()

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def request(self, kind: int, flags: int, body: bytes) -> int:
        """Send one message (NLM_F_REQUEST added); its seq."""
        seq = self.next_seq()
        self.sock.send(HDR.pack(HDR.size + len(body), kind, NLM_F_REQUEST | flags, seq, 0)
                       + body)
        return seq

    def answers(self, seq: int, ack: bool) -> Iterator[bytes]:
        """The payloads answering request `seq`, until its dump's DONE, its ack (`ack`), or
        its one reply (neither). NetlinkError with the kernel's errno on a refusal."""
        self.interrupted = False
        while True:
            for got, kind, flags, payload in self.receive():
                if got != seq:
                    continue  # a late answer to an earlier, abandoned request
                self.interrupted = self.interrupted or bool(flags & NLM_F_DUMP_INTR)
                if kind == NLMSG_ERROR:
                    check(payload)
                    return
                if kind == NLMSG_DONE:
                    return
                yield payload
                if not flags & NLM_F_MULTI and not ack:
                    return

    def receive(self) -> Iterator[tuple[int, int, int, bytes]]:
        """(seq, type, flags, payload) of each message in one datagram."""
        try:
            data = self.sock.recv(1 << 20)
        except OSError as exc:
            raise NetlinkError(exc.errno or errno.EIO, f"netlink: {exc}") from exc
        pos = 0
        while pos + HDR.size <= len(data):
            length, kind, flags, seq, _ = HDR.unpack_from(data, pos)
            if length < HDR.size:
                return
            yield seq, kind, flags, data[pos + HDR.size:pos + length]
            pos += (length + 3) & ~3


def check(error_payload: bytes, what: str = "") -> None:
    """Raise NetlinkError for an NLMSG_ERROR payload that carries an errno (0 is an ack)."""
    code = -struct.unpack_from("=i", error_payload)[0]
    if code:
        raise NetlinkError(code, os.strerror(code) + (f" ({what})" if what else ""))
