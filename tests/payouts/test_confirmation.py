"""The firm's side: the 意愿确认 SMS, its link page's tracker, confirming or declining, accounts encrypted and
masked, and nobody seeing another firm's entry."""

import pytest
from django.test import Client

from enterprises.identity import SESSION_KEY
from notifications.models import CampaignRecipient, Message
from portal.payouts import answers, notices
from portal.payouts.crypto import decrypt
from portal.payouts.models import PayoutAudit, PayoutEntry

pytestmark = pytest.mark.django_db
ACCOUNT = "6222 0212 3456 7890 123"


def entry_of(round_, firm) -> PayoutEntry:
    return PayoutEntry.objects.get(round=round_, enterprise=firm)


def test_approval_sends_the_notice_only_to_the_listed_firms_through_the_push_pipeline(approved, firms):
    round_, messages = approved
    assert {k for k, m in messages.items() if m} == {"small", "big", "mid"}  # not the firm without figures
    campaign = round_.campaigns.get()
    assert campaign.template.kind == "notice" and campaign.approved_by == round_.approved_by
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 3
    assert Message.objects.get(pk=messages["small"].pk).token  # a per-firm link to its page


def test_a_firm_confirms_from_its_sms_link_and_sees_only_the_masked_account(approved, firms):
    round_, messages = approved
    client = Client()
    page = client.get(f"/b/{messages['small'].token}").content.decode()
    assert "兑现进度" in page and "拟兑现 123,400.00 元" in page
    entry = entry_of(round_, firms["small"])
    confirm_url = f"/b/{messages['small'].token}/payouts/{entry.pk}"
    assert f'href="{confirm_url}"' in page
    form = client.get(confirm_url).content.decode()
    assert "123,400.00" in form and "（贵企业：12 人）" in form  # the amount, and why, as frozen
    answer = client.post(
        confirm_url, {"action": "confirm", "bank_name": "中国工商银行无锡新区支行", "account": ACCOUNT}, follow=True
    ).content.decode()
    assert "已确认领取" in answer and "**** **** 0123" in answer
    assert "6222021234567890123" not in answer
    entry.refresh_from_db()
    assert entry.status == PayoutEntry.Status.CONFIRMED and entry.account_last4 == "0123"
    assert "6222" not in entry.account_encrypted and decrypt(entry.account_encrypted) == "6222021234567890123"
    assert PayoutAudit.objects.filter(entry=entry, action="企业确认", reason__contains="尾号 0123").exists()


def test_a_firm_declines_on_the_link_page_and_is_taken_off_the_total(approved, firms):
    round_, messages = approved
    client = Client()
    entry = entry_of(round_, firms["big"])
    client.post(f"/b/{messages['big'].token}/payouts/{entry.pk}", {"action": "decline", "reason": "已享受同类政策"})
    entry.refresh_from_db()
    round_.refresh_from_db()
    assert entry.status == PayoutEntry.Status.DECLINED and entry.reason == "已享受同类政策"
    assert round_.total_amount == 523400  # 123,400 + 400,000
    page = client.get(f"/b/{messages['big'].token}").content.decode()
    assert "未列入兑现：已享受同类政策" in page


def test_a_firm_never_sees_another_firms_entry_or_account(approved, firms):
    round_, messages = approved
    answers.entry_confirm(entry=entry_of(round_, firms["small"]), bank_name="工行", account=ACCOUNT)
    other = entry_of(round_, firms["small"])
    client = Client()
    assert client.get(f"/b/{messages['big'].token}/payouts/{other.pk}").status_code == 404
    assert client.post(f"/b/{messages['big'].token}/payouts/{other.pk}", {"action": "decline"}).status_code == 404
    big_page = client.get(f"/b/{messages['big'].token}").content.decode()
    assert "0123" not in big_page and "123,400.00" not in big_page
    signed_in = Client()
    session = signed_in.session
    session[SESSION_KEY] = firms["big"].pk
    session.save()
    assert signed_in.get(f"/my/payouts/{other.pk}").status_code == 404
    other.refresh_from_db()
    assert other.status == PayoutEntry.Status.CONFIRMED


def test_my_package_shows_the_tracker_and_the_confirm_page(approved, firms):
    round_, _ = approved
    client = Client()
    session = client.session
    session[SESSION_KEY] = firms["mid"].pk
    session.save()
    page = client.get("/my/").content.decode()
    entry = entry_of(round_, firms["mid"])
    assert "兑现进度" in page and f'href="/my/payouts/{entry.pk}"' in page
    client.post(f"/my/payouts/{entry.pk}", {"action": "confirm", "bank_name": "农行", "account": "12345678"})
    assert "已确认，收款账户 农行 **** **** 5678" in client.get("/my/").content.decode()


def test_the_one_reminder_goes_to_firms_that_have_not_answered(approved, firms, time_machine):
    round_, _ = approved
    answers.entry_confirm(entry=entry_of(round_, firms["small"]), bank_name="工行", account=ACCOUNT)
    assert notices.rounds_remind() == 0  # the deadline is five working days away
    time_machine.move_to(round_.confirm_deadline.isoformat() + "T09:00:00+08:00")
    assert notices.rounds_remind() == 1
    assert notices.rounds_remind() == 0  # once
    reminder = round_.campaigns.order_by("-pk").first()
    assert set(CampaignRecipient.objects.filter(campaign=reminder).values_list("enterprise_id", flat=True)) == {
        firms["big"].pk,
        firms["mid"].pk,
    }
