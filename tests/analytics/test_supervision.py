"""Supervision lights on the staff queues: deadlines in working days across a holiday and a 调休 weekend, the
overdue API within the staff scope, the on-time ranking and the daily digest."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.utils import timezone

from core.models import Region
from enterprises.models import PortraitTag
from notifications.gateways import get_gateway
from policies.models import Department, StaffScope
from policies.scope import CITY
from portal.analytics.models import Digest
from portal.analytics.selectors.supervision import open_items, owner_ranking
from portal.analytics.services.digest import digest_send
from portal.models import PolicyRating, TagCorrection
from portal.roles import SERVICE_DESK
from tests.analytics.conftest import LIANGXI, XINWU, staff_client
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def queues():
    """Before the 2025 National Day week (10月1日–8日 off, Saturday 10月11日 a make-up working day): a 差评 from
    新吴区 and a 纠错 from 梁溪区, both on Tuesday 9月30日."""
    xinwu, liangxi = Region.objects.get(code=XINWU), Region.objects.get(code=LIANGXI)
    policy = PolicyFactory(departments=[Department.objects.get(code="WX-IIT")])
    bad = PolicyRating.objects.create(
        enterprise=EnterpriseFactory(name="无锡新吴差评企业有限公司", region=xinwu),
        policy=policy, rating="bad", comment="材料清单不清楚", created_at=at(D(2025, 9, 30)),
    )  # fmt: skip
    correction = TagCorrection.objects.create(
        enterprise=EnterpriseFactory(name="无锡梁溪纠错企业有限公司", region=liangxi),
        tag=PortraitTag.objects.get(code="QUAL01"), action="add", reason="已获认定", created_at=at(D(2025, 9, 30)),
    )  # fmt: skip
    return bad, correction


def lights(day: datetime.date) -> dict[str, str]:
    return {item.kind: str(light) for item, light in open_items(scope=CITY, today=day)}


def test_a_bad_rating_turns_yellow_then_red_on_the_right_working_day_across_the_holiday(queues):
    bad, _ = queues
    [item] = [i for i, _ in open_items(scope=CITY, today=D(2025, 10, 1)) if i.kind == "rating_bad"]
    assert item.deadline == D(2025, 10, 11)  # 10月9日, 10日, then the make-up Saturday
    assert lights(D(2025, 10, 6))["rating_bad"] == "green"  # the holiday week uses up no working day
    assert lights(D(2025, 10, 9))["rating_bad"] == "green"
    assert lights(D(2025, 10, 10))["rating_bad"] == "yellow"
    assert lights(D(2025, 10, 11))["rating_bad"] == "yellow"  # the deadline itself, a Saturday at work
    assert lights(D(2025, 10, 12))["rating_bad"] == "red"
    assert lights(D(2025, 10, 13))["correction"] == "yellow"  # 5 working days: 10月14日
    bad.status, bad.handled_at = PolicyRating.Status.REPLIED, at(D(2025, 10, 10))
    bad.save()
    assert "rating_bad" not in lights(D(2025, 10, 12))  # answered: off the list


def test_the_deadlines_come_from_the_queue_deadlines_setting(queues, settings):
    settings.QUEUE_DEADLINES = {**settings.QUEUE_DEADLINES, "rating_bad": 1}
    assert lights(D(2025, 10, 10))["rating_bad"] == "red"  # one working day: 10月9日


@time_machine.travel(datetime.datetime(2025, 10, 12, 9, 0, tzinfo=datetime.UTC), tick=False)
def test_the_overdue_api_lists_items_with_lights_and_owners_within_the_scope(queues):
    bad, correction = queues
    body = staff_client().get("/api/analytics/overdue/").json()
    assert body["counts"] == {"red": 1, "yellow": 0, "green": 1}
    first = body["items"][0]
    assert (first["kind"], first["deadline"], first["light"], first["owner"]) == (
        "rating_bad", "2025-10-11", "red", "无锡市工业和信息化局",
    )  # fmt: skip
    assert body["items"][1]["owner"] == "梁溪区（区县）"
    xinwu = staff_client(region=XINWU).get("/api/analytics/overdue/").json()
    assert [i["id"] for i in xinwu["items"]] == [bad.pk]  # 梁溪区's correction is not theirs
    reds = staff_client().get("/api/analytics/overdue/?light=red").json()
    assert [i["kind"] for i in reds["items"]] == ["rating_bad"]
    assert staff_client().get("/api/analytics/overdue/?kind=nothing").status_code == 400


def test_the_ranking_counts_items_closed_by_their_deadline(queues):
    bad, correction = queues
    correction.status, correction.reviewed_at = TagCorrection.Status.APPROVED, at(D(2025, 10, 9))
    correction.save()
    ranking = {r["owner"]: r for r in owner_ranking(scope=CITY, today=D(2025, 10, 13))}
    assert ranking["梁溪区（区县）"]["rate"] == 1.0 and ranking["梁溪区（区县）"]["due"] == 1
    assert ranking["无锡市工业和信息化局"]["rate"] == 0.0 and ranking["无锡市工业和信息化局"]["red"] == 1


def test_the_daily_digest_goes_to_each_owner_once_and_by_sms_when_configured(queues, settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.VAR_DIR = tmp_path
    settings.QUEUE_DIGEST_SMS_TEMPLATE = "SMS_DIGEST"
    get_gateway.cache_clear()
    staff = UserFactory()
    StaffScope.objects.create(user=staff, department=Department.objects.get(code="WX-IIT"), mobile="13900001111")
    try:
        assert digest_send(day=D(2025, 10, 4)) == []  # a holiday: no digest
        made = digest_send(day=D(2025, 10, 13))
        assert digest_send(day=D(2025, 10, 13)) == []  # a second run the same day makes and sends nothing
    finally:
        get_gateway.cache_clear()
    assert {str(d) for d in made} == {"2025-10-13 无锡市工业和信息化局", "2025-10-13 梁溪区"}
    mine = Digest.objects.get(department__code="WX-IIT")
    assert (mine.open_items, mine.red, mine.sms_sent) == (1, 1, 1)
    assert "超期 1 件" in mine.body and "材料清单不清楚" in mine.body
    outbox = [json.loads(line) for line in (tmp_path / "sms-outbox.jsonl").read_text().splitlines()]
    assert [m["mobile"] for m in outbox] == ["13900001111"]
    assert "无锡市工业和信息化局今日督办：待办1件，其中超期1件" in outbox[0]["text"]


def test_each_owner_reads_its_own_digests_in_the_admin(queues):
    digest_send(day=D(2025, 10, 13))

    def listed(client) -> str:
        page = client.get("/admin/analytics/digest/").content.decode()
        start = page.index('id="result_list"')
        return page[start : page.index("</table>", start)]

    liangxi = listed(staff_client(region=LIANGXI, role=SERVICE_DESK))
    assert "梁溪区（区县）" in liangxi and "无锡市工业和信息化局" not in liangxi
    department = listed(staff_client(department="WX-IIT", role=SERVICE_DESK))
    assert "无锡市工业和信息化局" in department and "梁溪区（区县）" not in department
