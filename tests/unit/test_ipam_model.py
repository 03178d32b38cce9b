"""The IPAM driver against a set model: random allocate / allocate-specific / release /
pool-change sequences (hypothesis state machine), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from sqlalchemy.engine import Engine

from neutrino.db import Database
from neutrino.domain.errors import NeutronError
from neutrino.domain.subnet import Subnet
from neutrino.domain.values import IpRange
from neutrino.ipam import IpamDriver, load_ipam_driver

SIZE = 32  # a /27: offsets 0 (network) .. 31 (broadcast)
offsets = st.integers(min_value=0, max_value=SIZE - 1)
pool_lists = st.lists(st.tuples(offsets, offsets).map(sorted), max_size=3)


class AllocatorModel(RuleBasedStateMachine):
    """`allocated` is what the driver has handed out; `pooled` what it may hand out."""

    def __init__(self, db: Database, driver: IpamDriver) -> None:
        super().__init__()
        self.db = db
        self.driver = driver
        self.base = 0
        self.allocated: set[int] = set()
        self.pooled: set[int] = set()
        self.subnet: Subnet | None = None

    def _subnet(self, pool_list: list[list[int]], gateway: int | None) -> Subnet:
        ranges = []
        for lo, hi in pool_list:
            lo, hi = max(lo, 1), min(hi, SIZE - 2)  # the service never stores wider pools
            if lo <= hi and not any(lo <= r[1] and r[0] <= hi for r in ranges):
                ranges.append((lo, hi))
        gw = gateway if gateway is not None and not any(lo <= gateway <= hi
                                                         for lo, hi in ranges) else None
        self.pooled = {a for lo, hi in ranges for a in range(lo, hi + 1)}
        return Subnet(
            id=self.subnet.id if self.subnet else str(uuid.uuid4()),
            project_id="p",
            network_id="n",
            ip_version=4,
            cidr=ipaddress.IPv4Network(f"{ipaddress.IPv4Address(self.base)}/27"),
            gateway_ip=None if gw is None else ipaddress.IPv4Address(self.base + gw),
            allocation_pools=tuple(
                IpRange.from_ints(self.base + lo, self.base + hi, 4) for lo, hi in ranges
            ),
        )

    def _ip(self, offset: int) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(self.base + offset)

    @initialize(pool_list=pool_lists, gateway=st.one_of(st.none(), offsets),
                block=st.integers(min_value=0, max_value=2**16))
    def add(self, pool_list: list[list[int]], gateway: int | None, block: int) -> None:
        self.base = int(ipaddress.IPv4Address("10.0.0.0")) + block * SIZE
        self.subnet = self._subnet(pool_list, gateway)
        with self.db.write() as tx:
            self.driver.add_subnet(tx, self.subnet)

    @rule()
    def allocate_any(self) -> None:
        assert self.subnet is not None
        free = self.pooled - self.allocated
        try:
            with self.db.write() as tx:
                ip = self.driver.allocate(tx, self.subnet)
        except NeutronError as exc:
            assert exc.type == "IpAddressGenerationFailure" and not free, exc.message
            return
        offset = int(ip) - self.base
        assert offset in free, f"handed out {ip}, free were {sorted(free)}"
        self.allocated.add(offset)

    @rule(offset=st.integers(min_value=-2, max_value=SIZE + 1))
    def allocate_specific(self, offset: int) -> None:
        assert self.subnet is not None
        try:
            with self.db.write() as tx:
                ip = self.driver.allocate(tx, self.subnet, self._ip(offset))
        except NeutronError as exc:
            if offset <= 0 or offset >= SIZE - 1:
                assert exc.type == "InvalidIpForSubnet", exc.message
            else:
                assert exc.type == "IpAddressAlreadyAllocated" and offset in self.allocated
            return
        assert 0 < offset < SIZE - 1 and offset not in self.allocated
        assert ip == self._ip(offset)
        self.allocated.add(offset)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        assert self.subnet is not None
        choices = sorted(self.allocated) or [1]
        offset = data.draw(st.one_of(st.sampled_from(choices), offsets))
        with self.db.write() as tx:
            self.driver.release(tx, self.subnet, self._ip(offset))
        self.allocated.discard(offset)

    @rule(pool_list=pool_lists, gateway=st.one_of(st.none(), offsets))
    def change_pools(self, pool_list: list[list[int]], gateway: int | None) -> None:
        assert self.subnet is not None
        new = self._subnet(pool_list, gateway)
        with self.db.write() as tx:
            self.driver.update_subnet(tx, self.subnet, new)
        self.subnet = dataclasses.replace(new)


def test_allocator_matches_set_model(engine: Engine) -> None:
    db = Database(engine)
    driver = load_ipam_driver("builtin")
    run_state_machine_as_test(
        lambda: AllocatorModel(db, driver),
        settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
