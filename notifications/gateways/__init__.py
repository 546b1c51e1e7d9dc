"""SMS gateways, chosen by the SMS_BACKEND setting. Each vendor's adapter owns everything of that vendor:
its request signing, its answers, and the receipts and replies it posts back (and how to answer those).

A gateway sends one batch of messages in one call and answers, per message, one of: accepted (with
the gateway's id), a temporary failure (worth retrying), a permanent failure (never retried), or
unknown (the call timed out: the watchdog asks the gateway before anything is sent again).

Every call carries a ``call_id`` (Aliyun ``OutId``, Tencent ``SessionContext``; its format is ``callid``'s):
the vendors take one such id per request, echo it in receipts and in their send-detail queries, and that is
how a timed-out call is reconciled without sending twice.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import Enum
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.gateways.callbacks import Receipt, Reply
from notifications.sms_rules import render


class Outcome(Enum):
    ACCEPTED = "accepted"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, three times the cost of
# making one, and a push makes two of these per message.
@dataclass(slots=True)
class OutgoingSms:
    out_id: str  # the message's own id, for our bookkeeping (vendors get the call id)
    mobile: str
    params: dict  # the template's variables by vendor name (sms_rules.template_params): all a vendor takes
    body: str  # the registered template's body, for gateways that show the text

    @property
    def text(self) -> str:
        """The body without the signature, as the phone will show it (rendered only when asked for)."""
        return render(self.body, self.params)


@dataclass(slots=True)
class SendResult:
    out_id: str
    outcome: Outcome
    gateway_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class StuckSms:
    """A message whose call timed out: enough to ask the gateway whether it took it."""

    out_id: str
    mobile: str
    call_id: str
    sent_at: datetime.datetime


class Gateway:
    """Base class: ``batch_size`` numbers per call, ``send`` never raises for per-message problems."""

    name = "base"
    batch_size = 100

    def send(
        self, messages: list[OutgoingSms], *, signature: str, template_code: str, call_id: str
    ) -> list[SendResult]:
        raise NotImplementedError

    def accepted(self, stuck: list[StuckSms]) -> dict[str, bool] | None:
        """Per stuck message (out id): did the gateway take it? Absent when it cannot tell yet; None: never."""
        return None

    # A vendor that posts receipts and replies to the webhooks says so and reads them. These are class
    # methods: a callback is read whichever gateway this process sends through, and needs no credentials.
    takes_callbacks = False

    @classmethod
    def parse_receipts(cls, payload) -> list[Receipt]:
        """The delivery receipts in a callback's JSON (unreadable ones left out); CallbackRefused if none."""
        raise NotImplementedError

    @classmethod
    def parse_replies(cls, payload) -> list[Reply]:
        """The replies (上行短信) in a callback's JSON; CallbackRefused if it holds none that can be read."""
        raise NotImplementedError

    @classmethod
    def callback_answer(cls, refusal: str = "") -> dict:
        """The body the vendor expects in answer to a callback: received, or refused with the reason."""
        raise NotImplementedError


def results_for(messages: list[OutgoingSms], outcome: Outcome, *, gateway_id: str = "", error: str = ""):
    """The same answer for every message of a call (the whole call succeeded or failed)."""
    return [SendResult(m.out_id, outcome, gateway_id=gateway_id, error=error[:200]) for m in messages]


BACKENDS = {
    "console": "notifications.gateways.local.ConsoleGateway",
    "file": "notifications.gateways.local.FileGateway",
    "aliyun": "notifications.gateways.aliyun.AliyunGateway",
    "tencent": "notifications.gateways.tencent.TencentGateway",
}


def callback_gateway(vendor: str) -> type[Gateway] | None:
    """The adapter of ``vendor`` (a webhook's path segment) if that vendor posts callbacks, else None."""
    path = BACKENDS.get(vendor)
    gateway = import_string(path) if path else None
    return gateway if gateway is not None and gateway.takes_callbacks else None


@cache
def get_gateway(name: str | None = None) -> Gateway:
    backend = name or settings.SMS_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"未知的短信通道 SMS_BACKEND={backend!r}，可选：{'、'.join(BACKENDS)}")
    return import_string(BACKENDS[backend])()
