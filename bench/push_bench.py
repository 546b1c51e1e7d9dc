"""One click, the whole city: 1.11M firms qualify for one broad policy; from the launch to the last SMS the
fake platform accepts, with a real Celery worker (2 processes), Redis and PostgreSQL on this machine."""

import os
import secrets
import tempfile
import time
from pathlib import Path

from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from bench.table import cpu_reference_ms, print_table
from notifications.models import Campaign, Message, SmsTemplate
from notifications.services import campaign_launch
from policies.models import Policy
from portal.celery import app
from portal.dev.demo.enterprises import generate_enterprises
from portal.dev.processes import CeleryWorker, FakePlatform, child_env, wait_until

FIRMS = int(os.environ.get("BENCH_ENTERPRISES", 1_110_000))
BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"
ONE_TASK_PER_MESSAGE = 1_000  # messages/s, DOMAIN.md: one Celery task per message on this machine


def run() -> None:
    print(f"\n## push: {FIRMS:,} firms, one broad policy, launch → last SMS accepted by the fake platform")
    reference = cpu_reference_ms()
    started = time.monotonic()
    generate_enterprises(count=FIRMS)
    print(f"[push] seeded {FIRMS:,} firms in {time.monotonic() - started:.0f} s (not timed below)")
    with connection.cursor() as cursor:
        # A city's register is loaded long before a push: autovacuum has been through it and a checkpoint
        # has written it, so neither runs inside the timed push.
        for table in ("enterprises_enterprise", "enterprises_enterprisetag"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("CHECKPOINT")
    policy = Policy.objects.create(title="无锡市普惠性惠企政策（基准）", short_title="普惠补助", level="city",
                                   summary="所有企业均可申报。", status=Policy.Status.PUBLISHED,
                                   published_at=timezone.now(), audience_rule={"all": []})  # fmt: skip
    template = SmsTemplate.objects.create(name="政策包", code="SMS_BENCH", body=BODY)
    campaign = Campaign.objects.create(name="全市推送基准", template=template)
    campaign.policies.set([policy])
    operator = User.objects.create_superuser("bench-operator", password=None)
    scratch = Path(tempfile.mkdtemp(prefix="push-bench-"))
    env = child_env()
    platform = FakePlatform(env).start(scratch / "port")
    # The worker as in production: DEBUG off (no per-query logging), so a webhook secret of its own.
    worker_env = {**env, **platform.backend_env(), "SMS_QUIET_HOURS": "off", "SMS_ALIYUN_QPS": "5000",
                  "DEBUG": "0", "SMS_WEBHOOK_SECRET": secrets.token_urlsafe(24)}  # fmt: skip
    worker = CeleryWorker(worker_env, concurrency=2, log=scratch / "worker.log").start()
    try:
        # Ready when the worker answers a ping (its matching index was built before it forked).
        wait_until(lambda: app.control.ping(timeout=1.0), 300, "worker ready", every=0.5)
        launched = time.time()
        campaign_launch(campaign=campaign, user=operator)
        wait_until(lambda: "messages" in Campaign.objects.get(pk=campaign.pk).plan_report, 600, "planning",
                   every=0.2)  # fmt: skip
        campaign.refresh_from_db()
        seconds = campaign.plan_report["seconds"]
        plan_started = campaign.planned_at.timestamp() - seconds["total"]
        sending_from = plan_started + seconds["first_slice"]  # the first slice committed: sending may begin
        expected = campaign.plan_report["messages"]
        wait_until(lambda: platform.stats()["accepted"] >= expected, 1800, "every SMS accepted", every=0.5)
        stats = platform.stats()
        last = stats["last_accept_at"]
    finally:
        worker.stop()
        platform.stop()
    report = campaign.plan_report
    sent = Message.objects.filter(campaign=campaign, status="sent").count()
    total = last - launched
    rate = stats["accepted"] / (last - sending_from)
    excluded = ", ".join(f"{k} {v:,}" for k, v in report["excluded"].items())
    print_table(
        [
            ("stage", "seconds", "detail"),
            ("queue to a planning worker", f"{plan_started - launched:.1f}", "launch click → task"),
            ("audience (bitmap index)", f"{seconds['audience']:.1f}", f"{report['pairs']:,} (firm, policy) pairs"),
            ("exclusions", f"{seconds['exclusions']:.1f}", excluded),
            ("first slice committed", f"{seconds['first_slice']:.1f}", "from the task's start: sending begins"),
            ("planning, all slices", f"{seconds['write']:.1f}", f"{expected:,} messages, overlapping dispatch"),
            ("dispatch", f"{last - sending_from:.1f}",
             f"first slice → last accepted: {stats['accepted']:,}, {rate:,.0f}/s"),
            ("total: launch → last accepted", f"{total:.1f}", "target ≤ 60 s"),
        ]
    )  # fmt: skip
    print(f"{sent:,} messages sent, {stats['accepted']:,} accepted by the platform, "
          f"{stats['rejected_signatures']} signatures refused; {expected / total:,.0f} messages/s end to end. "
          f"One task per message (~{ONE_TASK_PER_MESSAGE:,}/s) would need "
          f"≈{expected / ONE_TASK_PER_MESSAGE / 60:.0f} min.")  # fmt: skip
    print(f"CPU reference (bench.table.cpu_reference_ms): {reference} ms before, {cpu_reference_ms()} ms after.")
