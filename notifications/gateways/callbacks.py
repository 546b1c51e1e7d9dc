"""What vendors post back, in one shape whatever the vendor: delivery receipts and replies (上行短信), and
the careful reading every adapter's parsing shares.

A callback comes from the network. Each item of a batch is read on its own: one that cannot be read (a
missing field, a nested value where text belongs, a NUL, a time no calendar holds) is left out and logged,
and the rest of its batch still counts. A body that is no batch at all is refused with the reason
(``CallbackRefused``), which goes back to the vendor in its own answer format.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from enterprises.validators import normalize_mobile

log = logging.getLogger("notifications.sms")
T = TypeVar("T")
GATEWAY_ID_LENGTH = 64  # Message.gateway_id


@dataclass(frozen=True)
class Receipt:
    call_id: str  # as sent: without the part a split call added (callid.whole)
    mobile: str
    delivered: bool
    error: str
    gateway_id: str
    at: str  # ISO time the handset received it (or the report time)


@dataclass(frozen=True)
class Reply:
    mobile: str
    text: str


class CallbackRefused(ValueError):
    """The whole callback cannot be read; its message, in Chinese, is the answer's reason."""


class UnreadableItem(ValueError):
    """One item of a callback cannot be read; the others still count."""


def loads(body: bytes):
    """The callback's JSON, or CallbackRefused: not JSON at all, or nested past what the parser follows."""
    try:
        return json.loads(body)
    except RecursionError:
        raise CallbackRefused("回调内容嵌套过深，无法解析。") from None
    except ValueError:
        raise CallbackRefused("回调内容不是有效的 JSON。") from None


def read_each(payload, read: Callable[[dict], T], *, what: str) -> list[T]:
    """Each item of a JSON array read by ``read``; unreadable items are logged and left out. Refused when
    the payload is not an array, or when it has items and none of them can be read."""
    if not isinstance(payload, list):
        raise CallbackRefused(f"{what}应为 JSON 数组。")
    found = []
    for number, item in enumerate(payload, 1):
        try:
            if not isinstance(item, dict):
                raise UnreadableItem("应为 JSON 对象")
            found.append(read(item))
        except (UnreadableItem, KeyError, TypeError, ValueError, OverflowError) as exc:
            log.warning("跳过了第 %s 条%s：%s", number, what, _reason(exc))
    if payload and not found:
        raise CallbackRefused(f"{what}中没有一条可以读取（缺少字段或内容无效）。")
    return found


def _reason(exc: Exception) -> str:
    return f"缺少字段 {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)[:100]


REQUIRED = object()  # a field without a default: the item is unreadable without it


def field(item: dict, name: str, *, default=REQUIRED) -> str | int | float | bool | None:
    """One field of an item as sent: text, a number, true/false or null. A nested value, or text holding a
    NUL or characters that have no UTF-8 form (neither can be stored), makes the item unreadable."""
    value = item[name] if default is REQUIRED else item.get(name, default)
    if isinstance(value, str):
        if "\x00" in value:
            raise UnreadableItem(f"字段 {name} 含有空字符（NUL）")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise UnreadableItem(f"字段 {name} 含有无法编码的字符") from None
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    raise UnreadableItem(f"字段 {name} 应为文字或数字")


def text(item: dict, name: str, *, default=REQUIRED) -> str:
    return str(field(item, name, default=default))


def mobile(value) -> str:
    """The number as the register stores it; one that is not a mainland mobile matches no firm."""
    try:
        return normalize_mobile(str(value))
    except ValidationError:
        return str(value)[-11:]


def local_time(value) -> str:
    """Vendor times: "2017-01-01 00:00:00" (Shanghai), or unix seconds. Text that reads as no time is taken
    as now; a number of seconds no calendar holds (Infinity, 1e400) makes the item unreadable."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isascii() and value.isdigit()):
        try:
            moment = datetime.datetime.fromtimestamp(int(value), datetime.UTC)
        except (OverflowError, ValueError, OSError):
            raise UnreadableItem(f"时间 {str(value)[:30]} 超出范围") from None
    else:
        try:
            moment = parse_datetime(str(value))
        except ValueError:  # well formed, but no such day or hour
            moment = None
        moment = moment or timezone.localtime()
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
    return moment.isoformat()
