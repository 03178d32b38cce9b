"""`neutrino agent` options: defaults < `[agent]` in the config file < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from neutrino.cmd.main import agent_options, parser

CONFIG = """
[neutrino]
port = 9797

[agent]
host = "compute-7"
server = "http://127.0.0.1:9797"
local_ip = "192.0.2.7"
dhcp_driver = "dnsmasq"
state_dir = "/var/lib/neutrino-agent"
report_interval = 5
physical_interfaces = { physnet1 = "eth1", physnet2 = "eth2" }
"""


def options(tmp_path: Path, text: str | None, *argv: str):  # type: ignore[no-untyped-def]
    pre = []
    if text is not None:
        path = tmp_path / "neutrino.toml"
        path.write_text(text)
        pre = ["--config", str(path)]
    return agent_options(parser().parse_args([*pre, "agent", *argv]))


def test_defaults_without_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    monkeypatch.delenv("NEUTRINO_CONFIG", raising=False)
    got = options(tmp_path, None, "--host", "h1")
    assert (got.host, got.server, got.dhcp_driver, got.report_interval, got.resync_interval,
            got.local_ip, dict(got.physical_interfaces or {})) == (
        "h1", "http://127.0.0.1:9696", "builtin", 10.0, 60.0, None, {})


def test_the_agent_section_sets_the_deployment(tmp_path: Path) -> None:
    got = options(tmp_path, CONFIG)
    assert (got.host, got.server, got.local_ip, got.dhcp_driver, got.state_dir,
            got.report_interval) == ("compute-7", "http://127.0.0.1:9797", "192.0.2.7",
                                     "dnsmasq", "/var/lib/neutrino-agent", 5)
    assert dict(got.physical_interfaces or {}) == {"physnet1": "eth1", "physnet2": "eth2"}


def test_flags_override_the_file(tmp_path: Path) -> None:
    got = options(tmp_path, CONFIG, "--dhcp-driver", "builtin", "--host", "other",
                  "--physical-interface", "physnet2:bond0")
    assert (got.dhcp_driver, got.host, got.server) == ("builtin", "other",
                                                       "http://127.0.0.1:9797")
    assert dict(got.physical_interfaces or {}) == {"physnet1": "eth1", "physnet2": "bond0"}


def test_the_file_is_found_through_the_environment(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.toml"
    path.write_text('[agent]\ndhcp_driver = "none"\n')
    monkeypatch.setenv("NEUTRINO_CONFIG", str(path))
    assert agent_options(parser().parse_args(["agent"])).dhcp_driver == "none"


@pytest.mark.parametrize(("section", "message"), [
    ('dhcp_drivr = "dnsmasq"', "[agent] has no setting dhcp_drivr"),
    ('physical_interfaces = "physnet1:eth1"', "physical_interfaces is a table"),
])
def test_a_bad_agent_section_stops_with_a_clear_message(tmp_path: Path, section: str,
                                                         message: str) -> None:
    with pytest.raises(SystemExit, match=message.replace("[", r"\[")):
        options(tmp_path, f"[agent]\n{section}\n")


def test_a_dhcp_driver_that_is_not_installed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no DHCP driver 'nope'; installed: none, builtin"):
        options(tmp_path, '[agent]\ndhcp_driver = "nope"\n')
