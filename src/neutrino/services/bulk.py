"""Create one or many resources in a single transaction: a bulk create is all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from neutrino.db import Tx
from neutrino.domain.context import Context
from neutrino.services._env import Env

T = TypeVar("T")


def create(
    env: Env, ctx: Context, create_in: Callable[[Tx, Env, Context, Any], T], reqs: Sequence[Any]
) -> list[T]:
    with env.db.write() as tx:
        return [create_in(tx, env, ctx, req) for req in reqs]
