from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from policies import services
from policies.forms import PolicyAdminForm
from policies.models import (
    Department,
    Policy,
    PolicyAttachment,
    PolicyLabel,
    PolicyLabelCategory,
    StaffScope,
    Window,
    window_q,
)
from policies.rule_builder import RuleBuilderFields
from policies.scope import scope_for


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "region"]
    list_filter = ["level", "region"]
    search_fields = ["code", "name"]


@admin.register(StaffScope)
class StaffScopeAdmin(admin.ModelAdmin):
    """Who works for which district or department: lists, the dashboard and the API follow it."""

    list_display = ["user", "region", "department", "mobile"]
    list_filter = ["region", "department__level"]
    list_select_related = ["user", "region", "department"]
    search_fields = ["user__username", "user__first_name", "department__name"]
    autocomplete_fields = ["user", "department"]


class PolicyLabelInline(admin.TabularInline):
    model = PolicyLabel
    extra = 0
    fields = ["code", "name", "is_active"]


@admin.register(PolicyLabelCategory)
class PolicyLabelCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sort_order", "label_count"]
    search_fields = ["code", "name"]
    inlines = [PolicyLabelInline]

    @admin.display(description="子类数")
    def label_count(self, obj):
        return obj.labels.count()


@admin.register(PolicyLabel)
class PolicyLabelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["code", "name", "category__name"]
    list_select_related = ["category"]


class PolicyAttachmentInline(admin.TabularInline):
    model = PolicyAttachment
    extra = 0


class WindowFilter(admin.SimpleListFilter):
    title = "申报窗口"
    parameter_name = "window"

    def lookups(self, request, model_admin):
        return Window.choices

    def queryset(self, request, queryset):
        if self.value() in Window.values:
            return queryset.filter(window_q(self.value(), timezone.localdate()))
        return queryset


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    form = PolicyAdminForm
    change_form_template = "admin/policies/policy/change_form.html"
    list_display = ["title", "level", "status_badge", "department_names", "apply_end", "published_at"]
    list_filter = ["level", "status", "delivery", "departments", "labels__category", WindowFilter, "region"]
    search_fields = ["title", "doc_number", "summary"]
    autocomplete_fields = ["labels", "departments", "region"]
    readonly_fields = ["status", "review_note", "published_at", "created_by", "created_at", "updated_at"]
    inlines = [PolicyAttachmentInline]
    list_per_page = 50
    date_hierarchy = "published_at"
    history_list_display = ["status"]
    fieldsets = [
        ("基本信息", {"fields": ["title", "short_title", "doc_number", "level", "region", "departments", "labels"]}),
        ("政策内容", {"fields": ["summary", "beneficiaries", "conditions", "support_standard", "max_amount"]}),
        ("申报指南", {"fields": ["delivery", "materials", "steps", "apply_url"]}),
        ("时间", {"fields": [("apply_start", "apply_end"), ("valid_from", "valid_until")]}),
        ("咨询与受理", {"fields": ["contact_office", "contact_phone", "contact_address"]}),
        (
            "受众规则",
            {
                "fields": RuleBuilderFields.BUILDER + ["rule_advanced", "audience_rule"],
                "description": "选择政策面向的企业；覆盖企业数在本栏顶部随选择实时更新。",
            },
        ),  # fmt: skip
        ("解读与原文", {"fields": ["interpretation", "video_url", "full_text"], "classes": ["collapse"]}),
        ("审核", {"fields": ["status", "review_note", "published_at", "created_by", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        # District and department staff see their own policies only, in the list and behind every URL.
        scoped = super().get_queryset(request).filter(scope_for(request.user).policy_q())
        return scoped.prefetch_related("departments")

    @admin.display(description="状态", ordering="status")
    def status_badge(self, obj):
        colours = {
            "draft": "#777",
            "pending": "#b26a00",
            "published": "#1a7f37",
            "expired": "#999",
            "withdrawn": "#c00",
        }
        return format_html('<b style="color:{}">{}</b>', colours.get(obj.status, "#000"), obj.get_status_display())

    @admin.display(description="发文部门")
    def department_names(self, obj):
        return "、".join(d.name for d in obj.departments.all())

    def has_change_permission(self, request, obj=None):
        """Editors edit drafts only; once submitted, only reviewers may change a policy."""
        if not super().has_change_permission(request, obj):
            return False
        if obj is not None and obj.status != Policy.Status.DRAFT:
            return request.user.has_perm("policies.review_policy")
        return True

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != Policy.Status.DRAFT:
            return False  # published policies are withdrawn, never deleted: the record must stay
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        def view(fn):
            return self.admin_site.admin_view(require_POST(fn))

        return [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="policies_policy_preview"),
            path("<int:pk>/submit/", view(self.submit_view), name="policies_policy_submit"),
            path("<int:pk>/approve/", view(self.approve_view), name="policies_policy_approve"),
            path("<int:pk>/reject/", view(self.reject_view), name="policies_policy_reject"),
            path("<int:pk>/withdraw/", view(self.withdraw_view), name="policies_policy_withdraw"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        policy = self.get_object(request, object_id)
        if policy is not None:
            user = request.user
            extra_context.update(
                workflow_policy=policy,
                can_submit=policy.status == Policy.Status.DRAFT and user.has_perm("policies.submit_policy"),
                can_review=policy.status == Policy.Status.PENDING and user.has_perm("policies.review_policy"),
                can_withdraw=policy.status == Policy.Status.PUBLISHED and user.has_perm("policies.withdraw_policy"),
                publish_problems=services.policy_check_publishable(policy=policy),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _require_in_scope(self, request, object_id) -> None:
        # simple_history falls back to the history rows of a policy the queryset does not hold.
        if self.get_object(request, object_id) is None:
            raise Http404

    def preview_view(self, request, pk):
        policy = get_object_or_404(self.get_queryset(request).prefetch_related("labels", "attachments"), pk=pk)
        if not self.has_view_permission(request, policy):
            raise PermissionDenied
        return TemplateResponse(request, "policies/policy_detail.html", {"policy": policy, "preview": True})

    def _transition(self, request, pk, action, success):
        policy = get_object_or_404(self.get_queryset(request), pk=pk)
        try:
            action(policy)
        except PermissionDenied as exc:
            self.message_user(request, str(exc) or "您没有执行此操作的权限。", messages.ERROR)
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, messages.ERROR)
        else:
            self.message_user(request, success, messages.SUCCESS)
        return redirect(reverse("admin:policies_policy_change", args=[pk]))

    def submit_view(self, request, pk):
        return self._transition(
            request, pk, lambda p: services.policy_submit(policy=p, user=request.user), "已提交审核。"
        )

    def approve_view(self, request, pk):
        note = request.POST.get("note", "")
        return self._transition(
            request, pk, lambda p: services.policy_approve(policy=p, user=request.user, note=note), "已审核通过并发布。"
        )

    def reject_view(self, request, pk):
        reason = request.POST.get("reason", "")
        return self._transition(
            request, pk, lambda p: services.policy_reject(policy=p, user=request.user, reason=reason), "已退回修改。"
        )

    def withdraw_view(self, request, pk):
        reason = request.POST.get("reason", "")
        return self._transition(
            request, pk, lambda p: services.policy_withdraw(policy=p, user=request.user, reason=reason), "已撤回。"
        )
