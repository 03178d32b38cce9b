"""The shell around the pure modules: read what the kernel has, write the difference.

Level-triggered (STYLE habits 5-7): every `apply` reads the kernel. Both of our tables carry
`static_digest(spec)` (the comment of an empty `spec_digest` set). A missing object means
"not this spec": full replace. Equal digests and equal elements: nothing to do. Equal digests:
element changes only. Otherwise (tables missing, flushed, or different rules): one atomic
replace of both tables with `nft -f`. Only `table inet neutrino` and `table bridge neutrino`
are ever written or read.

The reads and the element changes go over raw netlink (`netlink.py` says why: a one-element
`nft -f` spends ~14 ms filling nft's cache of 4,000 chains). The digest of a spec is cached
against the spec's static part (rendering the bare script to hash it is ~15 ms at 1,000
ports); the kernel's stored digest is still read and compared on every apply.

After a change that allows less, `conntrack.forget` deletes the connection tracking entries
that only the removed rules or members allowed, as Neutron does: an `established` packet is
accepted before any rule, so they would otherwise live on. That needs the spec this object
applied last; after a restart the first apply forgets nothing.

What the digest cannot see: someone editing a chain *inside* our tables without touching the
digest set. A full replace every `resync` (the loop's periodic full reconcile) covers that.
"""

from __future__ import annotations

import subprocess
from typing import Final

from neutrino.agent.firewall import conntrack, intervals
from neutrino.agent.firewall.netlink import NetlinkError, NftNetlink
from neutrino.agent.firewall.render import DIGEST_SET, render, static_digest
from neutrino.agent.firewall.spec import FirewallSpec
from neutrino.agent.names import NFT_TABLE

__all__ = ["Firewall", "FirewallError"]

# br_netfilter must hand bridged IP traffic to the inet hooks, or nothing is stateful.
SYSCTLS: Final = ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables")

_Change = tuple[str, str, int, list[intervals.Interval]]  # verb, set, version, intervals


class FirewallError(RuntimeError):
    """nft refused a script (or could not run). `stderr` is nft's own explanation, for the
    port status reason."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(f"{message}: {stderr.strip()}" if stderr else message)
        self.stderr = stderr


class Firewall:
    """One host's (or one namespace's) security-group firewall. Not thread-safe."""

    def __init__(self, netns: str | None = None, nft: str = "nft",
                 forget_connections: bool = True) -> None:
        self.netns = netns
        self.nft = nft
        self.forget_connections = forget_connections
        self.last_script: str | None = None  # what the last apply wrote, in nft syntax
        self.forgotten = 0  # conntrack entries the last apply deleted
        self._sysctls_done = False
        self._netlink: NftNetlink | None = None
        self._digest_of: tuple[object, str] | None = None  # (static key, its digest)
        self._applied: FirewallSpec | None = None  # what this object last wrote
        self._removed = True  # whether the last write may have allowed less

    def apply(self, spec: FirewallSpec, *, full: bool = False) -> None:
        """Make the kernel match `spec`; `full=True` rewrites the tables even if they look
        equal (the periodic resync). Raises FirewallError with nft's stderr on failure."""
        self.last_script = None
        self.forgotten = 0
        self._removed = True  # until an element-only change says nothing was deleted
        if not self._sysctls_done or full:
            self._enable_br_netfilter()
        digest = self._digest(spec)
        if full or not self._incremental(spec, digest):
            script = render(spec, digest)
            self._run(script)
            self.last_script = script
        before, self._applied = self._applied, spec
        if (self.forget_connections and before is not None and self.last_script is not None
                and self._removed):
            try:
                self.forgotten = conntrack.forget(self.netns, conntrack.revoked(before, spec))
            except OSError as exc:
                raise FirewallError("cannot delete conntrack entries", str(exc)) from exc

    def remove(self) -> None:
        """Delete our tables (absent ones are fine); nothing else is touched."""
        self._applied = None
        self._run("".join(f"add table {f} {NFT_TABLE}\ndelete table {f} {NFT_TABLE}\n"
                          for f in ("inet", "bridge")))

    def close(self) -> None:
        """Close the netlink socket (the next apply opens a new one)."""
        if self._netlink is not None:
            self._netlink.close()
            self._netlink = None

    def _digest(self, spec: FirewallSpec) -> str:
        key = (spec.ports, spec.groups, tuple((s.group_id, s.version) for s in spec.sets))
        if self._digest_of is None or self._digest_of[0] != key:
            self._digest_of = (key, static_digest(spec))
        return self._digest_of[1]

    def _incremental(self, spec: FirewallSpec, digest: str) -> bool:
        """Bring the kernel's sets to `spec`'s when its tables are (this digest of) `spec`:
        True when done (or nothing to do), False when a full replace is needed."""
        try:
            nl = self._netlink = self._netlink or NftNetlink(self.netns)
            if (nl.set_comment("inet", NFT_TABLE, DIGEST_SET) != digest
                    or nl.set_comment("bridge", NFT_TABLE, DIGEST_SET) != digest):
                return False
            deletes: list[_Change] = []
            adds: list[_Change] = []
            for s in spec.sets:
                have = nl.set_intervals("inet", NFT_TABLE, s.name, s.version)
                if have is None:
                    return False
                gone, came = intervals.changes(have, s.elements)
                if gone:
                    deletes.append(("delete", s.name, s.version, gone))
                if came:
                    adds.append(("add", s.name, s.version, came))
            self._removed = bool(deletes)
            if deletes or adds:
                # deletions first: a host replaced by a network that covers it never overlaps
                nl.change_elements("inet", NFT_TABLE, deletes + adds)
                self.last_script = "".join(
                    f"{verb} element inet {NFT_TABLE} {name} "
                    f"{{ {', '.join(intervals.text(i, version) for i in spans)} }}\n"
                    for verb, name, version, spans in deletes + adds)
            return True
        except (NetlinkError, OSError):
            self.close()  # a fresh socket next time; the full replace is the baseline
            return False

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
