"""督办日报 in the admin: each owner's daily digest, read-only, within the staff scope."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from policies.scope import scope_for
from portal.analytics.models import Digest


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["day", "owner", "open_items", "red", "yellow", "sms_sent"]
    list_filter = ["day", "department", "region"]
    list_select_related = ["department", "region"]
    date_hierarchy = "day"
    fields = ["day", "department", "region", "open_items", "red", "yellow", "body", "sms_sent", "created_at"]
    readonly_fields = fields

    @admin.display(description="责任单位")
    def owner(self, obj: Digest) -> str:
        return str(obj.department or (f"{obj.region}（区县）" if obj.region else "市级统筹"))

    def get_queryset(self, request):
        # Department staff read their department's digests; district staff their district's.
        scope = scope_for(request.user)
        queryset = super().get_queryset(request)
        if scope.department_id is not None:
            return queryset.filter(department_id=scope.department_id)
        if scope.region_id is not None:
            return queryset.filter(Q(region_id=scope.region_id) | Q(department__region_id=scope.region_id))
        return queryset

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
