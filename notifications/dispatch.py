"""Sending planned messages: chunks sized to the gateway, statuses that only move forward.

A message is sent only from ``created``: taking a chunk is one UPDATE … SET status='sending' WHERE
status='created', so a chunk delivered twice (acks_late, a restarted worker) finds nothing left to
take. The gateway is called outside any transaction. A call that timed out leaves its messages in
``sending``; the watchdog asks the gateway which of them it accepted before anything is resent.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notifications.gateways import Outcome, OutgoingSms, get_gateway
from notifications.models import Campaign, Message

MAX_ATTEMPTS = 5
STUCK_AFTER = datetime.timedelta(minutes=10)
GIVE_UP_AFTER = datetime.timedelta(hours=24)
TABLE = Message._meta.db_table


def quiet_until(now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When a push may start if ``now`` falls in quiet hours (default 21:00–08:00 Asia/Shanghai), else None."""
    now = timezone.localtime(now)
    if not settings.SMS_QUIET_HOURS:
        return None  # quiet hours switched off (SMS_QUIET_HOURS=off)
    start, end = settings.SMS_QUIET_HOURS
    if start <= now.hour or now.hour < end:
        day = now.date() if now.hour < end else now.date() + datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(end)))
    return None


def campaign_chunks(*, campaign_id: int, size: int | None = None) -> list[tuple[int, int]]:
    """Id ranges of the campaign's unsent messages, ``size`` messages each (the gateway's batch limit)."""
    size = size or get_gateway().batch_size
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT min(id), max(id) FROM (
                  SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS chunk
                  FROM {TABLE} WHERE campaign_id = %s AND status = 'created') numbered
                GROUP BY chunk ORDER BY 1""",
            [size, campaign_id],
        )
        return cursor.fetchall()


def send_chunk(*, campaign_id: int, first_id: int, last_id: int) -> Counter:
    """Send one chunk; returns how many messages ended in each outcome. Safe to run twice."""
    with transaction.atomic():
        status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
        if status == Campaign.Status.CANCELLED:
            waiting = Message.objects.filter(
                campaign_id=campaign_id, id__range=(first_id, last_id), status=Message.Status.CREATED
            )
            cancelled = waiting.update(status=Message.Status.CANCELLED)
            return Counter(cancelled=cancelled)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {TABLE} SET status = 'sending', attempts = attempts + 1, sent_at = now()
                    WHERE campaign_id = %s AND id BETWEEN %s AND %s AND status = 'created'
                    RETURNING out_id, mobile, text""",
                [campaign_id, first_id, last_id],
            )
            batch = [OutgoingSms(*row) for row in cursor.fetchall()]
        template = Campaign.objects.select_related("template").get(pk=campaign_id).template.code
    if not batch:
        return Counter()
    results = get_gateway().send(batch, signature=settings.SMS_SIGNATURE, template_code=template)
    return _record(results)


def _record(results) -> Counter:
    counts = Counter(r.outcome.value for r in results)
    by_outcome: dict[Outcome, list] = {}
    for result in results:
        by_outcome.setdefault(result.outcome, []).append(result)
    with transaction.atomic(), connection.cursor() as cursor:
        accepted = by_outcome.get(Outcome.ACCEPTED, [])
        if accepted:
            cursor.execute(
                f"""UPDATE {TABLE} m SET status = 'sent', gateway_id = r.gateway_id
                    FROM unnest(%s::text[], %s::text[]) AS r(out_id, gateway_id)
                    WHERE m.out_id = r.out_id AND m.status = 'sending'""",
                [[r.out_id for r in accepted], [r.gateway_id for r in accepted]],
            )
        for result in by_outcome.get(Outcome.PERMANENT, []):
            Message.objects.filter(out_id=result.out_id, status=Message.Status.SENDING).update(
                status=Message.Status.PERMANENT_FAILURE, error=result.error[:200]
            )
        for result in by_outcome.get(Outcome.TEMPORARY, []):
            # Back to created for the retry, unless the attempts are used up.
            cursor.execute(
                f"""UPDATE {TABLE} SET error = %s,
                      status = CASE WHEN attempts >= %s THEN 'technical-failure' ELSE 'created' END
                    WHERE out_id = %s AND status = 'sending'""",
                [result.error[:200], MAX_ATTEMPTS, result.out_id],
            )
    return counts


def campaign_cancel(*, campaign: Campaign, user) -> int:
    """Stop a push: nothing further is sent; returns how many waiting messages were cancelled."""
    from django.core.exceptions import PermissionDenied

    if not user.has_perm("notifications.launch_campaign"):
        raise PermissionDenied("您没有取消短信推送的权限。")
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
        return Message.objects.filter(campaign=campaign, status=Message.Status.CREATED).update(
            status=Message.Status.CANCELLED
        )


def watchdog(now: datetime.datetime | None = None) -> dict[str, int]:
    """Reconcile messages stuck in ``sending`` and close finished campaigns.

    A stuck message is marked sent if the gateway says it accepted it, returned to ``created`` if the
    gateway says it did not, and left alone when the gateway cannot tell, until GIVE_UP_AFTER.
    """
    now = now or timezone.now()
    stuck = list(
        Message.objects.filter(status=Message.Status.SENDING, sent_at__lt=now - STUCK_AFTER).values_list(
            "out_id", "sent_at"
        )[:5000]
    )
    report = Counter()
    if stuck:
        accepted = get_gateway().accepted([out_id for out_id, _ in stuck])
        for out_id, sent_at in stuck:
            if accepted is not None and out_id in accepted:
                outcome = {"status": Message.Status.SENT}
            elif accepted is not None:
                outcome = {"status": Message.Status.CREATED}
            elif sent_at < now - GIVE_UP_AFTER:
                outcome = {"status": Message.Status.TECHNICAL_FAILURE, "error": "网关超时且无法确认是否已发送"}
            else:
                continue
            report[outcome["status"]] += Message.objects.filter(out_id=out_id, status=Message.Status.SENDING).update(
                **outcome
            )
    finished = Campaign.objects.filter(status=Campaign.Status.SENDING).exclude(
        messages__status__in=[Message.Status.CREATED, Message.Status.SENDING]
    )
    report["completed"] = finished.update(status=Campaign.Status.COMPLETED)
    return dict(report)
