"""The HTTP side shared by the vendor gateways: one keep-alive session per process, timeouts, throttle,
and the one question that matters after a failed call: could the vendor have taken it?"""

from __future__ import annotations

from functools import cache

import requests
from django.conf import settings

from notifications.gateways import Outcome
from notifications.gateways.throttle import wait_for_slot


class CallFailed(Exception):
    """A call without a usable answer; ``outcome`` says whether a resend is safe (TEMPORARY) or not (UNKNOWN)."""

    def __init__(self, outcome: Outcome, reason: str):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@cache
def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # vendor endpoints are configured, not taken from proxy variables or .netrc
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(vendor: str, url: str, *, data=None, headers=None) -> dict:
    """POST within the vendor's QPS; returns the JSON answer or raises CallFailed."""
    wait_for_slot(vendor, settings.SMS_QPS.get(vendor, 0))
    try:
        response = _session().post(url, data=data, headers=headers, timeout=(3, settings.SMS_HTTP_TIMEOUT))
    except requests.ConnectTimeout as exc:
        raise CallFailed(Outcome.TEMPORARY, "连接短信平台超时") from exc
    except requests.ConnectionError as exc:
        if _never_connected(exc):
            raise CallFailed(Outcome.TEMPORARY, "无法连接短信平台") from exc
        raise CallFailed(Outcome.UNKNOWN, "与短信平台的连接中断，无法确认是否已受理") from exc
    except requests.Timeout as exc:  # the request went out; the answer did not come back
        raise CallFailed(Outcome.UNKNOWN, "短信平台响应超时，无法确认是否已受理") from exc
    if response.status_code >= 500:
        raise CallFailed(Outcome.TEMPORARY, f"短信平台暂时故障（HTTP {response.status_code}）")
    try:
        return response.json()
    except ValueError as exc:
        raise CallFailed(Outcome.UNKNOWN, f"短信平台返回无法解析的内容（HTTP {response.status_code}）") from exc


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Refused or unresolvable connections never carried the request, so a resend cannot duplicate."""
    text = repr(exc)
    return "NewConnectionError" in text or "NameResolutionError" in text
