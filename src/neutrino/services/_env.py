"""What every service function receives: the database, settings and plug-ins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neutrino.db import Database
from neutrino.domain.config import ServerConfig


@dataclass
class Env:
    """The composition root builds one per process (`cmd/bootstrap.py`)."""

    db: Database
    config: ServerConfig = field(default_factory=ServerConfig)
    plugins: dict[str, Any] = field(default_factory=dict)
