"""Staff queues under supervision: what each holds, its deadline in working days and who owns each item.

Each kind lists its items (``QueueItem``: when it came in, its deadline, when it was closed, the owning
department and the firm's district) within a staff scope. Deadlines count working days on the Chinese
calendar (``core.workdays``: holidays and 调休 make-up days), per kind from ``settings.QUEUE_DEADLINES``,
the same setting the queue's admin lists read. Lights: red once the deadline has passed, yellow on its
last working day(s), green otherwise.

Kinds here: 差评 and 好评 to reply to (好差评), 纠错 to review. Other apps add theirs with ``register_queue``
from their ``AppConfig.ready`` (``portal.payouts.queues``: 公示异议 and 申报办理).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db.models import Count, Max, OuterRef, Q, Subquery, Value
from django.urls import reverse
from django.utils import timezone

from core.workdays import LIGHT_LABELS, Light, add_working_days, light_for
from policies.models import Department, Policy
from policies.scope import Scope
from portal.models import PolicyRating, TagCorrection

WARN_WORKING_DAYS = 1  # yellow from this many working days before the deadline


@dataclass(frozen=True)
class QueueItem:
    kind: str
    kind_label: str
    object_id: int
    title: str
    created_on: datetime.date
    deadline: datetime.date
    closed_on: datetime.date | None
    department_id: int | None
    department: str
    region_id: int | None
    region: str
    url: str
    # yellow from this many working days before the deadline (a 60-working-day application step warns earlier)
    warn_working_days: int = WARN_WORKING_DAYS

    def light(self, today: datetime.date) -> Light | None:
        """The item's light while it is open; None once closed."""
        if self.closed_on is not None:
            return None
        return light_for(self.deadline, today, warn_working_days=self.warn_working_days)

    def light_label(self, today: datetime.date) -> str:
        light = self.light(today)
        return LIGHT_LABELS[light] if light else "已办结"

    @property
    def owner(self) -> str:
        """Who answers for it: the department, else the firm's district (纠错), else the city."""
        return self.department or (f"{self.region}（区县）" if self.region else "市级统筹")

    @property
    def on_time(self) -> bool | None:
        return None if self.closed_on is None else self.closed_on <= self.deadline


@dataclass(frozen=True)
class QueueKind:
    key: str
    label: str
    # items(scope=…, closed=…, since=…, today=…): the kind's items this scope sees; ``closed`` False for open
    # ones only, True for closed ones only, None for both; ``since`` bounds created_on (for a kind whose items
    # are steps, when the step ended); ``today`` is the day the lights are for (a kind may list only what is
    # due by then).
    items: Callable[..., Iterable[QueueItem]]
    # state(): a short text that changes whenever the kind's items do (an item added, answered, closed).
    state: Callable[[], str] = lambda: ""
    # False for a kind that lists its open items only once their light turns yellow (申报办理).
    lists_green: bool = True


@lru_cache(maxsize=4096)
def _deadline(created_on: datetime.date, days: int) -> datetime.date:
    return add_working_days(created_on, days)


def deadline_for(kind: str, created_on: datetime.date) -> datetime.date:
    """The deadline of an item of ``kind`` that came in on ``created_on`` (QUEUE_DEADLINES working days)."""
    return _deadline(created_on, settings.QUEUE_DEADLINES[kind])


def local_day(moment: datetime.datetime | None) -> datetime.date | None:
    return None if moment is None else timezone.localdate(moment)


# --- 好差评 ---------------------------------------------------------------------------------------------------


def url_maker(name: str) -> Callable[[int], str]:
    """An admin change URL per item without a reverse() per row."""
    template = reverse(name, args=[0]).replace("/0/", "/{}/")
    return template.format


def departments() -> dict[int, str]:
    return dict(Department.objects.values_list("pk", "name"))


def answering_department(scope: Scope, policy_path: str):
    """An expression for the department that answers for an item about the policy at ``policy_path``: a
    department account's own, else the policy's first department."""
    if scope.department_id is not None:
        return Value(scope.department_id)
    first = Policy.departments.through.objects.filter(policy_id=OuterRef(policy_path)).order_by("department_id")
    return Subquery(first.values("department_id")[:1])


def change_state(model, moment: str) -> str:
    """A short text that changes whenever a row of ``model`` is added or its ``moment`` field (when it was
    answered) moves: for a kind's ``state``."""
    state = model.objects.aggregate(n=Count("pk"), last=Max("pk"), moment=Max(moment))
    return f"{state['n']}:{state['last']}:{state['moment']}"


def _rating_items(kind: str, rating: str, label: str):
    def items(*, scope: Scope, closed: bool | None = False, since: datetime.date | None = None, today=None):
        rows = PolicyRating.objects.filter(
            scope.enterprise_q("enterprise__"), scope.policy_q("policy__"), rating=rating
        )
        if closed is not None:
            replied = Q(status=PolicyRating.Status.REPLIED)
            rows = rows.filter(replied if closed else ~replied)
        if since:
            rows = rows.filter(created_at__gte=start_of(since))
        rows = rows.annotate(department=answering_department(scope, "policy_id")).values_list(
            "pk", "enterprise__name", "comment", "policy__title", "created_at", "status", "handled_at", "department",
            "enterprise__region_id", "enterprise__region__name",
        )  # fmt: skip
        departments_by_id, url = departments(), url_maker("admin:portal_policyrating_change")
        fallback = PolicyRating.Rating(rating).label
        for pk, firm, comment, title, created_at, status, handled_at, department_id, region_id, region in rows:
            created_on = timezone.localdate(created_at)
            yield QueueItem(
                kind=kind, kind_label=label, object_id=pk, title=f"{firm}：{comment[:40] or fallback}（{title[:30]}）",
                created_on=created_on, deadline=deadline_for(kind, created_on),
                closed_on=local_day(handled_at) if status == PolicyRating.Status.REPLIED else None,
                department_id=department_id, department=departments_by_id.get(department_id, ""),
                region_id=region_id, region=region or "", url=url(pk),
            )  # fmt: skip

    return items


def _rating_state() -> str:
    return change_state(PolicyRating, "handled_at")


# --- 纠错 --------------------------------------------------------------------------------------------------------


def _correction_items(*, scope: Scope, closed: bool | None = False, since: datetime.date | None = None, today=None):
    if scope.department_id is not None and scope.region_id is None:
        return  # a correction is a firm's district's to review, not a city department's
    rows = TagCorrection.objects.filter(scope.enterprise_q("enterprise__"))
    if closed is not None:
        pending = Q(status=TagCorrection.Status.PENDING)
        rows = rows.filter(~pending if closed else pending)
    if since:
        rows = rows.filter(created_at__gte=start_of(since))
    actions, url = dict(TagCorrection.Action.choices), url_maker("admin:portal_tagcorrection_change")
    for pk, firm, action, tag, created_at, status, reviewed_at, region_id, region in rows.values_list(
        "pk", "enterprise__name", "action", "tag__name", "created_at", "status", "reviewed_at",
        "enterprise__region_id", "enterprise__region__name",
    ):  # fmt: skip
        created_on = timezone.localdate(created_at)
        yield QueueItem(
            kind="correction", kind_label="标签纠错", object_id=pk, title=f"{firm}：{actions[action]}“{tag}”",
            created_on=created_on, deadline=deadline_for("correction", created_on),
            closed_on=local_day(reviewed_at) if status != TagCorrection.Status.PENDING else None,
            department_id=None, department="", region_id=region_id, region=region or "", url=url(pk),
        )  # fmt: skip


def _correction_state() -> str:
    return change_state(TagCorrection, "reviewed_at")


def start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


QUEUE_KINDS: list[QueueKind] = [
    QueueKind(
        "rating_bad", "差评回复", _rating_items("rating_bad", PolicyRating.Rating.BAD, "差评回复"), _rating_state
    ),
    QueueKind("rating", "好评回复", _rating_items("rating", PolicyRating.Rating.GOOD, "好评回复"), _rating_state),
    QueueKind("correction", "标签纠错", _correction_items, _correction_state),
]


def register_queue(kind: QueueKind) -> None:
    """Add a kind of queue (its deadline comes from QUEUE_DEADLINES[kind.key])."""
    if all(k.key != kind.key for k in QUEUE_KINDS):
        QUEUE_KINDS.append(kind)


def queue_items(
    *, scope: Scope, closed: bool | None = False, since: datetime.date | None = None, today: datetime.date | None = None
) -> list[QueueItem]:
    """Every kind's items within ``scope`` (open ones by default), for the lights of ``today``."""
    today = today or timezone.localdate()
    return [item for kind in QUEUE_KINDS for item in kind.items(scope=scope, closed=closed, since=since, today=today)]


def queues_state() -> str:
    """Changes whenever any queue's items do: part of the cached supervision answers' key."""
    return "|".join(f"{kind.key}={kind.state()}" for kind in QUEUE_KINDS)
