"""Enterprise-facing pages. Published policies are public; nothing here is per-firm yet."""

from django.core.cache import cache
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import render

from policies import selectors
from policies.models import Policy


def home(request):
    policies = selectors.policy_list()
    return render(request, "portal/home.html", {"policies": policies[:20], "total": policies.count()})


def policy_detail(request, pk: int):
    try:
        policy = selectors.policy_detail(pk=pk)
    except Policy.DoesNotExist:
        raise Http404("政策不存在或尚未发布") from None
    return render(request, "policies/policy_detail.html", {"policy": policy})


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
