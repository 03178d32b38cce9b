"""The type-driver contract: every driver registered in `neutrino.type_drivers`, on SQLite and
PostgreSQL, through the `TypeDriver` protocol only (then the network API on top of it).

What every driver must do: validate provider segments into its own type and refuse bad ones
with Neutron's 400 (InvalidInput); claim segments so that no two networks ever hold the same
(type, physical network, segmentation id), also under concurrent allocators; give a segment
back on release (network delete) so it can be claimed again, and keep nothing of a rolled-back
claim; answer an MTU that fits the physical network. The per-type tables below say what
"good" and "bad" mean for each built-in type; a newly registered driver must add its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from neutrino.api.app import build_app
from neutrino.api.auth import NoAuth
from neutrino.db import Database, Tx
from neutrino.domain.config import SegmentRanges, ServerConfig
from neutrino.domain.errors import InvalidInput, Kind, NeutronError
from neutrino.domain.network import Segment
from neutrino.drivers import types
from neutrino.drivers.types import GROUP, TypeDriver, load_type_drivers
from neutrino.services._env import Env

DRIVERS = sorted(ep.name for ep in entry_points(group=GROUP))

CONFIG = ServerConfig(
    global_physnet_mtu=9000,
    segments=SegmentRanges(
        vni=((10, 17),),
        vlan={"physnet1": ((100, 103),), "physnet2": ((200, 201),)},
        flat_networks=("physnet1", "physnet2"),
    ),
)


@dataclass(frozen=True)
class Cases:
    """What a type accepts and refuses under CONFIG, how many tenant segments it has (None:
    unlimited and without identity, like local) and the MTU it gives."""

    good: list[Segment]
    bad: list[tuple[Segment, str]]
    capacity: int | None
    mtu: int
    in_ranges: Callable[[Segment], bool] = field(default=lambda s: True)


CASES: dict[str, Cases] = {
    "local": Cases(
        good=[Segment("local")],
        bad=[(Segment("local", "physnet1"), "physical_network prohibited for local provider "
              "network"),
             (Segment("local", None, 5), "segmentation_id prohibited for local provider "
              "network")],
        capacity=None,
        mtu=9000,
    ),
    "flat": Cases(
        good=[Segment("flat", "physnet1"), Segment("flat", "physnet2")],
        bad=[(Segment("flat"), "physical_network required for flat provider network"),
             (Segment("flat", "physnet9"),
              "physical_network 'physnet9' unknown for flat provider network"),
             (Segment("flat", "physnet1", 5),
              "segmentation_id prohibited for flat provider network")],
        capacity=0,  # never a tenant network
        mtu=9000,
    ),
    "vlan": Cases(
        good=[Segment("vlan", "physnet1", 100), Segment("vlan", "physnet1", 1),
              Segment("vlan", "physnet2", 4094), Segment("vlan", "physnet1"), Segment("vlan")],
        bad=[(Segment("vlan", "physnet1", 0), "segmentation_id out of range (1 through 4094)"),
             (Segment("vlan", "physnet1", 4095),
              "segmentation_id out of range (1 through 4094)"),
             (Segment("vlan", None, 100),
              "segmentation_id requires physical_network for VLAN provider network")],
        capacity=6,
        mtu=9000,
        in_ranges=lambda s: (s.physical_network, s.segmentation_id) in {
            ("physnet1", v) for v in range(100, 104)} | {("physnet2", 200), ("physnet2", 201)},
    ),
    "vxlan": Cases(
        good=[Segment("vxlan", None, 1), Segment("vxlan", None, 2**24 - 1), Segment("vxlan")],
        bad=[(Segment("vxlan", "physnet1"),
              "provider:physical_network specified for vxlan network"),
             (Segment("vxlan", "physnet1", 10),
              "provider:physical_network specified for vxlan network"),
             (Segment("vxlan", None, 0), "segmentation_id out of range (1 through 16777215)"),
             (Segment("vxlan", None, 2**24),
              "segmentation_id out of range (1 through 16777215)")],
        capacity=8,
        mtu=9000 - 50,  # VXLAN over IPv4 costs 50 bytes of the physical MTU
        in_ranges=lambda s: s.physical_network is None and 10 <= (s.segmentation_id or 0) <= 17,
    ),
}


def test_the_builtin_types_are_registered_and_loaded_by_default() -> None:
    assert {"local", "flat", "vlan", "vxlan"} <= set(DRIVERS)
    assert ServerConfig().type_drivers == ("local", "flat", "vlan", "vxlan")  # Neutron's order
    assert ServerConfig().tenant_network_types == ("vxlan",)
    assert list(load_type_drivers(ServerConfig().type_drivers)) == ["local", "flat", "vlan",
                                                                    "vxlan"]


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> TypeDriver:
    loaded = load_type_drivers((request.param,))
    assert list(loaded) == [request.param]
    return loaded[request.param]


@pytest.fixture
def cases(driver: TypeDriver) -> Cases:
    assert driver.name in CASES, f"type driver {driver.name!r} has no contract cases"
    return CASES[driver.name]


@pytest.fixture
def db(engine: Engine) -> Database:
    return Database(engine)


def run(db: Database, fn: Callable[[Tx], Any]) -> Any:
    """One committed transaction."""
    with db.write() as tx:
        return fn(tx)


def claimed(db: Database) -> set[tuple[str, str, int, str]]:
    with db.read() as tx:
        rows = tx.conn.execute(sa.text(
            "SELECT network_type, physical_network, segmentation_id, network_id "
            "FROM segment_allocations"))
        return {(r[0], r[1], int(r[2]), r[3]) for r in rows}


def identity(segment: Segment) -> tuple[str, str | None, int | None]:
    return (segment.network_type, segment.physical_network, segment.segmentation_id)


def has_identity(segment: Segment) -> bool:
    """A segment that is exclusively one network's (everything but local)."""
    return bool(segment.physical_network) or segment.segmentation_id is not None


def allocate_all(db: Database, driver: TypeDriver, limit: int = 40) -> list[Segment]:
    """Tenant segments, one network each, until the driver has none left (or `limit`)."""
    got: list[Segment] = []
    for i in range(limit):
        segment = run(db, lambda tx, i=i: driver.allocate(tx, f"net-{i}", CONFIG))
        if segment is None:
            break
        got.append(segment)
    return got


def refused(fn: Callable[[], Any]) -> NeutronError:
    with pytest.raises(NeutronError) as info:
        fn()
    return info.value


# -- validate -----------------------------------------------------------------------------------


def test_validate_accepts_good_segments_of_its_own_type(
    driver: TypeDriver, cases: Cases, db: Database
) -> None:
    before = claimed(db)
    for requested in cases.good:
        segment = driver.validate(requested, CONFIG)
        assert segment.network_type == driver.name
        assert identity(segment)[1:] == (requested.physical_network,
                                         requested.segmentation_id)
        assert driver.validate(segment, CONFIG) == segment
    assert claimed(db) == before  # validating claims nothing


def test_validate_refuses_bad_segments_with_neutrons_400(
    driver: TypeDriver, cases: Cases
) -> None:
    for requested, reason in cases.bad:
        exc = refused(lambda requested=requested: driver.validate(requested, CONFIG))
        assert isinstance(exc, InvalidInput) and exc.kind is Kind.BAD_REQUEST, requested
        assert exc.type == "InvalidInput"
        assert exc.message == f"Invalid input for operation: {reason}", requested


def test_flat_provider_networks_can_be_disabled_or_opened_to_any_physnet() -> None:
    flat = load_type_drivers(("flat",))["flat"]
    closed = replace(CONFIG, segments=replace(CONFIG.segments, flat_networks=()))
    exc = refused(lambda: flat.validate(Segment("flat", "physnet1"), closed))
    assert exc.message == "Invalid input for operation: Flat provider networks are disabled"
    anywhere = replace(CONFIG, segments=replace(CONFIG.segments, flat_networks=("*",)))
    assert flat.validate(Segment("flat", "elsewhere"), anywhere) == Segment("flat", "elsewhere")


# -- claims -------------------------------------------------------------------------------------


def test_tenant_segments_are_never_shared_and_come_from_the_ranges(
    driver: TypeDriver, cases: Cases, db: Database
) -> None:
    got = allocate_all(db, driver)
    if cases.capacity is None:
        assert len(got) == 40 and all(not has_identity(s) for s in got)
        assert all(s.network_type == driver.name for s in got)
        return
    assert len(got) == cases.capacity
    assert len({identity(s) for s in got}) == len(got)
    assert all(s.network_type == driver.name and cases.in_ranges(s) for s in got)
    assert run(db, lambda tx: driver.allocate(tx, "one-too-many", CONFIG)) is None
    assert {r[3] for r in claimed(db)} == {f"net-{i}" for i in range(len(got))}


def test_provider_segments_are_exclusive(driver: TypeDriver, cases: Cases, db: Database) -> None:
    """A fully given segment is one network's; a partial one is completed with a free id."""
    held: set[tuple[str, str | None, int | None]] = set()
    for n, requested in enumerate(cases.good):
        segment = driver.validate(requested, CONFIG)
        got = run(db, lambda tx, s=segment, n=n: driver.reserve(tx, f"p-{n}", s, CONFIG))
        assert got.network_type == driver.name
        assert got.physical_network == (segment.physical_network or got.physical_network)
        assert got.segmentation_id == (segment.segmentation_id or got.segmentation_id)
        if not has_identity(got):
            continue
        assert identity(got) not in held
        held.add(identity(got))
        exc = refused(lambda got=got: run(
            db, lambda tx: driver.reserve(tx, "intruder", got, CONFIG)))
        assert exc.kind is Kind.CONFLICT, exc
        assert exc.type in ("FlatNetworkInUse", "VlanIdInUse", "TunnelIdInUse"), exc.type
    assert "intruder" not in {r[3] for r in claimed(db)}


def partial(cases: Cases) -> list[Segment]:
    """Good provider segments that leave the id to the driver (types with tenant ranges)."""
    return [s for s in cases.good if s.segmentation_id is None and cases.capacity]


@pytest.mark.parametrize("name", [d for d in DRIVERS if d in CASES and partial(CASES[d])])
def test_partial_requests_fail_with_409_when_nothing_is_free(name: str, db: Database) -> None:
    """Only for types whose provider segments may leave the id to the driver (vlan, vxlan);
    flat and local have no ids to run out of."""
    driver, cases = load_type_drivers((name,))[name], CASES[name]
    allocate_all(db, driver)
    for requested in partial(cases):
        segment = driver.validate(requested, CONFIG)
        exc = refused(lambda s=segment: run(db, lambda tx: driver.reserve(tx, "late", s, CONFIG)))
        assert (exc.kind, exc.type) == (Kind.CONFLICT, "NoNetworkAvailable")
        assert exc.message == ("Unable to create the network. No tenant network is available "
                               "for allocation.")


def test_release_makes_the_segment_claimable_again(
    driver: TypeDriver, cases: Cases, db: Database
) -> None:
    if cases.capacity:
        got = allocate_all(db, driver)
        middle = len(got) // 2
        run(db, lambda tx: driver.release(tx, f"net-{middle}", got[middle]))
        again = run(db, lambda tx: driver.allocate(tx, "reuser", CONFIG))
        assert again == got[middle]
        assert run(db, lambda tx: driver.allocate(tx, "nothing-left", CONFIG)) is None
        for i, segment in enumerate(got):
            if i != middle:
                run(db, lambda tx, i=i, s=segment: driver.release(tx, f"net-{i}", s))
        run(db, lambda tx: driver.release(tx, "reuser", again))
        assert claimed(db) == set()
    for n, requested in enumerate(s for s in cases.good if s not in partial(cases)):
        segment = driver.validate(requested, CONFIG)
        first = run(db, lambda tx, s=segment, n=n: driver.reserve(tx, f"first-{n}", s, CONFIG))
        run(db, lambda tx, s=first, n=n: driver.release(tx, f"first-{n}", s))
        second = run(db, lambda tx, s=segment, n=n: driver.reserve(tx, f"second-{n}", s, CONFIG))
        assert second == first
    assert not any(r[3].startswith("first-") for r in claimed(db))


def test_a_rolled_back_claim_leaves_nothing(
    driver: TypeDriver, cases: Cases, db: Database
) -> None:
    class Boom(Exception):
        pass

    before = claimed(db)
    for requested in cases.good:
        segment = driver.validate(requested, CONFIG)
        with pytest.raises(Boom), db.write() as tx:
            driver.reserve(tx, "doomed", segment, CONFIG)
            raise Boom
    with pytest.raises(Boom), db.write() as tx:
        driver.allocate(tx, "doomed", CONFIG)
        raise Boom
    assert claimed(db) == before


def test_concurrent_allocators_never_share_a_segment(
    engine: Engine, driver: TypeDriver, cases: Cases
) -> None:
    """Threads with their own transactions allocate until the type has nothing left: every
    segment once, and no errors but 'nothing left'."""
    db = Database(engine)
    results: list[list[Segment]] = [[] for _ in range(4)]
    failures: list[str] = []
    start = threading.Barrier(len(results))

    def worker(k: int, out: list[Segment]) -> None:
        start.wait()
        for i in range(12):
            try:
                segment = run(db, lambda tx, i=i: driver.allocate(tx, f"t{k}-{i}", CONFIG))
            except Exception as exc:  # a deadlock or serialization error would land here
                failures.append(repr(exc))
                return
            if segment is None:
                return
            out.append(segment)

    threads = [threading.Thread(target=worker, args=(k, out)) for k, out in enumerate(results)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    got = [s for out in results for s in out]
    if cases.capacity is None:
        assert len(got) == 48
    else:
        assert len(got) == len({identity(s) for s in got}) == cases.capacity


def test_mtu_fits_the_physical_network(driver: TypeDriver, cases: Cases) -> None:
    assert driver.mtu(CONFIG) == cases.mtu
    assert 68 <= driver.mtu(CONFIG) <= CONFIG.global_physnet_mtu
    default = ServerConfig()
    assert driver.mtu(default) == cases.mtu - (CONFIG.global_physnet_mtu - 1500)


# -- the network API on the loaded drivers ----------------------------------------------------


@pytest.fixture
def api(engine: Engine, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The app as admin on CONFIG, adjusted by an indirect parameter (a dict of settings)."""
    config = replace(CONFIG, **getattr(request, "param", {}))
    app = build_app(Env(db=Database(engine), config=config), NoAuth(default_project="admin"))
    with TestClient(app, base_url="http://127.0.0.1:9696") as c:
        yield c


def create(api: TestClient, **attrs: Any) -> Any:
    return api.post("/v2.0/networks", json={"network": {"name": "n", **attrs}})


def provider(network_type: str, physnet: str | None = None, seg_id: int | None = None,
             ) -> dict[str, Any]:
    attrs: dict[str, Any] = {"provider:network_type": network_type}
    if physnet is not None:
        attrs["provider:physical_network"] = physnet
    if seg_id is not None:
        attrs["provider:segmentation_id"] = seg_id
    return attrs


@pytest.mark.parametrize("network_type", DRIVERS)
def test_each_loaded_type_makes_networks_with_its_mtu(
    api: TestClient, network_type: str
) -> None:
    good = CASES[network_type].good[0]
    r = create(api, **provider(network_type, good.physical_network, good.segmentation_id))
    assert r.status_code == 201, r.text
    net = r.json()["network"]
    assert net["provider:network_type"] == network_type
    assert net["mtu"] == CASES[network_type].mtu
    for bad, reason in CASES[network_type].bad:
        r = create(api, **provider(network_type, bad.physical_network, bad.segmentation_id))
        assert r.status_code == 400, r.text
        assert r.json()["NeutronError"]["type"] == "InvalidInput"
        assert reason in r.json()["NeutronError"]["message"]


@pytest.mark.parametrize("api", [{"type_drivers": ("local", "vxlan")}], indirect=True)
def test_a_type_that_is_not_loaded_is_refused_with_neutrons_400(api: TestClient) -> None:
    for network_type in ("vlan", "flat", "gre", "bogus"):
        r = create(api, **provider(network_type, "physnet1", 101))
        assert r.status_code == 400, r.text
        err = r.json()["NeutronError"]
        assert err["type"] == "InvalidInput"
        assert f"network_type value '{network_type}' not supported" in err["message"]
    assert create(api, **provider("local")).status_code == 201
    assert create(api).json()["network"]["provider:network_type"] == "vxlan"
    assert sorted(n["provider:network_type"]
                  for n in api.get("/v2.0/networks").json()["networks"]) == ["local", "vxlan"]


def test_provider_attributes_without_a_type_are_refused(api: TestClient) -> None:
    r = create(api, **{"provider:physical_network": "physnet1"})
    assert r.status_code == 400
    assert r.json()["NeutronError"]["message"].startswith(
        "Invalid input for operation: network_type required")


@pytest.mark.parametrize("api", [{"tenant_network_types": ("vlan", "vxlan")}], indirect=True)
def test_tenant_networks_take_the_first_type_with_room_and_delete_frees_it(
    api: TestClient,
) -> None:
    nets = [create(api).json()["network"] for _ in range(6 + 8)]
    kinds = [n["provider:network_type"] for n in nets]
    assert kinds == ["vlan"] * 6 + ["vxlan"] * 8
    keys = {(n["provider:network_type"], n["provider:physical_network"],
             n["provider:segmentation_id"]) for n in nets}
    assert len(keys) == len(nets)
    assert [n["mtu"] for n in nets] == [9000] * 6 + [8950] * 8
    full = create(api)
    assert full.status_code == 409 and full.json()["NeutronError"]["type"] == (
        "NoNetworkAvailable")
    for gone in (nets[2], nets[9]):
        assert api.delete(f"/v2.0/networks/{gone['id']}").status_code == 204
    again = [create(api).json()["network"] for _ in range(2)]
    assert {(n["provider:network_type"], n["provider:segmentation_id"]) for n in again} == {
        (nets[2]["provider:network_type"], nets[2]["provider:segmentation_id"]),
        (nets[9]["provider:network_type"], nets[9]["provider:segmentation_id"])}


def test_deleting_a_provider_network_frees_its_segment(api: TestClient) -> None:
    for attrs in (provider("vlan", "physnet1", 100), provider("flat", "physnet2"),
                  provider("vxlan", None, 5000)):
        first = create(api, **attrs)
        assert first.status_code == 201, first.text
        assert create(api, **attrs).status_code == 409
        assert api.delete(f"/v2.0/networks/{first.json()['network']['id']}").status_code == 204
        assert create(api, **attrs).status_code == 201


def test_the_server_config_names_type_drivers(tmp_path: Any) -> None:
    from neutrino.cmd import config

    conf = tmp_path / "neutrino.toml"
    conf.write_text('[server]\ntype_drivers = ["vlan", "local"]\n'
                    'tenant_network_types = ["vlan"]\n')
    settings = config.load(str(conf))
    assert settings.server.type_drivers == ("vlan", "local")
    assert list(types.loaded(settings.server)) == ["vlan", "local"]
    conf.write_text('[server]\ntype_drivers = ["local"]\n')  # tenant default vxlan not loaded
    with pytest.raises(SystemExit, match="tenant_network_types: vxlan not in type_drivers"):
        config.load(str(conf))
    conf.write_text('[server]\ntype_drivers = ["local", "gre"]\n'
                    'tenant_network_types = ["local"]\n')
    with pytest.raises(SystemExit, match=r"no neutrino\.type_drivers plug-in named gre"):
        config.load(str(conf))
