"""The portal's URLs plus the yardstick: a bare view that reads one firm by primary key."""

from django.http import HttpResponse
from django.urls import path

from enterprises.models import Enterprise
from portal.urls import urlpatterns as portal_urlpatterns


def bare(request, pk: int):
    return HttpResponse(Enterprise.objects.only("name").get(pk=pk).name)


urlpatterns = [path("bench/firm/<int:pk>", bare), *portal_urlpatterns]
