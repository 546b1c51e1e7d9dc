"""Staff side of 兑现 in the admin: amount standards, rounds (freeze, review, approve, 公示, finance),
objections and applications with their lights. Every button calls one service."""

from __future__ import annotations

import tempfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from core.workdays import LIGHT_LABELS, light_for
from enterprises.importing.readers import NotATable, open_table
from policies.models import Policy
from policies.scope import scope_for
from portal.analytics.selectors.supervision import open_items
from portal.payouts import applications, finance, publicity, selectors, services
from portal.payouts.models import (
    Application,
    ApplicationReporter,
    Objection,
    PayoutAudit,
    PayoutEntry,
    PayoutRound,
    PayoutStandard,
)


def _light_html(light) -> str:
    colours = {"green": "#1a7f37", "yellow": "#b58100", "red": "#c62828"}
    return format_html(
        '<span class="light light-{}" style="color:{}">● {}</span>', light, colours[light], LIGHT_LABELS[light]
    )


def _refusal(request, exc) -> None:
    for problem in getattr(exc, "messages", None) or [str(exc)]:
        messages.error(request, problem)


@admin.register(PayoutStandard)
class PayoutStandardAdmin(admin.ModelAdmin):
    list_display = ["policy", "describe", "payout_working_days", "updated_at"]
    autocomplete_fields = ["policy"]
    search_fields = ["policy__title"]

    @admin.display(description="兑现标准")
    def describe(self, obj: PayoutStandard) -> str:
        return obj.describe()


class RoundOpenForm(forms.ModelForm):
    policy = forms.ModelChoiceField(
        label="政策（免申即享、已发布）",
        queryset=Policy.objects.filter(status=Policy.Status.PUBLISHED, delivery=Policy.Delivery.NO_APPLICATION),
    )

    class Meta:
        model = PayoutRound
        fields = ["policy", "name", "frozen_on", "confirm_days", "publicity_days"]

    def clean_policy(self):
        policy = self.cleaned_data["policy"]
        if not PayoutStandard.objects.filter(policy=policy).exists():
            raise ValidationError("该政策尚未设置兑现标准，请先在“兑现标准”中设置。")
        return policy


def _entry(round_: PayoutRound, post) -> PayoutEntry:
    """The round's entry of the USCC the form names; refused, naming it, when the list has no such firm."""
    uscc = post.get("uscc", "").strip().upper()
    entry = PayoutEntry.objects.filter(round=round_, enterprise__uscc=uscc).first()
    if entry is None:
        raise ValidationError(f"名单中没有统一社会信用代码为 {uscc} 的企业。")
    return entry


# The round page's buttons: what each says when done, and the service it runs (round, user, posted form).
ROUND_ACTIONS = {
    "submit": (
        "已提交复核，另一位复核人确认后向企业发送意愿确认短信。",
        lambda r, user, post: services.round_submit(round_=r, user=user),
    ),
    "approve": (
        "已复核通过，意愿确认短信将按推送规则发送。",
        lambda r, user, post: services.round_approve(round_=r, user=user),
    ),
    "send_back": (
        "已退回修改。",
        lambda r, user, post: services.round_send_back(round_=r, user=user, reason=post.get("reason", "")),
    ),
    "publish": ("已开始公示。", lambda r, user, post: publicity.round_publish(round_=r, user=user)),
    "cancel": (
        "已取消该批次。",
        lambda r, user, post: services.round_cancel(round_=r, user=user, reason=post.get("reason", "")),
    ),
    "exclude": (
        "已排除该企业，原因已记录。",
        lambda r, user, post: services.entry_exclude(entry=_entry(r, post), user=user, reason=post.get("reason", "")),
    ),
    "reinstate": (
        "已恢复列入。",
        lambda r, user, post: services.entry_reinstate(entry=_entry(r, post), user=user, reason=post.get("reason", "")),
    ),
}


@admin.register(PayoutRound)
class PayoutRoundAdmin(admin.ModelAdmin):
    change_form_template = "admin/payouts/payoutround/change_form.html"
    list_display = ["name", "policy", "status", "listed_count", "total_amount", "frozen_on", "publicity_end"]
    list_filter = ["status"]
    list_select_related = ["policy"]
    search_fields = ["name", "policy__title"]
    readonly_fields = [
        "policy",
        "name",
        "status",
        "frozen_on",
        "frozen_at",
        "rule_version",
        "listed_count",
        "excluded_count",
        "total_amount",
        "confirm_deadline",
        "publicity_start",
        "publicity_end",
        "created_by",
        "submitted_by",
        "approved_by",
        "approved_at",
        "review_note",
        "exported_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RoundOpenForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return RoundOpenForm.Meta.fields if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # a round is a record of money decided: cancelled, never deleted

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # every change is a button above

    def has_add_permission(self, request):
        return request.user.has_perm("payouts.open_payoutround")

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        made = services.round_open(
            policy=data["policy"],
            user=request.user,
            name=data.get("name") or "",
            on=data.get("frozen_on"),
            confirm_days=data["confirm_days"],
            publicity_days=data["publicity_days"],
        )
        obj.pk = made.pk
        obj.__dict__.update({k: v for k, v in made.__dict__.items() if not k.startswith("_")})

    def response_add(self, request, obj, post_url_continue=None):
        """Straight to the frozen list: reviewing it is the next step."""
        messages.success(request, f"名单已生成：拟兑现 {obj.listed_count:,} 户，未列入 {obj.excluded_count:,} 户。")
        return redirect(reverse("admin:payouts_payoutround_change", args=[obj.pk]))

    def get_urls(self):
        def view(fn):
            return self.admin_site.admin_view(fn)

        def action(name):
            return require_POST(lambda request, pk: self.action_view(request, pk, name))

        return [
            *[path(f"<int:pk>/{a}/", view(action(a)), name=f"payouts_round_{a}") for a in ROUND_ACTIONS],
            path("<int:pk>/results/", view(require_POST(self.results_view)), name="payouts_round_results"),
            path("<int:pk>/export.<str:fmt>", view(self.export_view), name="payouts_round_export"),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request) & selectors.rounds_in_scope(scope=scope_for(request.user))

    def _round_in_charge(self, request, pk) -> PayoutRound:
        """The round a button acts on: 404 unless the account's scope is in charge of it."""
        return get_object_or_404(selectors.rounds_in_charge(scope=scope_for(request.user)), pk=pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        round_ = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if round_ is not None:
            user = request.user
            entries = (
                selectors.entries_in_scope(scope=scope_for(user))
                .filter(round=round_)
                .select_related("enterprise")
                .order_by("status", "id")
            )
            extra_context.update(
                round=round_,
                entries=entries[:50],
                audit=PayoutAudit.objects.filter(round=round_).select_related("user", "entry__enterprise")[:30],
                objections=Objection.objects.filter(round=round_, status=Objection.Status.OPEN).count(),
                standard_words=round_.standard.get("describe", ""),
                can_open=user.has_perm("payouts.open_payoutround"),
                can_approve=user.has_perm("payouts.approve_payoutround")
                and user.pk not in {round_.submitted_by_id, round_.created_by_id},
                can_export=user.has_perm("payouts.export_payoutround"),
                counts=selectors.round_status_counts(round_=round_),
                public_url=reverse("payouts:publicity", args=[round_.pk]),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request, pk, action: str):
        """Run one of ROUND_ACTIONS on the round; a refusal becomes a message. Back to the round's page."""
        round_ = self._round_in_charge(request, pk)
        done, run = ROUND_ACTIONS[action]
        try:
            run(round_, request.user, request.POST)
        except (PermissionDenied, ValidationError) as exc:
            _refusal(request, exc)
        else:
            messages.success(request, done)
        return redirect(reverse("admin:payouts_payoutround_change", args=[pk]))

    def export_view(self, request, pk, fmt):
        round_ = self._round_in_charge(request, pk)
        try:
            round_ = publicity.round_to_finance(round_=round_, user=request.user)
        except (PermissionDenied, ValidationError) as exc:
            _refusal(request, exc)
            return redirect(reverse("admin:payouts_payoutround_change", args=[pk]))
        stamp = timezone.localtime().strftime("%Y%m%d%H%M")
        if fmt == "csv":
            response = StreamingHttpResponse(finance.csv_lines(round_=round_), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="payout-{round_.pk}-{stamp}.csv"'
            return response
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
        finance.write_xlsx(round_=round_, target=spool)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=f"payout-{round_.pk}-{stamp}.xlsx")

    def results_view(self, request, pk):
        round_ = self._round_in_charge(request, pk)
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError("请选择拨付结果文件（.xlsx 或 .csv）。")
            table = open_table(upload.file)
            result = finance.round_results_import(
                round_=round_, user=request.user, rows=finance.results_rows(table.headers, table.rows)
            )
        except NotATable as exc:
            messages.error(request, str(exc))
        except (PermissionDenied, ValidationError) as exc:
            _refusal(request, exc)
        else:
            messages.success(request, f"拨付结果已导入：{result.summary()}")
            for error in result.errors[:20]:
                messages.warning(request, f"第 {error['line']} 行：{error['reason']}")
        return redirect(reverse("admin:payouts_payoutround_change", args=[pk]))


@admin.register(PayoutEntry)
class PayoutEntryAdmin(admin.ModelAdmin):
    list_display = ["enterprise", "round", "amount", "status", "reason", "account"]
    list_filter = ["status", "round"]
    list_select_related = ["enterprise", "round"]
    search_fields = ["=enterprise__uscc", "enterprise__name"]

    def get_queryset(self, request):
        return super().get_queryset(request) & selectors.entries_in_scope(scope=scope_for(request.user))

    show_full_result_count = False
    fields = [
        "round",
        "enterprise",
        "amount",
        "status",
        "reason",
        "bank_name",
        "account",
        "answered_at",
        "paid_amount",
        "paid_on",
        "payment_ref",
        "facts",
    ]
    readonly_fields = fields

    @admin.display(description="收款账号")
    def account(self, obj: PayoutEntry) -> str:
        return obj.masked_account

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ObjectionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label="处理结论",
        choices=[("", "请选择"), ("upheld", "异议成立：将该企业移出名单"), ("dismissed", "异议不成立")],
    )

    class Meta:
        model = Objection
        fields = ["answer"]


@admin.register(Objection)
class ObjectionAdmin(admin.ModelAdmin):
    """公示异议 queue: each has a working-day deadline and a light."""

    form = ObjectionForm
    list_display = ["created_at", "round", "firm", "short_reason", "status", "due_on", "light"]
    list_filter = ["status", "round"]
    list_select_related = ["round", "entry__enterprise"]

    def get_queryset(self, request):
        return super().get_queryset(request) & selectors.objections_in_scope(scope=scope_for(request.user))

    readonly_fields = [
        "round",
        "entry",
        "reason",
        "contact",
        "created_at",
        "due_on",
        "status",
        "handled_by",
        "handled_at",
    ]

    @admin.display(description="所涉企业")
    def firm(self, obj: Objection) -> str:
        return obj.entry.enterprise.name if obj.entry else "—"

    @admin.display(description="异议理由")
    def short_reason(self, obj: Objection) -> str:
        return obj.reason[:30]

    @admin.display(description="办理期限")
    def light(self, obj: Objection) -> str:
        if obj.status != Objection.Status.OPEN:
            return "已办结"
        return _light_html(light_for(obj.due_on, timezone.localdate()))

    def get_fields(self, request, obj=None):
        fields = ["round", "entry", "reason", "contact", "created_at", "due_on", "status"]
        if obj and obj.status == Objection.Status.OPEN:
            return [*fields, "decision", "answer"]
        return [*fields, "answer", "handled_by", "handled_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.status != Objection.Status.OPEN:
            return [*self.readonly_fields, "answer"]
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        try:
            publicity.objection_handle(
                objection=obj,
                user=request.user,
                upheld=form.cleaned_data.get("decision") == "upheld",
                answer=form.cleaned_data.get("answer", ""),
            )
        except (ValidationError, PermissionDenied) as exc:
            _refusal(request, exc)


class LateFilter(admin.SimpleListFilter):
    """超期 / 临期: the applications the supervision queue 申报办理 lists with that light today."""

    title = "时限"
    parameter_name = "light"

    def lookups(self, request, model_admin):
        return [("red", "超期"), ("yellow", "临期")]

    def queryset(self, request, queryset):
        if self.value() not in {"red", "yellow"}:
            return queryset
        lit = open_items(scope=scope_for(request.user), kind="application", light=self.value())
        return queryset.filter(pk__in=[item.object_id for item, _ in lit])


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Applications as departments report them, with the 兑现时限 light of the current state."""

    change_list_template = "admin/payouts/application/change_list.html"
    list_display = ["external_id", "enterprise", "policy_title", "status", "light", "status_at", "department"]
    list_filter = [LateFilter, "status", "department"]
    list_select_related = ["enterprise", "policy__payout_standard", "department"]
    search_fields = ["=external_id", "=enterprise__uscc", "enterprise__name"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request) & selectors.applications_in_scope(scope=scope_for(request.user))

    @admin.display(description="政策", ordering="policy__title")
    def policy_title(self, obj: Application) -> str:
        title = obj.policy.title
        return format_html('<span title="{}">{}</span>', title, obj.policy.short_title or Truncator(title).chars(16))

    readonly_fields = [
        "department",
        "external_id",
        "enterprise",
        "policy",
        "status",
        "reason",
        "amount",
        "status_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="时限")
    def light(self, obj: Application) -> str:
        due, light = selectors.application_light(application=obj)
        return (
            format_html("{} {}", _light_html(light), due.strftime("%Y-%m-%d"))
            if obj.status not in ("paid", "rejected")
            else "已办结"
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="payouts_application_upload"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        """Staff upload the same states as an XLSX (or CSV): one row per line, the API's columns."""
        result = None
        if request.method == "POST":
            upload = request.FILES.get("file")
            try:
                if upload is None:
                    raise ValidationError("请选择文件（.xlsx 或 .csv）。")
                table = open_table(upload.file)
                result = applications.applications_report(
                    user=request.user, lines=applications.table_lines(table.headers, table.rows)
                )
            except NotATable as exc:
                messages.error(request, str(exc))
            except (PermissionDenied, ValidationError) as exc:
                _refusal(request, exc)
        context = {
            **self.admin_site.each_context(request),
            "title": "上传申报办理状态",
            "result": result,
            "opts": self.model._meta,
            "columns": "统一社会信用代码、政策编号、申报编号、状态、说明、金额、时间",
        }
        return render(request, "admin/payouts/application/upload.html", context)


@admin.register(ApplicationReporter)
class ApplicationReporterAdmin(admin.ModelAdmin):
    list_display = ["user", "department"]
    autocomplete_fields = ["department"]
