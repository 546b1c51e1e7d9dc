"""Reads for the enterprise register, shared by the admin, the API and the portal."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from enterprises.models import Enterprise, EnterpriseTag, PortraitTag, TagRule


@dataclass(frozen=True)
class TagProvenance:
    code: str
    name: str
    category: str
    source: str  # EnterpriseTag.Source value
    source_display: str
    since: object  # datetime
    detail: str  # certificate, issuing body, rule, import batch


def enterprise_list() -> QuerySet[Enterprise]:
    return Enterprise.objects.select_related("region")


def enterprise_tags(*, enterprise: Enterprise) -> list[TagProvenance]:
    """Every tag the firm holds and where it came from: files, staff, corrections, certificates, rules."""
    found: list[TagProvenance] = []
    links = EnterpriseTag.objects.filter(enterprise=enterprise).select_related("tag__category").order_by("tag__code")
    for link in links:
        detail = []
        if link.certificate_no:
            detail.append(f"证书 {link.certificate_no}")
        if link.issued_by:
            detail.append(link.issued_by)
        if link.valid_until:
            detail.append(f"有效期至 {link.valid_until:%Y-%m-%d}")
        if link.import_job_id:
            detail.append(f"导入批次 #{link.import_job_id}")
        found.append(
            TagProvenance(
                link.tag.code, link.tag.name, link.tag.category.name, link.source, link.get_source_display(),
                link.created_at, "，".join(detail),
            )
        )  # fmt: skip
    rules = {}
    for rule in TagRule.objects.filter(tag_id__in=enterprise.derived_tags, is_active=True):
        rules.setdefault(rule.tag_id, []).append(f"{rule.get_kind_display()} {rule.value}")
    for tag in PortraitTag.objects.filter(pk__in=enterprise.derived_tags).select_related("category").order_by("code"):
        found.append(
            TagProvenance(
                tag.code, tag.name, tag.category.name, EnterpriseTag.Source.DERIVED,
                EnterpriseTag.Source.DERIVED.label, enterprise.derived_at, "规则：" + "；".join(rules.get(tag.pk, [])),
            )
        )  # fmt: skip
    return found
