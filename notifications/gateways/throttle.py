"""Rate limits shared by every process through Redis (the limits library): requests per second to a
gateway, and the portal's sign-in limits."""

from __future__ import annotations

import time
from functools import cache

from django.conf import settings
from limits import RateLimitItemPerSecond, storage, strategies

from core.redis import key


@cache
def limiter() -> strategies.MovingWindowRateLimiter:
    url = settings.REDIS_URL
    uri = "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(uri, key_prefix=key("limits")))


def wait_for_slot(gateway: str, qps: int) -> None:
    """Block until one more request to ``gateway`` keeps the account under ``qps`` requests a second."""
    if qps <= 0:
        return
    item = RateLimitItemPerSecond(qps)
    moving = limiter()
    while not moving.hit(item, "sms", gateway):
        reset_at = moving.get_window_stats(item, "sms", gateway).reset_time
        time.sleep(min(max(reset_at - time.time(), 0.005), 1.0))
