"""The HTTP side shared by the vendor gateways: one keep-alive pool per process, timeouts, throttle,
and the one question that matters after a failed call: could the vendor have taken it?

urllib3 directly rather than requests: a city push makes ten thousand calls, and requests' session
machinery (cookies, hooks, environment merging) cost three times the CPU of the call itself here.
"""

from __future__ import annotations

import json
from functools import cache

import urllib3
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from notifications.gateways import Outcome
from notifications.gateways.throttle import wait_for_slot


class CallFailed(Exception):
    """A call without a usable answer; ``outcome`` says whether a resend is safe (TEMPORARY) or not (UNKNOWN)."""

    def __init__(self, outcome: Outcome, reason: str):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@cache
def _pool() -> urllib3.PoolManager:
    # No retries: a resend is this module's caller's decision, made from what the failure allows.
    return urllib3.PoolManager(num_pools=4, maxsize=8, retries=False)


def post(vendor: str, url: str, *, data: bytes, headers: dict) -> dict:
    """POST within the vendor's QPS; returns the JSON answer or raises CallFailed."""
    wait_for_slot(vendor, settings.SMS_QPS.get(vendor, 0))
    timeout = urllib3.Timeout(connect=3, read=settings.SMS_HTTP_TIMEOUT)
    try:
        response = _pool().request("POST", url, body=data, headers=headers, timeout=timeout)
    except NewConnectionError as exc:  # refused or unresolvable: the request never left, a resend cannot duplicate
        raise CallFailed(Outcome.TEMPORARY, "无法连接短信平台") from exc
    except ConnectTimeoutError as exc:
        raise CallFailed(Outcome.TEMPORARY, "连接短信平台超时") from exc
    except ReadTimeoutError as exc:  # the request went out; the answer did not come back
        raise CallFailed(Outcome.UNKNOWN, "短信平台响应超时，无法确认是否已受理") from exc
    except HTTPError as exc:
        raise CallFailed(Outcome.UNKNOWN, "与短信平台的连接中断，无法确认是否已受理") from exc
    if response.status >= 500:
        raise CallFailed(Outcome.TEMPORARY, f"短信平台暂时故障（HTTP {response.status}）")
    try:
        return json.loads(response.data)
    except ValueError as exc:
        raise CallFailed(Outcome.UNKNOWN, f"短信平台返回无法解析的内容（HTTP {response.status}）") from exc
