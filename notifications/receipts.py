"""What comes back from the vendors: delivery receipts and replies (上行短信), in one shape for both.

Receipts may arrive more than once and before our own record of the call; a message's status only
moves forward (sending/sent → delivered or failed), so repeats change nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from enterprises.services import enterprise_sms_opt_out, is_opt_out_reply
from enterprises.validators import normalize_mobile
from notifications.gateways import callid
from notifications.models import InboundSms, Message

TABLE = Message._meta.db_table


@dataclass(frozen=True)
class Receipt:
    call_id: str
    mobile: str
    delivered: bool
    error: str
    gateway_id: str
    at: str  # ISO time the handset received it (or the report time)


@dataclass(frozen=True)
class Reply:
    mobile: str
    text: str


def _mobile(value) -> str:
    """The number as the register stores it; one that is not a mainland mobile matches no firm."""
    try:
        return normalize_mobile(str(value))
    except ValidationError:
        return str(value)[-11:]


def _local_time(value) -> str:
    """Vendor times: "2017-01-01 00:00:00" (Shanghai), or unix seconds."""
    if isinstance(value, int | float) or str(value).isdigit():
        moment = datetime.datetime.fromtimestamp(int(value), datetime.UTC)
    else:
        moment = parse_datetime(str(value)) or timezone.localtime()
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
    return moment.isoformat()


def parse_receipts(vendor: str, payload) -> list[Receipt]:
    """Aliyun: [{phone_number, success, err_code, err_msg, biz_id, out_id, report_time}];
    Tencent: [{mobile, report_status, errmsg, sid, ext, user_receive_time}]. Raises ValueError if neither."""
    if not isinstance(payload, list):
        raise ValueError("回执应为 JSON 数组")
    receipts = []
    for item in payload:
        if vendor == "aliyun":
            ok = item["success"] in (True, "true", "True", 1)
            receipts.append(
                Receipt(
                    callid.whole(item.get("out_id", "")),
                    _mobile(item["phone_number"]),
                    ok,
                    "" if ok else f"{item.get('err_code', '')}：{item.get('err_msg', '')}"[:200],
                    str(item.get("biz_id", "")),
                    _local_time(item.get("report_time") or 0),
                )
            )
        else:
            ok = item["report_status"] == "SUCCESS"
            receipts.append(
                Receipt(
                    callid.whole(item.get("ext", "")),
                    _mobile(item["mobile"]),
                    ok,
                    "" if ok else str(item.get("errmsg", ""))[:200],
                    str(item.get("sid", "")),
                    _local_time(item.get("user_receive_time") or 0),
                )
            )
    return receipts


def parse_replies(vendor: str, payload) -> list[Reply]:
    """Aliyun SmsUp: [{phone_number, content, …}]; Tencent: {mobile, text, …} (one reply a call)."""
    if vendor == "aliyun":
        if not isinstance(payload, list):
            raise ValueError("上行短信应为 JSON 数组")
        return [Reply(_mobile(item["phone_number"]), str(item["content"])) for item in payload]
    if not isinstance(payload, dict):
        raise ValueError("上行短信应为 JSON 对象")
    return [Reply(_mobile(payload["mobile"]), str(payload["text"]))]


def receipts_record(*, receipts: list[Receipt]) -> int:
    """Delivered or failed, in one statement; returns how many messages moved (repeats move none)."""
    if not receipts:
        return 0
    ours = [(block, r) for r in receipts if (block := callid.block(r.call_id)) is not None]
    if not ours:
        return 0
    rows = [(block, r.call_id, r.mobile, r.delivered, r.error, r.gateway_id, r.at) for block, r in ours]
    columns = list(zip(*rows, strict=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {TABLE} m SET
                  status = CASE WHEN r.ok THEN 'delivered' ELSE 'permanent-failure' END,
                  delivered_at = CASE WHEN r.ok THEN r.at END,
                  error = CASE WHEN r.ok THEN '' ELSE r.error END,
                  gateway_id = CASE WHEN m.gateway_id = '' THEN r.gateway_id ELSE m.gateway_id END
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bool[], %s::text[], %s::text[],
                            %s::timestamptz[]) AS r(block, call_id, mobile, ok, error, gateway_id, at)
                WHERE m.id BETWEEN r.block AND r.block + %s AND m.call_id = r.call_id AND m.mobile = r.mobile
                  AND m.status IN ('sending', 'sent')""",
            [*[list(c) for c in columns], callid.BLOCK_SPAN - 1],
        )
        return cursor.rowcount


def replies_record(*, vendor: str, replies: list[Reply]) -> int:
    """Keep every reply; an opt-out word stops all SMS to the firms behind that number. Returns firms opted out."""
    opted = 0
    for reply in replies:
        count = enterprise_sms_opt_out(mobile=reply.mobile) if is_opt_out_reply(reply.text) else 0
        InboundSms.objects.create(vendor=vendor, mobile=reply.mobile, text=reply.text[:500], opted_out=count)
        opted += count
    return opted


def receipts_as_json(receipts: list[Receipt]) -> list[dict]:
    return [asdict(r) for r in receipts]
