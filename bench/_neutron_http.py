"""A minimal Neutron v2.0 client over http.client with noauth headers, for the benchmarks that
must also run against real Neutron with nothing but the standard library."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any


class Client:
    """One keep-alive connection; `call` answers (status, parsed JSON or None)."""

    def __init__(self, url: str, project_id: str, *, timeout: float = 120) -> None:
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80,
                                               timeout=timeout)
        self.headers = {"X-Project-Id": project_id, "X-Roles": "admin",
                        "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.conn.request(method, "/v2.0" + path,
                          body=None if body is None else json.dumps(body), headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
