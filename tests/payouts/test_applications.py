"""Application states from department systems: scoped, idempotent, forward only, refused lines answered."""

import pytest
from rest_framework.test import APIClient

from policies.models import Department
from portal.models import PolicyReaction
from portal.payouts import selectors
from portal.payouts.models import Application, ApplicationEvent, ApplicationReporter
from tests.factories import UserFactory
from tests.payouts.reports import line, post

pytestmark = pytest.mark.django_db


def test_states_are_recorded_and_a_repeated_batch_changes_nothing(setting):
    client, firm, ours, _ = setting
    batch = [
        line(firm, ours, "KJ-1", "已受理", at="2026-03-02"),
        line(firm, ours, "KJ-1", "审核中", at="2026-03-05T10:00:00+08:00"),
    ]
    answer = post(client, *batch)
    assert answer.status_code == 200, answer.content
    assert answer.json()["accepted"] == 2 and answer.json()["refused"] == 0
    application = Application.objects.get(external_id="KJ-1")
    assert application.status == "reviewing" and application.enterprise == firm
    again = post(client, *batch).json()
    assert (again["accepted"], again["unchanged"], again["refused"]) == (0, 2, 0)
    assert ApplicationEvent.objects.filter(application=application).count() == 2


def test_states_only_move_forward_and_each_refused_line_says_why(setting):
    client, firm, ours, _ = setting
    post(client, line(firm, ours, "KJ-2", "已公示"))
    answer = post(
        client,
        line(firm, ours, "KJ-2", "审核中"),
        "not json",
        line(firm, ours, "KJ-2", "已拨付", amount="200000"),
        line(firm, ours, "KJ-2", "未通过", reason="材料不全"),
        {"uscc": firm.uscc, "policy": ours.pk, "external_id": "KJ-3", "status": "已办结"},
    ).json()
    assert answer["accepted"] == 1 and answer["refused"] == 4
    reasons = {e["line"]: e["reason"] for e in answer["errors"]}
    assert reasons[1] == "状态不能回退：已是已公示"
    assert reasons[2].startswith("不是有效的 JSON")
    assert reasons[4] == "该申报已在本批此前的行中办结，不能再变更"
    assert reasons[5].startswith("状态（status）应为")
    application = Application.objects.get(external_id="KJ-2")
    assert application.status == "paid" and str(application.amount) == "200000.00"
    later = post(client, line(firm, ours, "KJ-2", "未通过", reason="复核不通过")).json()
    assert later["errors"][0]["reason"] == "该申报已办结（已拨付），不能再变更"


def test_a_department_may_not_report_on_another_departments_policy(setting):
    client, firm, _, theirs = setting
    answer = post(client, line(firm, theirs, "SW-1", "已受理")).json()
    assert answer["refused"] == 1 and answer["errors"][0]["reason"] == "无权上报此政策：政策不属于本账号所属部门"
    assert not Application.objects.exists()
    outsider = APIClient()
    outsider.force_authenticate(UserFactory(username="nobody"))
    assert post(outsider, line(firm, theirs, "SW-1", "已受理")).status_code == 403
    assert APIClient().post("/api/applications/", data=b"", content_type="application/x-ndjson").status_code in (
        401,
        403,
    )


def test_unknown_firms_and_policies_are_refused_by_line(setting):
    client, firm, ours, _ = setting
    answer = post(
        client,
        {"uscc": "91320214MA00000000", "policy": ours.pk, "external_id": "A", "status": "已受理"},
        {"uscc": firm.uscc, "policy": 999999, "external_id": "B", "status": "已受理"},
    ).json()
    assert [e["reason"] for e in answer["errors"]] == [
        "统一社会信用代码未在企业库登记：91320214MA00000000",
        "政策不存在：999999",
    ]


def test_a_firms_own_applied_button_is_never_counted_as_a_department_report(setting):
    client, firm, ours, _ = setting
    PolicyReaction.objects.create(enterprise=firm, policy=ours, kind=PolicyReaction.Kind.APPLIED)
    assert selectors.application_funnel_counts()["applied"] == 0
    assert selectors.application_trackers(enterprise_id=firm.pk) == []
    post(client, line(firm, ours, "KJ-9", "已受理"))
    assert selectors.application_funnel_counts()["applied"] == 1
    [tracker] = selectors.application_trackers(enterprise_id=firm.pk)
    assert tracker.status_label == "已受理" and tracker.policy_title == "研发费用补助"


def test_staff_upload_the_same_states_as_xlsx_and_see_each_refused_row(setting, client):
    import io

    from openpyxl import Workbook

    _, firm, ours, theirs = setting
    officer = UserFactory(username="officer-upload", role="兑现专员")
    ApplicationReporter.objects.create(user=officer, department=ours.departments.get())
    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "政策编号", "申报编号", "状态", "说明", "金额", "时间"])
    sheet.append([firm.uscc, ours.pk, "KJ-X1", "已受理", "", None, "2026-03-02"])
    sheet.append([firm.uscc, theirs.pk, "SW-X1", "已受理", "", None, "2026-03-02"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    data.name = "states.xlsx"
    client.force_login(officer)
    page = client.post("/admin/payouts/application/upload/", {"file": data}).content.decode()
    assert "共 2 行：更新 1，未变化 0，拒绝 1" in page
    assert "无权上报此政策：政策不属于本账号所属部门" in page
    assert Application.objects.get().external_id == "KJ-X1"


def test_applications_stuck_past_the_deadline_turn_yellow_then_red_on_working_days(setting):
    import datetime

    from core.workdays import Light
    from policies.scope import CITY, Scope
    from portal.analytics.selectors.supervision import open_items, owner_ranking
    from portal.payouts.models import PayoutStandard

    client, firm, ours, _ = setting
    PayoutStandard.objects.create(policy=ours, fixed_amount=1, payout_working_days=8)
    # Received on Thursday 2026-09-24; eight working days skip 中秋节 (Friday 25th), the weekends and the
    # National Day week: three in September, five in October.
    post(client, line(firm, ours, "KJ-L", "已受理", at="2026-09-24T09:00:00+08:00"))
    due = datetime.date(2026, 10, 13)

    def queue(today, scope=CITY):
        return [(item, light) for item, light in open_items(scope=scope, today=today) if item.kind == "application"]

    assert queue(datetime.date(2026, 9, 28)) == []  # more than five working days ahead: nobody's worry yet
    [(yellow, light)] = queue(due)
    assert light == Light.YELLOW and yellow.deadline == due and yellow.owner == "无锡市工业和信息化局"
    assert "无锡甲芯科技有限公司" in yellow.title and "已受理" in yellow.title and "KJ-L" in yellow.title
    [(red, light)] = queue(due + datetime.timedelta(days=1))
    assert light == Light.RED and red.light_label(due + datetime.timedelta(days=1)) == "超期"
    other = Department.objects.exclude(code="WX-IIT").first()
    assert queue(due, Scope(department_id=other.pk)) == []  # another department's staff do not see it

    # Left where it is, it keeps counting against the department, however long ago it came in.
    months_later = datetime.date(2027, 3, 1)
    [row] = [r for r in owner_ranking(scope=CITY, today=months_later) if r["owner"] == yellow.owner]
    assert (row["due"], row["on_time"], row["red"]) == (1, 0, 1)

    post(client, line(firm, ours, "KJ-L", "已拨付", amount=1, at="2026-10-15T10:00:00+08:00"))
    assert queue(datetime.date(2026, 10, 15)) == []  # paid: off the queue
    # The ranking: the one state it left was left late (10月15日, past 10月13日).
    [row] = [r for r in owner_ranking(scope=CITY, today=datetime.date(2026, 10, 15)) if r["owner"] == yellow.owner]
    assert (row["due"], row["on_time"], row["rate"]) == (1, 0, 0.0)
