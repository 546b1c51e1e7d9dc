"""How long an item in a staff queue (好差评, 纠错) has waited, in working days on the Chinese calendar, and
its supervision light (绿/黄/红) against the deadline its kind has in ``settings.QUEUE_DEADLINES``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.workdays import LIGHT_LABELS, Light, add_working_days, light_for, working_days_between

RATING_BAD = "rating_bad"  # a 差评: verified and answered first
RATING = "rating"
CORRECTION = "correction"


@dataclass(frozen=True)
class Wait:
    working_days: int
    deadline: datetime.date
    light: Light

    @property
    def label(self) -> str:
        return LIGHT_LABELS[self.light]


def queue_wait(*, kind: str, received_at: datetime.datetime, today: datetime.date | None = None) -> Wait:
    """Working days since ``received_at`` (the day itself does not count) and the light for ``kind``."""
    received_on = timezone.localdate(received_at)
    today = today or timezone.localdate()
    deadline = add_working_days(received_on, settings.QUEUE_DEADLINES[kind])
    return Wait(working_days_between(received_on, today), deadline, light_for(deadline, today))
