"""The SMS link page under a burst, next to a bare Django view doing one primary-key lookup, in one run:
gunicorn (sync workers) on this machine, wrk as the load, 1.11M firms and one push to all of them."""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django.db import connection
from django.utils import timezone

from bench.table import print_table
from notifications.models import Campaign, Message, SmsTemplate
from notifications.services import campaign_plan
from policies.models import Policy
from portal.dev.demo.enterprises import generate_enterprises
from portal.dev.processes import BASE_DIR, child_env, free_port, wait_until

FIRMS = int(os.environ.get("BENCH_ENTERPRISES", 1_110_000))
SECONDS = int(os.environ.get("BENCH_SECONDS", 15))
WORKERS = int(os.environ.get("BENCH_WORKERS", 4))
LUA = """
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local counter = 0
function init(args) math.randomseed(os.time() + counter); counter = counter + 1 end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
"""


def _wrk(base: str, paths: list[str], scratch: Path, name: str) -> dict:
    (scratch / f"{name}.txt").write_text("\n".join(paths))
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{SECONDS}s", "--latency", "-s", str(scratch / "paths.lua"), base],
        env={**os.environ, "WRK_PATHS": str(scratch / f"{name}.txt")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": rate,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def run() -> None:
    print(f"\n## portal: the SMS link page vs a bare one-primary-key view, {FIRMS:,} firms, "
          f"gunicorn {WORKERS} sync workers")  # fmt: skip
    started = time.monotonic()
    generate_enterprises(count=FIRMS)
    rule = {"all": [{"field": "employees", "op": "gte", "value": 0}]}
    policies = [
        Policy.objects.create(
            title=f"无锡市普惠惠企政策（基准 {n}）",
            short_title="普惠补助",
            level="city",
            summary="所有企业均可申报。",
            status=Policy.Status.PUBLISHED,
            published_at=timezone.now(),
            audience_rule=rule,
            materials=["营业执照复印件", "申报表"],
            steps=["网上申报", "审核", "拨付"],
        )
        for n in range(3)
    ]
    template = SmsTemplate.objects.create(
        name="政策包", code="SMS_BENCH", body="您有{n}条政策，详见 {link} 拒收请回复R"
    )
    campaign = Campaign.objects.create(name="门户基准推送", template=template, status=Campaign.Status.PLANNING)
    campaign.policies.set(policies)
    campaign_plan(campaign=campaign)
    with connection.cursor() as cursor:
        # SMS reach phones minutes after planning; by then autovacuum has visited the million new rows and a
        # checkpoint has written them, so the first opens do not pay for setting hint bits on fresh rows.
        cursor.execute("VACUUM (ANALYZE) notifications_message")
        cursor.execute("CHECKPOINT")
    tokens = list(Message.objects.filter(campaign=campaign).order_by("?").values_list("token", flat=True)[:60_000])
    ids = list(Message.objects.filter(campaign=campaign).values_list("enterprise_id", flat=True)[:60_000])
    print(f"[portal] {FIRMS:,} firms seeded and pushed in {time.monotonic() - started:.0f} s (not timed)")
    scratch = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    (scratch / "paths.lua").write_text(LUA)
    port = free_port()
    env = child_env(DJANGO_SETTINGS_MODULE="bench.settings", DEBUG="0")
    gunicorn = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", str(WORKERS), "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(gunicorn, cwd=BASE_DIR, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(f"{base}/bench/firm/{ids[0]}"), 60, "gunicorn")
        for token in tokens[:1000]:
            requests.get(f"{base}/b/{token}", timeout=30)  # caches warm; these 1,000 are the repeat opens
        rows = {
            "bare view, one primary-key lookup": _wrk(base, [f"/bench/firm/{i}" for i in ids], scratch, "bare"),
            "link page, first opens (59k firms)": _wrk(base, [f"/b/{t}" for t in tokens[1000:]], scratch, "cold"),
            "link page, repeat opens (1k firms)": _wrk(base, [f"/b/{t}" for t in tokens[:1000]], scratch, "warm"),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare = rows["bare view, one primary-key lookup"]["rate"]
    table = [("scenario", "requests/s", "p50", "p99", "vs bare", "errors")]
    for name, r in rows.items():
        table.append((name, f"{r['rate']:,.0f}", r["p50"], r["p99"], f"{r['rate'] / bare:.0%}", r["errors"]))
    print_table(table)
    print("Targets: the link page at ≥ 80% of the bare view's requests/s, p99 ≤ 100 ms.")


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
