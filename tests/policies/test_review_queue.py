"""The reviewer's queue and the editor's sent-back drafts in the policy list, deadlines already passed,
and history pages that read in Chinese."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from policies import services
from policies.models import Policy
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/policies/policy/"


def rows(page: str) -> list[str]:
    return re.findall(r"<tr>.*?</tr>", page.split('id="result_list"')[1], re.S)[1:]


def row_of(page: str, title: str) -> str:
    [row] = [r for r in rows(page) if title in r]
    return row


def test_a_reviewer_lands_on_the_pending_queue_and_an_editor_on_every_policy(client, reviewer, editor):
    PolicyFactory(status=Policy.Status.PENDING, title="待审核的人才政策")
    PolicyFactory(status=Policy.Status.PUBLISHED, title="已发布的技改政策")
    client.force_login(reviewer)
    page = client.get(LIST).content.decode()
    assert "待我审核（1）" in page
    listed = "".join(rows(page))
    assert "待审核的人才政策" in listed and "已发布的技改政策" not in listed
    everything = "".join(rows(client.get(LIST, {"status__exact": "all"}).content.decode()))
    assert "待审核的人才政策" in everything and "已发布的技改政策" in everything

    client.force_login(editor)
    page = client.get(LIST).content.decode()
    listed = "".join(rows(page))
    assert "待审核的人才政策" in listed and "已发布的技改政策" in listed
    assert "待我审核" not in page  # not the editor's queue


def test_a_sent_back_draft_shows_退回_and_its_reason_in_the_list(client, editor, reviewer):
    policy = PolicyFactory(title="被退回的数字化政策")
    PolicyFactory(title="普通草稿")
    services.policy_submit(policy=policy, user=editor)
    services.policy_reject(policy=policy, user=reviewer, reason="请补充申报条件中的营收门槛")
    client.force_login(editor)
    page = client.get(LIST).content.decode()
    row = row_of(page, "被退回的数字化政策")
    assert "退回修改" in row and "请补充申报条件中的营收门槛" in row
    assert "退回" not in row_of(page, "普通草稿")
    assert "退回待修改（1）" in page
    only_sent_back = client.get(LIST, {"status__exact": "sent_back"}).content.decode()
    assert "被退回的数字化政策" in only_sent_back and "普通草稿" not in only_sent_back
    change = client.get(reverse("admin:policies_policy_change", args=[policy.pk])).content.decode()
    assert "已退回修改。退回原因：请补充申报条件中的营收门槛" in change


def test_a_draft_whose_deadline_passed_is_flagged_in_the_list_and_on_its_page(client, editor):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    month_ago = yesterday - datetime.timedelta(days=30)
    late = PolicyFactory(title="截止已过的草稿", apply_start=month_ago, apply_end=yesterday)
    PolicyFactory(title="截止未到的草稿")
    PolicyFactory(
        title="截止已过的已发布政策", status=Policy.Status.PUBLISHED, apply_start=None, apply_end=yesterday
    )  # a published policy whose window closed is normal, not a mistake
    client.force_login(editor)
    page = client.get(LIST).content.decode()
    assert "已过截止" in row_of(page, "截止已过的草稿")
    assert "已过截止" not in row_of(page, "截止未到的草稿")
    assert "已过截止" not in row_of(page, "截止已过的已发布政策")
    assert "申报截止已过但未发布（1）" in page
    change = client.get(reverse("admin:policies_policy_change", args=[late.pk])).content.decode()
    assert f"申报截止日期 {yesterday:%Y-%m-%d} 已过" in change


def test_a_long_send_back_reason_is_kept_whole(editor, reviewer):
    """The history's reason column holds 100 characters; a longer reason once failed the send-back."""
    policy = PolicyFactory()
    services.policy_submit(policy=policy, user=editor)
    reason = "申报条件与扶持标准需要逐条核对，" * 10
    services.policy_reject(policy=policy, user=reviewer, reason=reason)
    policy.refresh_from_db()
    assert policy.status == Policy.Status.DRAFT and policy.review_note == reason.strip()
    assert policy.history.latest().history_change_reason.startswith("退回修改：申报条件")


def test_the_history_page_reads_in_chinese_with_statuses_in_words(client, editor, reviewer):
    policy = PolicyFactory()
    services.policy_submit(policy=policy, user=editor)
    services.policy_reject(policy=policy, user=reviewer, reason="补充联系电话")
    services.policy_submit(policy=policy, user=editor)
    services.policy_approve(policy=policy, user=reviewer)
    client.force_login(reviewer)
    page = client.get(reverse("admin:policies_policy_history", args=[policy.pk])).content.decode()
    table = page.split('id="change-history"')[1].split("</table>")[0]
    headers = re.findall(r"<th scope=\"col\">(.*?)</th>", table)
    assert headers == ["版本", "状态", "操作", "时间", "操作人", "说明", "变更内容"]
    actions = re.findall(r"<td class=\"history-action\"[^>]*>(.*?)</td>", table)
    assert actions == ["审核通过并发布", "提交审核", "退回修改", "提交审核", "新建"]
    assert "状态：</strong>待审核&nbsp;&rarr;&nbsp;草稿" in table
    assert "状态：</strong>待审核&nbsp;&rarr;&nbsp;已发布" in table
    for raw in ("pending", "draft", "published", "Changes", "None"):
        assert raw not in table


def test_a_history_version_cannot_be_restored_around_the_workflow(client, editor):
    """Restoring the draft version of a submitted policy would take it back from the reviewer."""
    policy = PolicyFactory(title="已提交的政策")
    draft_version = policy.history.latest()
    services.policy_submit(policy=policy, user=editor)
    client.force_login(editor)
    url = reverse("admin:policies_policy_simple_history", args=[policy.pk, draft_version.pk])
    assert client.get(url).status_code == 200  # viewing an old version is fine
    assert "还原" not in client.get(url).content.decode()
    response = client.post(url, {"title": "改回草稿", "level": "city", "summary": "x", "delivery": "regular"})
    assert response.status_code == 403
    policy.refresh_from_db()
    assert (policy.status, policy.title) == (Policy.Status.PENDING, "已提交的政策")
