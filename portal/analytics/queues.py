"""Staff queues under supervision: what each holds, its deadline in working days and who owns each item.

Each kind lists its items (``QueueItem``: when it came in, its deadline, when it was closed, the owning
department and the firm's district) within a staff scope. Deadlines count working days on the Chinese
calendar (``core.workdays``: holidays and 调休 make-up days), per kind from ``settings.QUEUE_DEADLINES``,
the same setting the queue's admin lists read. Lights: red once the deadline has passed, yellow on its
last working day(s), green otherwise.

Kinds today: 差评 and 好评 to reply to (好差评), 纠错 to review. Other apps add theirs (兑现: applications,
objections) with ``register_queue`` from their ``AppConfig.ready``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from core.workdays import LIGHT_LABELS, Light, add_working_days, light_for
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

    def light(self, today: datetime.date) -> Light | None:
        """The item's light while it is open; None once closed."""
        if self.closed_on is not None:
            return None
        return light_for(self.deadline, today, warn_working_days=WARN_WORKING_DAYS)

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
    # items(scope=…, open_only=…, since=…): the kind's items this scope sees; ``since`` bounds created_on.
    items: Callable[..., Iterable[QueueItem]]


@lru_cache(maxsize=4096)
def _deadline(created_on: datetime.date, days: int) -> datetime.date:
    return add_working_days(created_on, days)


def deadline_for(kind: str, created_on: datetime.date) -> datetime.date:
    """The deadline of an item of ``kind`` that came in on ``created_on`` (QUEUE_DEADLINES working days)."""
    return _deadline(created_on, settings.QUEUE_DEADLINES[kind])


def _local_day(moment: datetime.datetime | None) -> datetime.date | None:
    return None if moment is None else timezone.localdate(moment)


# --- 好差评 ---------------------------------------------------------------------------------------------------


def _rating_items(kind: str, rating: str, label: str):
    def items(*, scope: Scope, open_only: bool = True, since: datetime.date | None = None) -> Iterable[QueueItem]:
        rows = PolicyRating.objects.filter(
            scope.enterprise_q("enterprise__"), scope.policy_q("policy__"), rating=rating
        )
        if open_only:
            rows = rows.exclude(status=PolicyRating.Status.REPLIED)
        if since:
            rows = rows.filter(created_at__gte=_start_of(since))
        rows = rows.select_related("policy", "enterprise__region").prefetch_related("policy__departments")
        for r in rows.order_by("created_at").iterator(chunk_size=2000):
            departments = sorted(r.policy.departments.all(), key=lambda d: d.pk)
            department = departments[0] if departments else None
            if scope.department_id is not None:
                department = next((d for d in departments if d.pk == scope.department_id), department)
            created_on = timezone.localdate(r.created_at)
            yield QueueItem(
                kind=kind, kind_label=label, object_id=r.pk,
                title=f"{r.enterprise.name}：{r.comment[:40] or r.get_rating_display()}（{r.policy.title[:30]}）",
                created_on=created_on, deadline=deadline_for(kind, created_on),
                closed_on=_local_day(r.handled_at) if r.status == PolicyRating.Status.REPLIED else None,
                department_id=department.pk if department else None, department=department.name if department else "",
                region_id=r.enterprise.region_id, region=r.enterprise.region.name if r.enterprise.region else "",
                url=reverse("admin:portal_policyrating_change", args=[r.pk]),
            )  # fmt: skip

    return items


# --- 纠错 --------------------------------------------------------------------------------------------------------


def _correction_items(*, scope: Scope, open_only: bool = True, since: datetime.date | None = None):
    if scope.department_id is not None and scope.region_id is None:
        return  # a correction is a firm's district's to review, not a city department's
    rows = TagCorrection.objects.filter(scope.enterprise_q("enterprise__"))
    if open_only:
        rows = rows.filter(status=TagCorrection.Status.PENDING)
    if since:
        rows = rows.filter(created_at__gte=_start_of(since))
    for c in rows.select_related("enterprise__region", "tag").order_by("created_at").iterator(chunk_size=2000):
        created_on = timezone.localdate(c.created_at)
        yield QueueItem(
            kind="correction", kind_label="标签纠错", object_id=c.pk,
            title=f"{c.enterprise.name}：{c.get_action_display()}“{c.tag.name}”",
            created_on=created_on, deadline=deadline_for("correction", created_on),
            closed_on=_local_day(c.reviewed_at) if c.status != TagCorrection.Status.PENDING else None,
            department_id=None, department="",
            region_id=c.enterprise.region_id, region=c.enterprise.region.name if c.enterprise.region else "",
            url=reverse("admin:portal_tagcorrection_change", args=[c.pk]),
        )  # fmt: skip


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


QUEUE_KINDS: list[QueueKind] = [
    QueueKind("rating_bad", "差评回复", _rating_items("rating_bad", PolicyRating.Rating.BAD, "差评回复")),
    QueueKind("rating", "好评回复", _rating_items("rating", PolicyRating.Rating.GOOD, "好评回复")),
    QueueKind("correction", "标签纠错", _correction_items),
]


def register_queue(kind: QueueKind) -> None:
    """Add a kind of queue (its deadline comes from QUEUE_DEADLINES[kind.key])."""
    if all(k.key != kind.key for k in QUEUE_KINDS):
        QUEUE_KINDS.append(kind)


def queue_items(*, scope: Scope, open_only: bool = True, since: datetime.date | None = None) -> list[QueueItem]:
    """Every kind's items within ``scope``."""
    return [item for kind in QUEUE_KINDS for item in kind.items(scope=scope, open_only=open_only, since=since)]
