"""`neutrino` command line: serve, up, db upgrade."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys

from neutrino.cmd import bootstrap, config


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
    )
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
    d = sub.add_parser("db", help="database schema")
    d.add_argument("db_command", choices=["upgrade", "current"])
    d.add_argument("--db", dest="db_url")
    d.add_argument("--data-dir")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    flags = {k: getattr(args, k, None) for k in ("host", "port", "workers", "db_url", "data_dir",
                                                 "auth")}
    settings = config.load(args.config, **flags)
    if args.command in ("serve", "up"):
        return _serve(args, settings)
    return _db(args, settings)


if __name__ == "__main__":
    sys.exit(main())
