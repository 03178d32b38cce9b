"""The agent's HTTP client for the server: heartbeat, host snapshot, port status, change log.

Every request names the agent protocol version (`X-Neutrino-Protocol`, DESIGN decision 8).
Errors are sorted by what the loop must do about them: `ProtocolRefused` stops the agent (the
server will never accept this version; retrying is pointless), `TooOld` means "resync, then
resume from `resume_from`", and `ServerUnavailable` is everything worth retrying with backoff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from neutrino import wire

AGENT_PROJECT = "neutrino-agent"


class ProtocolRefused(Exception):
    """The server does not speak our protocol version: stop, with the server's message."""


class TooOld(Exception):
    """The change log no longer holds entries after `since`: resync, then resume from
    `resume_from`."""

    def __init__(self, message: str, resume_from: int) -> None:
        super().__init__(message)
        self.resume_from = resume_from


class ServerUnavailable(Exception):
    """The request failed in a way a later retry may fix (network, 5xx, an unexpected 4xx)."""


@dataclass(frozen=True, slots=True)
class ChangeNote:
    """What the agent keeps of a change-log entry: which resource changed. Never its body: an
    event only means "look again" (STYLE habit 5)."""

    seq: int
    resource: str
    resource_id: str
    op: str


class Credentials(Protocol):
    """Where identity headers come from: the hook for Keystone (a token provider that fetches
    and renews a token) next to the noauth default."""

    async def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class NoAuthCredentials:
    """noauth (loopback): the server trusts these headers; the `service` role may watch the
    change log, read host snapshots and report status."""

    project_id: str = AGENT_PROJECT

    async def headers(self) -> dict[str, str]:
        return {"X-Roles": "service", "X-Project-Id": self.project_id}


@dataclass(frozen=True)
class TokenCredentials:
    """A fixed Keystone token (e.g. `$OS_TOKEN`). A renewing provider fits the same shape."""

    token: str

    async def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}


class Client:
    """Async client for one server. `watch` long-polls, so the read timeout is the poll's
    timeout plus a margin: a long-poll must never look like a dead server."""

    def __init__(self, url: str, credentials: Credentials | None = None, *,
                 request_timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.credentials: Credentials = credentials or NoAuthCredentials()
        self.request_timeout = request_timeout
        self._http = httpx.AsyncClient(
            base_url=self.url, timeout=request_timeout, transport=transport,
            headers={wire.PROTOCOL_HEADER: wire.PROTOCOL_VERSION})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def report(self, report: wire.AgentReport) -> None:
        await self._call("POST", "/v2.0/neutrino/agents", json={"agent": report.to_json()})

    async def snapshot(self, host: str) -> wire.HostSnapshot:
        body = await self._call("GET", f"/v2.0/neutrino/hosts/{host}/snapshot")
        return wire.HostSnapshot.from_json(body.get("snapshot", body))

    async def port_status(self, status: wire.PortStatus) -> None:
        await self._call("PUT", f"/v2.0/neutrino/ports/{status.port_id}/status",
                         json={"status": status.to_json()})

    async def watch(self, since: int, timeout: float) -> tuple[list[ChangeNote], int]:
        """Changes after `since` (waiting up to `timeout` s for one), and the seq to resume
        from: the last change's, or the log's head when there were none."""
        body = await self._call("GET", "/v2.0/changes",
                                params={"since": since, "timeout": timeout},
                                timeout=timeout + self.request_timeout)
        notes = [ChangeNote(seq=int(c["seq"]), resource=str(c["resource"]),
                            resource_id=str(c["resource_id"]), op=str(c["op"]))
                 for c in body.get("changes", ())]
        resume = notes[-1].seq if notes else int(body.get("last_seq", since))
        return notes, resume

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: dict[str, Any] | None = None,
                    timeout: float | None = None) -> dict[str, Any]:
        headers = await self.credentials.headers()
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=headers,
                timeout=timeout if timeout is not None else self.request_timeout)
        except httpx.HTTPError as exc:
            raise ServerUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            if not response.content:
                return {}
            data = response.json()
            return data if isinstance(data, dict) else {}
        error_type, message, detail = _neutron_error(response)
        if response.status_code == 400 and error_type == "IncompatibleProtocolVersion":
            raise ProtocolRefused(message)
        if response.status_code == 410 and error_type == "ChangesTooOld":
            found = re.search(r"resume_from=(\d+)", f"{detail} {message}")
            raise TooOld(message, int(found.group(1)) if found else 0)
        raise ServerUnavailable(
            f"{method} {path}: {response.status_code} {error_type}: {message}")


def _neutron_error(response: httpx.Response) -> tuple[str, str, str]:
    """(type, message, detail) from Neutron's error body, or the raw text."""
    try:
        err = response.json().get("NeutronError", {})
        return str(err.get("type", "")), str(err.get("message", "")), str(err.get("detail", ""))
    except (ValueError, AttributeError):
        return "", response.text[:200], ""
