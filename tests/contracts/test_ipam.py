"""The IPAM contract: every driver registered in the `neutrino.ipam` entry-point group, on
SQLite and PostgreSQL, through the `IpamDriver` protocol only."""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from neutrino.db import Database, Tx
from neutrino.domain import addresses
from neutrino.domain.errors import NeutronError
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import IPAddress, IpRange
from neutrino.ipam import GROUP, IpamDriver, load_ipam_driver

DRIVERS = sorted(ep.name for ep in entry_points(group=GROUP))


def test_builtin_driver_is_registered() -> None:
    assert "builtin" in DRIVERS


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> IpamDriver:
    return load_ipam_driver(request.param)


@pytest.fixture
def db(engine: Engine) -> Database:
    return Database(engine)


def make_subnet(
    cidr: str,
    *,
    pools: list[tuple[str, str]] | None = None,
    gateway: str | bool | None = True,
    mode: str | None = None,
) -> Subnet:
    """A subnet as the subnets service would build it (Neutron's defaults)."""
    net = ipaddress.ip_network(cidr)
    gw: IPAddress | None
    if gateway is True:
        gw = addresses.default_gateway(net)
    else:
        gw = None if gateway in (None, False) else ipaddress.ip_address(gateway)
    ranges = (
        addresses.default_allocation_pools(net, gw)
        if pools is None
        else tuple(IpRange(ipaddress.ip_address(a), ipaddress.ip_address(b)) for a, b in pools)
    )
    return Subnet(
        id=str(uuid.uuid4()),
        project_id="p",
        network_id=str(uuid.uuid4()),
        ip_version=net.version,
        cidr=net,
        gateway_ip=gw,
        allocation_pools=ranges,
        ipv6_ra_mode=mode,
        ipv6_address_mode=mode,
    )


def run(db: Database, fn: Callable[[Tx], Any]) -> Any:
    """One committed transaction."""
    with db.write() as tx:
        return fn(tx)


def added(db: Database, driver: IpamDriver, subnet: Subnet) -> Subnet:
    run(db, lambda tx: driver.add_subnet(tx, subnet))
    return subnet


def take(db: Database, driver: IpamDriver, subnet: Subnet, address: str | None = None,
         mac: str | None = None) -> IPAddress:
    ip = None if address is None else ipaddress.ip_address(address)
    return run(db, lambda tx: driver.allocate(tx, subnet, ip, mac))  # type: ignore[no-any-return]


def give(db: Database, driver: IpamDriver, subnet: Subnet, address: str) -> None:
    run(db, lambda tx: driver.release(tx, subnet, ipaddress.ip_address(address)))


def error_of(fn: Callable[[], Any]) -> str:
    with pytest.raises(NeutronError) as info:
        fn()
    return info.value.type


def drain(db: Database, driver: IpamDriver, subnet: Subnet) -> list[str]:
    """Allocate until the subnet is full; the addresses in the order handed out."""
    out: list[str] = []
    while True:
        try:
            out.append(str(take(db, driver, subnet)))
        except NeutronError as exc:
            assert exc.type == "IpAddressGenerationFailure", exc.message
            return out


def test_every_address_once_never_network_broadcast_or_gateway(
    db: Database, driver: IpamDriver
) -> None:
    subnet = added(db, driver, make_subnet("10.0.0.0/28"))
    got = drain(db, driver, subnet)
    assert len(got) == len(set(got)) == 13
    assert set(got) == {f"10.0.0.{i}" for i in range(2, 15)}
    assert error_of(lambda: take(db, driver, subnet)) == "IpAddressGenerationFailure"


def test_pools_are_honoured(db: Database, driver: IpamDriver) -> None:
    subnet = added(db, driver, make_subnet(
        "10.1.0.0/24", pools=[("10.1.0.10", "10.1.0.12"), ("10.1.0.20", "10.1.0.20")]))
    assert sorted(drain(db, driver, subnet)) == ["10.1.0.10", "10.1.0.11", "10.1.0.12",
                                                 "10.1.0.20"]


def test_release_and_reuse(db: Database, driver: IpamDriver) -> None:
    subnet = added(db, driver, make_subnet("10.2.0.0/29"))
    got = drain(db, driver, subnet)
    give(db, driver, subnet, got[2])
    assert str(take(db, driver, subnet)) == got[2]
    assert error_of(lambda: take(db, driver, subnet)) == "IpAddressGenerationFailure"
    give(db, driver, subnet, got[0])
    give(db, driver, subnet, got[0])  # releasing twice is no error
    give(db, driver, subnet, "10.2.0.1")  # never allocated (the gateway): no error
    assert drain(db, driver, subnet) == [got[0]]


def test_a_burst_of_releases_is_all_free_again(db: Database, driver: IpamDriver) -> None:
    """Many releases between two allocations (a burst of port deletes), inside and outside
    the pools, repeated and never-allocated ones among them: afterwards exactly the
    released addresses come back, lowest first, and the ones kept stay taken."""
    subnet = added(db, driver, make_subnet("10.12.0.0/26", pools=[("10.12.0.2", "10.12.0.50")]))
    got = drain(db, driver, subnet)
    outside = [str(take(db, driver, subnet, a)) for a in ("10.12.0.60", "10.12.0.61")]
    released = [*got[1:40:2], *got[30:36], outside[0]]

    def release_all(tx: Tx) -> None:
        for a in [*released, got[5], "10.12.0.1", "10.12.0.55"]:
            driver.release(tx, subnet, ipaddress.ip_address(a))
    run(db, release_all)
    again = drain(db, driver, subnet)
    assert again == sorted(set(released) - set(outside),
                           key=lambda a: int(ipaddress.ip_address(a)))
    assert str(take(db, driver, subnet, outside[0])) == outside[0]
    assert error_of(lambda: take(db, driver, subnet, outside[1])) == "IpAddressAlreadyAllocated"


def test_specific_addresses(db: Database, driver: IpamDriver) -> None:
    subnet = added(db, driver, make_subnet("10.3.0.0/24"))
    assert str(take(db, driver, subnet, "10.3.0.2")) == "10.3.0.2"
    assert error_of(lambda: take(db, driver, subnet, "10.3.0.2")) == "IpAddressAlreadyAllocated"
    assert error_of(lambda: take(db, driver, subnet, "10.9.0.5")) == "InvalidIpForSubnet"
    assert error_of(lambda: take(db, driver, subnet, "10.3.0.0")) == "InvalidIpForSubnet"
    assert error_of(lambda: take(db, driver, subnet, "10.3.0.255")) == "InvalidIpForSubnet"
    assert error_of(lambda: take(db, driver, subnet, "2001:db8::1")) == "InvalidIpForSubnet"
    # The gateway may be taken on purpose (a router interface), but is never handed out.
    assert str(take(db, driver, subnet, "10.3.0.1")) == "10.3.0.1"
    assert str(take(db, driver, subnet)) == "10.3.0.3"


def test_specific_outside_pools_is_allowed_and_stays_out_of_them(
    db: Database, driver: IpamDriver
) -> None:
    subnet = added(db, driver, make_subnet("10.4.0.0/29", pools=[("10.4.0.2", "10.4.0.3")]))
    assert str(take(db, driver, subnet, "10.4.0.6")) == "10.4.0.6"
    assert error_of(lambda: take(db, driver, subnet, "10.4.0.6")) == "IpAddressAlreadyAllocated"
    give(db, driver, subnet, "10.4.0.6")
    assert sorted(drain(db, driver, subnet)) == ["10.4.0.2", "10.4.0.3"]
    assert str(take(db, driver, subnet, "10.4.0.6")) == "10.4.0.6"


def test_full_subnet_and_subnets_are_independent(db: Database, driver: IpamDriver) -> None:
    a = added(db, driver, make_subnet("10.5.0.0/30"))
    b = added(db, driver, make_subnet("10.5.0.0/30"))
    assert drain(db, driver, a) == ["10.5.0.2"]
    assert drain(db, driver, b) == ["10.5.0.2"]
    empty = added(db, driver, make_subnet("10.5.1.0/24", pools=[]))
    assert error_of(lambda: take(db, driver, empty)) == "IpAddressGenerationFailure"


def test_ipv6_stateful_and_eui64(db: Database, driver: IpamDriver) -> None:
    stateful = added(db, driver, make_subnet("2001:db8:1::/64"))
    assert [str(take(db, driver, stateful)) for _ in range(2)] == ["2001:db8:1::1",
                                                                  "2001:db8:1::2"]
    slaac = added(db, driver, make_subnet("2001:db8:2::/64", mode="slaac"))
    mac = "fa:16:3e:12:34:56"
    expected = addresses.eui64_address(ipaddress.IPv6Network("2001:db8:2::/64"), mac)
    assert take(db, driver, slaac, mac=mac) == expected
    assert error_of(lambda: take(db, driver, slaac, mac=mac)) == "IpAddressAlreadyAllocated"
    give(db, driver, slaac, str(expected))
    assert take(db, driver, slaac, mac=mac) == expected
    # A specific address wins over the MAC (a router interface takes the gateway).
    assert str(take(db, driver, slaac, "2001:db8:2::", mac=mac)) == "2001:db8:2::"


def test_update_keeps_allocations_and_follows_new_pools(db: Database, driver: IpamDriver) -> None:
    old = added(db, driver, make_subnet("10.6.0.0/24", pools=[("10.6.0.10", "10.6.0.12")]))
    assert [str(take(db, driver, old)) for _ in range(2)] == ["10.6.0.10", "10.6.0.11"]
    new = make_subnet("10.6.0.0/24", pools=[("10.6.0.11", "10.6.0.14")])
    new = Subnet(**{**{f: getattr(new, f) for f in new.__dataclass_fields__}, "id": old.id})
    run(db, lambda tx: driver.update_subnet(tx, old, new))
    assert sorted(drain(db, driver, new)) == ["10.6.0.12", "10.6.0.13", "10.6.0.14"]
    give(db, driver, new, "10.6.0.10")  # allocated in the old pools, now outside: just freed
    assert error_of(lambda: take(db, driver, new)) == "IpAddressGenerationFailure"
    assert str(take(db, driver, new, "10.6.0.10")) == "10.6.0.10"


def test_remove_subnet_forgets_everything(db: Database, driver: IpamDriver) -> None:
    subnet = added(db, driver, make_subnet("10.7.0.0/29"))
    take(db, driver, subnet)
    run(db, lambda tx: driver.remove_subnet(tx, subnet))
    assert error_of(lambda: take(db, driver, subnet)) == "SubnetNotFound"
    give(db, driver, subnet, "10.7.0.2")  # no error
    again = added(db, driver, subnet)
    assert str(take(db, driver, again)) == "10.7.0.2"


def test_a_rolled_back_allocation_is_free_again(db: Database, driver: IpamDriver) -> None:
    subnet = added(db, driver, make_subnet("10.8.0.0/29"))

    def allocate_then_fail(tx: Tx) -> None:
        driver.allocate(tx, subnet)
        raise RuntimeError("request failed after allocating")

    with pytest.raises(RuntimeError):
        run(db, allocate_then_fail)
    assert str(take(db, driver, subnet)) == "10.8.0.2"


def test_concurrent_allocators_fill_a_subnet_exactly_once(
    engine: Engine, driver: IpamDriver
) -> None:
    """Several threads, each with its own transactions (and connections), allocate from one
    small subnet until it is full: every address once, exactly full, then a clean
    IpAddressGenerationFailure for everyone."""
    db = Database(engine)
    subnet = added(db, driver, make_subnet("10.9.0.0/26"))
    results: list[list[str]] = [[] for _ in range(6)]
    failures: list[str] = []
    start = threading.Barrier(len(results))

    def worker(out: list[str]) -> None:
        start.wait()
        while True:
            try:
                out.append(str(take(db, driver, subnet)))
            except NeutronError as exc:
                if exc.type != "IpAddressGenerationFailure":
                    failures.append(exc.type)
                return
            except Exception as exc:  # a deadlock or serialization error would land here
                failures.append(repr(exc))
                return

    threads = [threading.Thread(target=worker, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    got = [ip for out in results for ip in out]
    assert len(got) == len(set(got)) == 61
    assert set(got) == {str(ipaddress.ip_address("10.9.0.0") + i) for i in range(2, 63)}
    assert error_of(lambda: take(db, driver, subnet)) == "IpAddressGenerationFailure"


def test_the_server_loads_the_configured_driver_by_name(engine: Engine, tmp_path: Any) -> None:
    from neutrino.cmd import bootstrap, config
    from neutrino.ipam.builtin import BuiltinIpam

    conf = tmp_path / "neutrino.toml"
    conf.write_text('[server]\nipam_driver = "builtin"\n')
    settings = config.load(str(conf))
    assert settings.server.ipam_driver == "builtin"
    app = bootstrap.build(settings, engine)
    assert isinstance(app.state.env.ipam, BuiltinIpam)
    conf.write_text('[server]\nipam_driver = "nope"\n')
    with pytest.raises(LookupError, match=r"no neutrino\.ipam plug-in named 'nope'"):
        bootstrap.build(config.load(str(conf)), engine)
