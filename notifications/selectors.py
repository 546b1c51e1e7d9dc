"""Reads for pushes: progress, a message's text as the phone shows it, a firm's message by its link token."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q

from notifications.dispatch import quiet_until
from notifications.links import message_link
from notifications.models import Campaign, Message
from notifications.push_text import POLICY_TITLE_SQL, SHORT_NAME_SQL, message_values
from notifications.sms_rules import render


def message_text(*, message: Message) -> str:
    """The body the firm received (without the signature), rendered as sending rendered it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {SHORT_NAME_SQL}, {POLICY_TITLE_SQL} FROM enterprises_enterprise e "
            f"LEFT JOIN policies_policy p ON p.id = %s WHERE e.id = %s",
            [message.policy_ids[0] if message.policy_ids else None, message.enterprise_id],
        )
        short_name, title = cursor.fetchone()
    link = message_link(campaign=message.campaign, token=message.token)
    values = message_values(short_name=short_name, count=len(message.policy_ids), first_title=title or "", link=link)
    return render(message.campaign.template.body, values)


MessageStatus = Message.Status
FAILED = [MessageStatus.PERMANENT_FAILURE, MessageStatus.TECHNICAL_FAILURE, MessageStatus.VALIDATION_FAILED]
PROGRESS_SECONDS = 2  # how stale a progress bar may be; counting a city push reads a million rows


def campaign_progress(*, campaign: Campaign) -> dict:
    """Planned / sent / delivered / failed / cancelled / opened, the fraction done, and when it starts."""
    key = f"push:counts:{campaign.pk}"  # the cache namespaces it (core.redis.cache_key)
    counts = cache.get(key)
    if counts is None:
        counts = Message.objects.filter(campaign=campaign).aggregate(
            planned=Count("id"),
            sent=Count("id", filter=Q(status__in=[MessageStatus.SENT, MessageStatus.DELIVERED])),
            delivered=Count("id", filter=Q(status=MessageStatus.DELIVERED)),
            failed=Count("id", filter=Q(status__in=FAILED)),
            cancelled=Count("id", filter=Q(status=MessageStatus.CANCELLED)),
            opened=Count("id", filter=Q(first_opened_at__isnull=False)),
        )
        cache.set(key, counts, PROGRESS_SECONDS)
    done = counts["sent"] + counts["failed"] + counts["cancelled"]
    starts_at = ""
    if campaign.status in {Campaign.Status.PLANNING, Campaign.Status.SENDING} and quiet_until():
        starts_at = "夜间免打扰时段，将于 08:00 开始发送"
    # Every message has its outcome while the watchdog has not closed the push yet: it is finished, so say so
    # (and offer no cancel) rather than 发送中 at 100 %.
    finished = campaign.status == Campaign.Status.COMPLETED or (
        campaign.status == Campaign.Status.SENDING and counts["planned"] > 0 and done >= counts["planned"]
    )
    status = Campaign.Status.COMPLETED.label if finished else campaign.get_status_display()
    return {**counts, "fraction": round(done / counts["planned"], 3) if counts["planned"] else 0.0,
            "status": status, "finished": finished, "starts_at": starts_at}  # fmt: skip
