"""The one Redis client and the one key namespace of the project.

Every Redis key the project writes starts with ``key()``'s prefix, which names the database: a demo, the
tests and a benchmark sharing one Redis never read each other's counters. The Django cache and the rate
limiter use the same prefix (``settings.CACHES`` and ``notifications.gateways.throttle``).
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def client() -> redis.Redis:
    """This process's client (its connection pool is re-created after a fork by redis-py itself)."""
    return redis.Redis.from_url(settings.REDIS_URL)


def namespace() -> str:
    return f"huiqi:{settings.DATABASES['default']['NAME']}"


def key(*parts: object) -> str:
    """``huiqi:<database>:<part>:<part>…`` — the name of one of the project's Redis keys."""
    return ":".join([namespace(), *map(str, parts)])


def cache_key(key: str, key_prefix: str, version: int) -> str:
    """Django cache ``KEY_FUNCTION``: cache entries live in the same namespace as every other key."""
    return ":".join([namespace(), "cache", str(version), key])
