"""Pushes, from staff's side: preview, launch, and the plan the workers write.

Who a push reaches comes from ``audience``, what each SMS says from ``push_text``. Planning writes the
bundles, messages (with their links) and ledger rows in committed slices, so sending begins while the
rest of a city is still being planned; ``dispatch`` sends them.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from notifications.audience import (
    bundles_sql,
    campaign_policies,
    campaign_policies_outside_window,
    filter_pairs,
    load_pairs,
    window_words,
)
from notifications.dispatch import cancel_requested, quiet_until
from notifications.links import TOKEN_LENGTH, links_expire_at, tokens_sql
from notifications.models import Campaign, Message, NotificationLedger, SmsTemplate
from notifications.push_text import length_sql, text_sql
from notifications.sms_rules import TemplateCheck, check_template, segments, segments_sql, sms_length
from policies.models import Policy, Window, window_q

log = logging.getLogger("notifications.campaigns")


def campaign_template_check(*, campaign: Campaign) -> TemplateCheck:
    """The campaign's template against the carrier rules, with the configured signature."""
    template = campaign.template
    marketing = template.kind == SmsTemplate.Kind.MARKETING
    return check_template(body=template.body, signature=settings.SMS_SIGNATURE, marketing=marketing)


def campaign_send_day(*, campaign: Campaign, now: datetime.datetime | None = None) -> datetime.date:
    """The day a campaign's SMS go out if it starts now: its scheduled time when that is later, moved past
    quiet hours. Whether a policy's application window is open is asked for this day."""
    now = now or timezone.now()
    start = campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now else now
    return timezone.localdate(quiet_until(start) or start)


def campaign_window_problem(*, campaign: Campaign, on: datetime.date) -> str | None:
    """Why a campaign of chosen policies may not be launched on ``on``: the policies it names whose
    application window is closed or not yet open (None when all are open, or the scope skips them)."""
    if campaign.scope != Campaign.Scope.SELECTED:
        return None  # "since the last push" leaves them out by itself
    outside = campaign_policies_outside_window(campaign=campaign, on=on)
    if not outside:
        return None
    named = "、".join(f"《{p.title}》（{window_words(p, on)}）" for p in outside)
    return f"以下政策在发送当日（{on:%Y-%m-%d}）不在申报期内，不能推送：{named}。请从本批次中移除后再发起。"


@dataclass
class Preview:
    audience: int = 0  # firms qualifying for at least one chosen policy
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> firms
    recipients: int = 0
    by_region: dict[str, int] = field(default_factory=dict)
    by_policy: dict[str, int] = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)
    template_problems: list[str] = field(default_factory=list)
    outside_window: list[tuple[str, str]] = field(default_factory=list)  # (title, why): never pushed
    segments: int = 0
    cost_yuan: float = 0.0


def campaign_preview(*, campaign: Campaign, sample: int = 5) -> Preview:
    """Everything staff need before launching: audience, who is excluded and why, samples, checks, cost."""
    preview = Preview()
    on = campaign_send_day(campaign=campaign)
    policies = campaign_policies(campaign=campaign, on=on)
    preview.outside_window = [
        (p.title, window_words(p, on)) for p in campaign_policies_outside_window(campaign=campaign, on=on)
    ]
    check = campaign_template_check(campaign=campaign)
    window_problem = campaign_window_problem(campaign=campaign, on=on)
    preview.template_problems = [*check.problems, *([window_problem] if window_problem else [])]
    if not policies:
        preview.template_problems = [*preview.template_problems, "没有可推送的已发布政策。"]
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

    Only policies whose application window is open on the day the SMS go out are pushed, asked again
    before every slice: a policy that closes while a city is being planned is dropped from the slices
    still to come.

    Safe to run again after a crash: unique (campaign, firm) and the ledger's key absorb what an earlier
    run wrote, and this campaign's own ledger rows do not count as "already notified".
    """
    started = time.perf_counter()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _require_valid_template(campaign)
        on = campaign_send_day(campaign=campaign)
        policies = campaign_policies(campaign=campaign, on=on)
        dropped = {p.pk for p in campaign_policies_outside_window(campaign=campaign, on=on)}
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
            if status.get() == Campaign.Status.CANCELLED or cancel_requested(campaign_id=campaign.pk):
                break
            dropped |= _drop_closed_policies(campaign, [p.pk for p in policies], after=done_to)
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
              "outside_window": sorted(dropped), "seconds": {k: round(v, 2) for k, v in seconds.items()}}  # fmt: skip
    Campaign.objects.filter(pk=campaign.pk).update(planned_at=timezone.now(), plan_report=report)
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.PLANNING).update(status=Campaign.Status.SENDING)
    return written


def _drop_closed_policies(campaign: Campaign, policy_ids: list[int], *, after: int) -> set[int]:
    """Of the policies being planned, those no longer open on the send day; their pairs of the firms past
    ``after`` (the slices still to be written) are removed. Returns the policies dropped (none for a progress
    notice, which announces nothing)."""
    if campaign.purpose == Campaign.Purpose.PROGRESS:
        return set()
    open_ids = set(
        Policy.objects.filter(pk__in=policy_ids, status=Policy.Status.PUBLISHED)
        .filter(window_q(Window.OPEN, campaign_send_day(campaign=campaign)))
        .values_list("pk", flat=True)
    )
    closed = sorted(set(policy_ids) - open_ids)
    if closed:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM push_pairs WHERE enterprise_id > %s AND policy_id = ANY(%s)", [after, closed])
    return set(closed)


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
    _require_open_policies(campaign)
    campaign.launched_by, campaign.launched_at, campaign.review_note = user, timezone.now(), ""
    if settings.SMS_LAUNCH_APPROVAL:
        campaign.status = Campaign.Status.AWAITING_APPROVAL
        campaign.save(update_fields=["status", "launched_by", "launched_at", "review_note"])
        return campaign
    campaign.save(update_fields=["launched_by", "launched_at", "review_note"])
    return _start_or_schedule(campaign)


EDITABLE_STATUSES = {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}
# What staff set on a campaign; the policies are set alongside. Everything else is the workflow's.
SETTINGS_FIELDS = ["name", "scope", "template", "link_mode", "force_reminder", "daily_cap", "scheduled_at"]


@dataclass
class CampaignUpdate:
    campaign: Campaign
    changed: list[str]  # the labels of what changed
    approval_void: bool  # it had been approved (or was waiting to start) and is a draft again


@transaction.atomic
def campaign_update(*, campaign: Campaign, user, values: dict, policies: list[Policy] | None = None) -> CampaignUpdate:
    """Change a campaign's settings (``SETTINGS_FIELDS``) and, when given, its policies.

    Only a draft or a scheduled push can change. With SMS_LAUNCH_APPROVAL on, a scheduled push was approved
    as it stood: any change voids that approval, and the push is a draft again (the note says what changed,
    who changed it and who had approved), to be launched and approved anew. So what is sent is always what
    the second person saw.
    """
    current = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if current.purpose == Campaign.Purpose.PROGRESS:
        raise ValidationError("兑现进度通知由系统按名单生成，不能修改。")
    if current.status not in EDITABLE_STATUSES:
        raise ValidationError(f"推送批次当前状态为“{current.get_status_display()}”，不能修改。")
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"不能修改推送批次的这些字段：{'、'.join(sorted(unknown))}。")
    changed = [name for name, value in values.items() if getattr(current, name) != value]
    for name in changed:
        setattr(current, name, values[name])
    if changed:
        current.save(update_fields=changed)
    if policies is not None and {p.pk for p in policies} != set(current.policies.values_list("pk", flat=True)):
        current.policies.set(policies)
        changed.append("policies")
    labels = [str(Campaign._meta.get_field(name).verbose_name) for name in changed]
    void = bool(changed) and _approval_void(current, user=user, what=labels)
    return CampaignUpdate(current, labels, void)


def _approval_void(campaign: Campaign, *, user, what: list[str]) -> bool:
    """A change to a scheduled push (``what`` changed) voids its approval, when approval is on or it had one:
    back to a draft, with a note naming the change, who made it and who had approved. True if it did."""
    if campaign.status != Campaign.Status.SCHEDULED or not (settings.SMS_LAUNCH_APPROVAL or campaign.approved_at):
        return False
    approver = campaign.approved_by.get_username() if campaign.approved_by else "无"
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    campaign.review_note = (
        f"复核通过后又被修改（{'、'.join(what)}；{user.get_username()}，{when}），原复核（{approver}）已作废，请重新提交复核。"
    )[:200]
    campaign.status, campaign.approved_by, campaign.approved_at = Campaign.Status.DRAFT, None, None
    campaign.save(update_fields=["status", "approved_by", "approved_at", "review_note"])
    log.warning(
        "推送批次 %s 复核后被 %s 修改（%s），复核作废，回到草稿", campaign.pk, user.get_username(), "、".join(what)
    )
    return True


TEMPLATE_FIELDS = ["name", "code", "kind", "body", "is_active"]
IN_FLIGHT = [Campaign.Status.PLANNING, Campaign.Status.SENDING]


def template_campaigns_in_flight(*, template: SmsTemplate) -> list[Campaign]:
    """Pushes being planned or sent with this template: their texts are rendered from it as they go out."""
    return list(Campaign.objects.filter(template=template, status__in=IN_FLIGHT).order_by("pk"))


@transaction.atomic
def sms_template_update(*, template: SmsTemplate, user, values: dict) -> list[Campaign]:
    """Change a registered template. A push being planned or sent with it refuses the change (its SMS are
    rendered from the template as they go out); an approved push scheduled with it goes back to a draft, as
    for any change after approval. Returns those pushes."""
    current = SmsTemplate.objects.select_for_update().get(pk=template.pk)
    busy = template_campaigns_in_flight(template=current)
    if busy:
        names = "、".join(f"“{c.name}”" for c in busy)
        raise ValidationError(f"推送批次{names}正在使用此模板发送，发送完成或取消前不能修改模板。")
    changed = [name for name in TEMPLATE_FIELDS if name in values and getattr(current, name) != values[name]]
    for name in changed:
        setattr(current, name, values[name])
    if not changed:
        return []
    current.save(update_fields=changed)
    scheduled = Campaign.objects.select_for_update().filter(template=current, status=Campaign.Status.SCHEDULED)
    return [c for c in scheduled if _approval_void(c, user=user, what=[f"短信模板“{current.name}”"])]


@transaction.atomic
def campaign_approve(*, campaign: Campaign, user) -> Campaign:
    """The second person's yes: the push goes ahead as launched (now, or at its scheduled time)."""
    campaign = _awaiting_review(campaign, user)
    if campaign.launched_by_id == user.pk:
        raise PermissionDenied("发起人不能复核自己发起的推送，请由另一位复核人确认。")
    _require_valid_template(campaign)  # the template may have been edited since the launch
    _require_open_policies(campaign)  # and a policy may have closed
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


def _require_open_policies(campaign: Campaign) -> None:
    problem = campaign_window_problem(campaign=campaign, on=campaign_send_day(campaign=campaign))
    if problem:
        raise ValidationError(problem)


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
