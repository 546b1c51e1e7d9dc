"""Seeding 1.11M firms with COPY, next to the same firms through Django's bulk_create."""

import os
import resource
import time

from django.db import connection, transaction

from bench.table import print_table
from enterprises.models import Enterprise, EnterpriseTag
from portal.dev.demo.enterprises import generate_enterprises

CITY = int(os.environ.get("BENCH_ENTERPRISES", 1_110_000))
ORM_SAMPLE = int(os.environ.get("BENCH_ORM_SAMPLE", 100_000))


def _bulk_create_copy_of(count: int) -> float:
    """Re-insert ``count`` existing firms (and their tags) through the ORM, then roll back."""
    enterprises = list(Enterprise.objects.order_by("id")[:count])
    links = list(EnterpriseTag.objects.filter(enterprise_id__lte=enterprises[-1].pk).order_by("id"))
    started = time.monotonic()
    with transaction.atomic():
        # The run is rolled back; check keys as rows arrive so their cost is counted, as a commit would.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        offset = 10_000_000
        for enterprise in enterprises:
            enterprise.pk += offset
            enterprise.uscc = "X" + enterprise.uscc[1:]
        Enterprise.objects.bulk_create(enterprises, batch_size=5000)
        for link in links:
            link.pk = None
            link.enterprise_id += offset
        EnterpriseTag.objects.bulk_create(links, batch_size=5000)
        elapsed = time.monotonic() - started
        transaction.set_rollback(True)
    return elapsed


def run() -> None:
    print(f"\n## seed: {CITY:,} demo firms with portrait tags (COPY) vs Django bulk_create on {ORM_SAMPLE:,}")
    started = time.monotonic()
    links = generate_enterprises(count=CITY)
    copy_seconds = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('enterprises_enterprise') + "
                       "pg_total_relation_size('enterprises_enterprisetag')")  # fmt: skip
        size_mb = cursor.fetchone()[0] / 1024 / 1024
    orm_seconds = _bulk_create_copy_of(min(ORM_SAMPLE, CITY))
    orm_rate = min(ORM_SAMPLE, CITY) / orm_seconds
    print_table(
        [
            ("method", "firms", "tag links", "seconds", "firms/s", "peak RSS MB"),
            ("COPY (seed_demo)", f"{CITY:,}", f"{links:,}", f"{copy_seconds:.1f}", f"{CITY / copy_seconds:,.0f}",
             f"{peak_mb:,.0f}"),
            ("bulk_create", f"{min(ORM_SAMPLE, CITY):,}", "(same mix)", f"{orm_seconds:.1f}", f"{orm_rate:,.0f}", "-"),
        ]
    )  # fmt: skip
    print(f"COPY is {CITY / copy_seconds / orm_rate:.1f}× bulk_create; tables on disk {size_mb:,.0f} MB; "
          f"bulk_create would need ≈{CITY / orm_rate:,.0f} s for the city.")  # fmt: skip
