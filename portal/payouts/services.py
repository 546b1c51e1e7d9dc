"""Payout rounds (兑现批次), from staff's side: freeze the list, review it, approve it. (The firm's answers
are ``answers``; 公示, objections and the handover to finance ``publicity``; the files ``finance``.)

Freezing is set-based: the policy's audience comes from the matching index as a bitmap, is copied into a
temporary table, and one ``INSERT … SELECT`` writes every firm's entry with its amount (``amounts``) and the
facts the rule and the standard read on that day, from which the explanation is shown later. The rule, its
version and the names it uses are frozen on the round, so the list does not move when the register or the
rule does. Every state change is one atomic function here and leaves an audit row.
"""

from __future__ import annotations

import datetime
import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.workdays import add_working_days
from enterprises.models import Enterprise
from matching import selectors as matching
from matching.index import get_index
from policies.audience_rules import Vocabulary
from policies.models import Policy
from portal.payouts.amounts import ZERO_REASON, amount_sql, missing_reason
from portal.payouts.models import PayoutAudit, PayoutEntry, PayoutRound, PayoutStandard

Status, EntryStatus = PayoutRound.Status, PayoutEntry.Status
FACT_COLUMNS = {  # rule field -> SQL over e / r, as matching.facts reads it
    "region": "r.code",
    "industry": "NULLIF(e.industry, '')",
    "size_class": "NULLIF(e.size_class, '')",
    "age_years": "e.founded_on",
    "registered_capital": "e.registered_capital",
    "employees": "e.employees",
    "annual_revenue": "e.annual_revenue",
}
FACT_KEYS = {"age_years": "founded_on"}  # the fact behind a derived field


# --- access ---------------------------------------------------------------------------------------------


def check_payout_permission(user, perm: str) -> None:
    """Refuse, in Chinese, a user without ``payouts.<perm>``."""
    words = {
        "open_payoutround": "生成与审核兑现名单",
        "approve_payoutround": "复核兑现名单",
        "export_payoutround": "导出拨付名单或导入拨付结果",
        "handle_objection": "处理公示异议",
    }
    if not user.has_perm(f"payouts.{perm}"):
        raise PermissionDenied(f"您没有{words.get(perm, perm)}的权限。")


def _locked(round_: PayoutRound, *allowed: str) -> PayoutRound:
    round_ = PayoutRound.objects.select_for_update().get(pk=round_.pk)
    if allowed and round_.status not in allowed:
        raise ValidationError(f"兑现批次当前状态为“{round_.get_status_display()}”，不能进行此操作。")
    return round_


def _audit(round_: PayoutRound, action: str, user=None, reason: str = "", entry: PayoutEntry | None = None) -> None:
    PayoutAudit.objects.create(round=round_, entry=entry, action=action, reason=reason[:300], user=user)


# --- the standard ---------------------------------------------------------------------------------------


def standard_set(*, policy: Policy, user, **values) -> PayoutStandard:
    """Create or change a policy's amount standard, validated."""
    check_payout_permission(user, "open_payoutround")
    standard = PayoutStandard.objects.filter(policy=policy).first() or PayoutStandard(policy=policy)
    for name, value in values.items():
        setattr(standard, name, value)
    standard.full_clean()
    standard.save()
    return standard


# --- freezing ---------------------------------------------------------------------------------------------


def _rule_refs(node: dict, fields: set[str], tags: set[str]) -> None:
    for child in node.get("all", node.get("any", [])):
        _rule_refs(child, fields, tags)
    if "not" in node:
        _rule_refs(node["not"], fields, tags)
    if "tag" in node:
        tags.add(node["tag"])
    if "field" in node:
        fields.add(node["field"])


@transaction.atomic
def round_open(
    *,
    policy: Policy,
    user,
    name: str = "",
    on: datetime.date | None = None,
    confirm_days: int = 5,
    publicity_days: int = 5,
) -> PayoutRound:
    """Freeze the policy's audience on ``on`` into a new round's 拟兑现名单, with amounts and explanations."""
    check_payout_permission(user, "open_payoutround")
    on = on or timezone.localdate()
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    if policy.delivery != Policy.Delivery.NO_APPLICATION:
        raise ValidationError("只有兑现方式为“免申即享”的政策才能生成兑现名单。")
    if policy.status != Policy.Status.PUBLISHED:
        raise ValidationError("政策尚未发布或已下线，不能生成兑现名单。")
    standard = PayoutStandard.objects.filter(policy=policy).first()
    if standard is None:
        raise ValidationError("该政策尚未设置兑现标准（固定金额或按企业指标比例），请先设置。")
    standard.full_clean()
    rule = policy.audience_rule or {"all": []}
    latest = policy.history.order_by("-history_id").values_list("history_id", flat=True).first()
    fields, tags = set(), set()
    _rule_refs(rule, fields, tags)
    vocab = Vocabulary.load()
    round_ = PayoutRound.objects.create(
        policy=policy,
        name=name or f"{policy.short_title or policy.title[:20]} {on:%Y-%m-%d} 兑现",
        frozen_on=on,
        rule=rule,
        rule_version=latest,
        standard=standard.snapshot(),
        vocabulary={"tags": {c: vocab.tags.get(c, c) for c in sorted(tags)}, "regions": vocab.regions},
        confirm_days=confirm_days,
        publicity_days=publicity_days,
        created_by=user,
    )
    audience = matching.audience_for_policy(policy=policy, on=on, sample=0).ids
    _freeze_entries(round_, audience, fields, tags, on)
    _recount(round_)
    _audit(round_, "生成名单", user, f"按 {on:%Y-%m-%d} 数据核定，规则版本 {latest}")
    return round_


def _freeze_entries(round_: PayoutRound, audience, fields: set[str], tags: set[str], on: datetime.date) -> int:
    """One INSERT … SELECT of every entry: amount, status (not listed when no amount), frozen facts."""
    standard = round_.standard
    if standard["basis"]:
        fields = fields | {standard["basis"]}
    index = get_index()
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS payout_audience, payout_masks; "
            "CREATE TEMP TABLE payout_audience (enterprise_id bigint, mask int) ON COMMIT DROP; "
            "CREATE TEMP TABLE payout_masks (mask int PRIMARY KEY, tags jsonb) ON COMMIT DROP"
        )
        # The tags the rule asks about, as the index held them when the audience was taken: per firm, a bit
        # mask of the ones it held (a few distinct masks for the whole list, each with its JSON once).
        codes, masks = sorted(tags), {}
        for bit, code in enumerate(codes):
            for pk in audience & index.tags.get(code, type(audience)()):
                masks[pk] = masks.get(pk, 0) | (1 << bit)
        if codes:
            used = set(masks.values()) | {0}
            cursor.execute(
                "INSERT INTO payout_masks SELECT m, to_jsonb(t::text[]) FROM unnest(%s::int[], %s::text[]) AS u(m, t)",
                [list(used), ["{" + ",".join(c for b, c in enumerate(codes) if m >> b & 1) + "}" for m in used]],
            )
        buffer, mask_of = io.StringIO(), masks.get
        buffer.writelines(f"{pk}\t{mask_of(pk, 0)}\n" for pk in audience)
        buffer.seek(0)
        cursor.copy_expert("COPY payout_audience (enterprise_id, mask) FROM STDIN", buffer)
        cursor.execute("ANALYZE payout_audience")
        amount, params = amount_sql(standard)
        pairs = [f"'{FACT_KEYS.get(f, f)}', {FACT_COLUMNS[f]}" for f in sorted(fields) if f in FACT_COLUMNS]
        if tags:
            pairs.append("'tags', m.tags")
        facts = f"jsonb_build_object({', '.join(pairs)})" if pairs else "'{}'::jsonb"
        # The rows are worked out once in a materialized CTE: referenced three times below, the amount
        # expression would otherwise be computed for each reference.
        cursor.execute(
            f"""WITH frozen AS MATERIALIZED (
                  SELECT e.id, {amount} AS amount, {facts} AS facts
                  FROM payout_audience pa
                  JOIN {Enterprise._meta.db_table} e ON e.id = pa.enterprise_id
                  LEFT JOIN core_region r ON r.id = e.region_id
                  LEFT JOIN payout_masks m ON m.mask = pa.mask)
                INSERT INTO {PayoutEntry._meta.db_table}
                  (round_id, enterprise_id, amount, status, reason, facts, bank_name, account_encrypted,
                   account_last4, payment_ref, updated_at)
                SELECT %s, id, amount,
                       CASE WHEN amount > 0 THEN '{EntryStatus.LISTED}' ELSE '{EntryStatus.EXCLUDED}' END,
                       CASE WHEN amount IS NULL THEN %s WHEN amount <= 0 THEN %s ELSE '' END,
                       facts, '', '', '', '', now()
                FROM frozen""",
            [*params, round_.pk, missing_reason(standard), ZERO_REASON],
        )
        return cursor.rowcount


def _recount(round_: PayoutRound) -> None:
    """The round's counts and total, from its entries (one aggregate)."""
    counted = PayoutEntry.objects.filter(round=round_).aggregate(
        listed=Count("pk", filter=~Q(status__in=[EntryStatus.EXCLUDED, EntryStatus.DECLINED, EntryStatus.UNANSWERED])),
        excluded=Count("pk", filter=Q(status=EntryStatus.EXCLUDED)),
        total=Sum("amount", filter=~Q(status__in=[EntryStatus.EXCLUDED, EntryStatus.DECLINED, EntryStatus.UNANSWERED])),
    )
    PayoutRound.objects.filter(pk=round_.pk).update(
        listed_count=counted["listed"], excluded_count=counted["excluded"], total_amount=counted["total"] or 0
    )
    round_.refresh_from_db(fields=["listed_count", "excluded_count", "total_amount"])


# --- review and approval ------------------------------------------------------------------------------------


@transaction.atomic
def entry_exclude(*, entry: PayoutEntry, user, reason: str) -> PayoutEntry:
    """Take a firm off the list, with a reason that is kept (while the list is reviewed, or after an upheld 异议)."""
    check_payout_permission(user, "open_payoutround")
    reason = reason.strip()
    if not reason:
        raise ValidationError("排除企业时请填写原因。")
    round_ = _locked(entry.round, Status.DRAFT, Status.CONFIRMING, Status.PUBLICITY)
    entry = PayoutEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status in {EntryStatus.EXCLUDED, EntryStatus.PAID}:
        raise ValidationError(f"该企业当前为“{entry.get_status_display()}”，不能排除。")
    entry.status, entry.reason, entry.updated_at = EntryStatus.EXCLUDED, reason[:200], timezone.now()
    entry.save(update_fields=["status", "reason", "updated_at"])
    _audit(round_, "排除企业", user, reason, entry)
    _recount(round_)
    return entry


@transaction.atomic
def entry_reinstate(*, entry: PayoutEntry, user, reason: str) -> PayoutEntry:
    """Put an excluded firm back on a list still under review (only one that has an amount)."""
    check_payout_permission(user, "open_payoutround")
    round_ = _locked(entry.round, Status.DRAFT)
    entry = PayoutEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != EntryStatus.EXCLUDED or not entry.amount or entry.amount <= 0:
        raise ValidationError("只能恢复被排除且已核定金额的企业。")
    entry.status, entry.reason, entry.updated_at = EntryStatus.LISTED, "", timezone.now()
    entry.save(update_fields=["status", "reason", "updated_at"])
    _audit(round_, "恢复列入", user, reason or "恢复列入", entry)
    _recount(round_)
    return entry


@transaction.atomic
def round_submit(*, round_: PayoutRound, user) -> PayoutRound:
    """The reviewed list goes to a second person (复核)."""
    check_payout_permission(user, "open_payoutround")
    round_ = _locked(round_, Status.DRAFT)
    if not round_.listed_count:
        raise ValidationError("名单中没有拟兑现的企业，不能提交复核。")
    round_.status, round_.submitted_by, round_.submitted_at, round_.review_note = (
        Status.AWAITING_APPROVAL,
        user,
        timezone.now(),
        "",
    )
    round_.save(update_fields=["status", "submitted_by", "submitted_at", "review_note"])
    _audit(round_, "提交复核", user)
    return round_


def _awaiting_review(round_: PayoutRound, user) -> PayoutRound:
    check_payout_permission(user, "approve_payoutround")
    round_ = _locked(round_, Status.AWAITING_APPROVAL)
    if user.pk in {round_.submitted_by_id, round_.created_by_id}:
        raise PermissionDenied("生成或提交名单的人不能复核自己的名单，请由另一位复核人确认。")
    return round_


@transaction.atomic
def round_approve(*, round_: PayoutRound, user) -> PayoutRound:
    """The second person's yes: firms are asked to confirm (意愿确认) by SMS, until the deadline."""
    round_ = _awaiting_review(round_, user)
    today = timezone.localdate()
    round_.status, round_.approved_by, round_.approved_at = Status.CONFIRMING, user, timezone.now()
    round_.confirm_deadline = add_working_days(today, round_.confirm_days)
    round_.save(update_fields=["status", "approved_by", "approved_at", "confirm_deadline"])
    _audit(round_, "复核通过", user, f"意愿确认截止 {round_.confirm_deadline:%Y-%m-%d}")
    from portal.payouts import notices

    notices.round_notice_queue(round_=round_, reminder=False)
    return round_


@transaction.atomic
def round_send_back(*, round_: PayoutRound, user, reason: str) -> PayoutRound:
    """The second person's no: back to review, with the reason."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("退回时请填写原因。")
    round_ = _awaiting_review(round_, user)
    round_.status, round_.review_note = Status.DRAFT, reason[:200]
    round_.save(update_fields=["status", "review_note"])
    _audit(round_, "退回修改", user, reason)
    return round_


@transaction.atomic
def round_cancel(*, round_: PayoutRound, user, reason: str) -> PayoutRound:
    check_payout_permission(user, "open_payoutround")
    round_ = _locked(round_, Status.DRAFT, Status.AWAITING_APPROVAL, Status.CONFIRMING)
    round_.status = Status.CANCELLED
    round_.save(update_fields=["status"])
    _audit(round_, "取消批次", user, reason)
    return round_
