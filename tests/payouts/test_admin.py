"""The round's admin page drives every step with one service each; refusals come back as messages."""

import pytest
from django.test import Client

from portal.payouts.models import PayoutAudit, PayoutEntry, PayoutRound

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_open_review_and_approve_a_round_in_the_admin(free_policy, firms, officer, approver):
    staff = signed_in(officer)
    answer = staff.post(
        "/admin/payouts/payoutround/add/",
        {
            "policy": free_policy.pk,
            "name": "2026 年第一批",
            "frozen_on": "2026-11-30",
            "confirm_days": 5,
            "publicity_days": 5,
        },
    )
    round_ = PayoutRound.objects.get()
    assert answer.status_code == 302 and round_.name == "2026 年第一批" and round_.listed_count == 3
    page = staff.get(f"/admin/payouts/payoutround/{round_.pk}/change/").content.decode()
    assert "拟兑现 <strong>3</strong> 户" in page and "缺少营业收入数据，无法核定金额" in page
    staff.post(f"/admin/payouts/payoutround/{round_.pk}/exclude/", {"uscc": firms["big"].uscc, "reason": "重复享受"})
    assert PayoutEntry.objects.get(round=round_, enterprise=firms["big"]).status == "excluded"
    unknown = {"uscc": "91320214MA1XYZ0000", "reason": "重复享受"}
    missing = staff.post(f"/admin/payouts/payoutround/{round_.pk}/exclude/", unknown, follow=True).content.decode()
    assert "名单中没有统一社会信用代码为 91320214MA1XYZ0000 的企业。" in missing
    assert staff.get(f"/admin/payouts/payoutround/{round_.pk}/submit/").status_code == 405  # buttons post
    staff.post(f"/admin/payouts/payoutround/{round_.pk}/submit/")
    refused = staff.post(f"/admin/payouts/payoutround/{round_.pk}/approve/", follow=True).content.decode()
    assert "您没有复核兑现名单的权限" in refused
    signed_in(approver).post(f"/admin/payouts/payoutround/{round_.pk}/approve/")
    round_.refresh_from_db()
    assert round_.status == PayoutRound.Status.CONFIRMING
    assert list(PayoutAudit.objects.filter(round=round_).order_by("at", "pk").values_list("action", flat=True)) == [
        "生成名单",
        "排除企业",
        "提交复核",
        "复核通过",
        "发送意愿确认短信",
    ]
