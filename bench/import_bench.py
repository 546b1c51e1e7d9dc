"""Importing a city-sized register file (1.11M rows) vs the same rows through Django's bulk_create."""

import csv
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from bench.table import print_table
from enterprises.derivation import Rules
from enterprises.importing.columns import COLUMNS, map_headers
from enterprises.importing.pipeline import enterprise_import, register_lookups
from enterprises.importing.readers import open_table
from enterprises.importing.rows import RECORD_FIELDS, RowValidator
from enterprises.models import Enterprise
from enterprises.validators import INDUSTRY_SECTIONS
from portal.dev.demo.enterprises import MOBILE_PREFIXES, TRADE_WORDS, ZIHAO, demo_uscc

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", 1_110_000))
ORM_SAMPLE = int(os.environ.get("BENCH_ORM_SAMPLE", 100_000))
DISTRICTS = ["梁溪区", "锡山区", "惠山区", "滨湖区", "新吴区", "经开区", "江阴市", "宜兴市"]
FILE_TAGS = ["高新技术企业", "科技型中小企业", "民营企业", "有限责任公司", "有研发投入", "参加社会保险"]


def write_file(path: Path, rows: int, seed: int = 7) -> int:
    """A register file like a department would send: mostly good rows, about 1% bad ones."""
    rng = random.Random(seed)
    sections = list(INDUSTRY_SECTIONS)
    bad = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow([c.label for c in COLUMNS if c.field != "size_class"])
        for n in range(1, rows + 1):
            section = rng.choice(sections)
            _, first, last = INDUSTRY_SECTIONS[section]
            name = f"无锡{rng.choice(ZIHAO)}{rng.choice(ZIHAO)}{rng.choice(TRADE_WORDS[section])}有限公司"
            employees = rng.randint(1, 2000)
            row = [
                demo_uscc(n, "320214"), name, name[2:6], "王伟", "李娜",
                rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}", rng.choice(DISTRICTS),
                f"{section}{rng.randint(first, last):02d}", f"{rng.randint(1990, 2025)}-{rng.randint(1, 12):02d}-15",
                f"{rng.uniform(10, 50000):.2f}", str(employees), f"{rng.uniform(5, 90000):.2f}",
                f"{rng.uniform(5, 90000):.2f}", ";".join(rng.sample(FILE_TAGS, rng.randint(0, 3))),
            ]  # fmt: skip
            if rng.random() < 0.01:
                bad += 1
                row[rng.choice([0, 5, 7, 8])] = rng.choice(["X", "12345", "C99", "2099-01-01"])
            out.writerow(row)
    return bad


def _bulk_create_sample(path: Path, count: int) -> float:
    """The same file's first ``count`` rows validated the same way, then saved with bulk_create."""
    started = time.monotonic()
    table = open_table(path)
    header = map_headers(table.headers)
    regions, tags = register_lookups()
    validator = RowValidator(
        positions=header.positions, regions=regions, tags=tags, rules=Rules.load(), today=timezone.localdate()
    )
    enterprises = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # rolled back below: pay for the checks now
        for row_no, cells in table.rows:
            record, errors = validator.validate(row_no, cells, len(table.headers))
            if errors:
                continue
            values = dict(zip(RECORD_FIELDS, record, strict=True))
            values.pop("tag_ids")
            values["uscc"] = "Z" + values["uscc"][1:]  # distinct from the imported copy
            enterprises.append(Enterprise(**{k: v for k, v in values.items() if v is not None}))
            if len(enterprises) == 5000:
                Enterprise.objects.bulk_create(enterprises)
                enterprises.clear()
            if row_no > count:
                break
        Enterprise.objects.bulk_create(enterprises)
        elapsed = time.monotonic() - started
        transaction.set_rollback(True)
    return elapsed


def run() -> None:
    print(f"\n## import: a {ROWS:,}-row register CSV (COPY + set-based merge) vs bulk_create, {ORM_SAMPLE:,} rows")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "register.csv"
        started = time.monotonic()
        bad = write_file(path, ROWS)
        size_mb = path.stat().st_size / 1024 / 1024
        elapsed = time.monotonic() - started
        print(f"generated {path.name}: {size_mb:,.0f} MB, {bad:,} deliberately bad rows, {elapsed:.1f} s")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.monotonic()
        first = enterprise_import(source=path)
        first_seconds = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.monotonic()
        again = enterprise_import(source=path)
        again_seconds = time.monotonic() - started
        orm_seconds = _bulk_create_sample(path, ORM_SAMPLE)
    orm_rate = ORM_SAMPLE / orm_seconds
    print_table(
        [
            ("run", "rows", "added", "updated", "unchanged", "refused", "seconds", "rows/s"),
            ("first import (empty register)", f"{ROWS:,}", f"{first.added:,}", f"{first.updated:,}",
             f"{first.unchanged:,}", f"{first.refused:,}", f"{first_seconds:.1f}", f"{ROWS / first_seconds:,.0f}"),
            ("same file again", f"{ROWS:,}", f"{again.added:,}", f"{again.updated:,}", f"{again.unchanged:,}",
             f"{again.refused:,}", f"{again_seconds:.1f}", f"{ROWS / again_seconds:,.0f}"),
            ("bulk_create (firms only)", f"{ORM_SAMPLE:,}", "-", "-", "-", "-", f"{orm_seconds:.1f}",
             f"{orm_rate:,.0f}"),
        ]
    )  # fmt: skip
    print(
        f"peak RSS {peak_mb:,.0f} MB (before import {rss_before:,.0f} MB); "
        f"import is {ROWS / first_seconds / orm_rate:.1f}× "
        f"bulk_create, which would need ≈{ROWS / orm_rate:,.0f} s for the file without tags or derivation."
    )
