"""Public pages: the home page, browsing and searching published policies, a policy's page, the error pages,
health."""

from __future__ import annotations

import segno
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.safestring import mark_safe

from enterprises.identity import current_enterprise_id
from policies import selectors
from policies.api import ALL_WINDOWS, WINDOWS, PolicyFilter
from policies.models import Policy, Window
from portal import selectors as portal_selectors

PAGE_SIZE = 20


def home(request):
    published = selectors.policy_list()
    policies = selectors.policies_open_first(published, F("published_at").desc(nulls_last=True), "-id")
    return render(request, "portal/home.html", {"policies": policies[:10], "total": published.count()})


# Filters shown as removable chips above the results, in this order, with how each names its value.
CHIP_FIELDS = ["q", "window", "level", "delivery", "label_category", "label", "department", "region", "deadline_within"]
MORE_FILTERS = ["level", "delivery", "label_category", "label", "department", "region", "deadline_within"]
WINDOW_CHIPS = {Window.OPEN: "只看可申报", Window.UPCOMING: "只看未开始", Window.CLOSED: "只看已截止"}


def _chips(data, choices: portal_selectors.BrowseChoices) -> list[dict]:
    """The filters in force, each with its words and the address of the same search without it."""
    chips = []
    for field in CHIP_FIELDS:
        for value in data.getlist(field):
            if not value or (field == "window" and value == ALL_WINDOWS):
                continue
            if field == "q":
                words = f"关键词：{value}"
            elif field == "window":
                words = WINDOW_CHIPS.get(value, value)
            elif field == "level":
                words = dict(Policy.Level.choices).get(value, value)
            elif field == "delivery":
                words = dict(Policy.Delivery.choices).get(value, value)
            elif field == "deadline_within":
                words = f"{value} 天内截止"
            else:
                words = choices.name_of(field, value)
            without = data.copy()
            without.setlist(field, [v for v in data.getlist(field) if v != value])
            if field == "window":
                without[field] = ALL_WINDOWS  # the default is 只看可申报; removing it shows every policy
            without.pop("page", None)
            chips.append({"words": words, "url": "?" + without.urlencode()})
    return chips


def policy_browse(request):
    """All published policies: filters picked by name, Chinese keyword search with synonyms, sorting, pages.
    Only policies open for application are shown until the visitor removes that filter."""
    data = request.GET.copy()
    data.setdefault("window", Window.OPEN)
    ordered = selectors.policies_open_first(selectors.policy_list(), F("published_at").desc(nulls_last=True), "-id")
    filterset = PolicyFilter(data, queryset=ordered)
    for staff_or_api_only in ("status", "window_open"):
        filterset.form.fields.pop(staff_or_api_only)
    valid = filterset.is_valid()
    queryset = filterset.qs.distinct() if valid else Policy.objects.none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = data.copy()
    query.pop("page", None)
    choices = portal_selectors.browse_choices()
    chips = _chips(data, choices)
    context = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "choices": choices,
        "chips": chips,
        "windows": WINDOWS,
        "window": data.get("window"),
        "picked": {field: data.getlist(field) for field in MORE_FILTERS},
        "more_count": sum(1 for field in MORE_FILTERS for value in data.getlist(field) if value),
        "errors": not valid,
    }
    # An impossible filter is answered with the reason next to the field (and a 400, as for any bad form).
    return render(request, "portal/browse.html", context, status=200 if valid else 400)


def policy_detail(request, pk: int):
    try:
        policy = selectors.policy_detail(pk=pk)
    except Policy.DoesNotExist:
        raise Http404("政策不存在或尚未发布") from None
    # The page's own address, without whatever query string the visitor came with (a QR code holds ~2 KB).
    url = request.build_absolute_uri(request.path)
    qr = mark_safe(segno.make(url, error="m").svg_inline(scale=4, title="本页二维码"))  # noqa: S308 - our own SVG
    enterprise_id = current_enterprise_id(request)
    return render(
        request,
        "policies/policy_detail.html",
        {
            "policy": policy,
            "related": portal_selectors.related_policies(policy=policy),
            "qr": qr,
            "url": url,
            # A signed-in enterprise is told whether it qualifies, and which conditions it does not meet.
            "fit": portal_selectors.policy_fit(enterprise_id=enterprise_id, policy=policy) if enterprise_id else None,
        },
    )


def page_not_found(request, exception=None):
    """The project's 404 page: what happened in plain words and the ways back (with DEBUG on, Django shows
    its technical page instead)."""
    reason = exception.args[0] if exception and exception.args and isinstance(exception.args[0], str) else ""
    # Only our own Chinese reasons ("政策不存在或尚未发布"); Django's own are English and name internals.
    if not any("\u4e00" <= ch <= "\u9fff" for ch in reason):
        reason = ""
    return render(request, "404.html", {"reason": reason}, status=404)


def server_error(request):
    """The project's 500 page, rendered without the database or the session (either may be what failed)."""
    return HttpResponseServerError(loader.get_template("500.html").render({}))


def healthz(request):
    """Liveness for the load balancer and compose: the database and Redis answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("healthz", "1", 5)
        checks["redis"] = "ok" if cache.get("healthz") == "1" else "error"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
