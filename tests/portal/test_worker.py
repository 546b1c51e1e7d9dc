import datetime

import pytest
from django.utils import timezone

from policies.models import Policy
from policies.tasks import expire_policies
from tests.factories import PolicyFactory


@pytest.mark.slow
def test_a_real_worker_runs_the_daily_expiry(celery_worker_process):
    stale = PolicyFactory(status=Policy.Status.PUBLISHED, valid_until=timezone.localdate() - datetime.timedelta(days=3))
    result = expire_policies.apply_async(queue=celery_worker_process)
    assert result.get(timeout=60) == 1
    stale.refresh_from_db()
    assert stale.status == Policy.Status.EXPIRED
