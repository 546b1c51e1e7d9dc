"""数据看板: the admin home page for staff, within their scope, and its XLSX downloads. Thin: the figures come
from the selectors (rollups only), the tables from ``tables``."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from core.models import Region
from enterprises.models import Enterprise
from policies.models import Department, Level
from policies.scope import OUT_OF_SCOPE, scope_for
from portal.analytics import stages as funnel_stages
from portal.analytics.exports import Table, xlsx_response
from portal.analytics.selectors import coverage as coverage_selectors
from portal.analytics.selectors import funnel as funnel_selectors
from portal.analytics.selectors.headline import headline_for
from portal.analytics.selectors.supervision import supervision_for
from portal.analytics.tables import (
    coverage_tables,
    funnel_tables,
    gaps_tables,
    section_of,
    section_tables,
    supervision_tables,
)

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
    coverage = coverage_selectors.coverage_for(scope=scope)
    tables = {
        **funnel_tables(funnel),
        **coverage_tables(scope, coverage),
        **gaps_tables(scope, coverage),
        **supervision_tables(scope),
    }
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
    charts["extra"] = [_matrix_chart(coverage, scope), _gaps_chart(tables["gaps-fields"])]
    context = {
        **admin.site.each_context(request),
        "title": "数据看板",
        "scope_label": _scope_label(scope),
        "headline": headline_for(scope=scope),
        "lights": supervision_for(scope=scope).summary,
        "funnel": funnel,
        "coverage": coverage,
        "uncovered_regions": _uncovered_links(coverage),
        "form": form,
        "problems": problems,
        "choices": funnel_selectors.funnel_choices(scope=scope),
        "tables": {name: (table, _export_url(name, query)) for name, table in tables.items()},
        "charts": charts,
        "is_district": scope.region_id is not None,
        "deadlines": settings.QUEUE_DEADLINES,
    }
    return TemplateResponse(request, "admin/analytics/dashboard.html", context)


MATRIX_POLICIES = 15


def _matrix_chart(coverage: dict, scope) -> dict:
    """A heat map of audiences: the largest open policies × districts."""
    names = coverage_selectors.region_names()
    policies = coverage["policies"][:MATRIX_POLICIES]
    regions = sorted({r for p in policies for r in p["by_region"] if r is not None}, key=lambda r: names.get(r, ""))
    if scope.region_id is not None:
        regions = [scope.region_id]
    cells = [[x, y, p["by_region"].get(r, 0)] for y, p in enumerate(policies) for x, r in enumerate(regions)]
    top = max((c[2] for c in cells), default=0)
    return {"id": "chart-matrix", "option": {
        "tooltip": {"position": "top"},
        "grid": {"left": 190, "right": 16, "top": 8, "bottom": 96},
        "xAxis": {"type": "category", "data": [names.get(r, "") for r in regions], "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "category", "inverse": True, "axisLabel": {"width": 180, "overflow": "truncate"},
                  "data": [p["title"] for p in policies]},
        "visualMap": {"min": 0, "max": top or 1, "calculable": True, "orient": "horizontal", "left": "center",
                      "bottom": 0, "inRange": {"color": ["#f1f6fb", "#1f5fa8"]}},
        "series": [{"type": "heatmap", "name": "符合条件企业", "data": cells, "label": {"show": len(regions) <= 9}}],
    }}  # fmt: skip


def _gaps_chart(table) -> dict:
    rows = list(table.rows)
    return {"id": "chart-gaps", "option": {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 130, "right": 48, "top": 8, "bottom": 24},
        "xAxis": {"type": "value", "max": 100, "name": "%"},
        "yAxis": {"type": "category", "inverse": True, "data": [r[0] for r in rows]},
        "series": [{"type": "bar", "name": "缺失占比", "itemStyle": {"color": "#e6a23c"},
                    "data": [round(float(r[2]) * 100, 1) if r[2] is not None else 0 for r in rows],
                    "label": {"show": True, "position": "right", "formatter": "{c}%"}}],
    }}  # fmt: skip


def _uncovered_links(coverage: dict) -> list[dict]:
    names, codes = coverage_selectors.region_names(), coverage_selectors.region_codes()
    rows = sorted(coverage["no_open_policy_by_region"].items(), key=lambda kv: -kv[1])
    return [{"name": names.get(r, "区县未知"), "code": codes.get(r, ""), "count": n} for r, n in rows if r is not None]


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


UNCOVERED_PAGE = 50


def uncovered(request):
    """The firms no open policy reaches: a paged list within the scope (by district, size, industry section),
    and the whole list as XLSX."""
    scope = scope_for(request.user)
    region = request.GET.get("region") or ""
    region_id = None
    if region:
        region_id = Region.objects.filter(code=region).values_list("pk", flat=True).first()
        if region_id is None:
            raise Http404("未知的区县。")
    if scope.region_id is not None:
        if region_id is not None and region_id != scope.region_id:
            raise PermissionDenied(OUT_OF_SCOPE)
        region_id = scope.region_id
    size = request.GET.get("size")
    size = size if size in {*Enterprise.Size.values, ""} and "size" in request.GET else None
    section = request.GET.get("section") or None
    section = section if section in coverage_selectors.section_names() else None
    header = ["统一社会信用代码", "企业名称", "区县", "企业规模", "行业代码", "成立日期"]
    if request.GET.get("format") == "xlsx":
        _, firms = coverage_selectors.uncovered_firms(
            scope=scope, region_id=region_id, size=size, section=section, limit=None
        )
        rows = ((f["uscc"], f["name"], f["region"], f["size"], f["industry"], f["founded_on"]) for f in firms)
        day = timezone.localdate().strftime("%Y%m%d")
        return xlsx_response(filename=f"无政策覆盖企业-{day}.xlsx", tables=[Table("无政策覆盖企业", header, rows)])
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    filters = {"scope": scope, "region_id": region_id, "size": size, "section": section}
    total, firms = coverage_selectors.uncovered_firms(
        **filters, offset=(page - 1) * UNCOVERED_PAGE, limit=UNCOVERED_PAGE
    )
    query = request.GET.copy()
    query.pop("page", None)
    pages = max(1, -(-total // UNCOVERED_PAGE))
    context = {
        **admin.site.each_context(request),
        "title": "无政策覆盖的企业",
        "firms": list(firms),
        "total": total,
        "page": page,
        "pages": pages,
        "query": query.urlencode(),
        "region_name": coverage_selectors.region_names().get(region_id, "全市") if region_id else "全市",
        "size_name": coverage_selectors.SIZE_LABELS.get(size, "") if size is not None else "",
        "section_name": f"{section} {coverage_selectors.section_names().get(section, '')}" if section else "",
    }
    return TemplateResponse(request, "admin/analytics/uncovered.html", context)
