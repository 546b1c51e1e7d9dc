"""Integration tokens: stored hashed, expiring, revocable, limited to scopes, every use recorded — and a token
that may import the register cannot change a mobile (and so receive that firm's sign-in code) without the
contacts scope."""

import datetime
import json

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client

from core.models import IntegrationToken, IntegrationTokenUse
from core.tokens import integration_token_create, integration_token_revoke
from enterprises.models import Enterprise
from tests.factories import EnterpriseFactory, UserFactory, make_uscc, token_header

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def system():
    user = UserFactory(username="tax-bureau", is_staff=False)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="enterprises", codename__in=["add_importjob", "view_enterprise"]
        )
    )
    return user


def auth(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_only_a_digest_is_stored_and_the_key_works_until_it_expires_or_is_revoked(client, system):
    token, key = integration_token_create(name="税务同步", user=system, scopes=["register:read"], days=30)
    stored = IntegrationToken.objects.get()
    assert key not in json.dumps(list(IntegrationToken.objects.values())[0], default=str)
    assert len(stored.key_hash) == 64 and key.startswith(f"hq_{stored.prefix}_")
    assert client.get("/api/enterprises/", **auth(key)).status_code == 200
    wrong = client.get("/api/enterprises/", **auth(key[:-1] + "x"))
    assert wrong.status_code == 403 and wrong.json()["detail"] == "令牌无效。"
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=31)):
        expired = client.get("/api/enterprises/", **auth(key))
    assert expired.status_code == 403 and "令牌已过期" in expired.json()["detail"]
    integration_token_revoke(token=token)
    revoked = client.get("/api/enterprises/", **auth(key))
    assert revoked.status_code == 403 and "令牌已吊销" in revoked.json()["detail"]


def test_a_token_is_refused_outside_its_scopes_and_every_use_is_recorded(client, system):
    _, key = integration_token_create(name="只读", user=system, scopes=["register:read"])
    assert client.get("/api/enterprises/", **auth(key)).status_code == 200
    refused = client.post("/api/enterprises/bulk/", "{}", content_type="application/x-ndjson", **auth(key))
    assert refused.status_code == 403 and "register:write" in refused.json()["detail"]
    # A view that names no scopes (staff-only matching) refuses every token, whatever its user may do.
    assert client.post("/api/matching/dry-run/", {"rule": {"all": []}}, content_type="application/json",
                       **auth(key)).status_code == 403  # fmt: skip
    [use] = IntegrationTokenUse.objects.all()
    assert (use.method, use.path, use.scope) == ("GET", "/api/enterprises/", "register:read")
    assert IntegrationToken.objects.get().last_used_at is not None


def test_changing_a_mobile_through_the_api_needs_the_contacts_scope(client, system, django_capture_on_commit_callbacks):
    firm = EnterpriseFactory(contact_mobile="13900000001")
    line = json.dumps({"uscc": firm.uscc, "name": firm.name, "mobile": "13811112222"}, ensure_ascii=False)
    new = json.dumps(
        {"uscc": make_uscc(777), "name": "无锡新登记有限公司", "mobile": "13833334444"}, ensure_ascii=False
    )

    def push(*scopes):
        headers = token_header(system, *scopes)
        with django_capture_on_commit_callbacks(execute=True):
            url = Client().post("/api/enterprises/bulk/", f"{line}\n{new}", content_type="application/x-ndjson",
                                **headers).json()["url"]  # fmt: skip
        return Client().get(url, **headers).json()

    without = push("register:write")
    assert without["status"] == "succeeded" and any("register:write-contacts" in w for w in without["warnings"])
    assert Enterprise.objects.get(pk=firm.pk).contact_mobile == "13900000001"  # unchanged: no takeover
    assert Enterprise.objects.get(uscc=make_uscc(777)).contact_mobile == ""
    push("register:write", "register:write-contacts")
    assert Enterprise.objects.get(pk=firm.pk).contact_mobile == "13811112222"


def test_staff_create_a_token_in_the_admin_see_the_key_once_and_can_revoke_but_not_delete(system):
    staff = Client()
    staff.force_login(UserFactory(username="root", is_superuser=True))
    page = staff.post(
        "/admin/core/integrationtoken/add/",
        {"name": "市场监管同步", "user": system.pk, "scopes": ["register:read"], "days": "90",
         "uses-TOTAL_FORMS": "0", "uses-INITIAL_FORMS": "0"},
        follow=True,
    ).content.decode()  # fmt: skip
    token = IntegrationToken.objects.get(name="市场监管同步")
    assert "只显示这一次" in page and f"hq_{token.prefix}_" in page
    assert f"hq_{token.prefix}_" not in staff.get(f"/admin/core/integrationtoken/{token.pk}/change/").content.decode()
    staff.post("/admin/core/integrationtoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert IntegrationToken.objects.get(pk=token.pk).revoked_at is not None
    assert staff.post(f"/admin/core/integrationtoken/{token.pk}/delete/", {"post": "yes"}).status_code == 403
