"""Reads for 兑现: a round's entries and why each firm is on it, as frozen."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from core.workdays import Light, add_working_days, light_for
from matching.rules import Facts, LeafResult, explain
from policies.audience_rules import Vocabulary
from policies.scope import Scope
from portal.payouts.models import (
    APPLICATION_TERMINAL,
    DEFAULT_PAYOUT_WORKING_DAYS,
    Application,
    ApplicationStatus,
    Objection,
    PayoutEntry,
    PayoutRound,
    PayoutStandard,
)

DEFAULT_DAYS = DEFAULT_PAYOUT_WORKING_DAYS
WARN_WORKING_DAYS = 5  # an application's state turns yellow this many working days before its deadline


# --- what a staff scope sees (admin lists and supervision queues alike) -----------------------------------


def rounds_in_scope(*, scope: Scope):
    """Rounds of the policies the scope sees."""
    return PayoutRound.objects.filter(scope.policy_q("policy__"))


def rounds_in_charge(*, scope: Scope):
    """Rounds the scope may act on (review, 公示, export with accounts, results): those of its department's
    policies, and for a district only its own district's policies, never a city-wide list."""
    rows = rounds_in_scope(scope=scope)
    if scope.region_id is not None:
        rows = rows.filter(policy__region_id=scope.region_id)
    return rows


def entries_in_scope(*, scope: Scope):
    """Entries of those rounds, of the scope's firms (a district sees its own firms on a city-wide list)."""
    return PayoutEntry.objects.filter(scope.policy_q("round__policy__"), scope.enterprise_q("enterprise__"))


def objections_in_scope(*, scope: Scope):
    """Objections to those rounds; a district sees those naming its firms, and unnamed ones to its own
    district's rounds."""
    rows = Objection.objects.filter(scope.policy_q("round__policy__"))
    if scope.region_id is not None:
        rows = rows.filter(
            Q(entry__enterprise__region_id=scope.region_id)
            | Q(entry__isnull=True, round__policy__region_id=scope.region_id)
        )
    return rows


def applications_in_scope(*, scope: Scope):
    """Applications to the policies the scope sees, of its firms; a department sees those it reported."""
    rows = Application.objects.filter(scope.policy_q("policy__"), scope.enterprise_q("enterprise__"))
    if scope.department_id is not None:
        rows = rows.filter(department_id=scope.department_id)
    return rows


def entry_facts(*, entry: PayoutEntry) -> Facts:
    """The firm's facts as frozen with the round (what the rule and the standard read that day)."""
    f = entry.facts or {}
    founded = f.get("founded_on")
    return Facts(
        id=entry.enterprise_id,
        tags=frozenset(f.get("tags", [])),
        region=f.get("region"),
        industry=f.get("industry"),
        size_class=f.get("size_class"),
        founded_on=datetime.date.fromisoformat(founded) if founded else None,
        registered_capital=_decimal(f.get("registered_capital")),
        employees=f.get("employees"),
        annual_revenue=_decimal(f.get("annual_revenue")),
    )


def _decimal(value):
    return None if value is None else Decimal(str(value))


def entry_explanation(*, entry: PayoutEntry, round_: PayoutRound | None = None) -> list[LeafResult]:
    """Why the firm is on the list, condition by condition, as evaluated on the freeze date with the frozen
    rule and names: the register or the rule changing later does not change it."""
    round_ = round_ or entry.round
    vocab = Vocabulary(round_.vocabulary.get("tags", {}), round_.vocabulary.get("regions", {}))
    return explain(round_.rule, entry_facts(entry=entry), round_.frozen_on, vocab)


# --- applications -----------------------------------------------------------------------------------------

APPLICATION_STEPS = [
    ApplicationStatus.RECEIVED,
    ApplicationStatus.REVIEWING,
    ApplicationStatus.PUBLICIZED,
    ApplicationStatus.PAID,
]


@dataclass
class Step:
    label: str
    state: str  # done / current / todo / failed
    when: datetime.datetime | datetime.date | None = None
    note: str = ""


@dataclass
class ApplicationTracker:
    """One application as its firm sees it: where it stands, each step, and why not when it failed."""

    policy_id: int
    policy_title: str
    department: str
    external_id: str
    status: str
    status_label: str
    reason: str
    amount: Decimal | None
    steps: list[Step]


def application_trackers(*, enterprise_id: int) -> list[ApplicationTracker]:
    """The firm's applications as departments reported them (never its own 已申报 button), newest first."""
    rows = list(
        Application.objects.filter(enterprise_id=enterprise_id)
        .select_related("policy", "department")
        .prefetch_related("events")
        .order_by("-updated_at")[:50]
    )
    trackers = []
    for app in rows:
        reached = {e.status: e for e in app.events.all()}
        steps = []
        for status in APPLICATION_STEPS:
            event = reached.get(status)
            state = "done" if event else "todo"
            steps.append(Step(status.label, state, event.at if event else None))
        if app.status == ApplicationStatus.REJECTED:
            steps = [s for s in steps if s.state == "done"]
            steps.append(Step(ApplicationStatus.REJECTED.label, "failed", app.status_at, app.reason))
        else:
            for step in steps:
                if step.label == ApplicationStatus(app.status).label:
                    step.state = "current" if app.status != ApplicationStatus.PAID else "done"
        trackers.append(
            ApplicationTracker(
                app.policy_id,
                app.policy.title,
                app.department.name,
                app.external_id,
                app.status,
                app.get_status_display(),
                app.reason,
                app.amount,
                steps,
            )
        )
    return trackers


def application_light(*, application: Application, today: datetime.date | None = None) -> tuple[datetime.date, Light]:
    """One application's deadline in its current state and its light."""
    today = today or timezone.localdate()
    try:  # select_related("policy__payout_standard") in lists
        days = application.policy.payout_standard.payout_working_days
    except PayoutStandard.DoesNotExist:
        days = DEFAULT_DAYS
    due = add_working_days(timezone.localdate(application.status_at), days)
    if application.status in APPLICATION_TERMINAL:
        return due, Light.GREEN
    return due, light_for(due, today, warn_working_days=WARN_WORKING_DAYS)


def payout_funnel_counts(*, policy_ids: list[int] | None = None) -> dict[str, int]:
    """The funnel's last two stages: firms that applied (department-reported applications; a firm's own
    已申报 never counts) and firms paid (applications 已拨付 plus 免申即享 entries paid), by (firm, policy)."""
    apps = Application.objects.all()
    entries = PayoutEntry.objects.filter(status=PayoutEntry.Status.PAID)
    if policy_ids is not None:
        apps, entries = apps.filter(policy_id__in=policy_ids), entries.filter(round__policy_id__in=policy_ids)
    applied = apps.values("enterprise_id", "policy_id").distinct().count()
    paid_apps = apps.filter(status=ApplicationStatus.PAID).values("enterprise_id", "policy_id").distinct().count()
    paid_entries = entries.values("enterprise_id", "round__policy_id").distinct().count()
    return {"applied": applied, "paid": paid_apps + paid_entries}


def application_funnel_counts() -> dict[str, int]:
    return payout_funnel_counts()


def round_status_counts(*, round_: PayoutRound) -> dict[str, tuple[str, int, Decimal]]:
    """Per entry status: (label, firms, amount), for the round's page."""
    rows = (
        PayoutEntry.objects.filter(round=round_)
        .values_list("status")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by("status")
    )
    return {status: (PayoutEntry.Status(status).label, n, total or Decimal(0)) for status, n, total in rows}


# --- what the firm sees --------------------------------------------------------------------------------------

VISIBLE_ROUND_STATUSES = (
    PayoutRound.Status.CONFIRMING,
    PayoutRound.Status.PUBLICITY,
    PayoutRound.Status.FINANCE,
    PayoutRound.Status.CLOSED,
)
# Whether the firm of a message ``m`` has a payout or an application to follow: its link page then gets
# the full render with its trackers (portal.views.link passes this with the feedback expression).
LINK_TRACKER_SQL = f"""EXISTS (SELECT 1 FROM {PayoutEntry._meta.db_table} pe JOIN {PayoutRound._meta.db_table} pr
                       ON pr.id = pe.round_id WHERE pe.enterprise_id = m.enterprise_id
                       AND pr.status IN ({", ".join(f"'{s}'" for s in VISIBLE_ROUND_STATUSES)}))
       OR EXISTS (SELECT 1 FROM {Application._meta.db_table} ap WHERE ap.enterprise_id = m.enterprise_id)"""


@dataclass
class PayoutTracker:
    """One 免申即享 entry as its firm sees it: 拟兑现 → 已确认 → 公示中 → 已拨付, or why not."""

    entry: PayoutEntry
    policy_title: str
    steps: list[Step]
    headline: str
    action: str = ""  # what the firm can do now, as the button says it ("" for nothing)


def payout_tracker(entry: PayoutEntry) -> PayoutTracker:
    round_, S, R = entry.round, PayoutEntry.Status, PayoutRound.Status
    confirmed = entry.status in {S.CONFIRMED, S.PAID, S.FAILED}
    publicized = confirmed and round_.status in {R.PUBLICITY, R.FINANCE, R.CLOSED}
    steps = [
        Step("拟兑现", "done", round_.approved_at, f"{entry.amount:,.2f} 元" if entry.amount else ""),
        Step("已确认", "done" if confirmed else "current", entry.answered_at if confirmed else None),
        Step(
            "公示中",
            "done" if publicized and round_.status != R.PUBLICITY else ("current" if publicized else "todo"),
            round_.publicity_start if publicized else None,
            f"至 {round_.publicity_end:%Y-%m-%d}" if publicized and round_.publicity_end else "",
        ),
        Step(
            "已拨付",
            "done" if entry.status == S.PAID else ("failed" if entry.status == S.FAILED else "todo"),
            entry.paid_on if entry.status in {S.PAID, S.FAILED} else None,
            f"{entry.paid_amount:,.2f} 元" if entry.status == S.PAID and entry.paid_amount is not None else "",
        ),
    ]
    action = ""
    if entry.status in {S.EXCLUDED, S.DECLINED, S.UNANSWERED}:
        steps = steps[:1]
        steps[0].state = "failed"
        headline = f"未列入兑现：{entry.reason or entry.get_status_display()}"
    elif entry.status == S.PAID:
        headline = f"已拨付 {entry.paid_amount or entry.amount:,.2f} 元（{entry.paid_on:%Y-%m-%d}）"
    elif entry.status == S.FAILED:
        headline, action = f"{entry.reason}，请更正收款账户", "更正收款账户"
    elif entry.status == S.LISTED:
        headline = f"拟兑现 {entry.amount:,.2f} 元，请在 {round_.confirm_deadline:%Y-%m-%d} 前确认"
        steps[1].state = "current"
        action = "确认领取" if round_.status == R.CONFIRMING else ""
    else:
        headline = {
            R.CONFIRMING: f"已确认，收款账户 {entry.bank_name} {entry.masked_account}",
            R.PUBLICITY: "公示中",
            R.FINANCE: "公示结束，等待拨付",
            R.CLOSED: "等待拨付",
        }[round_.status]
        action = "修改账户或放弃" if round_.status == R.CONFIRMING else ""
    return PayoutTracker(entry, round_.policy.title, steps, headline, action)


@dataclass
class Trackers:
    payouts: list[PayoutTracker]
    applications: list[ApplicationTracker]
    action_base: str  # URL prefix of the firm's 意愿确认 pages (its link, or 我的政策包)

    def __bool__(self) -> bool:
        return bool(self.payouts or self.applications)


def enterprise_trackers(*, enterprise_id: int, token: str | None = None) -> Trackers:
    """Everything the firm follows after "you qualify": its 免申即享 entries and its applications. Only its
    own, by construction: every query filters by ``enterprise_id``."""
    entries = (
        PayoutEntry.objects.filter(enterprise_id=enterprise_id, round__status__in=VISIBLE_ROUND_STATUSES)
        .select_related("round__policy")
        .order_by("-round__approved_at")[:20]
    )
    base = reverse("payouts:link-entry", args=[token, 0]) if token else reverse("payouts:my-entry", args=[0])
    return Trackers(
        [payout_tracker(e) for e in entries], application_trackers(enterprise_id=enterprise_id), base.removesuffix("0")
    )


def entry_for_enterprise(*, enterprise_id: int, entry_id: int) -> PayoutEntry | None:
    """The firm's own entry of a visible round; None for anyone else's (the caller answers 404)."""
    return (
        PayoutEntry.objects.filter(pk=entry_id, enterprise_id=enterprise_id, round__status__in=VISIBLE_ROUND_STATUSES)
        .select_related("round__policy", "enterprise")
        .first()
    )


def publicity_rows(*, round_: PayoutRound, offset: int = 0, limit: int = 200) -> list[tuple[int, str, Decimal]]:
    """The 公示 list: (entry id, firm name, amount) of the confirmed firms — names and amounts only."""
    return list(
        PayoutEntry.objects.filter(
            round=round_, status__in=[PayoutEntry.Status.CONFIRMED, PayoutEntry.Status.PAID, PayoutEntry.Status.FAILED]
        )
        .order_by("enterprise_id")
        .values_list("pk", "enterprise__name", "amount")[offset : offset + limit]
    )
