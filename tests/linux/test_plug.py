"""plug/unplug against the real kernel: what a workload sees in its namespace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.agent.linux.plug import PlugError, plug, unplug
from neutrino.agent.names import tap_name
from tests.linux.netns import namespaces, requires_netns, run

pytestmark = requires_netns

PORT = "5e1f0000-1111-4222-8333-444455556666"
MAC = "fa:16:3e:12:34:56"
ADDRS = ["10.1.0.5/24", "2001:db8:1::5/64"]
GWS = ["10.1.0.1", "2001:db8:1::1"]
ROUTES = [("172.16.0.0/16", "10.1.0.254")]


def ip_json(ns: str, *argv: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(run(None, "ip", "-n", ns, "-j", *argv).stdout or "[]")
    return out


@pytest.fixture
def ns() -> Iterator[dict[str, str]]:
    with namespaces("host", "work") as made:
        yield made


def do_plug(ns: dict[str, str]) -> None:
    plug(PORT, MAC, 1450, ADDRS, GWS, ROUTES, netns_name=ns["work"], host_netns=ns["host"])


def state(ns: dict[str, str]) -> dict[str, Any]:
    """What the workload (and the host end) look like, for before/after comparisons."""
    [eth0] = ip_json(ns["work"], "addr", "show", "eth0")
    [tap] = ip_json(ns["host"], "link", "show", tap_name(PORT))
    return {
        "mac": eth0["address"], "mtu": eth0["mtu"], "up": "UP" in eth0["flags"],
        "addrs": sorted(f"{a['local']}/{a['prefixlen']}" for a in eth0["addr_info"]
                        if a.get("scope") == "global"),
        "routes4": sorted((r["dst"], r.get("gateway")) for r in ip_json(ns["work"], "route")),
        "routes6": sorted((r["dst"], r.get("gateway"))
                          for r in ip_json(ns["work"], "-6", "route") if r.get("gateway")),
        "tap_mtu": tap["mtu"],
    }


EXPECTED = {
    "mac": MAC, "mtu": 1450, "up": True, "addrs": sorted(ADDRS),
    "routes4": sorted([("default", "10.1.0.1"), ("10.1.0.0/24", None),
                       ("172.16.0.0/16", "10.1.0.254")]),
    "routes6": [("default", "2001:db8:1::1")],
    "tap_mtu": 1450,
}


def test_plug_gives_the_workload_its_port(ns: dict[str, str]) -> None:
    do_plug(ns)
    assert state(ns) == EXPECTED


@pytest.mark.parametrize("drift", [
    ["ip", "link", "set", "eth0", "mtu", "1300"],
    ["ip", "link", "set", "eth0", "down"],
    ["ip", "link", "set", "eth0", "address", "fa:16:3e:00:00:01"],
    ["ip", "addr", "del", "10.1.0.5/24", "dev", "eth0"],
    ["ip", "addr", "add", "10.1.0.99/24", "dev", "eth0"],
    ["ip", "route", "del", "default"],
    ["ip", "route", "replace", "default", "via", "10.1.0.77"],
], ids=["mtu", "down", "mac", "addr-lost", "addr-extra", "route-lost", "route-wrong"])
def test_replug_fixes_drift(ns: dict[str, str], drift: list[str]) -> None:
    do_plug(ns)
    run(ns["work"], *drift)
    do_plug(ns)
    assert state(ns) == EXPECTED


def test_replug_of_a_correct_port_keeps_the_veth(ns: dict[str, str]) -> None:
    do_plug(ns)
    before = ip_json(ns["host"], "link", "show", tap_name(PORT))[0]["ifindex"]
    do_plug(ns)
    assert ip_json(ns["host"], "link", "show", tap_name(PORT))[0]["ifindex"] == before


def test_gateway_removed_drops_the_default_route(ns: dict[str, str]) -> None:
    do_plug(ns)
    plug(PORT, MAC, 1450, ADDRS, ["10.1.0.1"], (), netns_name=ns["work"],
         host_netns=ns["host"])
    assert state(ns)["routes6"] == []


def test_plug_creates_a_missing_namespace(ns: dict[str, str]) -> None:
    run(None, "ip", "netns", "del", ns["work"])  # namespaces() deletes it again on exit
    do_plug(ns)
    assert state(ns)["addrs"] == sorted(ADDRS)


def test_unplug_removes_both_ends(ns: dict[str, str]) -> None:
    do_plug(ns)
    unplug(PORT, host_netns=ns["host"])
    unplug(PORT, host_netns=ns["host"])  # twice is fine
    assert [link["ifname"] for link in ip_json(ns["work"], "link")] == ["lo"]
    assert [link["ifname"] for link in ip_json(ns["host"], "link")] == ["lo"]


def test_a_foreign_eth0_is_not_replaced(ns: dict[str, str]) -> None:
    run(ns["work"], "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "other")
    with pytest.raises(PlugError):
        do_plug(ns)
