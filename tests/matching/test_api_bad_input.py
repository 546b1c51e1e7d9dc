"""Hand-made calls to the package and explanation API get a 4xx with a Chinese reason, never a 500."""

import pytest

from enterprises.identity import SESSION_KEY
from policies.models import Policy
from tests.factories import EnterpriseFactory, PolicyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching")]


@pytest.fixture
def signed_in_firm(client):
    firm = EnterpriseFactory()
    session = client.session
    session[SESSION_KEY] = firm.pk
    session.save()
    return firm


@pytest.fixture
def policy():
    return PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})


@pytest.mark.parametrize("uscc", ["%00", "%00" * 18, "9" * 300, "%E2%80%AE" * 18])
def test_a_malformed_code_is_refused_with_a_reason(client, signed_in_firm, policy, uscc):
    for path in ("package/", f"explain/{policy.pk}/"):
        response = client.get(f"/api/matching/enterprises/{uscc}/{path}")
        assert response.status_code == 400, path
        assert "统一社会信用代码" in response.json()["detail"]


@pytest.mark.parametrize("on", ["0001-01-01", "9999-12-31", "2026-02-30", "%00"])
def test_an_evaluation_date_out_of_range_is_refused_with_a_reason(client, signed_in_firm, policy, on):
    for path in ("package/", f"explain/{policy.pk}/"):
        response = client.get(f"/api/matching/enterprises/{signed_in_firm.uscc}/{path}?on={on}")
        assert response.status_code == 400
        assert "日期" in response.json()["on"]


def test_a_policy_id_past_any_real_one_is_not_found(client, signed_in_firm):
    response = client.get(f"/api/matching/enterprises/{signed_in_firm.uscc}/explain/{'9' * 30}/")
    assert response.status_code == 404


def test_the_firms_own_lower_case_code_still_works(client, signed_in_firm, policy):
    assert client.get(f"/api/matching/enterprises/{signed_in_firm.uscc.lower()}/package/").status_code == 200
