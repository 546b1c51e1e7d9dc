"""Telling every process that the register changed, so its matching index catches up.

Writers announce the ids of the firms they changed (or "everything") after their transaction
commits. Each announcement increments a generation counter in Redis and appends to a short log,
atomically (one Lua script). Before a query, a process compares its generation with Redis and
re-reads just the announced firms, or rebuilds when the log no longer reaches back far enough.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from core.redis import client, key

LOG_LENGTH = 1000
MAX_IDS = 20_000  # above this an announcement means "rebuild": re-reading would cost more
_ANNOUNCE = """
local g = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], g .. ':' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return g
"""


REGISTER = "register"  # enterprises and their tags
POLICIES = "policies"  # published policies and their rules


def _keys(channel: str = REGISTER) -> tuple[str, str]:
    return key("matching", channel, "generation"), key("matching", channel, "changes")


def announce(ids: Iterable[int] | None) -> int:
    """Record that these firms changed (None: everything did); returns the new generation."""
    ids = None if ids is None else sorted(set(ids))
    payload = "*" if ids is None or len(ids) > MAX_IDS else ",".join(map(str, ids))
    if payload == "":
        return current_generation()
    return int(client().eval(_ANNOUNCE, 2, *_keys(), payload, LOG_LENGTH))


def announce_on_commit(ids: Iterable[int] | None) -> None:
    ids = None if ids is None else list(ids)
    transaction.on_commit(lambda: announce(ids))


def current_generation(channel: str = REGISTER) -> int:
    return int(client().get(generation_key(channel)) or 0)


def generation_key(channel: str = REGISTER) -> str:
    """The Redis key of a channel's generation, for callers reading it inside their own pipeline."""
    return _keys(channel)[0]


def announce_policies_on_commit() -> None:
    """Any policy changed: processes reload their list of open policies."""
    transaction.on_commit(lambda: client().incr(_keys(POLICIES)[0]))


@dataclass
class News:
    generation: int
    rebuild: bool = False
    ids: set[int] = field(default_factory=set)


def changes_since(generation: int) -> News:
    gen_key, log_key = _keys()
    current = int(client().get(gen_key) or 0)
    if current == generation:
        return News(current)
    entries = []
    for raw in client().lrange(log_key, 0, -1):
        number, _, payload = raw.decode().partition(":")
        if int(number) > generation:
            entries.append((int(number), payload))
    if generation < 0 or len(entries) < current - generation:  # first use, or the log was trimmed past us
        return News(current, rebuild=True)
    news = News(current)
    for _, payload in entries:
        if payload == "*":
            return News(current, rebuild=True)
        news.ids.update(int(i) for i in payload.split(","))
    return news
