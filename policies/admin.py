from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from core.history_admin import ReadableHistoryAdmin
from policies import services
from policies.forms import PolicyAdminForm
from policies.models import (
    Department,
    Policy,
    PolicyAttachment,
    PolicyLabel,
    PolicyLabelCategory,
    SearchSynonym,
    StaffScope,
    Window,
    deadline_passed_q,
    sent_back_q,
    window_q,
)
from policies.rule_builder import RuleBuilderFields
from policies.scope import scope_for
from policies.selectors import policy_review_counts

Status = Policy.Status


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

    def get_queryset(self, request):
        # A label reads "category·name": the autocomplete on the policy page lists 20 at a time.
        return super().get_queryset(request).select_related("category")


class PolicyAttachmentInline(admin.TabularInline):
    model = PolicyAttachment
    extra = 0


class StatusFilter(admin.SimpleListFilter):
    """状态, with 退回修改 (drafts sent back) among the choices. Reviewers land on 待审核, their queue; 全部 is
    an explicit choice so that it stays chosen."""

    title = "状态"
    parameter_name = "status__exact"  # the query the plain status filter used, so existing links keep working
    ALL = "all"
    SENT_BACK = "sent_back"

    def __init__(self, request, params, model, model_admin):
        self.default = default_status(request)
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [
            (Status.PENDING, Status.PENDING.label),
            (self.SENT_BACK, "退回修改"),
            *((value, label) for value, label in Status.choices if value != Status.PENDING),
        ]

    def value(self):
        return super().value() or self.default

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.SENT_BACK:
            return queryset.filter(sent_back_q())
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset

    def choices(self, changelist):
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": "全部",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


def default_status(request) -> str:
    """Reviewers' list opens on what waits for them; everyone else's on every policy."""
    return Status.PENDING if request.user.has_perm("policies.review_policy") else StatusFilter.ALL


class DeadlineFilter(admin.SimpleListFilter):
    title = "申报截止"
    parameter_name = "deadline"
    PASSED = "passed"

    def lookups(self, request, model_admin):
        return [(self.PASSED, "已过截止但未发布")]

    def queryset(self, request, queryset):
        if self.value() == self.PASSED:
            return queryset.filter(deadline_passed_q(timezone.localdate()))
        return queryset


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
class PolicyAdmin(ReadableHistoryAdmin):
    form = PolicyAdminForm
    change_form_template = "admin/policies/policy/change_form.html"
    change_list_template = "admin/policies/policy/change_list.html"
    list_display = [
        "title", "level", "status_badge", "sent_back_reason", "department_names", "deadline", "published_at"
    ]  # fmt: skip
    list_filter = [
        StatusFilter,
        "level",
        "delivery",
        "departments",
        "labels__category",
        WindowFilter,
        DeadlineFilter,
        "region",
    ]
    search_fields = ["title", "doc_number", "summary"]
    autocomplete_fields = ["labels", "departments", "region"]
    readonly_fields = ["status", "review_note", "published_at", "created_by", "created_at", "updated_at"]
    inlines = [PolicyAttachmentInline]
    list_per_page = 50
    date_hierarchy = "published_at"
    history_list_display = ["status_words"]
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

    class Media:
        js = ["js/admin-accessibility.js"]
        css = {"all": ["css/admin-accessibility.css"]}

    def get_queryset(self, request):
        # District and department staff see their own policies only, in the list and behind every URL.
        scoped = super().get_queryset(request).filter(scope_for(request.user).policy_q())
        return scoped.prefetch_related("departments")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "labels":  # the chosen labels read "category·name"
            kwargs["queryset"] = PolicyLabel.objects.select_related("category")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="状态", ordering="status")
    def status_badge(self, obj):
        if obj.sent_back:
            return format_html('<b class="status-sent-back" style="color:#c00">{}</b>', "退回修改")
        colours = {
            Status.DRAFT: "#666",
            Status.PENDING: "#8a5300",
            Status.PUBLISHED: "#1a7f37",
            Status.EXPIRED: "#666",
            Status.WITHDRAWN: "#c00",
        }
        return format_html('<b style="color:{}">{}</b>', colours.get(obj.status, "#000"), obj.get_status_display())

    @admin.display(description="退回原因")
    def sent_back_reason(self, obj):
        if not obj.sent_back:
            return ""
        note = obj.review_note
        return format_html('<span class="sent-back-reason" title="{}">{}</span>', note, Truncator(note).chars(40))

    @admin.display(description="申报截止", ordering="apply_end")
    def deadline(self, obj):
        if obj.apply_end is None:
            return "—"
        if obj.deadline_passed():
            return format_html(
                '{} <b class="deadline-passed" style="color:#c00">已过截止</b>', f"{obj.apply_end:%Y-%m-%d}"
            )
        return f"{obj.apply_end:%Y-%m-%d}"

    @admin.display(description="状态")
    def status_words(self, record):
        return record.get_status_display()

    TRANSITIONS = {
        (Status.DRAFT, Status.PENDING): "提交审核",
        (Status.PENDING, Status.DRAFT): "退回修改",
        (Status.PENDING, Status.PUBLISHED): "审核通过并发布",
        (Status.PUBLISHED, Status.WITHDRAWN): "撤回",
        (Status.PUBLISHED, Status.EXPIRED): "到期自动过期",
    }

    def history_action(self, record, older) -> str:
        if record.history_type == "~" and older is not None:
            return self.TRANSITIONS.get((older.status, record.status), "修改内容")
        return super().history_action(record, older)

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

    def changelist_view(self, request, extra_context=None):
        counts = policy_review_counts(today=timezone.localdate())
        extra_context = {
            "review_counts": counts,
            "can_review": request.user.has_perm("policies.review_policy"),
            "queue_by_default": StatusFilter.parameter_name not in request.GET
            and default_status(request) == Status.PENDING,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Here rather than in change_view: the object is the one the page shows, loaded once.
        if obj is not None and obj.pk:
            user = request.user
            context.update(
                workflow_policy=obj,
                can_submit=obj.status == Status.DRAFT and user.has_perm("policies.submit_policy"),
                can_review=obj.status == Status.PENDING and user.has_perm("policies.review_policy"),
                can_withdraw=obj.status == Status.PUBLISHED and user.has_perm("policies.withdraw_policy"),
                publish_problems=services.policy_check_publishable(policy=obj),
                deadline_passed=obj.deadline_passed(),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

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


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """The abbreviations enterprises search with (高企, 专精特新 …) and what each stands for."""

    list_display = ["term", "expansion_words", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["term", "expansions"]

    @admin.display(description="同义词与全称")
    def expansion_words(self, obj: SearchSynonym) -> str:
        return "、".join(obj.expansion_list())
