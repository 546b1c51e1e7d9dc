"""Recording what comes back from the vendors: delivery receipts and replies (上行短信), in the one shape
the vendor adapters read them into (``gateways.callbacks``).

Receipts may arrive more than once and before our own record of the call; a message's status only
moves forward (sending/sent → delivered or failed), so repeats change nothing.
"""

from __future__ import annotations

from dataclasses import asdict

from django.db import connection, transaction

from notifications.consent import enterprise_sms_opt_out, reply_is_opt_out
from notifications.gateways import callid
from notifications.gateways.callbacks import Receipt, Reply
from notifications.models import InboundSms, Message

TABLE = Message._meta.db_table
MessageStatus = Message.Status  # in raw SQL too: '{MessageStatus.SENT}'


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
                  status = CASE WHEN r.ok THEN '{MessageStatus.DELIVERED}' ELSE '{MessageStatus.PERMANENT_FAILURE}' END,
                  delivered_at = CASE WHEN r.ok THEN r.at END,
                  error = CASE WHEN r.ok THEN '' ELSE r.error END,
                  gateway_id = CASE WHEN m.gateway_id = '' THEN r.gateway_id ELSE m.gateway_id END
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bool[], %s::text[], %s::text[],
                            %s::timestamptz[]) AS r(block, call_id, mobile, ok, error, gateway_id, at)
                WHERE m.id BETWEEN r.block AND r.block + %s AND m.call_id = r.call_id AND m.mobile = r.mobile
                  AND m.status IN ('{MessageStatus.SENDING}', '{MessageStatus.SENT}')""",
            [*[list(c) for c in columns], callid.BLOCK_SPAN - 1],
        )
        return cursor.rowcount


def replies_record(*, vendor: str, replies: list[Reply]) -> int:
    """Keep every reply; an opt-out word stops all SMS to the firms behind that number. Returns firms opted out."""
    opted = 0
    for reply in replies:
        count = enterprise_sms_opt_out(mobile=reply.mobile) if reply_is_opt_out(text=reply.text) else 0
        InboundSms.objects.create(vendor=vendor, mobile=reply.mobile, text=reply.text[:500], opted_out=count)
        opted += count
    return opted


def receipts_as_json(receipts: list[Receipt]) -> list[dict]:
    """Receipts as a task's argument (the webhook queues them)."""
    return [asdict(r) for r in receipts]


def receipts_from_json(items: list[dict]) -> list[Receipt]:
    return [Receipt(**item) for item in items]
