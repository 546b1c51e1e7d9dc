"""数据看板: the admin home page for staff, within their scope, and its XLSX downloads. Thin: the figures come
from the selectors (rollups only), the tables from ``tables``."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from core.models import Region
from policies.models import Department, Level
from policies.scope import scope_for
from portal.analytics import stages as funnel_stages
from portal.analytics.exports import xlsx_response
from portal.analytics.selectors import funnel as funnel_selectors
from portal.analytics.selectors.headline import headline_for
from portal.analytics.selectors.supervision import lights_summary
from portal.analytics.tables import funnel_tables, section_of, section_tables, supervision_tables

DEFAULT_DAYS = 90  # the funnel's default period: pushes of the last 90 days


class FunnelForm(forms.Form):
    campaign = forms.IntegerField(label="推送批次", required=False, min_value=1)
    policy = forms.IntegerField(label="政策编号", required=False, min_value=1)
    department = forms.CharField(label="发文部门", required=False, max_length=40)
    region = forms.CharField(label="区县", required=False, max_length=12)
    level = forms.ChoiceField(label="层级", required=False, choices=[("", "全部层级"), *Level.choices])
    since = forms.DateField(label="推送日期自", required=False)
    until = forms.DateField(label="至", required=False)


def _filters(request, scope):
    """The funnel filter from the query string (default: the last 90 days), and the problems found."""
    data = request.GET.copy()
    if "since" not in data:
        data["since"] = (timezone.localdate() - datetime.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    form = FunnelForm(data)
    problems = []
    if not form.is_valid():
        problems = [f"{form.fields[name].label}：{' '.join(errors)}" for name, errors in form.errors.items()]
    cleaned = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    try:
        filters = funnel_selectors.funnel_filter_check(scope=scope, **cleaned)
    except ValidationError as exc:
        problems.extend(exc.messages)
        filters = funnel_selectors.funnel_filter_check(scope=scope)
    return form, filters, problems


def dashboard(request):
    """The admin home page: headline, the funnel with its charts, and every table with its XLSX link."""
    scope = scope_for(request.user)
    form, filters, problems = _filters(request, scope)  # another district's data: PermissionDenied (403)
    funnel = funnel_selectors.funnel_for(scope=scope, filters=filters)
    query = request.GET.urlencode()
    tables = {**funnel_tables(funnel), **supervision_tables(scope)}
    labels = funnel_stages.stage_labels()
    charts = {
        "funnel": [{"name": s["label"], "value": s["count"]} for s in funnel["stages"]],
        "daily": {
            "days": [d["day"] for d in funnel["daily"]],
            "series": [
                {"name": labels[k], "data": [d["counts"][k] for d in funnel["daily"]]}
                for k in funnel_stages.stage_keys()[1:]
            ],
        },  # fmt: skip
        "hours": funnel["open_by_hour"],
        "regions": {
            "names": [r["name"] for r in funnel["by_region"]],
            "rates": [_rate(r["counts"]) for r in funnel["by_region"]],
        },
        "sizes": {
            "names": [r["name"] for r in funnel["by_size"]],
            "rates": [_rate(r["counts"]) for r in funnel["by_size"]],
        },
    }
    context = {
        **admin.site.each_context(request),
        "title": "数据看板",
        "scope_label": _scope_label(scope),
        "headline": headline_for(scope=scope),
        "lights": lights_summary(scope=scope),
        "funnel": funnel,
        "form": form,
        "problems": problems,
        "choices": funnel_selectors.funnel_choices(scope=scope),
        "tables": {name: (table, _export_url(name, query)) for name, table in tables.items()},
        "charts": charts,
        "is_district": scope.region_id is not None,
        "deadlines": settings.QUEUE_DEADLINES,
    }
    return TemplateResponse(request, "admin/analytics/dashboard.html", context)


def _rate(counts: dict) -> float | None:
    return round(counts["opened"] / counts["delivered"] * 100, 1) if counts.get("delivered") else None


def _export_url(name: str, query: str) -> str:
    url = reverse("analytics-export", args=[name])
    return f"{url}?{query}" if query else url


def _scope_label(scope) -> str:
    parts = []
    if scope.region_id:
        parts.append(Region.objects.filter(pk=scope.region_id).values_list("name", flat=True).first() or "")
    if scope.department_id:
        parts.append(Department.objects.filter(pk=scope.department_id).values_list("name", flat=True).first() or "")
    return "·".join(p for p in parts if p) or "全市"


def export(request, table: str):
    """One dashboard table as XLSX, for the same filter as the page it was clicked on."""
    section = section_of(table)
    if section is None:
        raise Http404("没有这张表。")
    scope = scope_for(request.user)
    _, filters, _ = _filters(request, scope)
    tables = section_tables(section, scope=scope, filters=filters)
    if table not in tables:
        raise Http404("没有这张表。")
    chosen = tables[table]
    day = timezone.localdate().strftime("%Y%m%d")
    return xlsx_response(filename=f"数据看板-{chosen.title}-{day}.xlsx", tables=[chosen])


def model_index(request):
    """Django's list of every model the account may use, kept one click from the dashboard."""
    return admin.site.index(request, extra_context={"title": "全部功能"})
