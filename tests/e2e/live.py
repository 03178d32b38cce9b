"""Live processes for end-to-end tests: a real Keystone and `neutrino serve`, over loopback.

Keystone comes from PyPI, installed by `scripts/ensure-keystone.sh` into its own venv (run here
when missing, so a bare `pytest` works too), with SQLite and fernet keys in a temp directory and
`keystone-manage db_sync` + `bootstrap`, as an operator would. Every process is started in its
own session and stopped by its PID when the `with` block ends, also on failure.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEYSTONE_VENV = Path(os.environ.get("NEUTRINO_KEYSTONE_VENV", ROOT / ".cache/keystone-venv"))
ADMIN_PASSWORD = "e2e-admin-pw"
QUIET = {**os.environ, "PYTHONWARNINGS": "ignore"}  # eventlet's deprecation banner


@dataclass(frozen=True)
class Keystone:
    url: str  # http://127.0.0.1:PORT (the v3 API is at url + "/v3")
    admin_user: str = "admin"
    admin_password: str = ADMIN_PASSWORD
    admin_project: str = "admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """End a process we started (by its PID): TERM, then KILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Poll `url` until it answers 200; fail with the process's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s:\n{log.read_text()}")


def ensure_keystone_installed() -> Path:
    if not (KEYSTONE_VENV / "bin/keystone-manage").exists():
        subprocess.run([str(ROOT / "scripts/ensure-keystone.sh")], check=True)
    return KEYSTONE_VENV


def _fernet_keys(repo: Path) -> None:
    """A key repository as `keystone-manage fernet_setup` leaves it: 0 staged, 1 primary."""
    repo.mkdir(mode=0o700)
    for name in ("0", "1"):
        (repo / name).write_bytes(base64.urlsafe_b64encode(os.urandom(32)))


def _keystone_conf(work: Path) -> Path:
    for repo in ("fernet", "credential", "receipts"):
        _fernet_keys(work / repo)
    conf = work / "keystone.conf"
    conf.write_text(f"""\
[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///{work / 'keystone.sqlite'}
[token]
provider = fernet
[fernet_tokens]
key_repository = {work / 'fernet'}
[fernet_receipts]
key_repository = {work / 'receipts'}
[credential]
key_repository = {work / 'credential'}
[identity]
password_hash_algorithm = bcrypt
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory
""")
    return conf


@contextmanager
def running_keystone(work: Path) -> Iterator[Keystone]:
    """A bootstrapped Keystone on a free loopback port (admin/admin, roles admin, manager,
    member, reader, service), stopped on exit. The server imports while the database is
    migrated and bootstrapped, which halves the start-up time."""
    venv = ensure_keystone_installed()
    work.mkdir(parents=True, exist_ok=True)
    conf = _keystone_conf(work)
    manage = [str(venv / "bin/keystone-manage"), "--config-file", str(conf)]
    url = f"http://127.0.0.1:{free_port()}"
    log = work / "keystone.log"
    env = {**QUIET, "OS_KEYSTONE_CONFIG_DIR": str(work),
           "OS_KEYSTONE_CONFIG_FILES": "keystone.conf"}
    with log.open("a") as out:
        proc = subprocess.Popen(
            [str(venv / "bin/python"), str(Path(__file__).with_name("keystone_server.py")),
             url.rsplit(":", 1)[1]],
            stdout=subprocess.DEVNULL, stderr=out, env=env, start_new_session=True,
        )
    try:
        with log.open("a") as out:
            for step in (["db_sync"],
                         ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                          "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
                          "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
                          "--bootstrap-region-id", "RegionOne",
                          "--bootstrap-public-url", f"{url}/v3"]):
                subprocess.run([*manage, *step], check=True, stdout=out, stderr=out, env=QUIET)
        wait_http(f"{url}/v3", proc, log)
        yield Keystone(url=url)
    finally:
        stop(proc)


@contextmanager
def running_neutrino(work: Path, config: str, port: int) -> Iterator[str]:
    """`neutrino --config <config> serve` on 127.0.0.1:`port`, stopped on exit."""
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "neutrino.toml"
    conf.write_text(config)
    log = work / "neutrino.log"
    env = {k: v for k, v in QUIET.items() if not k.startswith("NEUTRINO_")}
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "neutrino.cmd.main", "--config", str(conf), "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/", proc, log)
        yield url
    finally:
        stop(proc)
