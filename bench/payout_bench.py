"""兑现 at city scale: freezing a 免申即享 round of 400,000+ firms, the finance export of its list, and a
million application states through the API, each next to the naive row-by-row way on a sample."""

import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from bench.table import cpu_reference_ms, print_table
from enterprises.models import Enterprise
from matching.index import get_index
from matching.selectors import explain_match
from notifications.models import SmsTemplate
from policies.models import Department, Policy
from portal.dev.demo.enterprises import generate_enterprises
from portal.payouts import notices, publicity, services
from portal.payouts.crypto import encrypt
from portal.payouts.models import Application, ApplicationEvent, ApplicationReporter, PayoutEntry, PayoutRound
from portal.payouts.models import PayoutStandard as Standard

FIRMS = int(os.environ.get("BENCH_ENTERPRISES", 1_110_000))
LINES = int(os.environ.get("BENCH_APPLICATION_LINES", 1_000_000))
BATCH = int(os.environ.get("BENCH_APPLICATION_BATCH", 100_000))  # lines per API request
SAMPLE = int(os.environ.get("BENCH_NAIVE_SAMPLE", 2_000))
BROAD = {"all": [{"tag": "SIZE05"}, {"not": {"tag": "XYHG03"}}, {"field": "employees", "op": "gte", "value": 10}]}


def run() -> None:
    print(
        f"\n## payout: {FIRMS:,} firms — freeze a 免申即享 round, export it for finance, {LINES:,} application states"
    )
    reference = cpu_reference_ms()
    started = time.monotonic()
    generate_enterprises(count=FIRMS)
    with connection.cursor() as cursor:
        for table in ("enterprises_enterprise", "enterprises_enterprisetag"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    print(f"[payout] seeded {FIRMS:,} firms in {time.monotonic() - started:.0f} s (not timed)")
    staff = User.objects.create_superuser("bench-payout", password=None)
    checker = User.objects.create_superuser("bench-checker", password=None)
    policy = Policy.objects.create(
        title="无锡市中小企业营收奖励（免申即享，基准）",
        short_title="营收奖励",
        level="city",
        summary="基准",
        status=Policy.Status.PUBLISHED,
        published_at=timezone.now(),
        audience_rule=BROAD,
        delivery=Policy.Delivery.NO_APPLICATION,
    )
    Standard.objects.create(
        policy=policy,
        kind=Standard.Kind.SHARE,
        basis=Standard.Basis.ANNUAL_REVENUE,
        rate_percent=Decimal("1"),
        cap=Decimal("200000"),
        rounding_unit=Decimal("100"),
    )
    started = time.monotonic()
    get_index()
    print(f"[payout] matching index built in {time.monotonic() - started:.1f} s (not timed: every process holds one)")
    rows = [("measurement", "result", "naive comparison")]

    # 1. Freeze.
    started = time.perf_counter()
    round_ = services.round_open(policy=policy, user=staff)
    freeze = time.perf_counter() - started
    audience = round_.listed_count + round_.excluded_count
    naive = _naive_freeze(policy, SAMPLE)
    rows.append(
        (
            f"freeze a round: {audience:,} firms with amounts + explanation facts",
            f"{freeze:.1f} s",
            f"ORM row by row, {SAMPLE:,}-firm sample: {naive * 1000:.2f} ms/firm → ≈{naive * audience:,.0f} s",
        )
    )

    # 2. Export: confirm everyone with an encrypted account (setup), 公示 over, then each format in a child.
    _confirm_all(round_)
    services.round_submit(round_=round_, user=staff)
    PayoutRound.objects.filter(pk=round_.pk).update(
        status=PayoutRound.Status.PUBLICITY,
        publicity_start=timezone.localdate() - timezone.timedelta(days=10),
        publicity_end=timezone.localdate() - timezone.timedelta(days=1),
        approved_by=checker,
    )
    round_ = publicity.round_to_finance(round_=PayoutRound.objects.get(pk=round_.pk), user=staff)
    scratch = Path(tempfile.mkdtemp(prefix="payout-bench-"))
    for fmt in ("xlsx", "csv"):
        seconds, count, peak, base = _export_in_child(round_, fmt, scratch / f"list.{fmt}")
        size = (scratch / f"list.{fmt}").stat().st_size / 1e6
        comparison = _naive_export(round_, min(SAMPLE * 10, count)) if fmt == "xlsx" else "-"
        rows.append(
            (
                f"finance export {fmt.upper()}: {count:,} rows ({size:,.0f} MB)",
                f"{seconds:.1f} s, peak RSS {peak:,.0f} MB (+{peak - base:,.0f})",
                comparison,
            )
        )

    # 3. Application states through the API, in requests of BATCH lines.
    client, policies = _integration_client()
    firms = list(Enterprise.objects.order_by("id").values_list("uscc", flat=True)[:400_000])
    bodies = list(_ndjson_batches(firms, policies))
    started = time.perf_counter()
    accepted = refused = 0
    for body in bodies:
        answer = client.post("/api/applications/", data=body, content_type="application/x-ndjson").json()
        accepted, refused = accepted + answer["accepted"], refused + answer["refused"]
    api = time.perf_counter() - started
    events = ApplicationEvent.objects.count()
    naive_apps = _naive_applications(firms, policies, min(SAMPLE, 5_000))
    rows.append(
        (
            f"{LINES:,} application lines via POST /api/applications/ ({len(bodies)} requests)",
            f"{api:.1f} s ({LINES / api:,.0f} lines/s), {accepted:,} recorded, {refused:,} refused",
            f"ORM per line: {naive_apps * 1e6:,.0f} µs/line → ≈{naive_apps * LINES:,.0f} s",
        )
    )
    assert events == accepted, (events, accepted)

    # 4. 办理进度: each reported change considered once for an SMS. These states are months old (a department
    # loading its history), so all are marked and nobody is texted; the claim is the same for fresh ones.
    SmsTemplate.objects.create(
        name="办理进度", code=settings.SMS_APPLICATION_TEMPLATE, kind=SmsTemplate.Kind.NOTICE,
        body="{企业简称}：您申报的“{政策简称}”办理进度有更新，详情请点击 {link} 查看。",
    )  # fmt: skip
    untold = Application.objects.exclude(notified_status=F("status")).count()
    naive_notice = _naive_notices(min(SAMPLE, 5_000))
    started = time.perf_counter()
    campaigns = notices.applications_notify()
    seconds = time.perf_counter() - started
    left = Application.objects.exclude(notified_status=F("status")).count()
    rows.append(
        (
            f"办理进度 SMS pass: {untold:,} changed applications considered (history: none texted)",
            f"{seconds:.1f} s, {len(campaigns)} pushes, {left:,} left",
            f"ORM per application: {naive_notice * 1e6:,.0f} µs → ≈{naive_notice * untold:,.0f} s",
        )
    )
    print_table(rows)
    print(f"CPU reference {reference} ms before, {cpu_reference_ms()} ms after (bench.table.cpu_reference_ms)")


def _naive_freeze(policy: Policy, sample: int) -> float:
    """The obvious way: for each firm of the audience, its explanation, its amount in Python, one INSERT."""
    ids = list(get_index().audience(policy.audience_rule, timezone.localdate()))[:sample]
    round_ = PayoutRound.objects.create(policy=policy, name="naive", frozen_on=timezone.localdate())
    started = time.perf_counter()
    with transaction.atomic():
        for pk in ids:
            firm = Enterprise.objects.get(pk=pk)
            explanation = explain_match(enterprise_id=pk, policy=policy)
            amount = None if firm.annual_revenue is None else min(firm.annual_revenue * 100, Decimal(200000))
            PayoutEntry.objects.create(
                round=round_,
                enterprise_id=pk,
                amount=amount,
                facts={"lines": [line.actual for line in explanation.leaves]},
            )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    PayoutRound.objects.filter(pk=round_.pk).delete()
    return elapsed / max(len(ids), 1)


def _confirm_all(round_: PayoutRound) -> None:
    tokens = [encrypt(f"6222{n:015d}") for n in range(1000)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PayoutEntry._meta.db_table} SET status = %s, bank_name = '中国银行无锡分行', "
            "account_encrypted = (%s::text[])[1 + id %% 1000], account_last4 = right(id::text, 4) "
            "WHERE round_id = %s AND status = %s",
            [PayoutEntry.Status.CONFIRMED, tokens, round_.pk, PayoutEntry.Status.LISTED],
        )
        cursor.execute(f"VACUUM (ANALYZE) {PayoutEntry._meta.db_table}")


def _export_in_child(round_: PayoutRound, fmt: str, path: Path) -> tuple[float, int, float, float]:
    s = connection.settings_dict
    url = f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or ''}:{s['PORT'] or 5432}/{s['NAME']}"
    if str(s["HOST"]).startswith("/"):
        url = f"postgres://{s['USER']}@/{s['NAME']}?host={s['HOST']}"
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, "-m", "bench.payout_export", str(round_.pk), fmt, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1]), float(out[2]), float(out[3])


def _naive_export(round_: PayoutRound, sample: int) -> str:
    """openpyxl's ordinary (in-memory) workbook filled from ORM objects, on a sample: time and memory grow
    with the rows."""
    import tracemalloc

    from openpyxl import Workbook

    from portal.payouts.crypto import decrypt

    tracemalloc.start()
    started = time.perf_counter()
    book = Workbook()
    sheet = book.active
    entries = PayoutEntry.objects.filter(round=round_, status=PayoutEntry.Status.CONFIRMED).select_related("enterprise")
    for entry in entries.order_by("enterprise_id")[:sample]:
        sheet.append(
            [
                entry.enterprise.name,
                entry.enterprise.uscc,
                entry.bank_name,
                decrypt(entry.account_encrypted),
                float(entry.amount),
            ]
        )
    book.save(io.BytesIO())
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    total = round_.listed_count
    return (
        f"openpyxl in memory from the ORM, {sample:,} rows: {elapsed:.1f} s, {peak:,.0f} MB "
        f"(traced) → ≈{elapsed * total / sample:,.0f} s, ≈{peak * total / sample:,.0f} MB"
    )


def _integration_client() -> tuple[Client, list[int]]:
    department = Department.objects.get(code="WX-IIT")
    policies = []
    for n in range(5):
        policy = Policy.objects.create(
            title=f"基准申报政策 {n}", level="city", summary="基准", status="published", published_at=timezone.now()
        )
        policy.departments.set([department])
        policies.append(policy.pk)
    account = User.objects.create_user("bench-dept-system")
    account.user_permissions.add(Permission.objects.get(codename="report_application"))
    ApplicationReporter.objects.create(user=account, department=department)
    client = Client()
    client.force_login(account)
    return client, policies


def _ndjson_batches(firms: list[str], policies: list[int]):
    """LINES lines in BATCH-line bodies: applications move 已受理 → 审核中 → …, a few lines repeated or bad."""
    rng = random.Random(5)
    ladder = ["已受理", "审核中", "已公示", "已拨付"]
    lines, n, app = [], 0, -1
    while n < LINES:
        app += 1
        uscc, policy = firms[app % len(firms)], policies[app % len(policies)]
        for status in ladder[: rng.randint(1, 4)]:
            lines.append(
                json.dumps(
                    {
                        "uscc": uscc,
                        "policy": policy,
                        "external_id": f"B{app:08d}",
                        "status": status,
                        "amount": 50000 if status == "已拨付" else None,
                        "at": "2026-06-01",
                    },
                    ensure_ascii=False,
                )
            )
            n += 1
            if len(lines) == BATCH:
                yield ("\n".join(lines)).encode()
                lines = []
            if n >= LINES:
                break
    if lines:
        yield ("\n".join(lines)).encode()


def _naive_notices(sample: int) -> float:
    """Per application: read it, decide, save it marked (rolled back)."""
    fresh_since = timezone.now() - timezone.timedelta(days=settings.APPLICATION_NOTICE_MAX_AGE_DAYS)
    started = time.perf_counter()
    with transaction.atomic():
        for app in Application.objects.exclude(notified_status=F("status")).order_by("pk")[:sample].iterator():
            if app.status in settings.APPLICATION_NOTICE_STATUSES and app.status_at >= fresh_since:
                pass  # a push would be written here
            app.notified_status = app.status
            app.save(update_fields=["notified_status"])
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed / sample


def _naive_applications(firms: list[str], policies: list[int], sample: int) -> float:
    """Per line: find the firm, check the policy's department, get or create the application, add the event."""
    account = User.objects.get(username="bench-dept-system")
    allowed = set(ApplicationReporter.objects.filter(user=account).values_list("department_id", flat=True))
    started = time.perf_counter()
    with transaction.atomic():
        for i in range(sample):
            firm = Enterprise.objects.get(uscc=firms[i])
            policy = Policy.objects.get(pk=policies[i % len(policies)])
            department = policy.departments.filter(pk__in=allowed).first()
            app, _ = Application.objects.get_or_create(
                department=department,
                external_id=f"N{i:08d}",
                defaults={"enterprise": firm, "policy": policy, "status": "received", "status_at": timezone.now()},
            )
            ApplicationEvent.objects.get_or_create(application=app, status="received", defaults={"at": timezone.now()})
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed / sample
