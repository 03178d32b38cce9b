"""A random network workload for the change-log property tests, runnable in a thread of the
test process or in a separate process (each process with its own engine, like a server
worker). Ops pick their target among the networks that exist when they run, so writers in
different threads and processes collide on the same rows."""

from __future__ import annotations

import itertools
from typing import Any

from neutrino.db import Database, make_engine
from neutrino.domain.context import Context
from neutrino.domain.errors import NeutronError
from neutrino.domain.listing import ListQuery, Sort
from neutrino.domain.network import NetworkCreate, NetworkUpdate
from neutrino.services import networks
from neutrino.services._env import Env

# ("create",) | ("update", pick) | ("delete", pick)
Op = tuple[Any, ...]

ADMIN = Context.admin("admin")
_names = itertools.count()
_process_envs: dict[str, Env] = {}


def run(env: Env, worker: str, ops: list[Op]) -> int:
    """Apply `ops`; returns how many succeeded (each success appends one network entry:
    every update sets a name never used before, so it always changes something)."""
    done = 0
    for op in ops:
        try:
            if op[0] == "create":
                networks.create(env, ADMIN, NetworkCreate(name=_fresh(worker)))
            else:
                target = _pick(env, op[1])
                if target is None:
                    continue
                if op[0] == "update":
                    networks.update(env, ADMIN, target, NetworkUpdate(name=_fresh(worker)))
                else:
                    networks.delete(env, ADMIN, target)
            done += 1
        except NeutronError:  # e.g. another writer deleted the target first: nothing appended
            pass
    return done


def run_in_process(url: str, worker: str, ops: list[Op]) -> int:
    """Entry point for a worker process: one engine per process and URL."""
    if url not in _process_envs:
        _process_envs[url] = Env(db=Database(make_engine(url, pool_size=2)))
    return run(_process_envs[url], worker, ops)


def _fresh(worker: str) -> str:
    return f"{worker}-{next(_names)}"


def _pick(env: Env, index: int) -> str | None:
    page = networks.list_(env, ADMIN, ListQuery(sorts=(Sort("id"),)))
    return page.items[index % len(page.items)].id if page.items else None
