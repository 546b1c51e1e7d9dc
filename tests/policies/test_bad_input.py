"""Hand-made policy queries get a Chinese reason, never a server error."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["1e10", "99999999", "-1", "Infinity", "NaN"])
def test_an_impossible_deadline_window_is_refused_with_a_reason(client, value):
    response = client.get("/api/policies/", {"deadline_within": value})
    assert response.status_code == 400
    [reason] = response.json()["deadline_within"]
    assert any(word in reason for word in ("小于或等于", "大于或等于", "数字"))


def test_a_deadline_window_of_up_to_ten_years_still_filters(client):
    assert client.get("/api/policies/", {"deadline_within": "3650"}).status_code == 200
