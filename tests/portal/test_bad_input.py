"""Hand-made requests to the public pages get a page with a Chinese reason, never a server error."""

import pytest

from policies.models import Policy
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


def test_an_impossible_deadline_window_shows_the_reason_next_to_the_filter(client):
    response = client.get("/policies/", {"deadline_within": "99999999"})
    assert response.status_code == 400
    assert "确保该值小于或等于3650" in response.content.decode()


def test_a_long_query_string_does_not_break_the_policy_page_or_its_qr_code(client):
    policy = PolicyFactory(status=Policy.Status.PUBLISHED)
    response = client.get(f"/policies/{policy.pk}/", {"x": "a" * 3000, "utm_source": "sms"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "本页二维码" in page and "a" * 3000 not in page
    plain = client.get(f"/policies/{policy.pk}/").content.decode()
    qr = page[page.index("<svg") : page.index("</svg>")]
    assert qr == plain[plain.index("<svg") : plain.index("</svg>")]  # the QR code is the page's own address
