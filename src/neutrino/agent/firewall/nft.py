"""The shell around `compile`: read what the kernel has, write the difference with `nft -f -`.

Level-triggered (STYLE habits 5-7): every `apply` reads the kernel. Both of our tables carry
`static_digest(spec)` (the comment of an empty `spec_digest` set); `nft -j list set` returns
those digests and the elements of the spec's sets. A missing object means "not this spec":
full replace. Equal digests and equal elements: nothing to
do. Equal digests: element commands only. Otherwise (tables missing, flushed, or different
rules): one atomic replace of both tables. Only `table inet neutrino` and `table bridge
neutrino` are ever written or read.

What the digest cannot see: someone editing a chain *inside* our tables without touching the
digest set. A full replace every `resync` (the loop's periodic full reconcile) covers that.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import replace
from typing import Any, Final

from neutrino.agent.firewall.compile import (
    DIGEST_SET,
    FirewallSpec,
    collapsed,
    render,
    set_updates,
    static_digest,
)
from neutrino.agent.names import NFT_TABLE

__all__ = ["Firewall", "FirewallError"]

# br_netfilter must hand bridged IP traffic to the inet hooks, or nothing is stateful.
SYSCTLS: Final = ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables")


class FirewallError(RuntimeError):
    """nft refused a script (or could not run). `stderr` is nft's own explanation, for the
    port status reason."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(f"{message}: {stderr.strip()}" if stderr else message)
        self.stderr = stderr


class Firewall:
    """One host's (or one namespace's) security-group firewall."""

    def __init__(self, netns: str | None = None, nft: str = "nft") -> None:
        self.netns = netns
        self.nft = nft
        self.last_script: str | None = None  # what the last apply wrote (None: nothing)
        self._sysctls_done = False

    def apply(self, spec: FirewallSpec, *, full: bool = False) -> None:
        """Make the kernel match `spec`; `full=True` rewrites the tables even if they look
        equal (the periodic resync). Raises FirewallError with nft's stderr on failure."""
        self.last_script = None
        if not self._sysctls_done or full:
            self._enable_br_netfilter()
        if not full:
            script = self._incremental(spec)
            if script == "":
                return
            if script is not None:
                try:
                    self._run(script)
                    self.last_script = script
                    return
                except FirewallError:
                    pass  # e.g. a set changed under us: the full replace below is the baseline
        script = render(spec)
        self._run(script)
        self.last_script = script

    def remove(self) -> None:
        """Delete our tables (absent ones are fine); nothing else is touched."""
        self._run("".join(f"add table {f} {NFT_TABLE}\ndelete table {f} {NFT_TABLE}\n"
                          for f in ("inet", "bridge")))

    def _incremental(self, spec: FirewallSpec) -> str | None:
        """Element commands from the kernel's sets to `spec`'s, "" when equal, None when the
        kernel's tables are not (this digest of) `spec`."""
        digests, elements = self._read(spec)
        digest = static_digest(spec)
        if digests.get("inet") != digest or digests.get("bridge") != digest:
            return None
        if any(s.name not in elements for s in spec.sets):
            return None
        actual = replace(spec, sets=tuple(
            replace(s, elements=collapsed(elements[s.name], s.version)) for s in spec.sets))
        return set_updates(actual, spec)

    def _read(self, spec: FirewallSpec) -> tuple[dict[str, str], dict[str, list[str]]]:
        """(family -> digest of our table, set name -> elements), from the kernel; what is
        missing is absent. One `nft -j list set` per object, run concurrently: nft 1.0.6
        cannot list two sets in one batch (its cache filter keeps only the last), and
        `list sets` fetches every map and chain too (150 ms instead of 10 at 1,000 ports)."""
        wanted = [("inet", DIGEST_SET), ("bridge", DIGEST_SET),
                  *(("inet", s.name) for s in spec.sets)]
        procs = [self._start([self.nft, "-j", "list", "set", family, NFT_TABLE, name])
                 for family, name in wanted]
        digests: dict[str, str] = {}
        elements: dict[str, list[str]] = {}
        for proc in procs:
            out, _ = proc.communicate(timeout=60)
            if proc.returncode != 0:
                continue
            for item in json.loads(out).get("nftables", []):
                s = item.get("set")
                if not s or s.get("table") != NFT_TABLE:
                    continue
                if s.get("name") == DIGEST_SET:
                    digests[str(s.get("family"))] = str(s.get("comment", ""))
                else:
                    elements[str(s["name"])] = [a for e in s.get("elem", []) for a in _element(e)]
        return digests, elements

    def _start(self, argv: list[str]) -> subprocess.Popen[str]:
        cmd = ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv
        try:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        except OSError as exc:
            raise FirewallError(f"cannot run {cmd[0]}", str(exc)) from exc

    def _enable_br_netfilter(self) -> None:
        done = self._exec(["sysctl", "-q", "-w", *(f"{k}=1" for k in SYSCTLS)])
        if done.returncode != 0:
            raise FirewallError("cannot enable br_netfilter (is it loaded?)", done.stderr)
        self._sysctls_done = True

    def _run(self, script: str) -> None:
        done = self._exec([self.nft, "-f", "-"], script)
        if done.returncode != 0:
            raise FirewallError("nft refused the firewall script", done.stderr)

    def _exec(self, argv: list[str], stdin: str | None = None
              ) -> subprocess.CompletedProcess[str]:
        cmd = ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv
        try:
            return subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                                  timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FirewallError(f"cannot run {cmd[0]}", str(exc)) from exc


def _element(value: Any) -> list[str]:
    """One element of `nft -j` output as address or network texts."""
    if isinstance(value, dict):
        if "elem" in value:
            return _element(value["elem"].get("val"))
        if "prefix" in value:
            return [f"{value['prefix']['addr']}/{value['prefix']['len']}"]
        if "range" in value:
            low, high = (ipaddress.ip_address(a) for a in value["range"])
            return [str(n) for n in ipaddress.summarize_address_range(low, high)]
    return [str(value)]
