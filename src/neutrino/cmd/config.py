"""Settings from (lowest to highest precedence) defaults, a TOML config file, environment
variables and command-line flags."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from neutrino.domain import dns
from neutrino.domain.config import SegmentRanges, ServerConfig
from neutrino.domain.errors import InvalidInput
from neutrino.drivers import loader, types


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9696
    workers: int = 1
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local/share/neutrino")
    db_url: str = ""
    auth: str = "noauth"
    default_project: str = "admin"
    allow_remote_noauth: bool = False
    server: ServerConfig = field(default_factory=ServerConfig)
    # keystonemiddleware options for `auth = "keystone"`, as strings (see api/keystone.py)
    keystone_authtoken: Mapping[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        """The configured URL, else a SQLite file in the data directory."""
        return self.db_url or f"sqlite:///{self.data_dir / 'neutrino.sqlite'}"


def _ranges(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in text.split(","):
        low, _, high = part.strip().partition(":")
        out.append((int(low), int(high or low)))
    return tuple(out)


def _check_type_drivers(config: ServerConfig) -> ServerConfig:
    """Refuse to start with a type driver that is not installed, or a tenant network type
    without a loaded driver (Neutron's ML2 TypeManager exits on both)."""
    installed = loader.names(types.GROUP)
    unknown = [t for t in config.type_drivers if t not in installed]
    if unknown:
        raise SystemExit(f"type_drivers: no {types.GROUP} plug-in named {', '.join(unknown)}; "
                         f"installed: {', '.join(installed) or '-'}")
    missing = [t for t in config.tenant_network_types if t not in config.type_drivers]
    if missing:
        raise SystemExit(f"tenant_network_types: {', '.join(missing)} not in type_drivers "
                         f"({', '.join(config.type_drivers)})")
    return config


def _dns_domain(value: Any) -> str:
    """The server's dns_domain, with its final dot (Neutron adds it too), or stop."""
    try:
        return dns.dns_domain_name(dns.server_domain(str(value)))
    except InvalidInput as exc:
        raise SystemExit(f"dns_domain: {exc.reason}") from None


def _server_config(section: dict[str, Any]) -> ServerConfig:
    base = ServerConfig()
    vlan = {
        physnet: _ranges(spec) for physnet, spec in section.get("vlan_ranges", {}).items()
    }
    segments = SegmentRanges(
        vni=_ranges(section["vni_ranges"]) if "vni_ranges" in section else base.segments.vni,
        vlan=vlan,
        flat_networks=tuple(section.get("flat_networks", base.segments.flat_networks)),
    )
    quotas = {**base.default_quotas, **section.get("quotas", {})}
    return _check_type_drivers(replace(
        base,
        global_physnet_mtu=int(section.get("global_physnet_mtu", base.global_physnet_mtu)),
        type_drivers=tuple(section.get("type_drivers", base.type_drivers)),
        tenant_network_types=tuple(
            section.get("tenant_network_types", base.tenant_network_types)
        ),
        segments=segments,
        max_page_size=int(section.get("max_page_size", base.max_page_size)),
        ipam_driver=str(section.get("ipam_driver", base.ipam_driver)),
        mechanism_drivers=tuple(section.get("mechanism_drivers", base.mechanism_drivers)),
        agent_down_time=float(section.get("agent_down_time", base.agent_down_time)),
        dns_domain=_dns_domain(section.get("dns_domain", base.dns_domain)),
        default_quotas=quotas,
        change_log_keep=int(section.get("change_log_keep", base.change_log_keep)),
        change_log_compact_every=float(
            section.get("change_log_compact_every", base.change_log_compact_every)
        ),
    ))


def _option_text(value: Any) -> str:
    """A TOML value as the string keystonemiddleware's option parser expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


# `[agent]` keys, as AgentOptions names them; flags of `neutrino agent` override them.
AGENT_KEYS = frozenset({"host", "server", "local_ip", "physical_interfaces", "dhcp_driver",
                        "state_dir", "report_interval", "resync_interval"})


def agent_section(config_file: str | None = None) -> dict[str, Any]:
    """The `[agent]` table of `config_file` (or $NEUTRINO_CONFIG); {} without a file.
    `physical_interfaces` is a table {physnet = "iface"}. An unknown key stops the agent,
    as a mistyped setting silently ignored would."""
    path = config_file or os.environ.get("NEUTRINO_CONFIG")
    if not path:
        return {}
    section = dict(tomllib.loads(Path(path).read_text()).get("agent", {}))
    unknown = sorted(set(section) - AGENT_KEYS)
    if unknown:
        raise SystemExit(f"{path}: [agent] has no setting {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(AGENT_KEYS))}")
    mappings = section.get("physical_interfaces", {})
    if not isinstance(mappings, dict) or not all(
            isinstance(v, str) for v in mappings.values()):
        raise SystemExit(f'{path}: [agent] physical_interfaces is a table: physnet1 = "eth1"')
    return section


def load(config_file: str | None = None, **flags: Any) -> Settings:
    """Merge defaults, `config_file` (or $NEUTRINO_CONFIG), env vars, then non-None flags."""
    settings = Settings()
    path = config_file or os.environ.get("NEUTRINO_CONFIG")
    if path:
        data = tomllib.loads(Path(path).read_text())
        top = data.get("neutrino", data)
        settings = replace(
            settings,
            **{k: v for k, v in top.items() if k in {"host", "port", "workers", "db_url",
                                                    "auth", "default_project"}},
            server=_server_config(data.get("server", {})),
            keystone_authtoken={
                k: _option_text(v) for k, v in data.get("keystone_authtoken", {}).items()
            },
        )
        if "data_dir" in top:
            settings = replace(settings, data_dir=Path(top["data_dir"]))
    env = os.environ
    if env.get("NEUTRINO_DATA_DIR"):
        settings = replace(settings, data_dir=Path(env["NEUTRINO_DATA_DIR"]))
    if env.get("NEUTRINO_DB_URL"):
        settings = replace(settings, db_url=env["NEUTRINO_DB_URL"])
    if env.get("NEUTRINO_AUTH"):
        settings = replace(settings, auth=env["NEUTRINO_AUTH"])
    given = {k: v for k, v in flags.items() if v is not None}
    if "data_dir" in given:
        given["data_dir"] = Path(given["data_dir"])
    return replace(settings, **given)
