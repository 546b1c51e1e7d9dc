from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

from enterprises.models import Enterprise, EnterpriseTag, PortraitTag, PortraitTagCategory


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
    model = EnterpriseTag
    extra = 0
    autocomplete_fields = ["tag"]
    fields = ["tag", "source", "certificate_no", "issued_by", "valid_until", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["uscc", "name", "region", "industry", "size_class", "mobile", "sms_opt_out"]
    list_filter = ["region", "size_class", "sms_opt_out"]
    search_fields = ["=uscc", "name", "=contact_mobile"]
    list_select_related = ["region"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    inlines = [EnterpriseTagInline]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="联系手机")
    def mobile(self, obj: Enterprise) -> str:
        return obj.masked_mobile  # lists never show a full number

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not request.user.has_perm("enterprises.view_full_mobile"):
            fields = ["masked_mobile" if f == "contact_mobile" else f for f in fields]
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.has_perm("enterprises.view_full_mobile"):
            readonly.append("masked_mobile")
        return readonly
