"""The `dnsmasq` DHCP driver: one dnsmasq per network, in the network's DHCP namespace, fed
and reloaded exactly as Neutron's DHCP agent feeds and reloads it (files rendered by
`dnsmasq_files`). It is the reference the built-in server is measured against, and the
choice for operators who trust dnsmasq more than our own server.

Convergence per network: the namespace and veth (`plumbing.ensure`), then the hosts,
additional hosts (the names its DNS answers) and options files (written only when their
content changes, temp file + rename), then the process: started when not running,
SIGHUPed when a file changed (Neutron's `reload_allocations`: dnsmasq rereads the files and
clears its DNS cache, keeps its leases, keeps its pid), restarted when its command line
changed (subnets, MTU, lease time, domain). A network no longer desired loses its process,
namespace and directory.

Our processes are found by their pid files and trusted only when /proc/<pid>/cmdline is a
dnsmasq using that very pid file: a recycled pid is never signalled. dnsmasq daemonizes, so
it outlives an agent restart and is adopted by the next one (and SIGHUPed once, in case the
files changed in between).

dnsmasq drops root for `nobody` before it reads its hosts and options files, so they live
in world-readable files in a world-traversable directory. When the state directory is not
reachable that way (a data dir under /root, a pytest tmp_path), dnsmasq runs with
`--user=root` instead, with a warning: DHCP that works beats DHCP that silently has no hosts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from neutrino.agent.dhcp import DhcpNetwork, plumbing
from neutrino.agent.dhcp.dnsmasq_files import (
    Files,
    addn_hosts_file,
    command_line,
    hosts_file,
    init_leases_file,
    opts_file,
    ranged_subnets,
)
from neutrino.agent.dhcp.plumbing import ns_interface

logger = logging.getLogger("neutrino.agent.dhcp.dnsmasq")

DEFAULT_STATE_DIR = Path("/var/lib/neutrino")
SUBDIR = "dnsmasq"  # ours inside the state dir: one directory per network, named by its id
START_TIMEOUT = 30.0  # s for dnsmasq to daemonize (it exits only once it serves, or fails)
STOP_TIMEOUT = 5.0  # s between SIGTERM and SIGKILL
NETNS_DIR = "/run/netns"  # where `ip netns add` mounts named namespaces


class DnsmasqError(RuntimeError):
    """dnsmasq would not start (its own message), or some networks failed to converge."""


class DnsmasqDhcp:
    """`DhcpDriver` with dnsmasq. `host_netns`: where the bridges are (None: the agent's own
    namespace; tests pass one). `state_dir`: the agent's data dir."""

    def __init__(self, host_netns: str | None = None, state_dir: Path | None = None) -> None:
        self._host_netns = host_netns
        self._root = (state_dir or DEFAULT_STATE_DIR) / SUBDIR
        self._adopted: set[str] = set()  # networks whose process this instance has HUPed/run
        self._warned = False

    def sync(self, networks: Sequence[DhcpNetwork]) -> None:
        """Converge every network even when one fails; raise once, naming all failures."""
        self._root.mkdir(parents=True, exist_ok=True)
        self._root.chmod(0o755)
        user = None if _reachable_by_others(self._root) else "root"
        if user is not None and not self._warned:
            self._warned = True
            logger.warning("%s is not world-traversable: dnsmasq runs as root so that it "
                           "can read its hosts file", self._root)
        failures: list[str] = []
        wanted = {n.network_id for n in networks}
        for network in networks:
            try:
                self._serve(network, user)
            except Exception as exc:  # one network's trouble must not stall the others
                logger.exception("DHCP for network %s", network.network_id)
                failures.append(f"{network.network_id}: {exc}")
        stale = (self._known() | set(plumbing.present(self._host_netns))) - wanted
        for network_id in sorted(stale):
            try:
                self._retire(network_id)
            except Exception as exc:
                logger.exception("retiring DHCP for network %s", network_id)
                failures.append(f"{network_id}: {exc}")
        if failures:
            raise DnsmasqError("; ".join(failures))

    def close(self) -> None:
        """Stop every dnsmasq of ours; namespaces, files and leases stay for the next start."""
        for network_id in self._known():
            stop(self._files(network_id))
        self._adopted.clear()

    # ----------------------------------------------------------------------- per network
    def _files(self, network_id: str) -> Files:
        return Files(self._root / network_id)

    def _known(self) -> set[str]:
        if not self._root.is_dir():
            return set()
        return {p.name for p in self._root.iterdir() if p.is_dir()}

    def _serve(self, network: DhcpNetwork, user: str | None) -> None:
        files = self._files(network.network_id)
        pid = running(files)
        if pid is not None and not in_netns(pid, network.netns):
            # Its namespace was deleted under it: it serves one nobody can reach, and holds
            # that namespace's end of our veth. Stopped first, so the veth goes with it.
            logger.info("dnsmasq for %s lost its namespace", network.network_id)
            stop(files)
        plumbing.ensure(network, self._host_netns)
        files.directory.mkdir(exist_ok=True)
        files.directory.chmod(0o755)
        if not ranged_subnets(network):  # only SLAAC subnets: the router's RAs do it all
            stop(files)
            return
        changed = replace_file(files.host, hosts_file(network))
        changed = replace_file(files.addn_hosts, addn_hosts_file(network)) or changed
        changed = replace_file(files.opts, opts_file(network)) or changed
        argv = command_line(network, files, ns_interface(network.interface), user)
        pid = running(files)
        if pid is not None and read_cmdline(pid) != argv:
            logger.info("restarting dnsmasq for %s: new subnets, MTU, lease time or domain",
                        network.network_id)
            stop(files)
            pid = None
        if pid is None:
            replace_file(files.leases, init_leases_file(network))
            start(network.netns, argv, files)
        elif changed or network.network_id not in self._adopted:
            os.kill(pid, signal.SIGHUP)
        self._adopted.add(network.network_id)

    def _retire(self, network_id: str) -> None:
        files = self._files(network_id)
        stop(files)
        plumbing.remove(network_id, self._host_netns)
        shutil.rmtree(files.directory, ignore_errors=True)
        self._adopted.discard(network_id)


# --------------------------------------------------------------------------- process
def start(netns: str, argv: list[str], files: Files) -> int:
    """Start dnsmasq in `netns`; return its pid once it serves. dnsmasq's foreground process
    exits only after the daemon has bound its sockets and written its pid file, with a
    non-zero status and a message when it could not."""
    files.pid.unlink(missing_ok=True)
    done = subprocess.run(["ip", "netns", "exec", netns, *argv], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=START_TIMEOUT)
    if done.returncode != 0:
        raise DnsmasqError(f"dnsmasq in {netns} exited {done.returncode}: "
                           f"{done.stderr.strip() or done.stdout.strip()}")
    pid = running(files)
    if pid is None:
        raise DnsmasqError(f"dnsmasq in {netns} started but is not running")
    return pid


def stop(files: Files) -> None:
    """SIGTERM our dnsmasq (SIGKILL when it lingers) and forget its pid file."""
    pid = running(files)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while read_cmdline(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if read_cmdline(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    files.pid.unlink(missing_ok=True)


def running(files: Files) -> int | None:
    """The pid in `files.pid` when it is alive and is a dnsmasq using that pid file."""
    try:
        pid = int(files.pid.read_text().strip())
    except (OSError, ValueError):
        return None
    argv = read_cmdline(pid)
    ours = bool(argv) and Path(argv[0]).name == "dnsmasq" and f"--pid-file={files.pid}" in argv
    return pid if ours else None


def read_cmdline(pid: int) -> list[str]:
    """A process's argv; [] when it is gone (or a zombie, whose cmdline is empty)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1] if raw else []


def in_netns(pid: int, netns: str) -> bool:
    """Is process `pid` in the named network namespace (`ip netns`'s bind mount)?"""
    try:
        theirs = os.stat(f"/proc/{pid}/ns/net")
        named = os.stat(f"{NETNS_DIR}/{netns}")
    except OSError:
        return False
    return (theirs.st_dev, theirs.st_ino) == (named.st_dev, named.st_ino)


# --------------------------------------------------------------------------- files
def replace_file(path: Path, content: str) -> bool:
    """Write `content` atomically (temp file + rename, as Neutron's replace_file), readable
    by dnsmasq's unprivileged user; False, and nothing written, when it is already there."""
    try:
        if path.read_text() == content:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def _reachable_by_others(directory: Path) -> bool:
    """Can a user other than root (dnsmasq's `nobody`) traverse down to `directory`?"""
    for part in (directory.resolve(), *directory.resolve().parents):
        if not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True
