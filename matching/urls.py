from django.urls import path

from matching import api, views

urlpatterns = [
    path("matching/rule-preview/", views.rule_builder_preview, name="matching-rule-preview"),
    path("matching/dry-run/", api.DryRunView.as_view(), name="matching-dry-run"),
    path("matching/policies/<int:pk>/audience/", api.PolicyAudienceView.as_view(), name="matching-audience"),
    path("matching/enterprises/<str:uscc>/package/", api.PackageView.as_view(), name="matching-package"),
    path(
        "matching/enterprises/<str:uscc>/explain/<int:policy_id>/", api.ExplainView.as_view(), name="matching-explain"
    ),
]
