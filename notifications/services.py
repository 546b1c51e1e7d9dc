"""Planning a push: who gets one SMS about which policies, who is left out and why, set-based.

The audience of each chosen policy comes from the matching index as a bitmap and is streamed into a
temporary table of (firm, policy) pairs; exclusions (opted out, no valid mobile, already told about
that policy, today's cap reached) are then each one SQL statement, whatever the number of firms.
Bundles, messages (rendered, with links) and the ledger are written in committed slices, so sending
begins while the rest of a city is still being planned.
"""

from __future__ import annotations

import datetime
import io
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from enterprises.validators import MOBILE_RE
from matching.index import get_index
from notifications.models import Campaign, Message, NotificationLedger
from notifications.sms import (
    TemplateCheck,
    check_template,
    segments,
    segments_sql,
    sms_length,
)
from policies.models import Policy

MOBILE_SQL = f"e.contact_mobile ~ '{MOBILE_RE.pattern}'"  # the validator's own pattern
LINK_DAYS = 90
# A link token is 96 random bits as 16 URL-safe characters. A slice's tokens are cut from one string of
# random bytes drawn in Python (the secrets module): PostgreSQL's own strong random source, as
# gen_random_uuid() uses it, costs a system call per row, a tenth of what writing a message costs.
TOKEN_BYTES = 12
TOKEN_LENGTH = 16
TOKEN_SQL = f"translate(encode(substr(%s::bytea, b.n * {TOKEN_BYTES} + 1, {TOKEN_BYTES}), 'base64'), '+/', '-_')"


def campaign_policies(*, campaign: Campaign) -> list[Policy]:
    """The policies a campaign pushes: those chosen, or everything published since the last push."""
    published = Policy.objects.filter(status=Policy.Status.PUBLISHED)
    if campaign.scope == Campaign.Scope.SELECTED:
        return list(published.filter(campaigns=campaign).order_by("apply_end", "id"))
    last = (
        Campaign.objects.exclude(pk=campaign.pk)
        .filter(status__in=[Campaign.Status.SENDING, Campaign.Status.COMPLETED])
        .order_by("-launched_at")
        .values_list("launched_at", flat=True)
        .first()
    )
    if last:
        published = published.filter(published_at__gt=last)
    return list(published.order_by("apply_end", "id"))


def campaign_template_check(*, campaign: Campaign) -> TemplateCheck:
    """The campaign's template against the carrier rules, with the configured signature."""
    return check_template(
        body=campaign.template.body, signature=settings.SMS_SIGNATURE, marketing=campaign.template.kind == "marketing"
    )


def _load_pairs(policies: list[Policy], on: datetime.date) -> int:
    """(firm, policy) pairs for every chosen policy's audience, from the bitmap index, into push_pairs."""
    index = get_index()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS push_pairs; CREATE TEMP TABLE push_pairs (enterprise_id bigint, "
                       "policy_id bigint)")  # fmt: skip
        total = 0
        for policy in policies:
            ids = index.audience(policy.audience_rule or {"all": []}, on)
            buffer = io.StringIO()
            suffix = f"\t{policy.pk}\n"
            buffer.write(suffix.join(map(str, ids)))
            if ids:
                buffer.write(suffix)
            buffer.seek(0)
            cursor.copy_expert("COPY push_pairs (enterprise_id, policy_id) FROM STDIN", buffer)
            total += len(ids)
        cursor.execute("CREATE INDEX ON push_pairs (enterprise_id); ANALYZE push_pairs")
    return total


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


EXCLUSION_LABELS = {
    "opted_out": "已退订短信",
    "no_mobile": "无有效手机号",
    "already_notified": "已通知过所选政策",
    "daily_cap": "今日已达短信上限",
}


def _filter_pairs(campaign: Campaign, today_start: datetime.datetime) -> dict[str, int]:
    """Remove excluded pairs from push_pairs, counting firms per reason (a firm counts once, first reason)."""
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS push_out; CREATE TEMP TABLE push_out (enterprise_id bigint PRIMARY KEY, "
                       "reason text)")  # fmt: skip
        steps = [
            ("opted_out", "SELECT DISTINCT p.enterprise_id FROM push_pairs p JOIN enterprises_enterprise e "
                          "ON e.id = p.enterprise_id WHERE e.sms_opt_out", []),
            ("no_mobile", f"SELECT DISTINCT p.enterprise_id FROM push_pairs p JOIN enterprises_enterprise e "
                          f"ON e.id = p.enterprise_id WHERE NOT ({MOBILE_SQL})", []),
            ("daily_cap", "SELECT m.enterprise_id FROM notifications_message m WHERE m.created_at >= %s "
                          "AND m.campaign_id <> %s AND m.status NOT IN ('cancelled', 'validation-failed') "
                          "AND m.enterprise_id IN (SELECT enterprise_id FROM push_pairs) "
                          "GROUP BY m.enterprise_id HAVING count(*) >= %s",
             [today_start, campaign.pk, campaign.daily_cap]),
        ]  # fmt: skip
        for reason, sql, params in steps:
            cursor.execute(f"INSERT INTO push_out SELECT id, %s FROM ({sql}) x(id) ON CONFLICT DO NOTHING",
                           [reason, *params])  # fmt: skip
            counts[reason] = cursor.rowcount
        cursor.execute("DELETE FROM push_pairs p USING push_out o WHERE o.enterprise_id = p.enterprise_id")
        if not campaign.force_reminder:
            # Pairs already told; a firm is excluded for this reason only when nothing new is left for it.
            # This campaign's own rows are an earlier, interrupted run of this plan, not an earlier push.
            cursor.execute(
                "CREATE TEMP TABLE push_told ON COMMIT DROP AS SELECT DISTINCT p.enterprise_id FROM push_pairs p "
                "JOIN notifications_notificationledger l ON l.enterprise_id = p.enterprise_id "
                "AND l.policy_id = p.policy_id AND l.campaign_id <> %s",
                [campaign.pk],
            )
            cursor.execute(
                "DELETE FROM push_pairs p USING notifications_notificationledger l "
                "WHERE l.enterprise_id = p.enterprise_id AND l.policy_id = p.policy_id AND l.campaign_id <> %s",
                [campaign.pk],
            )
            cursor.execute(
                "SELECT count(*) FROM push_told t WHERE NOT EXISTS "
                "(SELECT 1 FROM push_pairs p WHERE p.enterprise_id = t.enterprise_id)"
            )
            counts["already_notified"] = cursor.fetchone()[0]
            cursor.execute("DROP TABLE push_told")
        else:
            counts["already_notified"] = 0
    return counts


def _bundles_sql(where: str = "") -> str:
    """Per firm of push_pairs (those ``where`` allows): its policies, nearest deadline first, and the first
    one's short title; ``n`` numbers the bundles from 0."""
    return f"""
        SELECT pp.enterprise_id,
               array_agg(pp.policy_id ORDER BY p.apply_end NULLS LAST, p.id) AS policy_ids,
               (array_agg({POLICY_TITLE_SQL} ORDER BY p.apply_end NULLS LAST, p.id))[1] AS first_title,
               (row_number() OVER () - 1)::int AS n
        FROM push_pairs pp JOIN policies_policy p ON p.id = pp.policy_id {where}
        GROUP BY pp.enterprise_id"""


FIXED_LINK_PATH = "/m"  # one URL for every firm; the firm signs in with its USCC and an SMS code


# The variables as SQL over firm ``e`` and policy ``p``: planning counts lengths with them and sending
# renders with their values, so the text billed is the text sent.
SHORT_NAME_SQL = "COALESCE(NULLIF(e.short_name, ''), e.name)"
POLICY_TITLE_SQL = "COALESCE(NULLIF(p.short_title, ''), left(p.title, 12))"


def message_link(*, campaign: Campaign, token: str | None) -> str:
    """The link in a firm's SMS: its own package page, or the one fixed address (sign in with USCC + code)."""
    return link_maker(campaign)(token)


def link_maker(campaign: Campaign) -> Callable[[str | None], str]:
    """``message_link`` for the messages of one campaign, the settings read once (sending makes thousands)."""
    fixed = settings.PORTAL_BASE_URL + FIXED_LINK_PATH
    if campaign.link_mode == Campaign.LinkMode.FIXED:
        return lambda token: fixed
    base = f"{settings.PORTAL_BASE_URL}/b/"
    return lambda token: base + token if token else fixed


def message_values(*, short_name: str, count: int, first_title: str, link: str) -> dict:
    """One message's template variables by vendor name (sms.VENDOR_NAMES), from the values SHORT_NAME_SQL
    and POLICY_TITLE_SQL give."""
    return {"name": short_name, "n": str(count), "policy": first_title, "link": link}


def _variables_sql(campaign: Campaign) -> dict[str, tuple[str, list]]:
    """SQL for each template variable of a bundle ``b`` of firm ``e`` (the link token is ``t.token``)."""
    if campaign.link_mode == Campaign.LinkMode.FIXED:
        link = ("%s", [message_link(campaign=campaign, token=None)])
    else:
        link = ("%s || t.token", [f"{settings.PORTAL_BASE_URL}/b/"])
    return {
        "企业简称": (SHORT_NAME_SQL, []),
        "n": ("cardinality(b.policy_ids)::text", []),
        "政策简称": ("b.first_title", []),
        "link": link,
    }


def _length_sql(campaign: Campaign) -> str:
    """SQL for the length of each bundle's message, signature included: the template's own characters
    plus each placeholder's value length as often as it occurs (what _text_sql would render, unrendered)."""
    body = campaign.template.body
    link_length = len(message_link(campaign=campaign, token="x" * TOKEN_LENGTH))  # tokens have one length
    fixed, terms = len(f"【{settings.SMS_SIGNATURE}】") + len(body), []
    for placeholder, (value, _) in _variables_sql(campaign).items():
        occurrences = body.count(f"{{{placeholder}}}")
        if occurrences:
            value_length = link_length if placeholder == "link" else f"char_length({value})"
            fixed -= occurrences * len(f"{{{placeholder}}}")
            terms.append(f"{occurrences} * {value_length}")
    return f"({' + '.join([str(fixed), *terms])})"


def _text_sql(campaign: Campaign) -> tuple[str, list]:
    """SQL rendering the template for each bundle: one replace() per placeholder."""
    expr, params = "%s", [campaign.template.body]
    for placeholder, (value, value_params) in _variables_sql(campaign).items():
        expr = f"replace({expr}, %s, {value})"
        params += [f"{{{placeholder}}}", *value_params]
    return expr, params


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
        _load_pairs(policies, on)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT enterprise_id) FROM push_pairs")
            preview.audience = cursor.fetchone()[0]
        preview.excluded = _filter_pairs(campaign, _today_start())
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS push_bundles; CREATE TEMP TABLE push_bundles AS {_bundles_sql()}; "
                           f"ANALYZE push_bundles")  # fmt: skip
            cursor.execute(
                "SELECT COALESCE(r.name, '未知区域'), count(*) FROM push_bundles b "
                "JOIN enterprises_enterprise e ON e.id = b.enterprise_id LEFT JOIN policies_region r "
                "ON r.id = e.region_id GROUP BY 1 ORDER BY 2 DESC"
            )
            preview.by_region = dict(cursor.fetchall())
            cursor.execute(
                "SELECT pol.title, count(*) FROM push_pairs p JOIN policies_policy pol ON pol.id = p.policy_id "
                "GROUP BY pol.title ORDER BY 2 DESC"
            )
            preview.by_policy = dict(cursor.fetchall())
            preview.recipients = sum(preview.by_region.values())
            expr, params = _text_sql(campaign)
            cursor.execute(
                f"SELECT e.name, {expr}, cardinality(b.policy_ids) FROM push_bundles b "
                f"JOIN enterprises_enterprise e ON e.id = b.enterprise_id "
                f"CROSS JOIN (SELECT 'XXXXXXXXXXXXXXXX'::text AS token) t ORDER BY b.enterprise_id LIMIT %s",
                [*params, sample],
            )
            for name, text, count in cursor.fetchall():
                length = sms_length(text, settings.SMS_SIGNATURE)
                preview.samples.append({"firm": name, "text": f"【{settings.SMS_SIGNATURE}】{text}", "length": length,
                                        "segments": segments(length), "policies": count})  # fmt: skip
            length = _length_sql(campaign)
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
        check = campaign_template_check(campaign=campaign)
        if not check.ok:
            raise ValidationError(check.problems)
        policies = campaign_policies(campaign=campaign)
        clock = time.perf_counter()
        pairs = _load_pairs(policies, timezone.localdate())
        seconds = {"audience": time.perf_counter() - clock}
        clock = time.perf_counter()
        excluded = _filter_pairs(campaign, _today_start())
        seconds["exclusions"] = time.perf_counter() - clock
        if campaign.links_expire_at is None:  # links work from the first slice on
            campaign.links_expire_at = timezone.now() + datetime.timedelta(days=LINK_DAYS)
            campaign.save(update_fields=["links_expire_at"])
    clock = time.perf_counter()
    written, done_to, size = 0, 0, min(FIRST_SLICE, PLAN_SLICE)
    while True:
        with transaction.atomic():
            # Locked, so a cancel waits for this slice to commit and then cancels its messages too.
            status = Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("status", flat=True)
            if status.get() == Campaign.Status.CANCELLED:
                break
            last_firm = _slice_end(after=done_to, pairs=size)
            if last_firm is None:
                break
            count, first_id, last_id = _write_slice(campaign, done_to + 1, last_firm)
        done_to, size = last_firm, PLAN_SLICE
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


def _write_slice(campaign: Campaign, first_firm: int, last_firm: int) -> tuple[int, int | None, int | None]:
    """The messages and ledger rows of the bundles of firms first_firm..last_firm: (count, first id, last id)."""
    length = _length_sql(campaign)
    with connection.cursor() as cursor:
        if campaign.link_mode == Campaign.LinkMode.PER_FIRM:
            cursor.execute(
                "SELECT count(DISTINCT enterprise_id) FROM push_pairs WHERE enterprise_id BETWEEN %s AND %s",
                [first_firm, last_firm],
            )
            token, params = TOKEN_SQL, [secrets.token_bytes(TOKEN_BYTES * cursor.fetchone()[0])]
        else:
            token, params = "NULL", []
        # A slice no earlier run reached (the usual case) takes plain inserts: ON CONFLICT costs a speculative
        # insertion per row, an extra WAL record and index probe. The unique keys still refuse any repeat.
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {Message._meta.db_table} WHERE campaign_id = %s "
            f"AND enterprise_id BETWEEN %s AND %s)",
            [campaign.pk, first_firm, last_firm],
        )
        repeat = cursor.fetchone()[0]  # messages and ledger rows commit together, so one check serves both
        cursor.execute(
            f"""WITH written AS (
                  INSERT INTO {Message._meta.db_table}
                    (campaign_id, enterprise_id, mobile, policy_ids, token, length, segments, status, call_id,
                     gateway_id, error, attempts, created_at, open_count)
                  SELECT %s, b.enterprise_id, e.contact_mobile, b.policy_ids, {token}, {length},
                         {segments_sql(length)}, 'created', '', '', '', 0, now(), 0
                  FROM ({_bundles_sql("WHERE pp.enterprise_id BETWEEN %s AND %s")}) b
                  -- the slice's range again: the planner does not carry it across the join, and would
                  -- read the whole register for every slice
                  JOIN enterprises_enterprise e ON e.id = b.enterprise_id AND e.id BETWEEN %s AND %s
                  {"ON CONFLICT (campaign_id, enterprise_id) DO NOTHING" if repeat else ""}
                  RETURNING id)
                SELECT count(*), min(id), max(id) FROM written""",
            [campaign.pk, *params, first_firm, last_firm, first_firm, last_firm],
        )
        written = cursor.fetchone()
        cursor.execute(
            f"""INSERT INTO {NotificationLedger._meta.db_table} (enterprise_id, policy_id, campaign_id, notified_at)
                SELECT enterprise_id, policy_id, %s, now() FROM push_pairs WHERE enterprise_id BETWEEN %s AND %s
                {"ON CONFLICT (enterprise_id, policy_id, campaign_id) DO NOTHING" if repeat else ""}""",
            [campaign.pk, first_firm, last_firm],
        )
    return written


@transaction.atomic
def campaign_launch(*, campaign: Campaign, user) -> Campaign:
    """Start a push, now or at its scheduled time: workers plan the messages and send them.

    Needs the push permission; only a draft can be launched. Sending waits for the end of quiet hours.
    """
    if not user.has_perm("notifications.launch_campaign"):
        raise PermissionDenied("您没有发起短信推送的权限。")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(f"推送批次当前状态为“{campaign.get_status_display()}”，不能再次发起。")
    check = campaign_template_check(campaign=campaign)
    if not check.ok:
        raise ValidationError(check.problems)
    campaign.launched_by, campaign.launched_at = user, timezone.now()
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        campaign.status = Campaign.Status.SCHEDULED  # the watchdog starts it when the time comes
        campaign.save(update_fields=["status", "launched_by", "launched_at"])
        return campaign
    campaign.save(update_fields=["launched_by", "launched_at"])
    return campaign_start(campaign=campaign)


@transaction.atomic
def campaign_start(*, campaign: Campaign) -> Campaign:
    """Hand a launched campaign to the planning workers (after commit)."""
    from notifications.dispatch import mark_progress
    from notifications.tasks import plan_campaign

    updated = Campaign.objects.filter(
        pk=campaign.pk, status__in=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED]
    ).update(status=Campaign.Status.PLANNING)
    campaign.refresh_from_db()
    if updated:
        transaction.on_commit(lambda: (mark_progress(campaign.pk), plan_campaign.delay(campaign.pk)))
    return campaign


def _today_start() -> datetime.datetime:
    now = timezone.localtime()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
