"""Reads for policies, shared by the admin, the API and the portal pages."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q, QuerySet

from policies.models import Policy, deadline_passed_q, sent_back_q


def policy_list(*, include_unpublished: bool = False) -> QuerySet[Policy]:
    """Policies with what list pages show, in one query plus prefetches."""
    qs = Policy.objects.select_related("region").prefetch_related("departments", "labels__category")
    if not include_unpublished:
        qs = qs.filter(status=Policy.Status.PUBLISHED)
    return qs


def policy_detail(*, pk: int, include_unpublished: bool = False) -> Policy:
    return policy_list(include_unpublished=include_unpublished).prefetch_related("attachments").get(pk=pk)


def policy_review_counts(*, today: datetime.date) -> dict[str, int]:
    """What waits in the review workflow, in one query: submitted and waiting for a reviewer, sent back and
    waiting for an editor, and unpublished policies whose application deadline has already passed."""
    return Policy.objects.aggregate(
        pending=Count("pk", filter=Q(status=Policy.Status.PENDING)),
        sent_back=Count("pk", filter=sent_back_q()),
        deadline_passed=Count("pk", filter=deadline_passed_q(today)),
    )
