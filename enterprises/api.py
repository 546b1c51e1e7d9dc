"""API for the enterprise register: the tag taxonomy (public), and firms for staff and integrations."""

from __future__ import annotations

import tempfile

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db.models import Q
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from core.models import IntegrationToken
from enterprises import selectors, services
from enterprises.importing.columns import COLUMNS
from enterprises.importing.jobs import import_job_create, import_job_progress, upload_too_large
from enterprises.models import Enterprise, ImportJob, PortraitTag


class PortraitTagSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")

    class Meta:
        model = PortraitTag
        fields = ["code", "name", "kind", "category_code", "category_name"]


class PortraitTagViewSet(viewsets.ReadOnlyModelViewSet):
    token_scopes = {"GET": "register:read"}
    queryset = PortraitTag.objects.filter(is_active=True).select_related("category")
    serializer_class = PortraitTagSerializer
    lookup_field = "code"
    filterset_fields = {"category__code": ["exact"], "kind": ["exact"], "name": ["icontains"]}


class RegisterPermission(permissions.BasePermission):
    """Staff or integration accounts only; each action needs its own model permission, checked here."""

    NEEDS = {"list": ("view_enterprise",), "retrieve": ("view_enterprise",), "tags": ("change_enterprise",),
             "bulk": ("add_importjob",), "bulk_job": ("add_importjob", "view_importjob")}  # fmt: skip

    def has_permission(self, request, view):
        perms = self.NEEDS.get(view.action, ("view_enterprise",))
        user = request.user
        return bool(user and user.is_authenticated and any(user.has_perm(f"enterprises.{p}") for p in perms))


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

    def get_contact_mobile(self, enterprise: Enterprise) -> str:
        """Masked unless the caller may see full numbers."""
        user = self.context["request"].user
        return enterprise.contact_mobile if user.has_perm("enterprises.view_full_mobile") else enterprise.masked_mobile


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
    def get_tags(self, enterprise: Enterprise) -> list[dict]:
        return TagProvenanceSerializer(selectors.enterprise_tags(enterprise=enterprise), many=True).data


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


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class JsonLinesParser(BaseParser):
    """The body, copied to an anonymous temporary file (never kept past its closing, never on a path) and
    refused with 413 past ``IMPORT_MAX_BYTES``, whether its length is declared or not."""

    media_type = "application/x-ndjson"
    CHUNK = 64 * 1024

    def parse(self, stream, media_type=None, parser_context=None):
        declared = (parser_context or {}).get("request").META.get("CONTENT_LENGTH") or ""
        reason = upload_too_large(int(declared) if declared.isdigit() else None)
        if reason:
            raise BodyTooLarge(reason)
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the view, or here on any failure
        try:
            size = 0
            while chunk := stream.read(self.CHUNK):
                size += len(chunk)
                reason = upload_too_large(size)
                if reason:
                    raise BodyTooLarge(reason)
                spool.write(chunk)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool


# One line of the bulk body, for the schema: the documented columns by their English names (Chinese work too).
_COLUMN_TYPES = {"employees": {"type": "integer"}, "registered_capital": {"type": "number"},
                 "annual_revenue": {"type": "number"}, "total_assets": {"type": "number"},
                 "tags": {"type": "array", "items": {"type": "string"}}}  # fmt: skip
BULK_LINE_SCHEMA = {
    "type": "object",
    "required": [c.field for c in COLUMNS if c.required],
    "properties": {
        ("mobile" if c.field == "contact_mobile" else "region" if c.field == "region" else c.field): {
            "type": "string",
            **_COLUMN_TYPES.get(c.field, {}),
            "description": c.label,
        }
        for c in COLUMNS
    },
    "additionalProperties": True,
}
BULK_REQUEST = {
    "application/x-ndjson": {
        "type": "array",
        "items": BULK_LINE_SCHEMA,
        "description": "JSON lines：每行一个企业对象（键为英文或中文列名），不是一个 JSON 数组。",
    }
}


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="行号（文件的行或 JSON lines 的行）")
    column = serializers.CharField()
    value = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class BulkAcceptedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.URLField(help_text="轮询此地址获取进度与结果")


class ImportJobResultSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.CharField(help_text="queued / running / succeeded / failed")
    status_display = serializers.CharField()
    finished = serializers.BooleanField()
    stage = serializers.CharField()
    fraction = serializers.FloatField()
    rows = serializers.IntegerField()
    message = serializers.CharField(help_text="结果摘要，失败时为原因")
    dry_run = serializers.BooleanField()
    total_rows = serializers.IntegerField()
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    refused = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    errors = RowErrorSerializer(many=True, help_text="被拒绝的单元格与整行（前 200 个），附原因")


class TagUpdateSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(), help_text="工作人员维护的标签编码（完整列表）")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


def may_write_contacts(request) -> bool:
    """A staff session may change mobiles as its permissions allow; a token only with the contacts scope, since
    the sign-in code goes to that number."""
    token = request.auth
    return not isinstance(token, IntegrationToken) or "register:write-contacts" in token.scopes


class EnterpriseViewSet(viewsets.ReadOnlyModelViewSet):
    """The register for staff and integration accounts (session or ``Authorization: Token hq_…``)."""

    permission_classes = [RegisterPermission]
    # What an integration token needs for each action (core/auth.py); changing a mobile needs its own scope.
    token_scopes = {"list": "register:read", "retrieve": "register:read", "tags": "register:write",
                    "bulk": "register:write", "bulk_job": "register:write"}  # fmt: skip
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
        enterprise = self.get_object()
        payload = TagUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            changes = services.enterprise_tags_set(
                enterprise=enterprise, tag_codes=payload.validated_data["tags"], user=request.user,
                detail=payload.validated_data["reason"],
            )  # fmt: skip
        except ValidationError as exc:
            return Response({"detail": exc.messages[0]}, status=status.HTTP_400_BAD_REQUEST)
        except PermissionDenied as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(changes)

    @extend_schema(
        request=BULK_REQUEST,
        responses={
            202: BulkAcceptedSerializer,
            400: OpenApiResponse(description="请求体为空"),
            413: OpenApiResponse(description="请求体超过上限（IMPORT_MAX_BYTES）"),
        },
    )
    @action(detail=False, methods=["post"], parser_classes=[JsonLinesParser])
    def bulk(self, request):
        """Upsert firms from JSON lines (one object per line, keys as the file columns, Chinese or English).

        The import runs as a job, like an upload in the admin: the answer is 202 with the job's URL, which
        gives the progress and then the result, with the reason for every refused cell or line.
        """
        body = request.data
        empty = Response({"detail": "请求体为空：请每行提交一个企业的 JSON 对象。"}, status=status.HTTP_400_BAD_REQUEST)
        if not hasattr(body, "read"):
            return empty
        try:
            if not body.read(1):
                return empty
            body.seek(0)
            job = import_job_create(
                user=request.user,
                upload=File(body, name="接口推送.ndjson"),
                source=ImportJob.Source.API,
                dry_run=request.query_params.get("dry_run") == "1",
                contacts_allowed=may_write_contacts(request),
            )
        except ValidationError as exc:
            return Response({"detail": exc.messages[0]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except PermissionDenied as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        finally:
            body.close()
        url = request.build_absolute_uri(reverse("enterprise-bulk-job", args=[job.pk]))
        return Response(
            {"job": job.pk, "status": job.status, "url": url},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )

    @extend_schema(responses={200: ImportJobResultSerializer, 404: OpenApiResponse(description="没有这个导入批次")})
    @action(detail=False, methods=["get"], url_path=r"bulk/(?P<job_id>[0-9]{1,12})", url_name="bulk-job")
    def bulk_job(self, request, job_id: str):
        """Progress and then the result of one bulk import: counts, warnings and each refused cell or line."""
        job = ImportJob.objects.filter(pk=int(job_id)).first()
        if job is None or not (
            job.created_by_id == request.user.pk or request.user.has_perm("enterprises.view_importjob")
        ):
            raise exceptions.NotFound("没有这个导入批次。")
        return Response(
            {
                **import_job_progress(job=job),
                "job": job.pk,
                "dry_run": job.dry_run,
                "total_rows": job.total_rows,
                "added": job.added,
                "updated": job.updated,
                "unchanged": job.unchanged,
                "refused": job.refused,
                "warnings": job.warnings,
                "errors": job.errors,
            }
        )
