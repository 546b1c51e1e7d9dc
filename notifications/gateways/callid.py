"""What a gateway call id looks like: how it is made, split into parts, and read back from an echo.

Every call to a vendor carries one id (Aliyun ``OutId``, Tencent ``SessionContext``), which the vendor
echoes in its receipts (Aliyun ``out_id``, Tencent ``ext``) and in its send-detail queries:

    <campaign id, hex>-<nonce>-<block>     a push's call; block: the first id of the block of message ids
                                           the call carries (at most BLOCK_SPAN ids), how receipts find them
    login-<code id>                        a sign-in code's call (its receipts change no message)
    digest-<digest id>                     a staff supervision digest's call (the same)

An adapter that splits a call (Aliyun resending a refused batch number by number, Tencent one request per
distinct parameters) sends part n as ``<call id>.<n>``; echoes are matched on the call id without the part.
"""

from __future__ import annotations

import re
import secrets
from typing import NamedTuple

PART = "."
BLOCK_SPAN = 1000  # no gateway takes more numbers a call, so a call's messages lie within this many ids
_BIGINT_MAX = 2**63 - 1  # a message id
_PUSH = re.compile(r"(?P<campaign>[0-9a-f]{1,16})-(?P<nonce>[0-9a-f]+)-(?P<block>[0-9]{1,19})")
_NUMBER = re.compile(r"[0-9]{1,9}")


class CallId(NamedTuple):
    """A push's call id, parsed."""

    campaign_id: int
    nonce: str
    block: int
    part: int | None = None

    def __str__(self) -> str:
        whole = f"{self.campaign_id:x}-{self.nonce}-{self.block}"
        return whole if self.part is None else part(whole, self.part)

    @classmethod
    def parse(cls, value: object) -> CallId | None:
        """The call id in an echo, or None when it is not one of a push's calls (a sign-in code's, another
        system's, or garbage)."""
        whole, _, number = str(value).partition(PART)
        found = _PUSH.fullmatch(whole)
        if found is None or int(found["block"]) > _BIGINT_MAX:
            return None
        n = int(number) if _NUMBER.fullmatch(number) else None
        return cls(int(found["campaign"], 16), found["nonce"], int(found["block"]), n)


def push_prefix(*, campaign_id: int) -> str:
    """What the ids of one chunk's calls share: the campaign and a fresh nonce (a resent chunk gets new ids)."""
    return f"{campaign_id:x}-{secrets.token_hex(5)}"


def push_call_sql(block_sql: str) -> str:
    """SQL for a push's call id from the ``%s`` parameter ``push_prefix`` gave and the SQL of the block."""
    return f"%s || '-' || ({block_sql})"


def login_call_id(*, code_id: int) -> str:
    return f"login-{code_id}"


def reply_call_id(*, rating_id: int) -> str:
    """A 好差评 reply notice: like a sign-in code's, its receipts change no push message."""
    return f"reply-{rating_id}"


def digest_call_id(*, digest_id: int) -> str:
    """A staff supervision digest's call (its receipts change no message)."""
    return f"digest-{digest_id}"


def part(call_id: str, n: int) -> str:
    """The id part ``n`` of a split call is sent under."""
    return f"{call_id}{PART}{n}"


def whole(echoed: object) -> str:
    """The call id a vendor echoes back, without the part a split added."""
    return str(echoed).split(PART)[0]


def block(echoed: object) -> int | None:
    """The first message id of the block a push's call carried, or None when the echo is not such a call."""
    parsed = CallId.parse(echoed)
    return None if parsed is None else parsed.block
