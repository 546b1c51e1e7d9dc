"""Working-day deadlines across a holiday and a 调休 make-up weekend, and the lights they give."""

import datetime

from core.workdays import Light, add_working_days, calendar_known, is_working_day, light_for, working_days_between

D = datetime.date


def test_the_national_day_week_is_skipped_and_make_up_saturday_counts():
    # 2026: 10月1日–7日 holidays, Saturday 10月10日 a make-up working day (State Council notice for 2026).
    assert not is_working_day(D(2026, 10, 1)) and not is_working_day(D(2026, 10, 7))
    assert is_working_day(D(2026, 10, 10)) and calendar_known(D(2026, 10, 10))
    # Three working days after Wednesday 9月30日: 10月8日, 9日, then make-up Saturday 10日.
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3


def test_a_year_without_a_notice_yet_counts_monday_to_friday():
    assert not calendar_known(D(2027, 3, 1))
    assert add_working_days(D(2027, 3, 5), 1) == D(2027, 3, 8)  # Friday → Monday


def test_lights_turn_yellow_near_the_deadline_and_red_after_it_across_the_holiday():
    deadline = add_working_days(D(2026, 9, 30), 3)  # 10月10日
    assert light_for(deadline, D(2026, 9, 30)) is Light.GREEN  # three working days to go
    assert light_for(deadline, D(2026, 10, 7)) is Light.GREEN  # the holiday week used up no working day
    assert light_for(deadline, D(2026, 10, 9)) is Light.YELLOW
    assert light_for(deadline, D(2026, 10, 10)) is Light.YELLOW
    assert light_for(deadline, D(2026, 10, 11)) is Light.RED
