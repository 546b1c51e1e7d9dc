"""Pushes, from staff's side: preview, launch, and the plan the workers write.

Who a push reaches comes from ``audience``, what each SMS says from ``push_text``. Planning writes the
bundles, messages (with their links) and ledger rows in committed slices, so sending begins while the
rest of a city is still being planned; ``dispatch`` sends them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from notifications.audience import bundles_sql, campaign_policies, filter_pairs, load_pairs
from notifications.links import TOKEN_LENGTH, links_expire_at, tokens_sql
from notifications.models import Campaign, Message, NotificationLedger, SmsTemplate
from notifications.push_text import length_sql, text_sql
from notifications.sms_rules import TemplateCheck, check_template, segments, segments_sql, sms_length


def campaign_template_check(*, campaign: Campaign) -> TemplateCheck:
    """The campaign's template against the carrier rules, with the configured signature."""
    template = campaign.template
    marketing = template.kind == SmsTemplate.Kind.MARKETING
    return check_template(body=template.body, signature=settings.SMS_SIGNATURE, marketing=marketing)


@dataclass
class Preview:
    audience: int = 0  # firms qualifying for at least one chosen policy
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> firms
    recipients: int = 0
    by_region: dict[str, int] = field(default_factory=dict)
    by_policy: dict[str, int] = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)
    template_problems: list[str] = field(default_factory=list)
    segments: int = 0
    cost_yuan: float = 0.0


def campaign_preview(*, campaign: Campaign, sample: int = 5) -> Preview:
    """Everything staff need before launching: audience, who is excluded and why, samples, checks, cost."""
    preview = Preview()
    policies = campaign_policies(campaign=campaign)
    on = timezone.localdate()
    check = campaign_template_check(campaign=campaign)
    preview.template_problems = check.problems
    if not policies:
        preview.template_problems = [*check.problems, "没有可推送的已发布政策。"]
        return preview
    with transaction.atomic():
        load_pairs(policies, on, campaign)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT enterprise_id) FROM push_pairs")
            preview.audience = cursor.fetchone()[0]
        preview.excluded = filter_pairs(campaign)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS push_bundles; CREATE TEMP TABLE push_bundles AS {bundles_sql()}; "
                           f"ANALYZE push_bundles")  # fmt: skip
            cursor.execute(
                "SELECT COALESCE(r.name, '未知区域'), count(*) FROM push_bundles b "
                "JOIN enterprises_enterprise e ON e.id = b.enterprise_id LEFT JOIN core_region r "
                "ON r.id = e.region_id GROUP BY 1 ORDER BY 2 DESC"
            )
            preview.by_region = dict(cursor.fetchall())
            cursor.execute(
                "SELECT pol.title, count(*) FROM push_pairs p JOIN policies_policy pol ON pol.id = p.policy_id "
                "GROUP BY pol.title ORDER BY 2 DESC"
            )
            preview.by_policy = dict(cursor.fetchall())
            preview.recipients = sum(preview.by_region.values())
            expr, params = text_sql(campaign)
            cursor.execute(
                f"SELECT e.name, {expr}, cardinality(b.policy_ids) FROM push_bundles b "
                f"JOIN enterprises_enterprise e ON e.id = b.enterprise_id "
                f"CROSS JOIN (SELECT %s::text AS token) t ORDER BY b.enterprise_id LIMIT %s",
                [*params, "X" * TOKEN_LENGTH, sample],
            )
            for name, text, count in cursor.fetchall():
                length = sms_length(text, settings.SMS_SIGNATURE)
                preview.samples.append({"firm": name, "text": f"【{settings.SMS_SIGNATURE}】{text}", "length": length,
                                        "segments": segments(length), "policies": count})  # fmt: skip
            length = length_sql(campaign)
            cursor.execute(
                f"SELECT COALESCE(sum({segments_sql(length)}), 0) FROM push_bundles b "
                f"JOIN enterprises_enterprise e ON e.id = b.enterprise_id"
            )
            preview.segments = int(cursor.fetchone()[0])
        preview.cost_yuan = preview.segments * settings.SMS_UNIT_PRICE_FEN / 100
        transaction.set_rollback(True)  # a preview writes nothing
    return preview


PLAN_SLICE = 100_000  # about this many (firm, policy) pairs per planning transaction
FIRST_SLICE = 10_000  # a smaller first one, so sending starts within a second of the audience being known


def campaign_plan(*, campaign: Campaign, on_slice: Callable[[int, int], None] | None = None) -> int:
    """Write one message (with its link) per recipient and the ledger, set-based; returns messages written.

    Audience and exclusions are worked out in one transaction; bundles, messages and ledger are then
    written in committed slices (FIRST_SLICE pairs, then PLAN_SLICE each), and ``on_slice(first_id,
    last_id)`` runs after each commit (the planning task queues that slice's sending), so a city push
    starts sending seconds after the launch rather than after the whole plan. Cancelling stops it between slices.

    Safe to run again after a crash: unique (campaign, firm) and the ledger's key absorb what an earlier
    run wrote, and this campaign's own ledger rows do not count as "already notified".
    """
    started = time.perf_counter()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _require_valid_template(campaign)
        policies = campaign_policies(campaign=campaign)
        clock = time.perf_counter()
        pairs = load_pairs(policies, timezone.localdate(), campaign)
        seconds = {"audience": time.perf_counter() - clock}
        clock = time.perf_counter()
        excluded = filter_pairs(campaign)
        seconds["exclusions"] = time.perf_counter() - clock
        if campaign.links_expire_at is None:  # links work from the first slice on
            campaign.links_expire_at = links_expire_at()
            campaign.save(update_fields=["links_expire_at"])
    clock = time.perf_counter()
    written, done_to, size = 0, 0, min(FIRST_SLICE, PLAN_SLICE)
    while True:
        with transaction.atomic():
            # Locked, so a cancel waits for this slice to commit and then cancels its messages too.
            status = Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("status", flat=True)
            if status.get() == Campaign.Status.CANCELLED:
                break
            last_enterprise = _slice_end(after=done_to, pairs=size)
            if last_enterprise is None:
                break
            count, first_id, last_id = _write_slice(campaign, done_to + 1, last_enterprise)
        done_to, size = last_enterprise, PLAN_SLICE
        written += count
        seconds.setdefault("first_slice", time.perf_counter() - started)
        if on_slice and count:
            transaction.on_commit(lambda first=first_id, last=last_id: on_slice(first, last))
    seconds["write"] = time.perf_counter() - clock
    seconds["total"] = time.perf_counter() - started
    report = {"pairs": pairs, "excluded": excluded, "messages": written, "policies": len(policies),
              "seconds": {k: round(v, 2) for k, v in seconds.items()}}  # fmt: skip
    Campaign.objects.filter(pk=campaign.pk).update(planned_at=timezone.now(), plan_report=report)
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.PLANNING).update(status=Campaign.Status.SENDING)
    return written


def _slice_end(*, after: int, pairs: int) -> int | None:
    """The last firm of the next slice: the one about ``pairs`` pairs past firm ``after`` (all of its pairs
    go in the slice), or the last firm there is; None when every firm has been written."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE((SELECT enterprise_id FROM push_pairs WHERE enterprise_id > %s ORDER BY enterprise_id "
            "OFFSET %s LIMIT 1), (SELECT max(enterprise_id) FROM push_pairs WHERE enterprise_id > %s))",
            [after, pairs - 1, after],
        )
        return cursor.fetchone()[0]


def _write_slice(campaign: Campaign, first_enterprise: int, last_enterprise: int) -> tuple[int, int | None, int | None]:
    """The messages and ledger rows of the bundles of firms first_enterprise..last_enterprise: (count, first id,
    last id)."""
    length = length_sql(campaign)
    with connection.cursor() as cursor:
        if campaign.link_mode == Campaign.LinkMode.PER_FIRM:
            cursor.execute(
                "SELECT count(DISTINCT enterprise_id) FROM push_pairs WHERE enterprise_id BETWEEN %s AND %s",
                [first_enterprise, last_enterprise],
            )
            token, params = tokens_sql(count=cursor.fetchone()[0])
        else:
            token, params = "NULL", []
        # A slice no earlier run reached (the usual case) takes plain inserts: ON CONFLICT costs a speculative
        # insertion per row, an extra WAL record and index probe. The unique keys still refuse any repeat.
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {Message._meta.db_table} WHERE campaign_id = %s "
            f"AND enterprise_id BETWEEN %s AND %s)",
            [campaign.pk, first_enterprise, last_enterprise],
        )
        repeat = cursor.fetchone()[0]  # messages and ledger rows commit together, so one check serves both
        cursor.execute(
            f"""WITH written AS (
                  INSERT INTO {Message._meta.db_table}
                    (campaign_id, enterprise_id, mobile, policy_ids, token, length, segments, status, call_id,
                     gateway_id, error, attempts, created_at, open_count)
                  SELECT %s, b.enterprise_id, e.contact_mobile, b.policy_ids, {token}, {length},
                         {segments_sql(length)}, '{Message.Status.CREATED}', '', '', '', 0, now(), 0
                  FROM ({bundles_sql("WHERE pp.enterprise_id BETWEEN %s AND %s")}) b
                  -- the slice's range again: the planner does not carry it across the join, and would
                  -- read the whole register for every slice
                  JOIN enterprises_enterprise e ON e.id = b.enterprise_id AND e.id BETWEEN %s AND %s
                  {"ON CONFLICT (campaign_id, enterprise_id) DO NOTHING" if repeat else ""}
                  RETURNING id)
                SELECT count(*), min(id), max(id) FROM written""",
            [campaign.pk, *params, first_enterprise, last_enterprise, first_enterprise, last_enterprise],
        )
        written = cursor.fetchone()
        cursor.execute(
            f"""INSERT INTO {NotificationLedger._meta.db_table} (enterprise_id, policy_id, campaign_id, notified_at)
                SELECT enterprise_id, policy_id, %s, now() FROM push_pairs WHERE enterprise_id BETWEEN %s AND %s
                {"ON CONFLICT (enterprise_id, policy_id, campaign_id) DO NOTHING" if repeat else ""}""",
            [campaign.pk, first_enterprise, last_enterprise],
        )
    return written


@transaction.atomic
def campaign_launch(*, campaign: Campaign, user) -> Campaign:
    """Start a push, now or at its scheduled time: workers plan the messages and send them.

    Needs the push permission; only a draft can be launched. Sending waits for the end of quiet hours.
    With SMS_LAUNCH_APPROVAL on, the launch waits for a second person's approval (campaign_approve).
    """
    if not user.has_perm("notifications.launch_campaign"):
        raise PermissionDenied("您没有发起短信推送的权限。")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(f"推送批次当前状态为“{campaign.get_status_display()}”，不能再次发起。")
    _require_valid_template(campaign)
    campaign.launched_by, campaign.launched_at, campaign.review_note = user, timezone.now(), ""
    if settings.SMS_LAUNCH_APPROVAL:
        campaign.status = Campaign.Status.AWAITING_APPROVAL
        campaign.save(update_fields=["status", "launched_by", "launched_at", "review_note"])
        return campaign
    campaign.save(update_fields=["launched_by", "launched_at", "review_note"])
    return _start_or_schedule(campaign)


@transaction.atomic
def campaign_approve(*, campaign: Campaign, user) -> Campaign:
    """The second person's yes: the push goes ahead as launched (now, or at its scheduled time)."""
    campaign = _awaiting_review(campaign, user)
    if campaign.launched_by_id == user.pk:
        raise PermissionDenied("发起人不能复核自己发起的推送，请由另一位复核人确认。")
    _require_valid_template(campaign)  # the template may have been edited since the launch
    campaign.approved_by, campaign.approved_at = user, timezone.now()
    campaign.save(update_fields=["approved_by", "approved_at"])
    return _start_or_schedule(campaign)


@transaction.atomic
def campaign_send_back(*, campaign: Campaign, user, reason: str) -> Campaign:
    """The second person's no: back to a draft, with the reason for the one who launched it."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("退回时请填写原因。")
    campaign = _awaiting_review(campaign, user)
    campaign.status, campaign.review_note = Campaign.Status.DRAFT, reason[:200]
    campaign.save(update_fields=["status", "review_note"])
    return campaign


def _awaiting_review(campaign: Campaign, user) -> Campaign:
    if not user.has_perm("notifications.approve_campaign"):
        raise PermissionDenied("您没有复核短信推送的权限。")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.AWAITING_APPROVAL:
        raise ValidationError(f"推送批次当前状态为“{campaign.get_status_display()}”，无需复核。")
    return campaign


def _require_valid_template(campaign: Campaign) -> None:
    check = campaign_template_check(campaign=campaign)
    if not check.ok:
        raise ValidationError(check.problems)


def _start_or_schedule(campaign: Campaign) -> Campaign:
    """A launched (and, where required, approved) push: planned now, or by the watchdog at its time."""
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        campaign.status = Campaign.Status.SCHEDULED
        campaign.save(update_fields=["status"])
        return campaign
    return campaign_start(campaign=campaign)


@transaction.atomic
def campaign_start(*, campaign: Campaign) -> Campaign:
    """Hand a launched campaign to the planning workers (after commit)."""
    from notifications.dispatch import mark_progress
    from notifications.tasks import plan_campaign

    updated = Campaign.objects.filter(
        pk=campaign.pk,
        status__in=[Campaign.Status.DRAFT, Campaign.Status.AWAITING_APPROVAL, Campaign.Status.SCHEDULED],
    ).update(status=Campaign.Status.PLANNING)
    campaign.refresh_from_db()
    if updated:
        transaction.on_commit(lambda: (mark_progress(campaign.pk), plan_campaign.delay(campaign.pk)))
    return campaign
