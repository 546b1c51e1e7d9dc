"""Working days on the Chinese calendar: public holidays and 调休 make-up working days from the State
Council's yearly notice, through the maintained ``chinese-calendar`` package.

Deadlines such as "reply to a 差评 within 3 working days" or "pay within 60 working days" count with these
functions. For a year the package does not know yet (the notice comes out each November), Monday to Friday
count as working days until the package is updated; ``calendar_known`` says whether a day is covered.
"""

from __future__ import annotations

import datetime
from enum import StrEnum

import chinese_calendar


def calendar_known(day: datetime.date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: datetime.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the notice has not covered yet
        return day.weekday() < 5


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The day ``days`` working days after ``start`` (``start`` itself does not count)."""
    day, left = start, days
    while left > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    count, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        count += is_working_day(day)
    return count


class Light(StrEnum):
    """Supervision lights (Dalian's 红黄灯): on time, deadline near, deadline passed."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


LIGHT_LABELS = {Light.GREEN: "正常", Light.YELLOW: "临期", Light.RED: "超期"}


def light_for(deadline: datetime.date, today: datetime.date, *, warn_working_days: int = 1) -> Light:
    """Red once ``deadline`` has passed; yellow when it is at most ``warn_working_days`` working days away."""
    if today > deadline:
        return Light.RED
    if working_days_between(today, deadline) <= warn_working_days:
        return Light.YELLOW
    return Light.GREEN
