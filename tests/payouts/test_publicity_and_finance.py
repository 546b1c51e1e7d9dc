"""公示 (names and amounts only), objections on the working-day calendar, the finance export (totals and
checksum) and the results import (idempotent)."""

import csv
import datetime
import hashlib
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from core.workdays import Light
from policies.scope import CITY
from portal.analytics.selectors.supervision import open_items
from portal.payouts import answers, finance, publicity
from portal.payouts.models import Objection, PayoutEntry, PayoutRound

pytestmark = pytest.mark.django_db
ACCOUNTS = {"small": "6222000011112222", "big": "6222000033334444", "mid": "6222000055556666"}


@pytest.fixture
def published(approved, firms, officer, time_machine):
    """Two firms confirmed, one declined, then 公示 from Monday 2026-09-21 (5 working days → 2026-09-28)."""
    round_, _ = approved
    entries = {k: PayoutEntry.objects.get(round=round_, enterprise=firms[k]) for k in ("small", "big", "mid")}
    for key in ("small", "big"):
        answers.entry_confirm(entry=entries[key], bank_name="中国银行无锡分行", account=ACCOUNTS[key])
    answers.entry_decline(entry=entries["mid"])
    time_machine.move_to("2026-09-21T10:00:00+08:00")
    round_ = publicity.round_publish(round_=round_, user=officer)
    return round_, entries


def test_the_publicity_page_shows_names_and_amounts_only(published, firms, client):
    round_, _ = published
    page = client.get(f"/gongshi/{round_.pk}/").content.decode()
    assert "无锡小微科技有限公司" in page and "123400.00" in page
    assert "无锡大成制造有限公司" in page and "500000.00" in page
    assert "无锡中坚材料有限公司" not in page  # declined
    for firm in firms.values():
        assert firm.uscc not in page and firm.contact_mobile not in page
    assert "6222" not in page and "中国银行" not in page
    assert client.get(f"/gongshi/{round_.pk - 1 if round_.pk > 1 else 999}/").status_code == 404


def objections(today):
    return [(item, light) for item, light in open_items(scope=CITY, today=today) if item.kind == "objection"]


def test_objections_get_a_working_day_deadline_and_lights(published, client, officer, time_machine):
    round_, entries = published
    client.post(
        f"/gongshi/{round_.pk}/", {"reason": "该企业已停产半年", "contact": "0510-1234567", "entry": entries["big"].pk}
    )
    objection = Objection.objects.get()
    # Monday 2026-09-21 + 5 working days: 中秋 (Fri 25th) is a holiday, so the deadline is Tuesday the 29th.
    assert objection.due_on == datetime.date(2026, 9, 29) and objection.entry == entries["big"]
    # In the supervision registry, which the dashboard's lights, the overdue API and the daily digest read.
    [(item, light)] = objections(datetime.date(2026, 9, 22))
    assert light == Light.GREEN and item.deadline == objection.due_on and "该企业已停产半年" in item.title
    assert objections(datetime.date(2026, 9, 29))[0][1] == Light.YELLOW
    assert objections(datetime.date(2026, 9, 30))[0][1] == Light.RED
    time_machine.move_to("2026-10-09T10:00:00+08:00")  # 公示 over (ended 2026-09-28)
    with pytest.raises(ValidationError, match="未处理的公示异议"):
        publicity.round_to_finance(round_=round_, user=officer)
    publicity.objection_handle(objection=objection, user=officer, upheld=True, answer="经核实已停产")
    assert objections(datetime.date(2026, 10, 9)) == []  # answered: off the queue
    entries["big"].refresh_from_db()
    assert entries["big"].status == PayoutEntry.Status.EXCLUDED and "公示异议成立" in entries["big"].reason
    assert publicity.round_to_finance(round_=round_, user=officer).status == PayoutRound.Status.FINANCE


def test_the_export_totals_equal_the_sum_of_rows_and_the_checksum_matches(published, officer, time_machine, tmp_path):
    round_, _ = published
    time_machine.move_to("2026-10-09T10:00:00+08:00")
    round_ = publicity.round_to_finance(round_=round_, user=officer)
    rows = list(csv.reader(io.StringIO("".join(finance.csv_lines(round_=round_)).lstrip("\ufeff"))))
    header, data, total, check = rows[0], rows[1:-2], rows[-2], rows[-1]
    assert header[4] == "收款账号" and [r[4] for r in data] == [ACCOUNTS["small"], ACCOUNTS["big"]]
    assert Decimal(total[5]) == sum(Decimal(r[5]) for r in data) == Decimal("623400.00")
    assert total[1] == f"{len(data)} 户"
    expected = hashlib.sha256("".join(f"{r[2]}|{r[4]}|{r[5]}\n" for r in data).encode()).hexdigest()
    assert check[2] == expected
    path = tmp_path / "list.xlsx"
    finance.write_xlsx(round_=round_, target=str(path))
    sheet = load_workbook(path, read_only=True).active
    values = list(sheet.values)
    assert values[0][0].startswith("拨付名单 · ") and values[1][4] == "收款账号"
    body = values[2:-2]
    assert values[-2][5] == sum(r[5] for r in body) == 623400 and values[-1][2] == expected
    assert [r[4] for r in body] == [ACCOUNTS["small"], ACCOUNTS["big"]]  # text, every digit kept


def test_a_formula_typed_by_a_firm_is_exported_as_text(published, officer, time_machine):
    round_, entries = published
    PayoutEntry.objects.filter(pk=entries["small"].pk).update(bank_name='=HYPERLINK("http://x")')
    time_machine.move_to("2026-10-09T10:00:00+08:00")
    round_ = publicity.round_to_finance(round_=round_, user=officer)
    assert "'=HYPERLINK" in "".join(finance.csv_lines(round_=round_))


def test_results_import_marks_paid_and_failed_and_a_repeat_changes_nothing(
    published, officer, firms, time_machine, client
):
    round_, entries = published
    time_machine.move_to("2026-10-09T10:00:00+08:00")
    round_ = publicity.round_to_finance(round_=round_, user=officer)
    rows = [
        (
            2,
            {
                "uscc": firms["small"].uscc,
                "result": "已拨付",
                "amount": "123400",
                "date": "2026-10-12",
                "ref": "BOC-001",
            },
        ),
        (3, {"uscc": firms["big"].uscc, "result": "失败", "date": "2026-10-12", "reason": "账号户名不符"}),
        (4, {"uscc": firms["mid"].uscc, "result": "已拨付", "amount": "1", "date": "2026-10-12"}),
    ]
    first = finance.round_results_import(round_=round_, user=officer, rows=rows)
    assert (first.accepted, first.unchanged, first.refused) == (2, 0, 1)
    assert first.errors[0]["reason"].endswith("当前为“已放弃”，不在拨付名单中")
    again = finance.round_results_import(round_=round_, user=officer, rows=rows)
    assert (again.accepted, again.unchanged, again.refused) == (0, 2, 1)
    small, big = (PayoutEntry.objects.get(pk=entries[k].pk) for k in ("small", "big"))
    assert (small.status, small.paid_amount, small.paid_on) == (
        "paid",
        Decimal("123400.00"),
        datetime.date(2026, 10, 12),
    )
    assert big.status == "failed" and big.reason == "拨付失败：账号户名不符"
    # The failed firm corrects its account; the next file pays it, and the round closes.
    answers.entry_confirm(entry=big, bank_name="中国银行无锡分行", account="6222000099990000")
    paid = [(2, {"uscc": firms["big"].uscc, "result": "已拨付", "amount": "500000", "date": "2026-10-15"})]
    assert finance.round_results_import(round_=round_, user=officer, rows=paid).accepted == 1
    round_.refresh_from_db()
    assert round_.status == PayoutRound.Status.CLOSED


def test_one_address_raises_a_few_objections_an_hour_not_a_flood(published, client):
    round_, _ = published
    for n in range(publicity.OBJECTIONS_PER_HOUR):
        answer = client.post(f"/gongshi/{round_.pk}/", {"reason": f"第{n}条：名单有误，请核实", "contact": "0510-1"})
        assert answer.status_code == 302
    page = client.post(
        f"/gongshi/{round_.pk}/", {"reason": "再来一条：名单有误", "contact": "0510-1"}, follow=True
    ).content.decode()
    assert "提交过于频繁，请 1 小时后再试。" in page
    assert Objection.objects.count() == publicity.OBJECTIONS_PER_HOUR
    assert "工作人员在 5 个工作日内核实答复" in page  # QUEUE_DEADLINES["objection"], said where it is asked
