"""SMS gateways, chosen by the SMS_BACKEND setting.

A gateway sends one batch of messages and answers, per message, one of: accepted (with the
gateway's id), a temporary failure (worth retrying), a permanent failure (never retried), or
unknown (the call timed out: the watchdog asks the gateway before anything is sent again).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


class Outcome(Enum):
    ACCEPTED = "accepted"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class OutgoingSms:
    out_id: str
    mobile: str
    text: str  # body without the signature


@dataclass(frozen=True)
class SendResult:
    out_id: str
    outcome: Outcome
    gateway_id: str = ""
    error: str = ""


class Gateway:
    """Base class: ``batch_size`` numbers per call, ``send`` never raises for per-message problems."""

    batch_size = 100

    def send(self, messages: list[OutgoingSms], *, signature: str, template_code: str) -> list[SendResult]:
        raise NotImplementedError

    def accepted(self, out_ids: list[str]) -> set[str] | None:
        """Which of these messages the gateway accepted, if it can tell (None: it cannot)."""
        return None


BACKENDS = {
    "console": "notifications.gateways.local.ConsoleGateway",
    "file": "notifications.gateways.local.FileGateway",
}


@cache
def get_gateway(name: str | None = None) -> Gateway:
    backend = name or settings.SMS_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"未知的短信通道 SMS_BACKEND={backend!r}，可选：{'、'.join(BACKENDS)}")
    return import_string(BACKENDS[backend])()
