"""The review workflow and its permissions, through the services and through the admin as staff use it."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from policies import services
from policies.models import Policy
from policies.tasks import expire_policies
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


def test_editor_submits_and_reviewer_publishes(editor, reviewer):
    policy = PolicyFactory()
    services.policy_submit(policy=policy, user=editor)
    services.policy_approve(policy=policy, user=reviewer, note="材料齐全")
    policy.refresh_from_db()
    assert policy.status == Policy.Status.PUBLISHED
    assert policy.published_at is not None
    assert policy.review_note == "材料齐全"


def test_editor_cannot_publish(editor):
    policy = PolicyFactory(status=Policy.Status.PENDING)
    with pytest.raises(PermissionDenied, match="没有审核发布政策的权限"):
        services.policy_approve(policy=policy, user=editor)
    policy.refresh_from_db()
    assert policy.status == Policy.Status.PENDING


def test_reviewer_sends_back_with_reason_and_editor_sees_it(editor, reviewer):
    policy = PolicyFactory(status=Policy.Status.PENDING)
    with pytest.raises(ValidationError, match="请填写退回原因"):
        services.policy_reject(policy=policy, user=reviewer, reason="  ")
    services.policy_reject(policy=policy, user=reviewer, reason="申报条件表述不清")
    policy.refresh_from_db()
    assert policy.status == Policy.Status.DRAFT
    assert policy.review_note == "申报条件表述不清"


def test_incomplete_policy_cannot_be_submitted(editor):
    policy = PolicyFactory(labels=[], level=Policy.Level.DISTRICT, region=None)
    with pytest.raises(ValidationError) as err:
        services.policy_submit(policy=policy, user=editor)
    assert "请至少选择一个政策标签。" in err.value.messages
    assert "区级政策请选择适用区域。" in err.value.messages


def test_transitions_only_move_forward(reviewer):
    policy = PolicyFactory(status=Policy.Status.DRAFT)
    with pytest.raises(ValidationError, match="当前状态为“草稿”，不能审核发布"):
        services.policy_approve(policy=policy, user=reviewer)


def test_history_records_who_did_what_and_why(editor, reviewer):
    policy = PolicyFactory()
    services.policy_submit(policy=policy, user=editor)
    services.policy_reject(policy=policy, user=reviewer, reason="补充联系电话")
    records = list(policy.history.order_by("history_date"))
    assert [(r.status, r.history_user, r.history_change_reason) for r in records[-2:]] == [
        ("pending", editor, "提交审核"),
        ("draft", reviewer, "退回修改：补充联系电话"),
    ]


def test_daily_task_expires_policies_past_their_validity(reviewer):
    today = timezone.localdate()
    stale = PolicyFactory(status=Policy.Status.PUBLISHED, valid_until=today - datetime.timedelta(days=1))
    current = PolicyFactory(status=Policy.Status.PUBLISHED, valid_until=today)
    assert expire_policies.apply().get() == 1
    stale.refresh_from_db()
    current.refresh_from_db()
    assert (stale.status, current.status) == (Policy.Status.EXPIRED, Policy.Status.PUBLISHED)
    assert stale.history.latest().history_change_reason.endswith("系统自动过期")


# --- the same rules through the admin, as staff click them ---------------------------------------


def test_admin_editor_sees_submit_but_no_publish_button(client, editor):
    policy = PolicyFactory()
    client.force_login(editor)
    page = client.get(reverse("admin:policies_policy_change", args=[policy.pk])).content.decode()
    assert "提交审核" in page
    assert "审核通过并发布" not in page


def test_admin_editor_publish_attempt_is_refused_server_side(client, editor):
    policy = PolicyFactory(status=Policy.Status.PENDING)
    client.force_login(editor)
    response = client.post(reverse("admin:policies_policy_approve", args=[policy.pk]), follow=True)
    assert "您没有审核发布政策的权限" in response.content.decode()
    policy.refresh_from_db()
    assert policy.status == Policy.Status.PENDING


def test_admin_editor_cannot_edit_a_submitted_policy(client, editor):
    policy = PolicyFactory(status=Policy.Status.PENDING, title="原标题")
    client.force_login(editor)
    url = reverse("admin:policies_policy_change", args=[policy.pk])
    page = client.get(url).content.decode()
    assert 'name="title"' not in page  # shown read-only
    client.post(url, {"title": "被改掉的标题"})
    policy.refresh_from_db()
    assert policy.title == "原标题"


def test_admin_reviewer_publishes_from_the_change_page(client, reviewer):
    policy = PolicyFactory(status=Policy.Status.PENDING)
    client.force_login(reviewer)
    response = client.post(reverse("admin:policies_policy_approve", args=[policy.pk]), {"note": "同意"}, follow=True)
    assert "已审核通过并发布" in response.content.decode()
    policy.refresh_from_db()
    assert policy.status == Policy.Status.PUBLISHED


def test_admin_workflow_posts_need_csrf(editor):
    from django.test import Client

    policy = PolicyFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post(reverse("admin:policies_policy_submit", args=[policy.pk]))
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.status == Policy.Status.DRAFT


def test_admin_preview_shows_the_enterprise_view(client, editor):
    policy = PolicyFactory(materials=["营业执照复印件"], steps=["在线填报", "区级初审"])
    client.force_login(editor)
    page = client.get(reverse("admin:policies_policy_preview", args=[policy.pk])).content.decode()
    assert "预览" in page and policy.title in page
    assert "营业执照复印件" in page and "区级初审" in page


def test_admin_editor_creates_a_draft_with_lines_for_materials(client, editor):
    from policies.models import Department, PolicyLabel

    client.force_login(editor)
    response = client.post(
        reverse("admin:policies_policy_add"),
        {
            "title": "新吴区数字化转型奖励办法",
            "level": "district",
            "region": "",
            "departments": [Department.objects.get(code="XW-GOV").pk],
            "labels": [PolicyLabel.objects.get(code="SZZX01").pk],
            "summary": "对智改数转项目给予奖励。",
            "delivery": "regular",
            "materials": "申报书\n\n营业执照复印件\n",
            "steps": "在线填报\n区级初审",
            "attachments-TOTAL_FORMS": "0",
            "attachments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # re-shown with an error: a district policy needs its region
    assert "区级政策请选择适用区域" in response.content.decode()
    assert not Policy.objects.filter(title="新吴区数字化转型奖励办法").exists()
