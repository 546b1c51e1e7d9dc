"""兑现's two staff queues under supervision (registered with ``portal.analytics.queues`` from ``apps.py``):

- 公示异议 (``objection``): an objection raised during 公示, answered within ``QUEUE_DEADLINES["objection"]``
  working days; it is the policy's department's to answer.
- 申报办理 (``application``): an application whose department has left it in one state (已受理, 审核中, 已公示)
  close to or past the policy's 兑现时限 (working days, default 60). It joins the queue when its light
  turns yellow (``WARN_WORKING_DAYS`` before the deadline) and leaves it when the department reports the
  next state. For the on-time ranking, each state an application left counts once: on time when it left by
  its deadline.

Deadlines are counted once per distinct (day, working days) pair, never once per row: a department may
have a hundred thousand applications open.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import F, Q
from django.db.models.expressions import Window
from django.db.models.functions import Coalesce, Lag, TruncDate
from django.utils import timezone

from core.workdays import Light, add_working_days, light_for
from policies.scope import Scope
from portal.analytics.queues import (
    QueueItem,
    QueueKind,
    answering_department,
    change_state,
    departments,
    local_day,
    start_of,
    url_maker,
)
from portal.payouts.models import (
    APPLICATION_TERMINAL,
    DEFAULT_PAYOUT_WORKING_DAYS,
    Application,
    ApplicationEvent,
    Objection,
)
from portal.payouts.selectors import WARN_WORKING_DAYS, applications_in_scope, objections_in_scope

OBJECTION, APPLICATION = "objection", "application"


def objection_deadline(raised_on: datetime.date) -> datetime.date:
    """When staff must have answered an objection raised on ``raised_on``."""
    return add_working_days(raised_on, settings.QUEUE_DEADLINES[OBJECTION])


# --- 公示异议 ------------------------------------------------------------------------------------------------


def objection_items(*, scope: Scope, closed: bool | None = False, since: datetime.date | None = None, today=None):
    rows = objections_in_scope(scope=scope)
    if closed is not None:
        waiting = Q(status=Objection.Status.OPEN)
        rows = rows.filter(~waiting if closed else waiting)
    if since:
        rows = rows.filter(created_at__gte=start_of(since))
    rows = rows.annotate(department=answering_department(scope, "round__policy_id")).values_list(
        "pk", "round__name", "entry__enterprise__name", "reason", "created_at", "due_on", "status", "handled_at",
        "department", "entry__enterprise__region_id", "entry__enterprise__region__name",
    )  # fmt: skip
    names, url = departments(), url_maker("admin:payouts_objection_change")
    for pk, round_name, firm, reason, created_at, due_on, status, handled_at, department_id, region_id, region in rows:
        yield QueueItem(
            kind=OBJECTION, kind_label="公示异议", object_id=pk,
            title=f"{round_name}：{firm or '未指明企业'}（{reason[:30]}）",
            created_on=timezone.localdate(created_at), deadline=due_on,
            closed_on=local_day(handled_at) if status != Objection.Status.OPEN else None,
            department_id=department_id, department=names.get(department_id, ""),
            region_id=region_id, region=region or "", url=url(pk),
        )  # fmt: skip


def objection_state() -> str:
    return change_state(Objection, "handled_at")


# --- 申报办理 ------------------------------------------------------------------------------------------------

TIME_LIMIT = Coalesce("policy__payout_standard__payout_working_days", DEFAULT_PAYOUT_WORKING_DAYS)


def _deadlines(pairs) -> dict[tuple[datetime.date, int], datetime.date]:
    return {(day, days): add_working_days(day, days) for day, days in pairs}


def _application_item(pk, firm, title, status, external_id, department_id, department, region_id, region, url,
                      *, entered_on, deadline, left_on=None) -> QueueItem:  # fmt: skip
    return QueueItem(
        kind=APPLICATION, kind_label="申报办理", object_id=pk,
        title=f"{firm}：{title[:30]}（{status}，{external_id}）",
        created_on=entered_on, deadline=deadline, closed_on=left_on,
        department_id=department_id, department=department, region_id=region_id, region=region or "", url=url(pk),
        warn_working_days=WARN_WORKING_DAYS,
    )  # fmt: skip


FIELDS = ("pk", "enterprise__name", "policy__title", "external_id", "department_id", "enterprise__region_id",
          "enterprise__region__name")  # fmt: skip


def _applications_due(scope: Scope, today: datetime.date):
    """Open applications whose current state is yellow or red today (the rest are not yet anyone's worry)."""
    rows = (
        applications_in_scope(scope=scope)
        .exclude(status__in=APPLICATION_TERMINAL)
        .annotate(day=TruncDate("status_at"), days=TIME_LIMIT)
    )
    deadlines = _deadlines(rows.values_list("day", "days").distinct())
    due = [
        key
        for key, deadline in deadlines.items()
        if light_for(deadline, today, warn_working_days=WARN_WORKING_DAYS) != Light.GREEN
    ]
    if not due:
        return
    # A later start day has a later deadline: per time limit, every day up to the latest one due is due.
    latest: dict[int, datetime.date] = {}
    for day, days in due:
        latest[days] = max(day, latest.get(days, day))
    condition = Q()
    for days, day in latest.items():
        condition |= Q(days=days, day__lte=day)
    names, url = departments(), url_maker("admin:payouts_application_change")
    labels = dict(Application._meta.get_field("status").choices)
    for pk, firm, title, external_id, department_id, region_id, region, status, day, days in rows.filter(
        condition
    ).values_list(*FIELDS, "status", "day", "days"):
        yield _application_item(
            pk, firm, title, labels[status], external_id, department_id, names.get(department_id, ""), region_id,
            region, url, entered_on=day, deadline=deadlines[(day, days)],
        )  # fmt: skip


def _application_steps_left(scope: Scope, since: datetime.date | None):
    """Each state an application left (since ``since``): when it entered it, its deadline, when it left."""
    applications = applications_in_scope(scope=scope)
    if since:  # a state left since then was reported since then; the lag still sees the earlier states
        applications = applications.filter(updated_at__gte=start_of(since))
    events = (
        ApplicationEvent.objects.filter(application__in=applications.values("pk"))
        .annotate(
            entered=Window(Lag("at"), partition_by=F("application_id"), order_by=[F("at").asc(), F("pk").asc()]),
            left_on=TruncDate("at"),
        )
        .filter(entered__isnull=False)
        .values_list(
            "application_id", "application__enterprise__name", "application__policy__title",
            "application__external_id", "application__department_id", "application__enterprise__region_id",
            "application__enterprise__region__name", "entered", "left_on",
            "application__policy__payout_standard__payout_working_days",
        )
    )  # fmt: skip
    # ``since`` is applied here, in Python, on purpose: as a filter it would go inside the window's query and
    # hide from Lag the states entered before ``since``.
    steps = [
        (*row[:7], timezone.localdate(row[7]), row[8], DEFAULT_PAYOUT_WORKING_DAYS if row[9] is None else row[9])
        for row in events
        if not since or row[8] >= since
    ]
    deadlines = _deadlines({(entered, days) for *_, entered, _, days in steps})
    names, url = departments(), url_maker("admin:payouts_application_change")
    for pk, firm, title, external_id, department_id, region_id, region, entered, left_on, days in steps:
        yield _application_item(
            pk, firm, title, "已办结此环节", external_id, department_id, names.get(department_id, ""), region_id,
            region, url, entered_on=entered, deadline=deadlines[(entered, days)], left_on=left_on,
        )  # fmt: skip


def application_items(
    *, scope: Scope, closed: bool | None = False, since: datetime.date | None = None, today: datetime.date | None = None
):
    if closed is not True:
        yield from _applications_due(scope, today or timezone.localdate())
    if closed is not False:
        yield from _application_steps_left(scope, since)


def application_state() -> str:
    return change_state(Application, "updated_at")


KINDS = [
    QueueKind(OBJECTION, "公示异议", objection_items, objection_state),
    QueueKind(APPLICATION, "申报办理", application_items, application_state, lists_green=False),
]
