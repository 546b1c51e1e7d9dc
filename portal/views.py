"""Enterprise-facing pages. Published policies are public; nothing here is per-firm yet."""

from django.http import Http404
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
