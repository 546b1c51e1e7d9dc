"""API fuzzing: every operation of the OpenAPI schema (/api/schema/), called with generated valid and
invalid input by staff and by a signed-in enterprise, must never answer with a server error.

schemathesis generates the requests from the schema; hypothesis runs them derandomized (the same
examples on every run) and in a bounded number, so the whole run takes about a minute. Requests go
in-process through Django's real WSGI handler, inside the test's transaction.
"""

import json

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings

from core.tokens import SCOPES, integration_token_create
from enterprises.identity import SESSION_KEY
from enterprises.importing.jobs import import_job_run
from enterprises.models import EnterpriseTag, ImportJob, PortraitTag
from policies.models import Policy
from tests.factories import EnterpriseFactory, PolicyFactory

APP = WSGIHandler()
with override_settings(ALLOWED_HOSTS=["localhost"]):  # the in-process client's host, whatever the environment says
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP)
EXAMPLES = 40  # per operation and role (after schemathesis's own boundary cases): about a minute in all
# Bulk imports whose job is run too. In a test they all share one transaction, whose temporary tables hold
# locks until it ends; a worker runs each import in a transaction of its own.
MAX_JOBS = 25


@schemathesis.serializer("application/x-ndjson")
def json_lines(context, value) -> bytes:
    """The bulk body: one JSON object per line (the schema describes the lines as an array)."""
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(item, ensure_ascii=False) for item in items).encode()


@pytest.fixture
def in_process(db, settings, tmp_path):
    """The WSGI handler runs inside the test's transaction: it must not close the connection at the end
    of each request, as it does between real requests. Uploaded bodies go to a temporary media root."""
    settings.MEDIA_ROOT = tmp_path
    settings.ALLOWED_HOSTS = ["localhost"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(in_process):
    """A firm with tags, a published policy that it qualifies for, and one it does not."""
    firm = EnterpriseFactory()
    EnterpriseTag.objects.create(enterprise=firm, tag=PortraitTag.objects.get(code="QUAL01"), source="staff")
    open_policy = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": [{"tag": "QUAL01"}]})
    PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": [{"field": "region", "op": "in",
                                                                          "value": ["320211"]}]})  # fmt: skip
    return {"uscc": firm.uscc, "firm_id": firm.pk, "policy_id": open_policy.pk, "jobs_run": 0}


@pytest.fixture(params=["staff", "enterprise"])
def caller(request, world) -> dict:
    """How a request is authenticated: a superuser's API token, or a firm's signed-in session."""
    if request.param == "staff":
        admin = User.objects.create_superuser("fuzz-admin", "fuzz@example.invalid", "pw-for-tests-only")
        _, key = integration_token_create(name="fuzz", user=admin, scopes=list(SCOPES))
        return {"headers": {"Authorization": f"Token {key}"}, "cookies": {}}
    session = SessionStore()
    session[SESSION_KEY] = world["firm_id"]
    session.create()
    return {"headers": {}, "cookies": {"sessionid": session.session_key}}


def _with_real_objects(case, world):
    """The same case again, aimed at objects that exist, so the code behind the lookups runs too."""
    real = {"uscc": world["uscc"], "policy_id": world["policy_id"], "id": world["policy_id"]}
    parameters = dict(case.path_parameters or {})
    if not set(parameters) & set(real):
        return None
    parameters.update({name: real[name] for name in parameters if name in real})
    return parameters


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(case, caller, world):
    label = f"{case.method} {case.path}"
    response = case.call(headers=caller["headers"], cookies=caller["cookies"])
    assert response.status_code < 500, f"{label} → {response.status_code}\n{case.as_curl_command()}"
    if response.status_code == 202 and world["jobs_run"] < MAX_JOBS:  # a bulk import: run it as the worker would
        world["jobs_run"] += 1
        job = import_job_run(job_id=response.json()["job"])
        assert job.status == ImportJob.Status.SUCCEEDED or not job.message.startswith("导入出错"), job.message
    real = _with_real_objects(case, world)
    if real is not None:
        case.path_parameters = real
        response = case.call(headers=caller["headers"], cookies=caller["cookies"])
        assert response.status_code < 500, f"{label} → {response.status_code}\n{case.as_curl_command()}"
