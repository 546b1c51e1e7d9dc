"""Sending planned messages: chunks of whole gateway calls, statuses that only move forward.

A message is sent only from ``created``: taking a chunk is one UPDATE … SET status='sending' WHERE
status='created', so a chunk delivered twice (acks_late, a restarted worker, the watchdog) finds
nothing left to take. The same UPDATE stamps each message with the id of the gateway call that will
carry it, before the call. The gateway is called outside any transaction (on threads of their own, so
calls are on the wire while an earlier call's answer is written), and each call's answer is recorded
as soon as it is back. A call that timed out leaves its messages in ``sending``; the watchdog asks the
gateway (by call id) which of them it took before anything is resent.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from core.db import prepared
from core.redis import client, key
from notifications.gateways import Gateway, Outcome, OutgoingSms, SendResult, StuckSms, callid, get_gateway
from notifications.links import link_maker
from notifications.models import Campaign, Message
from notifications.push_text import POLICY_TITLE_SQL, SHORT_NAME_SQL, message_values
from notifications.sms_rules import template_params

MAX_ATTEMPTS = 5
GIVE_UP_AFTER = datetime.timedelta(hours=24)
TABLE = Message._meta.db_table
MessageStatus = Message.Status  # in raw SQL too: '{MessageStatus.CREATED}'
log = logging.getLogger("notifications.sms")


def stuck_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.SMS_STUCK_AFTER)


def quiet_until(now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When sending may start if ``now`` falls in quiet hours (default 21:00–08:00 Asia/Shanghai), else None."""
    now = timezone.localtime(now)
    if not settings.SMS_QUIET_HOURS:
        return None  # quiet hours switched off (SMS_QUIET_HOURS=off)
    start, end = settings.SMS_QUIET_HOURS
    if start <= now.hour or now.hour < end:
        day = now.date() if now.hour < end else now.date() + datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(end)))
    return None


def chunk_size() -> int:
    """Messages per task: whole gateway calls, about SMS_TASK_CHUNK messages (fewer, larger tasks)."""
    batch = get_gateway().batch_size
    return batch * max(1, settings.SMS_TASK_CHUNK // batch)


def campaign_chunks(
    *, campaign_id: int, size: int | None = None, id_range: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """Id ranges of the campaign's unsent messages (within ``id_range`` when given), ``size`` messages each."""
    size = size or chunk_size()
    first, last = id_range or (0, 2**63 - 1)
    # Within a slice's id range, the range alone ("+ 0": as in the claim, not the campaign's whole index).
    campaign = "campaign_id + 0" if id_range else "campaign_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT min(id), max(id) FROM (
                  SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS chunk
                  FROM {TABLE} WHERE {campaign} = %s AND status = '{MessageStatus.CREATED}'
                    AND id BETWEEN %s AND %s) numbered
                GROUP BY chunk ORDER BY 1""",
            [size, campaign_id, first, last],
        )
        return cursor.fetchall()


def _progress_key(campaign_id: int) -> str:
    # One namespace per database, so a demo, the tests and a benchmark sharing a Redis never mix.
    return f"push:progress:{campaign_id}"  # the cache namespaces it (core.redis.cache_key)


def mark_progress(campaign_id: int) -> None:
    """A heartbeat in Redis; a campaign without one (say Redis lost its queues) is resumed by the watchdog.

    Best effort: with Redis away, sending goes on and the missing heartbeat only means an early resume.
    """
    try:
        cache.set(_progress_key(campaign_id), time.time(), timeout=None)
    except RedisError:
        log.warning("推送心跳写入 Redis 失败（批次 %s）", campaign_id)


def last_progress(campaign_id: int) -> float | None:
    try:
        return cache.get(_progress_key(campaign_id))
    except RedisError:
        return None


# The call id of a message: the chunk's prefix and the first id of its block of batch_size ids.
CALL_ID_SQL = callid.push_call_sql("%s + (m.id - %s) / %s * %s")


def send_chunk(*, campaign_id: int, first_id: int, last_id: int) -> Counter:
    """Send one chunk, one gateway call per batch; returns messages per outcome. Safe to run twice."""
    gateway = get_gateway()
    campaign = Campaign.objects.select_related("template").filter(pk=campaign_id).first()
    if campaign is None:
        return Counter()
    if campaign.status == Campaign.Status.CANCELLED:
        waiting = Message.objects.filter(
            campaign_id=campaign_id, id__range=(first_id, last_id), status=Message.Status.CREATED
        )
        return Counter(cancelled=waiting.update(status=Message.Status.CANCELLED))
    if quiet_until() is not None:
        return Counter()  # quiet hours began mid-push: the watchdog resumes at the end of them
    call_prefix = callid.push_prefix(campaign_id=campaign_id)
    with connection.cursor() as cursor:  # one statement: atomic on its own
        # Messages whose ids share a block of batch_size ids travel in one call, so no call is too big;
        # the call id names the block's first id (callid), which is how receipts find these rows again. The rows are
        # found by id range alone ("+ 0" keeps the planner off the campaign index, which it picks while a
        # fresh campaign has no statistics, and which would read the whole campaign for each chunk).
        cursor.execute(
            f"""UPDATE {TABLE} m SET status = '{MessageStatus.SENDING}', attempts = attempts + 1, sent_at = now(),
                  call_id = {CALL_ID_SQL}
                FROM enterprises_enterprise e, policies_policy p
                WHERE m.id BETWEEN %s AND %s AND m.campaign_id + 0 = %s AND m.status = '{MessageStatus.CREATED}'
                  AND e.id = m.enterprise_id AND p.id = m.policy_ids[1]
                RETURNING m.call_id, m.id, m.mobile, {SHORT_NAME_SQL}, cardinality(m.policy_ids), {POLICY_TITLE_SQL},
                          m.token""",
            [call_prefix, first_id, first_id, gateway.batch_size, gateway.batch_size, first_id, last_id, campaign_id],
        )
        rows = cursor.fetchall()
    body, link = campaign.template.body, link_maker(campaign)
    calls: dict[str, list[OutgoingSms]] = {}
    for call_id, message_id, mobile, short_name, count, title, token in rows:
        values = message_values(short_name=short_name, count=count, first_title=title, link=link(token))
        calls.setdefault(call_id, []).append(OutgoingSms(str(message_id), mobile, template_params(body, values), body))
    counts = _send_calls(gateway, campaign, calls)
    mark_progress(campaign_id)
    return counts


CALLS_IN_FLIGHT = 2  # per worker process: while one call waits for the gateway, the next is being encoded


@functools.cache
def _call_threads() -> ThreadPoolExecutor:
    """The threads of a worker process that make the gateway calls (made after the fork, on first use)."""
    return ThreadPoolExecutor(max_workers=CALLS_IN_FLIGHT, thread_name_prefix="sms-call")


def _send_calls(gateway: Gateway, campaign: Campaign, calls: dict[str, list[OutgoingSms]]) -> Counter:
    """Make the calls, CALLS_IN_FLIGHT at a time, and write each answer, in order, while later calls are on
    the wire, so neither the gateway's time nor the database's keeps the worker idle. A cancel seen in a
    write stops every later call; the calls already handed to the threads still go out and are recorded."""
    counts, cancelled, in_flight = Counter(), False, deque()

    def record() -> bool:
        call_id, call = in_flight.popleft()
        recorded, status = record_results(call.result(), campaign_id=campaign.pk, call_id=call_id)
        counts.update(recorded)
        return status == Campaign.Status.CANCELLED

    for call_id, batch in calls.items():
        if cancelled:
            counts["cancelled"] += _cancel_taken([m.out_id for m in batch])
            continue
        call = _call_threads().submit(gateway.send, batch, signature=settings.SMS_SIGNATURE,
                                template_code=campaign.template.code, call_id=call_id)  # fmt: skip
        in_flight.append((call_id, call))
        if len(in_flight) > CALLS_IN_FLIGHT:
            cancelled = record()
    while in_flight:
        record()
    return counts


def _cancel_taken(out_ids: list[str]) -> int:
    return Message.objects.filter(pk__in=out_ids, status=Message.Status.SENDING).update(status=Message.Status.CANCELLED)


RESULT_UPDATES = {
    Outcome.ACCEPTED: f"status = '{MessageStatus.SENT}', gateway_id = r.gateway_id",
    Outcome.PERMANENT: f"status = '{MessageStatus.PERMANENT_FAILURE}', error = r.error",
    # Back to created for the task's retry, unless the attempts are used up.
    Outcome.TEMPORARY: f"error = r.error, status = CASE WHEN m.attempts >= {MAX_ATTEMPTS} "
    f"THEN '{MessageStatus.TECHNICAL_FAILURE}' ELSE '{MessageStatus.CREATED}' END",
    Outcome.UNKNOWN: "error = r.error",  # stays in sending for the watchdog
}


def record_results(results: list[SendResult], *, campaign_id: int, call_id: str) -> tuple[Counter, str]:
    """One call's answers: accepted → sent, permanent → failed with the reason, temporary → back in line.

    Returns messages per outcome and the campaign's status as of the write (cancelled: stop sending).
    One round trip: the statements travel together and run as one implicit transaction. The usual
    answer, one verdict for the whole call, finds its rows by the call id stamped on them when they were
    taken (within their id block), in a statement prepared once per connection, so no list of ids
    travels and nothing is parsed again.
    """
    by_answer: dict[tuple[Outcome, str, str], list[SendResult]] = {}
    for result in results:
        by_answer.setdefault((result.outcome, result.gateway_id, result.error[:200]), []).append(result)
    sql, params = [], []
    with connection.cursor() as cursor:
        if len(by_answer) == 1:
            (outcome, gateway_id, error), chosen = next(iter(by_answer.items()))
            ids = [int(r.out_id) for r in chosen]
            sql.append(prepared(cursor, f"sms_record_{outcome.name.lower()}", WHOLE_CALL_SQL[outcome], 5))
            params += [gateway_id, error, min(ids), max(ids), call_id]
        else:
            sql += _record_each(by_answer, params)
        sql.append(f"SELECT status FROM {Campaign._meta.db_table} WHERE id = %s")
        cursor.execute(";\n".join(sql), [*params, campaign_id])
        status = cursor.fetchone()[0]
    counts = Counter()
    for (outcome, _, _), chosen in by_answer.items():
        counts[outcome.value] += len(chosen)
    return counts, status


WHOLE_CALL_SQL = {
    outcome: f"""UPDATE {TABLE} m SET {change} FROM (SELECT %s::text AS gateway_id, %s::text AS error) r
                 WHERE m.id BETWEEN %s AND %s AND m.call_id = %s AND m.status = '{MessageStatus.SENDING}'"""
    for outcome, change in RESULT_UPDATES.items()
}


def _record_each(by_answer: dict[tuple[Outcome, str, str], list[SendResult]], params: list) -> list[str]:
    """Statements (their parameters appended to ``params``) recording answers that differ within a call:
    one per outcome, over the groups record_results made (same outcome, gateway id and error)."""
    by_outcome: dict[Outcome, list[tuple[int, str, str]]] = {}
    for (outcome, gateway_id, error), chosen in by_answer.items():
        by_outcome.setdefault(outcome, []).extend((int(r.out_id), gateway_id, error) for r in chosen)
    sql = []
    for outcome, rows in by_outcome.items():
        sql.append(
            f"""UPDATE {TABLE} m SET {RESULT_UPDATES[outcome]}
                FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS r(id, gateway_id, error)
                WHERE m.id = r.id AND m.status = '{MessageStatus.SENDING}'"""
        )
        ids, gateway_ids, errors = zip(*rows, strict=True)
        params += [list(ids), list(gateway_ids), list(errors)]
    return sql


def cancel_requested(*, campaign_id: int, requested: bool = False) -> bool:
    """Whether someone asked to cancel this push (``requested=True`` records that they did). Best effort: with
    Redis away the campaign's status, checked under its row lock, still stops planning a slice later."""
    name = key("push", "cancel", campaign_id)
    try:
        if requested:
            client().set(name, 1, ex=24 * 3600)
            return True
        return bool(client().exists(name))
    except RedisError:
        return requested


def campaign_cancel(*, campaign: Campaign, user) -> int:
    """Stop a push: nothing further is sent; returns how many waiting messages were cancelled."""
    if not user.has_perm("notifications.launch_campaign"):
        raise PermissionDenied("您没有取消短信推送的权限。")
    # Said first, outside the row lock: planning waits for nobody, and once its slice commits it could take the
    # campaign's row again before this UPDATE (PostgreSQL gives a free row to whoever asks first).
    cancel_requested(campaign_id=campaign.pk, requested=True)
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).exclude(status=Campaign.Status.COMPLETED).update(
            status=Campaign.Status.CANCELLED
        )
        return Message.objects.filter(campaign=campaign, status=Message.Status.CREATED).update(
            status=Message.Status.CANCELLED
        )


def reconcile_stuck(now: datetime.datetime | None = None, limit: int = 2000) -> Counter:
    """Messages stuck in ``sending``: sent if the gateway took them, back in line if it surely did not,
    left alone while it cannot tell, and a technical failure after GIVE_UP_AFTER."""
    now = now or timezone.now()
    in_progress = Campaign.objects.filter(status__in=[Campaign.Status.SENDING, Campaign.Status.CANCELLED])
    stuck = [
        StuckSms(str(pk), mobile, call_id, sent_at)
        for pk, mobile, call_id, sent_at in Message.objects.filter(
            campaign__in=in_progress, status=Message.Status.SENDING, sent_at__lt=now - stuck_after()
        )
        .order_by("sent_at")
        .values_list("pk", "mobile", "call_id", "sent_at")[:limit]
    ]
    report = Counter()
    if not stuck:
        return report
    known = get_gateway().accepted(stuck) or {}
    changes = {
        True: {"status": Message.Status.SENT, "error": ""},
        False: {"status": Message.Status.CREATED},
        None: {"status": Message.Status.TECHNICAL_FAILURE, "error": "网关超时且无法确认是否已发送"},
    }
    decided: dict[bool | None, list[str]] = {}
    for sms in stuck:
        verdict = known.get(sms.out_id)
        if verdict is not None or sms.sent_at < now - GIVE_UP_AFTER:  # undecided: ask again next round
            decided.setdefault(verdict, []).append(sms.out_id)
    for verdict, out_ids in decided.items():  # one statement per verdict, however many were stuck
        change = changes[verdict]
        report[change["status"]] += Message.objects.filter(pk__in=out_ids, status=Message.Status.SENDING).update(
            **change
        )
    return report


def close_finished() -> int:
    """Campaigns with nothing left to send are completed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Campaign._meta.db_table} c SET status = '{Campaign.Status.COMPLETED}'
                WHERE c.status = '{Campaign.Status.SENDING}'
                AND NOT EXISTS (SELECT 1 FROM {TABLE} m WHERE m.campaign_id = c.id
                                AND m.status IN ('{MessageStatus.CREATED}', '{MessageStatus.SENDING}'))"""
        )
        return cursor.rowcount
