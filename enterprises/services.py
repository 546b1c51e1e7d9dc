"""Writes for the enterprise register: tag edits, qualification expiry, derived tags.

Imports live in ``enterprises.importing`` (the pipeline, its jobs and its error report).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core import changes
from enterprises.derivation import derived_tags_refresh
from enterprises.importing.merge import CHANGES, LINKS
from enterprises.models import Enterprise, EnterpriseTag, EnterpriseTagChange, PortraitTag


@transaction.atomic
def enterprise_tags_set(
    *, enterprise: Enterprise, tag_codes: list[str], user, source: str = EnterpriseTag.Source.STAFF, detail: str = ""
) -> dict[str, list[str]]:
    """Set a firm's staff-maintained tags to exactly ``tag_codes``; returns what was added and removed.

    Tags from files, rules and certificates are not touched here: they follow their own sources.
    """
    if not user.has_perm("enterprises.change_enterprise"):
        raise PermissionDenied("您没有修改企业标签的权限。")
    tags = {t.code: t for t in PortraitTag.objects.filter(code__in=tag_codes, is_active=True)}
    unknown = sorted(set(tag_codes) - set(tags))
    if unknown:
        raise ValidationError(f"未知的企业标签：{'、'.join(unknown)}。")
    current = {
        link.tag.code: link
        for link in EnterpriseTag.objects.select_related("tag").filter(enterprise=enterprise, source=source)
    }
    existing_other = set(
        EnterpriseTag.objects.filter(enterprise=enterprise).exclude(source=source).values_list("tag__code", flat=True)
    )
    added = [c for c in tags if c not in current and c not in existing_other]
    removed = [c for c in current if c not in tags]
    EnterpriseTag.objects.filter(enterprise=enterprise, source=source, tag__code__in=removed).delete()
    EnterpriseTag.objects.bulk_create(EnterpriseTag(enterprise=enterprise, tag=tags[c], source=source) for c in added)
    if added or removed:
        changes.enterprises_changed_on_commit([enterprise.pk])
    EnterpriseTagChange.objects.bulk_create(
        [
            EnterpriseTagChange(
                enterprise=enterprise, tag=tags[c], action="added", source=source, user=user, detail=detail
            )
            for c in added
        ]
        + [
            EnterpriseTagChange(
                enterprise=enterprise, tag=current[c].tag, action="removed", source=source, user=user, detail=detail
            )
            for c in removed
        ]
    )
    return {"added": added, "removed": removed}


@transaction.atomic
def qualification_expire_due(*, today: datetime.date | None = None) -> int:
    """Retire qualification tags whose certificate expired before ``today``; each leaves a change record."""
    day = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH gone AS (
              DELETE FROM {LINKS} WHERE valid_until IS NOT NULL AND valid_until < %s
              RETURNING enterprise_id, tag_id, source, certificate_no, valid_until
            ), logged AS (
              INSERT INTO {CHANGES} (enterprise_id, tag_id, action, source, detail, at)
              SELECT enterprise_id, tag_id, 'expired', source,
                     '证书 ' || certificate_no || ' 有效期至 ' || to_char(valid_until, 'YYYY-MM-DD'), now()
              FROM gone RETURNING enterprise_id
            ) SELECT DISTINCT enterprise_id FROM logged
            """,
            [day],
        )
        expired = [row[0] for row in cursor.fetchall()]
    changes.enterprises_changed_on_commit(expired)
    return len(expired)


def derived_tags_refresh_all() -> dict[str, int]:
    """Nightly: age buckets move with the calendar, and rules may have been edited."""
    with transaction.atomic():
        changed = derived_tags_refresh()
        if changed:
            changes.enterprises_changed_on_commit(None)
        return changed


@transaction.atomic
def enterprise_tag_correct(*, enterprise: Enterprise, tag: PortraitTag, add: bool, user, detail: str) -> bool:
    """Apply an approved correction: add the tag (source 纠错) or remove it whatever its source, with a
    change record naming who and why. Tags derived from the register's data cannot be removed here."""
    if not (user.has_perm("enterprises.correct_tags") or user.has_perm("enterprises.change_enterprise")):
        raise PermissionDenied("您没有修改企业标签的权限。")
    if not add and tag.pk in (enterprise.derived_tags or []):
        raise ValidationError(f"“{tag.name}”由企业登记信息推导，请更正企业的登记信息，而不是删除标签。")
    source = EnterpriseTag.Source.CORRECTION
    if add:
        changed = not EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).exists()
        if changed:
            EnterpriseTag.objects.create(enterprise=enterprise, tag=tag, source=source)
    else:
        changed = EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).delete()[0] > 0
    if changed:
        EnterpriseTagChange.objects.create(
            enterprise=enterprise,
            tag=tag,
            action="added" if add else "removed",
            source=source,
            user=user,
            detail=detail,
        )
        changes.enterprises_changed_on_commit([enterprise.pk])
    return changed
