"""The policy's add and change pages stay light: a bounded number of queries, whatever the number of labels,
departments and enterprises (the page once made ~1,000 queries and took over a second)."""

import pytest
from django.urls import reverse

from policies.models import Department, PolicyLabel
from portal.dev.demo.enterprises import generate_enterprises
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_policy(db):
    """A policy with many labels and departments, among a few thousand enterprises."""
    generate_enterprises(count=2000)
    return PolicyFactory(
        labels=list(PolicyLabel.objects.order_by("code")[:8]),
        departments=list(Department.objects.order_by("code")[:3]),
        audience_rule={"all": [{"tag": "QUAL01"}, {"not": {"tag": "QUAL02"}}]},
    )


def test_the_add_page_makes_a_handful_of_queries(client, editor, django_assert_max_num_queries):
    client.force_login(editor)
    client.get(reverse("admin:policies_policy_add"))  # the session and content types settle
    with django_assert_max_num_queries(7):  # session, user, permissions ×2, tag options once, districts
        page = client.get(reverse("admin:policies_policy_add")).content.decode()
    assert page.count('<option value="QUAL01">资质认定·高新技术企业</option>') == 3  # all three pickers filled


def test_the_change_page_query_count_does_not_grow_with_labels(
    client, editor, busy_policy, django_assert_max_num_queries
):
    client.force_login(editor)
    url = reverse("admin:policies_policy_change", args=[busy_policy.pk])
    client.get(url)
    with django_assert_max_num_queries(14):
        page = client.get(url).content.decode()
    assert '<option value="QUAL01" selected>资质认定·高新技术企业</option>' in page  # the rule is shown in the builder
    for label in busy_policy.labels.all():
        assert str(label) in page  # chosen labels read "category·name"


def test_the_label_autocomplete_loads_categories_with_labels(client, editor, django_assert_max_num_queries):
    client.force_login(editor)
    url = "/admin/autocomplete/?app_label=policies&model_name=policy&field_name=labels&term="
    with django_assert_max_num_queries(8):
        results = client.get(url).json()["results"]
    assert len(results) == 20 and all("·" in r["text"] for r in results)
