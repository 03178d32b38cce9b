"""The versioned agent protocol: what server and agent say to each other.

Shared by both sides and imported by neither's internals, so it stays small and stable
(DESIGN decision 8). Everything here is a frozen dataclass with a JSON form.
"""

from neutrino.wire.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION, SUPPORTED_MAJORS, check
from neutrino.wire.snapshot import (
    AgentReport,
    HostSnapshot,
    PortStatus,
    RemotePort,
    SnapshotNetwork,
    SnapshotPeer,
    SnapshotPort,
    SnapshotRule,
    SnapshotSubnet,
)

__all__ = [
    "PROTOCOL_HEADER",
    "PROTOCOL_VERSION",
    "SUPPORTED_MAJORS",
    "AgentReport",
    "HostSnapshot",
    "PortStatus",
    "RemotePort",
    "SnapshotNetwork",
    "SnapshotPeer",
    "SnapshotPort",
    "SnapshotRule",
    "SnapshotSubnet",
    "check",
]
