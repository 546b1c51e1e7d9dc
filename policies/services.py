"""Writes for policies: the review workflow (draft → pending → published → expired/withdrawn).

Each transition is one atomic service that locks the row, checks the actor's permission on the
server side, moves the status forward and leaves a history record saying who, when and why.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from policies.models import Policy

Status = Policy.Status


def _locked(policy: Policy) -> Policy:
    return Policy.objects.select_for_update().get(pk=policy.pk)


def _require(user, perm: str, message: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(message)


def _require_status(policy: Policy, allowed: set[str], action: str) -> None:
    if policy.status not in allowed:
        raise ValidationError(f"政策当前状态为“{policy.get_status_display()}”，不能{action}。")


def _save(policy: Policy, *, user, reason: str) -> Policy:
    policy._history_user = user
    # The history's reason column is short; a long reason is kept whole in review_note, which history records.
    limit = Policy.history.model._meta.get_field("history_change_reason").max_length
    policy._change_reason = reason if len(reason) <= limit else reason[: limit - 1] + "…"
    policy.save()
    return policy


def policy_check_publishable(*, policy: Policy) -> list[str]:
    """What a policy still lacks before it can go to review, in words an editor understands."""
    problems = []
    if not policy.summary.strip():
        problems.append("请填写政策摘要。")
    if not policy.departments.exists():
        problems.append("请至少选择一个发文部门。")
    if not policy.labels.exists():
        problems.append("请至少选择一个政策标签。")
    if policy.level == Policy.Level.DISTRICT and policy.region_id is None:
        problems.append("区级政策请选择适用区域。")
    if policy.valid_until and policy.valid_until < timezone.localdate():
        problems.append("有效期已过，请核对有效期。")
    return problems


@transaction.atomic
def policy_submit(*, policy: Policy, user) -> Policy:
    _require(user, "policies.submit_policy", "您没有提交政策审核的权限。")
    policy = _locked(policy)
    _require_status(policy, {Status.DRAFT}, "提交审核")
    problems = policy_check_publishable(policy=policy)
    if problems:
        raise ValidationError(problems)
    policy.status = Status.PENDING
    return _save(policy, user=user, reason="提交审核")


@transaction.atomic
def policy_approve(*, policy: Policy, user, note: str = "") -> Policy:
    _require(user, "policies.review_policy", "您没有审核发布政策的权限。")
    policy = _locked(policy)
    _require_status(policy, {Status.PENDING}, "审核发布")
    problems = policy_check_publishable(policy=policy)
    if problems:
        raise ValidationError(problems)
    policy.status = Status.PUBLISHED
    policy.published_at = timezone.now()
    policy.review_note = note
    return _save(policy, user=user, reason=f"审核通过并发布{('：' + note) if note else ''}")


@transaction.atomic
def policy_reject(*, policy: Policy, user, reason: str) -> Policy:
    _require(user, "policies.review_policy", "您没有审核政策的权限。")
    if not reason.strip():
        raise ValidationError("退回修改时请填写退回原因。")
    policy = _locked(policy)
    _require_status(policy, {Status.PENDING}, "退回修改")
    policy.status = Status.DRAFT
    policy.review_note = reason.strip()
    return _save(policy, user=user, reason=f"退回修改：{reason.strip()}")


@transaction.atomic
def policy_withdraw(*, policy: Policy, user, reason: str) -> Policy:
    _require(user, "policies.withdraw_policy", "您没有撤回政策的权限。")
    if not reason.strip():
        raise ValidationError("撤回政策时请填写撤回原因。")
    policy = _locked(policy)
    _require_status(policy, {Status.PUBLISHED}, "撤回")
    policy.status = Status.WITHDRAWN
    policy.review_note = reason.strip()
    return _save(policy, user=user, reason=f"撤回：{reason.strip()}")


@transaction.atomic
def policy_expire_due(*, today: datetime.date | None = None) -> int:
    """Move published policies whose validity ended before ``today`` to expired; returns how many."""
    day = today or timezone.localdate()
    due = list(Policy.objects.select_for_update(skip_locked=True).filter(status=Status.PUBLISHED, valid_until__lt=day))
    for policy in due:  # a few a day, saved one by one so history and change announcements see each
        policy.status = Status.EXPIRED
        _save(policy, user=None, reason=f"有效期至 {policy.valid_until:%Y-%m-%d}，系统自动过期")
    return len(due)
