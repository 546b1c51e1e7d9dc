from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property

from core.scope import district_q
from enterprises import selectors, services
from enterprises.importing import jobs
from enterprises.models import (
    Enterprise,
    EnterpriseTag,
    EnterpriseTagChange,
    ImportJob,
    PortraitTag,
    PortraitTagCategory,
    SizeStandard,
    SizeThreshold,
    TagRule,
)
from enterprises.validators import INDUSTRY_SECTIONS


class EstimatedCountPaginator(Paginator):
    """An unfiltered count over a million firms takes seconds; PostgreSQL's estimate is instant."""

    @cached_property
    def count(self) -> int:
        query = self.object_list.query
        if not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [query.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return row[0]
        return super().count


class PortraitTagInline(admin.TabularInline):
    model = PortraitTag
    extra = 0
    fields = ["code", "name", "kind", "is_active"]


@admin.register(PortraitTagCategory)
class PortraitTagCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sort_order"]
    search_fields = ["code", "name"]
    inlines = [PortraitTagInline]


@admin.register(PortraitTag)
class PortraitTagAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "kind", "is_active"]
    list_filter = ["category", "kind", "is_active"]
    search_fields = ["code", "name", "category__name"]
    list_select_related = ["category"]


class EnterpriseTagInline(admin.TabularInline):
    """Every tag link with its provenance, read-only: tags change through imports, the staff field above,
    or approved corrections, each of which leaves a change record."""

    model = EnterpriseTag
    extra = 0
    can_delete = False
    fields = ["tag", "source", "certificate_no", "issued_by", "valid_until", "import_job", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class EnterpriseTagChangeInline(admin.TabularInline):
    model = EnterpriseTagChange
    extra = 0
    can_delete = False
    fields = ["at", "action", "tag", "source", "user", "detail"]
    readonly_fields = fields
    verbose_name_plural = "标签变更记录"

    def has_add_permission(self, request, obj=None):
        return False


class SectionFilter(admin.SimpleListFilter):
    title = "行业门类"
    parameter_name = "section"

    def lookups(self, request, model_admin):
        return [(code, f"{code} {name}") for code, (name, _, _) in INDUSTRY_SECTIONS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(industry__startswith=self.value()) if self.value() else queryset


class QualificationFilter(admin.SimpleListFilter):
    title = "资质标签"
    parameter_name = "qualification"

    def lookups(self, request, model_admin):
        return list(PortraitTag.objects.filter(kind=PortraitTag.Kind.QUALIFICATION).values_list("code", "name"))

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(tag_links__tag__code=self.value())


class EnterpriseAdminForm(forms.ModelForm):
    staff_tags = forms.ModelMultipleChoiceField(
        label="工作人员维护的标签",
        queryset=PortraitTag.objects.filter(is_active=True).select_related("category"),
        required=False,
        widget=FilteredSelectMultiple("标签", is_stacked=False),
        help_text="其他来源（文件导入、资质证书、规则推导、纠错）的标签见下方列表，随各自来源更新。",
    )
    staff_tags_reason = forms.CharField(label="修改标签的原因", required=False, max_length=200)

    class Meta:
        model = Enterprise
        fields = [
            "uscc", "name", "short_name", "legal_representative", "contact_name", "contact_mobile", "region",
            "industry", "size_class", "founded_on", "registered_capital", "employees", "annual_revenue",
            "total_assets", "sms_opt_out",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["staff_tags"].initial = PortraitTag.objects.filter(
                enterprise_links__enterprise=self.instance, enterprise_links__source=EnterpriseTag.Source.STAFF
            )


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    form = EnterpriseAdminForm
    list_display = ["uscc", "name", "region", "industry", "size_class", "mobile", "sms_opt_out"]
    list_filter = ["region", SectionFilter, "size_class", QualificationFilter, "sms_opt_out"]
    search_fields = ["=uscc", "name", "=contact_mobile"]
    list_select_related = ["region"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    inlines = [EnterpriseTagInline, EnterpriseTagChangeInline]
    readonly_fields = ["derived_tag_list", "created_at", "updated_at"]

    def get_queryset(self, request):
        # District staff see their district's firms only: in the list and behind hand-made change URLs.
        return super().get_queryset(request).filter(district_q(request.user))

    def get_search_fields(self, request):
        # Searching by the full number would confirm it to someone who may only see it masked.
        if request.user.has_perm("enterprises.view_full_mobile"):
            return self.search_fields
        return [f for f in self.search_fields if "contact_mobile" not in f]

    @admin.display(description="联系手机")
    def mobile(self, obj: Enterprise) -> str:
        return obj.masked_mobile  # lists never show a full number

    @admin.display(description="规则推导的标签")
    def derived_tag_list(self, obj: Enterprise) -> str:
        tags = [t for t in selectors.enterprise_tags(enterprise=obj) if t.source == EnterpriseTag.Source.DERIVED]
        return "；".join(f"{t.name}（{t.detail}）" for t in tags) or "—"

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and not request.user.has_perm("enterprises.view_full_mobile"):
            fields = ["masked_mobile" if f == "contact_mobile" else f for f in fields]
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.has_perm("enterprises.view_full_mobile"):
            readonly.append("masked_mobile")
        return readonly

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "staff_tags" in form.changed_data:
            services.enterprise_tags_set(
                enterprise=form.instance,
                tag_codes=[t.code for t in form.cleaned_data["staff_tags"]],
                user=request.user,
                detail=form.cleaned_data.get("staff_tags_reason", ""),
            )


class ImportJobForm(forms.ModelForm):
    encoding = forms.ChoiceField(
        label="文件编码",
        required=False,
        choices=[("", "自动识别（UTF-8 / GBK）"), ("utf-8-sig", "UTF-8"), ("gb18030", "GBK / GB18030")],
    )

    class Meta:
        model = ImportJob
        fields = ["file", "encoding", "dry_run"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload:
            raise forms.ValidationError("请选择要导入的 .csv 或 .xlsx 文件。")
        if not upload.name.lower().endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError("只支持 .csv 或 .xlsx 文件。")
        too_large = jobs.upload_too_large(upload.size)
        if too_large:
            raise forms.ValidationError(too_large)
        return upload


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Upload a register file; the import runs in a Celery worker while the page shows its progress."""

    form = ImportJobForm
    change_form_template = "admin/enterprises/importjob/change_form.html"
    list_display = ["id", "original_name", "source", "status", "dry_run", "total_rows", "added", "updated",
                    "unchanged", "refused", "created_by", "created_at"]  # fmt: skip
    list_filter = ["status", "source", "dry_run"]
    readonly_fields = ["original_name", "source", "status", "message", "total_rows", "added", "updated", "unchanged",
                       "refused", "created_by", "created_at", "started_at", "finished_at"]  # fmt: skip

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # import history is kept

    def save_model(self, request, obj, form, change):
        job = jobs.import_job_create(
            user=request.user,
            upload=form.cleaned_data["file"],
            encoding=form.cleaned_data.get("encoding", ""),
            dry_run=form.cleaned_data.get("dry_run", False),
        )
        obj.pk = job.pk

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, "文件已上传，正在后台导入，本页会显示进度。", messages.SUCCESS)
        return redirect(reverse("admin:enterprises_importjob_change", args=[obj.pk]))

    def get_urls(self):
        return [
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="enterprises_importjob_progress",
            ),
            path(
                "<int:pk>/errors/",
                self.admin_site.admin_view(self.errors_view),
                name="enterprises_importjob_errors",
            ),
            *super().get_urls(),
        ]

    def errors_view(self, request, pk):
        """The error report holds personal data, so it is served only here, to staff who may view the job."""
        job = get_object_or_404(ImportJob, pk=pk)
        if not self.has_view_permission(request, job) or not job.error_report:
            raise PermissionDenied
        return FileResponse(job.error_report.open("rb"), as_attachment=True, filename=f"导入错误报告-{job.pk}.csv")

    def progress_view(self, request, pk):
        job = get_object_or_404(ImportJob, pk=pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return JsonResponse(jobs.import_job_progress(job=job))


class SizeThresholdInline(admin.TabularInline):
    model = SizeThreshold
    extra = 0


@admin.register(SizeStandard)
class SizeStandardAdmin(admin.ModelAdmin):
    """The size standard is data: a new version is added here and switched on, not coded."""

    list_display = ["name", "effective_from", "is_active"]
    inlines = [SizeThresholdInline]


@admin.register(TagRule)
class TagRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "tag", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["value", "tag__name", "tag__code"]
    autocomplete_fields = ["tag"]
