"""Matching at city scale: 1.11M firms, 3,000 published policies, bitmap index vs plain SQL."""

import os
import random
import statistics
import time

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from bench.table import print_table
from enterprises.models import Enterprise
from enterprises.services import enterprise_tags_set
from matching import selectors
from matching.index import get_index, reset_index
from matching.rules import to_sql
from policies.models import Policy
from portal.dev.demo.enterprises import generate_enterprises
from portal.dev.demo.policies import generate_policies

FIRMS = int(os.environ.get("BENCH_ENTERPRISES", 1_110_000))
POLICIES = int(os.environ.get("BENCH_POLICIES", 3000))
NARROW = {"all": [{"tag": "QUAL03"}, {"field": "region", "op": "in", "value": ["320214"]}]}
BROAD = {"all": [{"tag": "SIZE05"}, {"not": {"tag": "XYHG03"}}, {"field": "employees", "op": "gte", "value": 10}]}


def _p50(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def _sql_count(rule: dict) -> int:
    params: list = []
    where = to_sql(rule, timezone.localdate(), params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM enterprises_enterprise e LEFT JOIN core_region r ON r.id = e.region_id "
            f"WHERE ({where}) IS TRUE",
            params,
        )
        return cursor.fetchone()[0]


def run() -> None:
    print(f"\n## matching: {FIRMS:,} firms, {POLICIES:,} policies — bitmap index vs plain SQL")
    started = time.monotonic()
    generate_policies(count=int(POLICIES / 0.85))  # 85% end up published
    generate_enterprises(count=FIRMS)
    published = Policy.objects.filter(status=Policy.Status.PUBLISHED).count()
    print(f"seeded {Enterprise.objects.count():,} firms and {published:,} published policies "
          f"in {time.monotonic() - started:.0f} s")  # fmt: skip

    reset_index()
    started = time.monotonic()
    index = get_index()
    build = time.monotonic() - started

    rows = [("measurement", "result", "comparison")]
    rows.append(("index build from empty", f"{build:.1f} s", f"{len(index.everyone):,} firms, {len(index.tags)} tags"))
    for name, rule in (("narrow", NARROW), ("broad", BROAD)):
        count = len(index.audience(rule, timezone.localdate()))
        index.cache.clear()
        cold = _timed(lambda r=rule: (index.cache.clear(), index.audience(r, timezone.localdate())), 20)
        warm = _timed(lambda r=rule: index.audience(r, timezone.localdate()), 50)
        sql = _timed(lambda r=rule: _sql_count(r), 5)
        assert _sql_count(rule) == count, "index and SQL disagree"
        ratio = statistics.median(sql) / statistics.median(cold)
        rows.append((f"audience, {name} rule ({count:,} firms)", f"p50 {_p50(cold)} cold, {_p50(warm)} warm",
                     f"plain SQL p50 {_p50(sql)} ({ratio:.0f}× slower)"))  # fmt: skip

    rng = random.Random(1)
    enterprise_ids = [rng.randint(1, FIRMS) for _ in range(200)]
    selectors.package_for_enterprise(enterprise_id=enterprise_ids[0])  # compile the open policies once
    sizes = []

    def package(pk=None):
        sizes.append(len(selectors.package_for_enterprise(enterprise_id=pk)))

    package_times = [t for pk in enterprise_ids for t in _timed(lambda p=pk: package(p), 1)]
    rows.append(("package + explanations, one firm", f"p50 {_p50(package_times)}",
                 f"{len(enterprise_ids)} random firms, median {statistics.median(sizes):.0f} policies"))  # fmt: skip
    near = _timed(lambda: selectors.near_misses_for_enterprise(enterprise_id=rng.randint(1, FIRMS)), 30)
    rows.append(("near-misses, one firm", f"p50 {_p50(near)}", "all open policies checked"))

    rules = list(Policy.objects.filter(status=Policy.Status.PUBLISHED).values_list("audience_rule", flat=True))
    index.cache.clear()
    started = time.monotonic()
    covered = [len(index.audience(rule, timezone.localdate())) for rule in rules]
    coverage = time.monotonic() - started
    rows.append((f"audience sizes, all {len(rules):,} policies", f"{coverage:.1f} s",
                 f"median {statistics.median(covered):,.0f} firms per policy"))  # fmt: skip

    staff = User.objects.create_superuser("bench", password=None)
    enterprise = Enterprise.objects.exclude(tag_links__tag__code="PYKU01").first()
    with transaction.atomic():
        enterprise_tags_set(enterprise=enterprise, tag_codes=["PYKU01"], user=staff)
    started = time.monotonic()
    visible = enterprise.pk in get_index().audience({"tag": "PYKU01"}, timezone.localdate())
    seen = "" if visible else " (NOT VISIBLE)"
    rows.append(("one firm's tag change visible", f"{(time.monotonic() - started) * 1000:.0f} ms",
                 f"after commit, in a process holding a built index{seen}"))  # fmt: skip
    print_table(rows)
    print(f"tag bitmaps take {_bitmap_bytes(index.tags.values()) / 1e6:,.0f} MB in each process")


def _bitmap_bytes(bitmaps) -> int:
    total = 0
    for bitmap in bitmaps:
        stats = bitmap.get_statistics()
        total += sum(stats[f"n_bytes_{kind}_containers"] for kind in ("array", "run", "bitset"))
    return total
