from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from core.models import Region
from enterprises.models import Enterprise, PortraitTag
from matching import builder
from matching.rules import validate_rule
from matching.selectors import audience_for_rule, suggested_tags
from policies import services
from policies.models import Department, Policy, PolicyAttachment, PolicyLabel, PolicyLabelCategory


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "region"]
    list_filter = ["level", "region"]
    search_fields = ["code", "name"]


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


class LinesField(forms.CharField):
    """Edits a JSON list of strings as a textarea, one item per line."""

    widget = forms.Textarea(attrs={"rows": 5, "cols": 80})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class RuleBuilderFields(forms.Form):
    """The audience rule's common shape as plain choices, plus the raw JSON for anything else."""

    rule_required_tags = forms.ModelMultipleChoiceField(
        label="必须具备的标签", queryset=PortraitTag.objects.filter(is_active=True), to_field_name="code",
        required=False, widget=FilteredSelectMultiple("必备标签", is_stacked=False),
    )  # fmt: skip
    rule_any_tags = forms.ModelMultipleChoiceField(
        label="具备其一即可的标签", queryset=PortraitTag.objects.filter(is_active=True), to_field_name="code",
        required=False, widget=FilteredSelectMultiple("其一标签", is_stacked=False),
    )  # fmt: skip
    rule_excluded_tags = forms.ModelMultipleChoiceField(
        label="排除的标签", queryset=PortraitTag.objects.filter(is_active=True), to_field_name="code",
        required=False, widget=FilteredSelectMultiple("排除标签", is_stacked=False),
    )  # fmt: skip
    rule_regions = forms.ModelMultipleChoiceField(
        label="限定区域", queryset=Region.objects.filter(parent__isnull=False), to_field_name="code", required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    rule_sizes = forms.MultipleChoiceField(
        label="企业规模", choices=Enterprise.Size.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    rule_industries = forms.CharField(
        label="行业代码前缀", required=False, help_text="GB/T 4754，逗号分隔，如 C39, I65；留空为不限。"
    )
    rule_age_min = forms.IntegerField(label="成立年限不少于（年）", required=False, min_value=0)
    rule_age_max = forms.IntegerField(label="成立年限不超过（年）", required=False, min_value=0)
    rule_employees_min = forms.IntegerField(label="从业人数不少于", required=False, min_value=0)
    rule_employees_max = forms.IntegerField(label="从业人数不超过", required=False, min_value=0)
    rule_capital_min = forms.DecimalField(label="注册资本不少于（万元）", required=False, min_value=0)
    rule_capital_max = forms.DecimalField(label="注册资本不超过（万元）", required=False, min_value=0)
    rule_revenue_min = forms.DecimalField(label="营业收入不少于（万元）", required=False, min_value=0)
    rule_revenue_max = forms.DecimalField(label="营业收入不超过（万元）", required=False, min_value=0)
    audience_rule = forms.JSONField(
        label="受众规则（JSON，高级）", required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="直接编辑 JSON 时以此为准；否则由上方选项生成。{\"all\": []} 表示全部企业。",
    )  # fmt: skip

    BUILDER = ["rule_required_tags", "rule_any_tags", "rule_excluded_tags", "rule_regions", "rule_sizes",
               "rule_industries", "rule_age_min", "rule_age_max", "rule_employees_min", "rule_employees_max",
               "rule_capital_min", "rule_capital_max", "rule_revenue_min", "rule_revenue_max"]  # fmt: skip

    def load_rule(self, rule: dict) -> None:
        """Show an existing rule in the builder when it has the builder's shape."""
        self.fields["audience_rule"].initial = rule
        choices = builder.decompose(rule) or {}
        for key, value in choices.items():
            name = {"required_tags": "rule_required_tags", "any_tags": "rule_any_tags",
                    "excluded_tags": "rule_excluded_tags", "regions": "rule_regions", "sizes": "rule_sizes",
                    "industries": "rule_industries"}.get(key, f"rule_{key}")  # fmt: skip
            self.fields[name].initial = ", ".join(value) if name == "rule_industries" else value

    def composed_rule(self, data: dict, raw_changed: bool) -> dict:
        if raw_changed and data.get("audience_rule") not in (None, ""):
            return data["audience_rule"]
        tags = lambda name: [t.code for t in data.get(name) or []]  # noqa: E731
        return builder.compose(
            {
                "required_tags": tags("rule_required_tags"),
                "any_tags": tags("rule_any_tags"),
                "excluded_tags": tags("rule_excluded_tags"),
                "regions": [r.code for r in data.get("rule_regions") or []],
                "sizes": data.get("rule_sizes") or [],
                "industries": (data.get("rule_industries") or "").replace("，", ",").split(","),
                **{key.removeprefix("rule_"): data.get(key) for key in self.BUILDER if key.endswith(("_min", "_max"))},
            }
        )


class PolicyAdminForm(RuleBuilderFields, forms.ModelForm):
    materials = LinesField(label="申报材料", required=False, help_text="每行一项。")
    steps = LinesField(label="办理流程", required=False, help_text="按顺序每行一步。")
    apply_url = forms.URLField(label="在线申报地址", required=False, assume_scheme="https")
    video_url = forms.URLField(label="解读视频", required=False, assume_scheme="https")

    class Meta:
        model = Policy
        # The workflow fields (status, review note, …) change only through the review services.
        fields = [
            "title", "short_title", "doc_number", "level", "region", "departments", "labels", "summary",
            "beneficiaries", "conditions", "support_standard", "max_amount", "delivery", "materials", "steps",
            "apply_url", "apply_start", "apply_end", "valid_from", "valid_until", "contact_office", "contact_phone",
            "contact_address", "interpretation", "video_url", "full_text", "audience_rule",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.load_rule(self.instance.audience_rule or {"all": []})

    def clean(self):
        data = super().clean()
        rule = self.composed_rule(data, raw_changed="audience_rule" in self.changed_data)
        try:
            data["audience_rule"] = validate_rule(rule)
        except ValidationError as exc:
            self.add_error("audience_rule", exc.messages[0])
        if data.get("level") == Policy.Level.DISTRICT and not data.get("region"):
            self.add_error("region", "区级政策请选择适用区域。")
        start, end = data.get("apply_start"), data.get("apply_end")
        if start and end and end < start:
            self.add_error("apply_end", "申报截止日期不能早于申报开始日期。")
        valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            self.add_error("valid_until", "有效期止不能早于有效期起。")
        return data


class PolicyAttachmentInline(admin.TabularInline):
    model = PolicyAttachment
    extra = 0


class WindowOpenFilter(admin.SimpleListFilter):
    title = "申报窗口"
    parameter_name = "window"

    def lookups(self, request, model_admin):
        return [("open", "申报中"), ("upcoming", "未开始"), ("closed", "已截止")]

    def queryset(self, request, queryset):
        from policies.selectors import window_q

        if self.value():
            return queryset.filter(window_q(self.value(), timezone.localdate()))
        return queryset


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    form = PolicyAdminForm
    change_form_template = "admin/policies/policy/change_form.html"
    list_display = ["title", "level", "status_badge", "department_names", "apply_end", "published_at"]
    list_filter = ["level", "status", "delivery", "departments", "labels__category", WindowOpenFilter, "region"]
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
                "fields": RuleBuilderFields.BUILDER + ["audience_rule"],
                "description": "选择政策面向的企业；右侧实时显示覆盖企业数。",
            },
        ),  # fmt: skip
        ("解读与原文", {"fields": ["interpretation", "video_url", "full_text"], "classes": ["collapse"]}),
        ("审核", {"fields": ["status", "review_note", "published_at", "created_by", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("departments")

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
            path(
                "audience-preview/",
                self.admin_site.admin_view(require_POST(self.audience_preview_view)),
                name="policies_policy_audience_preview",
            ),
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

    def preview_view(self, request, pk):
        policy = get_object_or_404(Policy.objects.prefetch_related("departments", "labels", "attachments"), pk=pk)
        if not self.has_view_permission(request, policy):
            raise PermissionDenied
        return TemplateResponse(request, "policies/policy_detail.html", {"policy": policy, "preview": True})

    def audience_preview_view(self, request):
        """Live audience size for the rule being edited (the same composition the save uses)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = RuleBuilderFields(request.POST)
        form.is_valid()  # the builder fields are all optional; bad numbers are simply left out
        data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
        try:
            rule = validate_rule(form.composed_rule(data, raw_changed=request.POST.get("raw_changed") == "1"))
        except ValidationError as exc:
            return JsonResponse({"error": exc.messages[0]}, status=400)
        audience = audience_for_rule(rule=rule, sample=5)
        label_ids = [int(x) for x in request.POST.getlist("labels") if x.isdigit()]
        return JsonResponse(
            {
                "count": audience.count,
                "sample": audience.sample,
                "rule": rule,
                "suggested_tags": suggested_tags(label_ids),
            }
        )

    def _transition(self, request, pk, action, success):
        policy = get_object_or_404(Policy, pk=pk)
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
