"""API for the enterprise side: the portrait-tag taxonomy (read-only, public)."""

from rest_framework import serializers, viewsets

from enterprises.models import PortraitTag


class PortraitTagSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")

    class Meta:
        model = PortraitTag
        fields = ["code", "name", "kind", "category_code", "category_name"]


class PortraitTagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = PortraitTag.objects.filter(is_active=True).select_related("category")
    serializer_class = PortraitTagSerializer
    lookup_field = "code"
    filterset_fields = {"category__code": ["exact"], "kind": ["exact"], "name": ["icontains"]}
