"""API for the enterprise register: the tag taxonomy (public), and firms for staff and integrations."""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from enterprises import selectors, services
from enterprises.importing.pipeline import ImportRefused, ImportResult, enterprise_import
from enterprises.importing.readers import json_lines_table
from enterprises.importing.rows import RowError
from enterprises.models import Enterprise, PortraitTag


class PortraitTagSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")

    class Meta:
        model = PortraitTag
        fields = ["code", "name", "kind", "category_code", "category_name"]


class PortraitTagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = PortraitTag.objects.filter(is_active=True).select_related("category")
    serializer_class = PortraitTagSerializer
    lookup_field = "code"
    filterset_fields = {"category__code": ["exact"], "kind": ["exact"], "name": ["icontains"]}


class RegisterPermission(permissions.BasePermission):
    """Staff or integration accounts only; each action needs its own model permission, checked here."""

    NEEDS = {"list": "view_enterprise", "retrieve": "view_enterprise", "tags": "change_enterprise",
             "bulk": "add_importjob"}  # fmt: skip

    def has_permission(self, request, view):
        perm = self.NEEDS.get(view.action, "view_enterprise")
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(f"enterprises.{perm}"))


class EnterpriseSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code", allow_null=True)
    region_name = serializers.CharField(source="region.name", allow_null=True)
    contact_mobile = serializers.SerializerMethodField()

    class Meta:
        model = Enterprise
        fields = [
            "id", "uscc", "name", "short_name", "legal_representative", "contact_name", "contact_mobile", "region",
            "region_name", "industry", "size_class", "founded_on", "registered_capital", "employees",
            "annual_revenue", "total_assets", "sms_opt_out", "updated_at",
        ]  # fmt: skip

    def get_contact_mobile(self, firm: Enterprise) -> str:
        """Masked unless the caller may see full numbers."""
        user = self.context["request"].user
        return firm.contact_mobile if user.has_perm("enterprises.view_full_mobile") else firm.masked_mobile


class TagProvenanceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    source = serializers.CharField()
    source_display = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    detail = serializers.CharField()


class EnterpriseDetailSerializer(EnterpriseSerializer):
    tags = serializers.SerializerMethodField()

    class Meta(EnterpriseSerializer.Meta):
        fields = EnterpriseSerializer.Meta.fields + ["tags"]

    @extend_schema_field(TagProvenanceSerializer(many=True))
    def get_tags(self, firm: Enterprise) -> list[dict]:
        return TagProvenanceSerializer(selectors.enterprise_tags(enterprise=firm), many=True).data


class EnterpriseFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__code", label="区域代码")
    industry = django_filters.CharFilter(field_name="industry", lookup_expr="startswith", label="行业代码前缀")
    size_class = django_filters.MultipleChoiceFilter(choices=Enterprise.Size.choices, label="企业规模")
    tag = django_filters.CharFilter(method="filter_tag", label="画像标签编码")
    q = django_filters.CharFilter(method="filter_q", label="统一社会信用代码或企业名称")

    class Meta:
        model = Enterprise
        fields = ["region", "industry", "size_class", "sms_opt_out"]

    def filter_tag(self, queryset, name, value):
        tag = PortraitTag.objects.filter(code=value).first()
        if tag is None:
            return queryset.none()
        return queryset.filter(Q(tag_links__tag_id=tag.pk) | Q(derived_tags__contains=[tag.pk]))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if len(value) == 18:
            return queryset.filter(uscc=value.upper())
        return queryset.filter(name__contains=value)


class JsonLinesParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


class TagUpdateSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(), help_text="工作人员维护的标签编码（完整列表）")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class EnterpriseViewSet(viewsets.ReadOnlyModelViewSet):
    """The register for staff and integration accounts (session or ``Authorization: Token …``)."""

    permission_classes = [RegisterPermission]
    filterset_class = EnterpriseFilter
    lookup_field = "uscc"

    def get_queryset(self):
        return selectors.enterprise_list().order_by("id").distinct()

    def get_serializer_class(self):
        return EnterpriseDetailSerializer if self.action == "retrieve" else EnterpriseSerializer

    @extend_schema(request=TagUpdateSerializer, responses={200: inline_serializer(
        "TagUpdateResult", {"added": serializers.ListField(), "removed": serializers.ListField()})})  # fmt: skip
    @action(detail=True, methods=["put"])
    def tags(self, request, uscc=None):
        """Set the firm's staff-maintained tags; each change is logged with who and why."""
        firm = self.get_object()
        payload = TagUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            changes = services.enterprise_tags_set(
                enterprise=firm, tag_codes=payload.validated_data["tags"], user=request.user,
                detail=payload.validated_data["reason"],
            )  # fmt: skip
        except ValidationError as exc:
            return Response({"detail": exc.messages[0]}, status=status.HTTP_400_BAD_REQUEST)
        except PermissionDenied as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(changes)

    @extend_schema(
        request={"application/x-ndjson": {"type": "string"}},
        responses={200: OpenApiResponse(description="导入结果：新增、更新、未变化、拒绝及每个被拒绝单元格的原因")},
    )
    @action(detail=False, methods=["post"], parser_classes=[JsonLinesParser])
    def bulk(self, request):
        """Upsert firms from JSON lines (one object per line, keys as the file columns, Chinese or English)."""
        table, bad_lines = json_lines_table(request.data if isinstance(request.data, bytes) else b"")
        try:
            result = enterprise_import(table=table, dry_run=request.query_params.get("dry_run") == "1")
        except ImportRefused as exc:
            if not bad_lines:
                return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
            result = ImportResult()
        errors = [RowError(n, "（整行）", "", reason) for n, reason in bad_lines] + result.errors
        return Response(
            {
                "summary": result.summary(),
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "refused": result.refused + len(bad_lines),
                "warnings": result.warnings,
                "errors": [e.__dict__ for e in errors],
            }
        )
