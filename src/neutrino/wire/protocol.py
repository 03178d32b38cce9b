"""Protocol versions: an agent names the version it speaks on every request; the server
answers the majors it supports and refuses others with a message that says what to upgrade."""

from __future__ import annotations

from neutrino.domain.errors import BadRequest

PROTOCOL_HEADER = "X-Neutrino-Protocol"
PROTOCOL_VERSION = "1.2"  # what this code speaks: major.minor (minor = compatible additions)
# 1.1: networks carry their DHCP port and dns_domain, ports their extra_dhcp_opts and dns_name.
# 1.2: networks served with DHCP carry their `peers` (the ports not bound to the host), for DNS.
SUPPORTED_MAJORS = (1,)  # what this server accepts


def check(version: str | None) -> int:
    """The major version a peer asked for (ours when it said none), or 400 if unsupported."""
    if version is None:
        return SUPPORTED_MAJORS[-1]
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) not in SUPPORTED_MAJORS:
        supported = ", ".join(str(v) for v in SUPPORTED_MAJORS)
        raise BadRequest(
            f"agent protocol version {version} is not supported by this server "
            f"(supported major versions: {supported}); upgrade the agent or the server",
            type_name="IncompatibleProtocolVersion",
        )
    return int(major)
