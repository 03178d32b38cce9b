"""openstacksdk (a real client from PyPI) against a live `neutrino serve`: networks end to end,
on SQLite (one process) and on PostgreSQL (`--workers 2`)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest
from openstack import exceptions
from openstack.connection import Connection

from tests.e2e.conftest import SERVERS, LiveServer

pytestmark = pytest.mark.e2e

PG_ONLY = [s for s in SERVERS if s == "pg_server"]
README = Path(__file__).resolve().parents[2] / "README.md"


def connect(server: LiveServer) -> Connection:
    """What a program does: no Keystone, the network endpoint given directly."""
    return Connection(auth_type="none", network_endpoint_override=server.url)


def change_log(server: LiveServer, since: int = 0, **params: Any) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/v2.0/changes", params={"since": since, **params},
                  headers={"X-Neutrino-Protocol": "1"}, timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_readme_clouds_yaml_works(live_server: LiveServer, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"```yaml\n(clouds:.*?)```", README.read_text(), re.S)
    assert block, "README lost its clouds.yaml snippet"
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(block.group(1).replace("http://127.0.0.1:9696", live_server.url))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    conn = openstack.connect(cloud="neutrino")
    made = conn.network.create_network(name="from-readme")
    assert [n.id for n in conn.network.networks(name="from-readme")] == [made.id]


def test_create_list_filter_update_delete(live_server: LiveServer) -> None:
    conn = connect(live_server)
    red = conn.network.create_network(name="red", description="first")
    blue = conn.network.create_network(name="blue", is_admin_state_up=False, is_shared=True)
    assert red.status == "ACTIVE" and red.is_admin_state_up and not red.is_shared
    assert red.mtu == 1450 and red.provider_network_type == "vxlan"
    assert red.project_id == "admin" and red.revision_number == 0

    assert {n.name for n in conn.network.networks()} == {"red", "blue"}
    assert [n.id for n in conn.network.networks(name="blue")] == [blue.id]
    assert [n.id for n in conn.network.networks(is_shared=True)] == [blue.id]
    assert [n.id for n in conn.network.networks(is_admin_state_up=True)] == [red.id]
    assert list(conn.network.networks(name="green")) == []
    by_name = conn.network.networks(sort_key="name", sort_dir="desc")
    assert [n.name for n in by_name] == ["red", "blue"]
    paged = list(conn.network.networks(limit=1))
    assert sorted(n.name for n in paged) == ["blue", "red"]  # followed networks_links

    renamed = conn.network.update_network(red, name="crimson", description="second", mtu=1400)
    assert (renamed.name, renamed.description, renamed.mtu) == ("crimson", "second", 1400)
    assert renamed.revision_number == 1
    assert conn.network.get_network(red.id).name == "crimson"
    assert conn.network.find_network("crimson").id == red.id

    with pytest.raises(exceptions.BadRequestException):
        conn.network.update_network(red, mtu=99999)
    with pytest.raises(exceptions.BadRequestException):
        conn.network.create_network(name="bad", mtu=10)

    conn.network.delete_network(red)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_network(red.id)
    assert conn.network.find_network("crimson") is None
    with pytest.raises(exceptions.NotFoundException):
        conn.network.delete_network(red, ignore_missing=False)
    assert [n.id for n in conn.network.networks()] == [blue.id]


def test_port_dns_name_and_assignment(live_server: LiveServer) -> None:
    """dns-integration as openstacksdk sees it, under the default dns_domain: the name is
    checked (a bad one is a 400) but not kept, as in Neutron; addresses get host-<ip>."""
    conn = connect(live_server)
    net = conn.network.create_network(name="dns")
    conn.network.create_subnet(network_id=net.id, cidr="10.77.0.0/24", ip_version=4)
    made = conn.network.create_port(network_id=net.id, dns_name="web-1")
    ip = made.fixed_ips[0]["ip_address"]
    host = "host-" + ip.replace(".", "-")
    expected = [{"ip_address": ip, "hostname": host, "fqdn": f"{host}.openstacklocal."}]
    assert made.dns_name == "" and made.dns_assignment == expected
    assert conn.network.get_port(made.id).dns_assignment == expected
    with pytest.raises(exceptions.BadRequestException):
        conn.network.create_port(network_id=net.id, dns_name="web_1")


def test_tags(live_server: LiveServer) -> None:
    conn = connect(live_server)
    a = conn.network.create_network(name="a")
    b = conn.network.create_network(name="b")
    conn.network.set_tags(a, ["prod", "web"])
    conn.network.set_tags(b, ["prod"])
    assert sorted(conn.network.get_network(a.id).tags) == ["prod", "web"]
    conn.network.add_tag(b, "db")
    conn.network.remove_tag(a, "web")
    assert sorted(conn.network.get_network(a.id).tags) == ["prod"]
    assert sorted(conn.network.get_network(b.id).tags) == ["db", "prod"]
    assert {n.name for n in conn.network.networks(tags="prod")} == {"a", "b"}
    assert {n.name for n in conn.network.networks(tags="prod,db")} == {"b"}
    assert {n.name for n in conn.network.networks(any_tags="db,nothing")} == {"b"}
    assert {n.name for n in conn.network.networks(not_tags="db")} == {"a"}
    with pytest.raises(exceptions.NotFoundException):
        conn.network.remove_tag(a, "never-there")


def test_failed_request_leaves_nothing_behind(live_server: LiveServer) -> None:
    conn = connect(live_server)
    conn.network.create_network(name="keep")
    before = change_log(live_server)["last_seq"]
    r = httpx.post(f"{live_server.url}/v2.0/networks", timeout=10,
                   json={"networks": [{"name": "x"}, {"name": "y", "mtu": 99999}]})
    assert r.status_code == 400 and r.json()["NeutronError"]["type"]
    assert [n.name for n in conn.network.networks()] == ["keep"]
    assert change_log(live_server, since=before)["changes"] == []


@pytest.mark.parametrize("live_server", PG_ONLY, indirect=True)
def test_two_workers_concurrent_creates_keep_the_log_gap_free(live_server: LiveServer) -> None:
    """8 threads x 6 creates through `--workers 2` on PostgreSQL; a watcher long-polls the log
    as it grows and must see every seq exactly once, in order."""
    assert live_server.workers == 2
    watched: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def watch() -> None:
        since = 0
        try:
            while not (done.is_set() and since == change_log(live_server)["last_seq"]):
                batch = change_log(live_server, since=since, timeout=1, limit=5)
                seqs = [c["seq"] for c in batch["changes"]]
                assert seqs == list(range(since + 1, since + 1 + len(seqs))), (since, seqs)
                watched.extend(batch["changes"])
                since = seqs[-1] if seqs else since
        except BaseException as exc:
            errors.append(exc)

    created: list[str] = []

    def create(worker: int) -> None:
        try:
            conn = connect(live_server)
            for i in range(6):
                created.append(conn.network.create_network(name=f"w{worker}-{i}").id)
        except BaseException as exc:
            errors.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    writers = [threading.Thread(target=create, args=(w,)) for w in range(8)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    watcher.join(timeout=60)
    assert not watcher.is_alive()
    if errors:
        raise errors[0]

    log = change_log(live_server)["changes"]
    assert [c["seq"] for c in log] == list(range(1, len(log) + 1))
    assert watched == log
    net_creates = [c["resource_id"] for c in log
                   if c["resource"] == "network" and c["op"] == "create"]
    assert sorted(net_creates) == sorted(created) and len(created) == 48


@pytest.mark.parametrize("live_server", PG_ONLY, indirect=True)
def test_long_poll_wakes_across_workers(live_server: LiveServer) -> None:
    """Whichever worker holds the long-poll, a create served by the other one wakes it."""
    conn = connect(live_server)
    for _ in range(6):  # several rounds: the two requests land on either worker
        since = change_log(live_server)["last_seq"]
        result: dict[str, Any] = {}

        def poll(since: int = since, result: dict[str, Any] = result) -> None:
            started = time.monotonic()
            result["body"] = change_log(live_server, since=since, timeout=30)
            result["elapsed"] = time.monotonic() - started

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.2)
        net = conn.network.create_network(name="wake")
        poller.join(timeout=40)
        assert [c["resource_id"] for c in result["body"]["changes"]
                if c["resource"] == "network"] == [net.id]
        assert result["elapsed"] < 5
