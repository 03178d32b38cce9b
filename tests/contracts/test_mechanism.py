"""The mechanism-driver contract: every driver registered in `neutrino.mechanism_drivers`,
on SQLite and PostgreSQL, through the `MechanismDriver` protocol only.

What every driver must do: bind nothing without a host; when it binds, keep the requested
host, vnic type and profile and name a real vif_type; answer the same twice; write nothing
(it runs inside the request's transaction, before commit)."""

from __future__ import annotations

from dataclasses import replace
from importlib.metadata import entry_points

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from neutrino.db import Database
from neutrino.db.repos import agents as agent_repo
from neutrino.domain.agent import Agent
from neutrino.domain.config import ServerConfig
from neutrino.domain.network import Network, Segment
from neutrino.domain.port import VIF_BINDING_FAILED, VIF_UNBOUND, Binding, Port
from neutrino.drivers.mechanism import GROUP, MechanismDriver, load_mechanism_drivers

DRIVERS = sorted(ep.name for ep in entry_points(group=GROUP))
CONFIG = ServerConfig()
NETWORKS = [
    Network(id="n-local", project_id="p", segment=Segment("local")),
    Network(id="n-flat", project_id="p", segment=Segment("flat", "physnet1")),
    Network(id="n-vlan", project_id="p", segment=Segment("vlan", "physnet2", 100)),
    Network(id="n-vxlan", project_id="p", segment=Segment("vxlan", None, 1001)),
]


def test_linux_driver_is_registered_and_the_default() -> None:
    assert "linux" in DRIVERS and CONFIG.mechanism_drivers == ("linux",)


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> MechanismDriver:
    (loaded,) = load_mechanism_drivers((request.param,))
    assert loaded.name == request.param
    return loaded


@pytest.fixture
def db(engine: Engine) -> Database:
    """A database where host-a has a live agent that can carry every network type."""
    database = Database(engine)
    with database.write() as tx:
        agent_repo.insert(tx, Agent(
            id="a1", host="host-a", protocol="1.0", local_ip="192.0.2.1",
            physical_interfaces={"physnet1": "eth1", "physnet2": "eth2"},
            created_at=tx.now, started_at=tx.now, heartbeat_timestamp=tx.now))
    return database


def port_on(host: str, network: Network, vnic_type: str = "normal") -> Port:
    return Port(id="p1", project_id="p", network_id=network.id, mac_address="fa:16:3e:00:00:01",
                binding=Binding(host_id=host, vnic_type=vnic_type, profile={"k": "v"},
                                vif_type=VIF_UNBOUND))


def count_rows(db: Database) -> int:
    with db.read() as tx:
        return sum(tx.conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                   for t in ("agents", "ports", "change_log"))


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.id)
def test_binding_keeps_the_request_and_writes_nothing(
    driver: MechanismDriver, db: Database, network: Network
) -> None:
    before = count_rows(db)
    for host in ("", "host-a", "host-without-agent"):
        for vnic in ("normal", "direct"):
            port = port_on(host, network, vnic)
            with db.write() as tx:
                first = driver.bind(tx, network, port, CONFIG)
                second = driver.bind(tx, network, port, CONFIG)
                assert tx.changes == []
            assert first == second
            if not host:
                assert first is None
            if first is not None:
                assert (first.host_id, first.vnic_type, first.profile) == (
                    host, vnic, {"k": "v"})
                assert first.vif_type not in (VIF_UNBOUND, VIF_BINDING_FAILED, "")
    assert count_rows(db) == before


# -- the linux driver's own rules ---------------------------------------------------------------


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.id)
def test_linux_binds_bridge_where_a_live_agent_carries_the_segment(
    db: Database, network: Network
) -> None:
    (linux,) = load_mechanism_drivers(("linux",))
    with db.read() as tx:
        bound = linux.bind(tx, network, port_on("host-a", network), CONFIG)
        assert bound is not None and bound.vif_type == "bridge"
        assert bound.vif_details == {"port_filter": True, "connectivity": "l2"}
        assert linux.bind(tx, network, port_on("host-b", network), CONFIG) is None
        assert linux.bind(tx, network, port_on("host-a", network, "direct"), CONFIG) is None
        dead = replace(CONFIG, agent_down_time=-1)  # every heartbeat is too old
        assert linux.bind(tx, network, port_on("host-a", network), dead) is None


def test_linux_needs_the_physnet_or_the_underlay(engine: Engine) -> None:
    database = Database(engine)
    with database.write() as tx:
        agent_repo.insert(tx, Agent(
            id="a2", host="host-c", protocol="1.0", physical_interfaces={"physnet1": "eth1"},
            created_at=tx.now, started_at=tx.now, heartbeat_timestamp=tx.now))
    (linux,) = load_mechanism_drivers(("linux",))
    with database.read() as tx:
        got = {n.id: linux.bind(tx, n, port_on("host-c", n), CONFIG) for n in NETWORKS}
    assert {k for k, v in got.items() if v is not None} == {"n-local", "n-flat"}
