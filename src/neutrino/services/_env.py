"""What every service function receives: the database, settings and plug-ins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neutrino.db import Database
from neutrino.domain.config import ServerConfig
from neutrino.drivers.mechanism import MechanismDriver, load_mechanism_drivers
from neutrino.ipam.builtin import BuiltinIpam
from neutrino.ipam.driver import IpamDriver


@dataclass
class Env:
    """The composition root builds one per process (`cmd/bootstrap.py`)."""

    db: Database
    config: ServerConfig = field(default_factory=ServerConfig)
    plugins: dict[str, Any] = field(default_factory=dict)
    # The IPAM driver (`ServerConfig.ipam_driver`, loaded by name in cmd/bootstrap.py).
    ipam: IpamDriver = field(default_factory=BuiltinIpam)
    # Mechanism drivers in the order they are asked to bind; left empty, the ones named by
    # `ServerConfig.mechanism_drivers` (loaded by name from their entry points).
    mechanisms: tuple[MechanismDriver, ...] = ()

    def __post_init__(self) -> None:
        if not self.mechanisms:
            self.mechanisms = load_mechanism_drivers(tuple(self.config.mechanism_drivers))
