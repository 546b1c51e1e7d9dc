"""Public pages: the home page, browsing and searching published policies, a policy's page, health."""

from __future__ import annotations

import segno
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from policies import selectors
from policies.api import PolicyFilter
from policies.models import Policy
from portal import selectors as portal_selectors

PAGE_SIZE = 20


def home(request):
    policies = selectors.policy_list().order_by("-published_at", "-id")
    return render(request, "portal/home.html", {"policies": policies[:10], "total": policies.count()})


def policy_browse(request):
    """All published policies: filters, Chinese keyword search, sorting, pages."""
    filterset = PolicyFilter(request.GET, queryset=selectors.policy_list().order_by("-published_at", "-id"))
    filterset.form.fields.pop("status")  # staff only, in the API
    valid = filterset.is_valid()
    queryset = filterset.qs.distinct() if valid else Policy.objects.none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filtered = any(v for k, v in request.GET.items() if k not in {"q", "sort", "page"})
    context = {"filter": filterset, "page": page, "query": query.urlencode(), "filtered": filtered}
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
    return render(
        request,
        "policies/policy_detail.html",
        {
            "policy": policy,
            "related": portal_selectors.related_policies(policy=policy),
            "qr": qr,
            "url": url,
        },
    )


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
