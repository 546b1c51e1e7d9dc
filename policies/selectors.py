"""Reads for policies, shared by the admin, the API and the portal pages."""

from __future__ import annotations

from django.db.models import QuerySet

from policies.models import Policy


def policy_list(*, include_unpublished: bool = False) -> QuerySet[Policy]:
    """Policies with what list pages show, in one query plus prefetches."""
    qs = Policy.objects.select_related("region").prefetch_related("departments", "labels__category")
    if not include_unpublished:
        qs = qs.filter(status=Policy.Status.PUBLISHED)
    return qs


def policy_detail(*, pk: int, include_unpublished: bool = False) -> Policy:
    return policy_list(include_unpublished=include_unpublished).prefetch_related("attachments").get(pk=pk)
