"""Announcing that data changed, so every process's caches catch up — the one way to do it.

Two channels:
- ``REGISTER``: enterprises and their tags. Writers (imports, tag edits, expiry, the nightly refresh)
  call ``enterprises_changed_on_commit(ids)`` with the ids they changed, or None for "everything".
  Each announcement increments a generation counter in Redis and appends to a short log, atomically
  (one Lua script). Before a query, a process's matching index compares its generation with Redis and
  re-reads just the announced enterprises, or rebuilds when the log no longer reaches back far enough.
- ``POLICIES``: any published policy or its rule changed; processes recompile their list of open
  policies. Only a generation, no log. Policies announce it from their save/delete signals
  (``policies/apps.py``), so every write path is covered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from redis.exceptions import RedisError

from core.redis import client, key

REGISTER = "register"  # enterprises and their tags
POLICIES = "policies"  # published policies and their rules

LOG_LENGTH = 1000
MAX_IDS = 20_000  # above this an announcement means "rebuild": re-reading would cost more
_ANNOUNCE = """
local g = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], g .. ':' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return g
"""


def generation_key(channel: str = REGISTER) -> str:
    """The Redis key of a channel's generation, for callers reading it inside their own pipeline."""
    return key("changes", channel, "generation")


def _log_key(channel: str = REGISTER) -> str:
    return key("changes", channel, "log")


log = logging.getLogger("core.changes")


def current_generation(channel: str = REGISTER) -> int:
    return int(client().get(generation_key(channel)) or 0)


def current_generation_if_known(channel: str = REGISTER) -> int | None:
    """The channel's generation, or None while Redis cannot be reached: a caller that can read PostgreSQL
    instead then does, and keeps nothing in its cache (no announcement could reach it)."""
    try:
        return current_generation(channel)
    except RedisError:
        log.warning("Redis 不可用：%s 的变更代数未知，本次直接读取数据库", channel)
        return None


def enterprises_changed(ids: Iterable[int] | None) -> int:
    """Record now that these enterprises changed (None: everything did); returns the new generation."""
    ids = None if ids is None else sorted(set(ids))
    payload = "*" if ids is None or len(ids) > MAX_IDS else ",".join(map(str, ids))
    if payload == "":
        return current_generation()
    return int(client().eval(_ANNOUNCE, 2, generation_key(), _log_key(), payload, LOG_LENGTH))


def enterprises_changed_on_commit(ids: Iterable[int] | None) -> None:
    """Announce after the current transaction commits (readers must never see the change before it exists)."""
    ids = None if ids is None else list(ids)
    transaction.on_commit(lambda: enterprises_changed(ids))


def policies_changed_on_commit() -> None:
    """Any policy changed: processes reload their list of open policies after the commit."""
    transaction.on_commit(lambda: client().incr(generation_key(POLICIES)))


@dataclass
class RegisterChanges:
    """What changed in the register since a generation: some ids, or so much that a rebuild is cheaper."""

    generation: int
    rebuild: bool = False
    ids: set[int] = field(default_factory=set)


def register_changes_since(generation: int) -> RegisterChanges:
    gen_key, log_key = generation_key(), _log_key()
    current = int(client().get(gen_key) or 0)
    if current == generation:
        return RegisterChanges(current)
    entries = []
    for raw in client().lrange(log_key, 0, -1):
        number, _, payload = raw.decode().partition(":")
        if int(number) > generation:
            entries.append((int(number), payload))
    if generation < 0 or len(entries) < current - generation:  # first use, or the log was trimmed past us
        return RegisterChanges(current, rebuild=True)
    changes = RegisterChanges(current)
    for _, payload in entries:
        if payload == "*":
            return RegisterChanges(current, rebuild=True)
        changes.ids.update(int(i) for i in payload.split(","))
    return changes
