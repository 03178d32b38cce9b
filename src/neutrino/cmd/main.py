"""`neutrino` command line: serve, up, agent, plug, unplug, db upgrade."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

from neutrino.cmd import bootstrap, config

if TYPE_CHECKING:
    from neutrino.cmd.agent import AgentOptions

GRACEFUL_SHUTDOWN_S = 3  # uvicorn's wait for open requests (long-polls) when told to stop


def _serve(args: argparse.Namespace, settings: config.Settings) -> int:
    import uvicorn

    if settings.auth == "noauth" and not _is_loopback(settings.host) and not args.force_noauth:
        print("refusing to serve noauth on a non-loopback address; pass --force-noauth",
              file=sys.stderr)
        return 2
    bootstrap.authenticator(settings)  # a bad auth config stops here, before any worker starts
    bootstrap.prepare_schema(bootstrap.engine_for(settings))
    # Workers are separate processes: hand them the settings through the environment.
    os.environ["NEUTRINO_DB_URL"] = settings.database_url
    os.environ["NEUTRINO_DATA_DIR"] = str(settings.data_dir)
    os.environ["NEUTRINO_AUTH"] = settings.auth
    if args.config:
        os.environ["NEUTRINO_CONFIG"] = args.config
    print(f"neutrino serving http://{settings.host}:{settings.port} "
          f"({settings.workers} worker(s), db {_safe(settings.database_url)})", flush=True)
    uvicorn.run(
        "neutrino.cmd.asgi:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        loop="uvloop",
        http="httptools",
        # Long-polls (agents' watches) would hold a graceful shutdown for their full timeout;
        # the agents reconnect anyway.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return 0


def _up(args: argparse.Namespace, settings: config.Settings) -> int:
    """Server, plus an agent for this machine when we may touch its kernel (root)."""
    from neutrino.cmd import agent

    why_not = "--no-agent" if args.no_agent else agent.can_run_agent()
    if why_not:
        print(f"neutrino up: no local agent ({why_not}); serving the API alone", flush=True)
        return _serve(args, settings)
    host = args.agent_host or socket.gethostname()
    server = f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}:" \
             f"{settings.port}"
    config_flag = ["--config", args.config] if args.config else []
    cmd = [sys.executable, "-m", "neutrino.cmd.main", *config_flag, "agent", "--host", host,
           "--server", server, "--local-ip", args.local_ip]
    print(f"neutrino up: agent for host {host} (local ip {args.local_ip})", flush=True)
    # uvicorn re-raises the SIGTERM it shut down for; with the default disposition that ends
    # this process at once, before `finally` stops the agent, which would live on orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    proc = subprocess.Popen(cmd)
    try:
        return _serve(args, settings)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def agent_options(args: argparse.Namespace) -> AgentOptions:
    """The agent's options: defaults < `[agent]` in the config file < flags. ValueError
    for a malformed --physical-interface or a DHCP driver that is not installed."""
    from neutrino.cmd import agent as agent_cmd
    from neutrino.drivers import loader

    physical = agent_cmd.parse_mappings(args.physical_interface or [])
    given = {"host": args.agent_host, "server": args.server, "local_ip": args.local_ip,
             "dhcp_driver": args.dhcp_driver, "state_dir": args.state_dir,
             "report_interval": args.report_interval,
             "resync_interval": args.resync_interval}
    settings = {**config.agent_section(args.config),
                **{k: v for k, v in given.items() if v is not None}}
    settings["physical_interfaces"] = {**settings.get("physical_interfaces", {}), **physical}
    settings.setdefault("host", socket.gethostname())
    drivers = ["none", *loader.names("neutrino.dhcp_drivers")]
    if settings.get("dhcp_driver", "builtin") not in drivers:
        raise ValueError(f"no DHCP driver {settings['dhcp_driver']!r}; "
                         f"installed: {', '.join(drivers)}")
    return agent_cmd.AgentOptions(netns=args.netns, token=os.environ.get("OS_TOKEN") or None,
                                  **settings)


def _agent(args: argparse.Namespace) -> int:
    import asyncio

    from neutrino.cmd import agent

    try:
        opts = agent_options(args)
    except ValueError as exc:
        print(f"neutrino agent: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per long-poll
    try:
        return asyncio.run(agent.run_agent(opts))
    except KeyboardInterrupt:
        return 0


def _plug(args: argparse.Namespace) -> int:
    from neutrino.cmd import agent

    if args.command == "unplug":
        agent.unplug_port(args.port_id, args.host_netns)
        return 0
    try:
        done = agent.plug_port(args.server, args.port_id, args.netns,
                               host=args.agent_host, host_netns=args.host_netns,
                               dhcp=args.dhcp)
    except Exception as exc:
        print(f"neutrino plug: {exc}", file=sys.stderr)
        return 1
    print(f"plugged port {done.port_id} into {args.netns}: "
          f"{', '.join(done.addresses) or 'addresses by DHCP'}")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _safe(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user, has_password, _ = creds.partition(":")
        return f"{scheme}://{user}{':***' if has_password else ''}@{host}"
    return url


def _db(args: argparse.Namespace, settings: config.Settings) -> int:
    from neutrino.db import migrate

    engine = bootstrap.engine_for(settings)
    if args.db_command == "upgrade":
        migrate.upgrade(engine)
        print(f"schema at {', '.join(sorted(migrate.current(engine)))}")
    else:
        print(", ".join(sorted(migrate.current(engine))) or "empty")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neutrino", description=__doc__)
    p.add_argument("--config", help="TOML config file (also $NEUTRINO_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (("serve", "run the API server"),
                        ("up", "run server (and local agent) with SQLite, for one machine")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--host")
        s.add_argument("--port", type=int)
        s.add_argument("--workers", type=int)
        s.add_argument("--db", dest="db_url", help="database URL (also $NEUTRINO_DB_URL)")
        s.add_argument("--data-dir", help="state directory (also $NEUTRINO_DATA_DIR)")
        s.add_argument("--auth", choices=bootstrap.AUTH_STRATEGIES,
                       help="auth strategy (default noauth; keystone reads [keystone_authtoken])")
        s.add_argument("--force-noauth", action="store_true",
                       help="allow noauth on a non-loopback address")
        s.add_argument("--log-level", default="warning")
        s.add_argument("--access-log", action="store_true")
        if name == "up":
            s.add_argument("--agent-host", help="this machine's host name for the agent "
                           "(default: the hostname)")
            s.add_argument("--local-ip", default="127.0.0.1",
                           help="the agent's VXLAN underlay address (default 127.0.0.1)")
            s.add_argument("--no-agent", action="store_true",
                           help="serve the API only; leave this machine's kernel alone")
    a = sub.add_parser("agent", help="run the host agent: keep this host's kernel converged")
    a.add_argument("--host", dest="agent_host",
                   help="host name ports are bound to (binding:host_id; default: hostname)")
    a.add_argument("--server", help="server URL (default http://127.0.0.1:9696)")
    a.add_argument("--local-ip", help="VXLAN underlay address of this host")
    a.add_argument("--physical-interface", action="append", metavar="PHYSNET:IFACE",
                   help="interface carrying a physical network (flat, vlan); repeatable")
    a.add_argument("--netns", help="manage this network namespace's kernel (default: ours); "
                   "the agent itself stays here, so it reaches the server from here")
    a.add_argument("--report-interval", type=float, help="seconds between heartbeats (10)")
    a.add_argument("--resync-interval", type=float,
                   help="seconds between full resyncs (60)")
    a.add_argument("--dhcp-driver", help="builtin (default) | dnsmasq (entry points "
                   "neutrino.dhcp_drivers) | none; also dhcp_driver under [agent]")
    a.add_argument("--state-dir", help="where the DHCP driver keeps its files (dnsmasq)")
    for name, help_ in (("plug", "plug a port into a workload network namespace"),
                        ("unplug", "remove a port's veth")):
        pl = sub.add_parser(name, help=help_)
        pl.add_argument("port_id")
        pl.add_argument("--host-netns", help="the host's namespace (the agent's --netns)")
        if name == "plug":
            pl.add_argument("--netns", required=True, help="workload namespace (made if new)")
            pl.add_argument("--server", default="http://127.0.0.1:9696")
            pl.add_argument("--host", dest="agent_host",
                            help="bind an unbound port to this host (default: hostname); "
                            "must be the agent's --host")
            pl.add_argument("--dhcp", action="store_true",
                            help="set only the link; the workload asks DHCP for addresses")
    d = sub.add_parser("db", help="database schema")
    d.add_argument("db_command", choices=["upgrade", "current"])
    d.add_argument("--db", dest="db_url")
    d.add_argument("--data-dir")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.command == "agent":
        return _agent(args)
    if args.command in ("plug", "unplug"):
        return _plug(args)
    flags = {k: getattr(args, k, None) for k in ("host", "port", "workers", "db_url", "data_dir",
                                                 "auth")}
    settings = config.load(args.config, **flags)
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "up":
        return _up(args, settings)
    return _db(args, settings)


if __name__ == "__main__":
    sys.exit(main())
