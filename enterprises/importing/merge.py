"""Validated records staged with COPY into a temporary table, then merged into the register in set-based SQL.

Only the columns the file has are written, so a file without phone numbers never wipes them. Firms
whose values are all equal are left untouched (``IS DISTINCT FROM``), which makes re-importing the
same file a no-op that says so.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import connection

from enterprises.importing.rows import RECORD_FIELDS
from enterprises.models import Enterprise, EnterpriseTag, EnterpriseTagChange
from portal.db import copy_value

FIRMS = Enterprise._meta.db_table
LINKS = EnterpriseTag._meta.db_table
CHANGES = EnterpriseTagChange._meta.db_table

STAGE_TYPES = {
    "uscc": "text", "name": "text", "short_name": "text", "legal_representative": "text", "contact_name": "text",
    "contact_mobile": "text", "region_id": "bigint", "industry": "text", "size_class": "text", "founded_on": "date",
    "registered_capital": "numeric", "employees": "integer", "annual_revenue": "numeric", "total_assets": "numeric",
    "tag_ids": "bigint[]",
}  # fmt: skip
TEXT_FIELDS = {"short_name", "legal_representative", "contact_name", "contact_mobile", "industry", "size_class"}
# Columns of the register a file may set (the tag list is merged separately).
FIRM_FIELDS = [f for f in RECORD_FIELDS if f not in {"uscc", "tag_ids"}]


@dataclass
class MergeCounts:
    added: int
    updated: int
    unchanged: int


class Stage:
    """A temporary staging table for one import, filled in COPY chunks."""

    def __init__(self):
        columns = ", ".join(f"{name} {STAGE_TYPES[name]}" for name in RECORD_FIELDS)
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TABLE IF EXISTS import_stage; "
                f"CREATE TEMP TABLE import_stage (row_no integer, {columns}) ON COMMIT DROP"
            )
        self.buffer = io.StringIO()
        self.pending = 0
        self.total = 0

    def add(self, row_no: int, record: tuple) -> None:
        cells = [str(row_no)]
        for value in record:
            if isinstance(value, list):
                cells.append("{" + ",".join(map(str, value)) + "}")
            else:
                cells.append(copy_value(value))
        self.buffer.write("\t".join(cells))
        self.buffer.write("\n")
        self.pending += 1
        if self.pending >= 20_000:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        self.buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY import_stage (row_no, {', '.join(RECORD_FIELDS)}) FROM STDIN", self.buffer)
        self.total += self.pending
        self.buffer = io.StringIO()
        self.pending = 0


def merge_register(*, present: set[str], job_id: int | None) -> MergeCounts:
    """Upsert staged firms by USCC and sync their imported tags; leaves ``import_affected`` (ids) behind."""
    fields = [f for f in FIRM_FIELDS if f in present or f == "name"]
    insert_values = []
    for name in FIRM_FIELDS:
        if name in fields:
            insert_values.append(f"s.{name}")
        else:
            insert_values.append("''" if name in TEXT_FIELDS else "NULL")
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in fields)
    compare_old = ", ".join(f"e.{name}" for name in fields)
    compare_new = ", ".join(f"EXCLUDED.{name}" for name in fields)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE import_stage")
        cursor.execute(
            f"""
            DROP TABLE IF EXISTS import_upserted;
            CREATE TEMP TABLE import_upserted ON COMMIT DROP AS
            WITH upsert AS (
              INSERT INTO {FIRMS} AS e (uscc, {", ".join(FIRM_FIELDS)}, sms_opt_out, created_at, updated_at)
              SELECT s.uscc, {", ".join(insert_values)}, false, now(), now() FROM import_stage s
              ON CONFLICT (uscc) DO UPDATE SET {updates}, updated_at = now()
              WHERE ({compare_old}) IS DISTINCT FROM ({compare_new})
              RETURNING e.id, (xmax = 0) AS inserted
            ) SELECT * FROM upsert
            """
        )
        cursor.execute(
            f"""
            DROP TABLE IF EXISTS import_firms;
            CREATE TEMP TABLE import_firms ON COMMIT DROP AS
            SELECT e.id, s.tag_ids FROM import_stage s JOIN {FIRMS} e ON e.uscc = s.uscc;
            DROP TABLE IF EXISTS import_affected;
            CREATE TEMP TABLE import_affected (id bigint PRIMARY KEY) ON COMMIT DROP;
            INSERT INTO import_affected SELECT id FROM import_upserted;
            """
        )
        if "tag_ids" in present:
            _sync_imported_tags(cursor, job_id)
        cursor.execute("SELECT count(*) FILTER (WHERE inserted), count(*) FROM import_upserted")
        added, upserted = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM import_affected")
        affected = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM import_firms")
        staged = cursor.fetchone()[0]
        cursor.execute("ANALYZE import_affected")
    updated = affected - added
    return MergeCounts(added=added, updated=updated, unchanged=staged - added - updated)


def _sync_imported_tags(cursor, job_id: int | None) -> None:
    """The file's tag list replaces each listed firm's earlier file-imported tags (certificates and
    tags from staff, corrections or rules are left alone)."""
    cursor.execute(
        f"""
        WITH gone AS (
          DELETE FROM {LINKS} t USING import_firms f
          WHERE t.enterprise_id = f.id AND t.source = 'import' AND t.certificate_no = ''
            AND NOT (t.tag_id = ANY(f.tag_ids))
          RETURNING t.enterprise_id, t.tag_id
        ), logged AS (
          INSERT INTO {CHANGES} (enterprise_id, tag_id, action, source, detail, at)
          SELECT enterprise_id, tag_id, 'removed', 'import', %(detail)s, now() FROM gone
          RETURNING enterprise_id
        )
        INSERT INTO import_affected SELECT DISTINCT enterprise_id FROM logged ON CONFLICT DO NOTHING
        """,
        {"detail": f"导入批次 #{job_id or '-'} 中未再列出"},
    )
    cursor.execute(
        f"""
        WITH added AS (
          INSERT INTO {LINKS} (enterprise_id, tag_id, source, certificate_no, issued_by, import_job_id, created_at)
          SELECT f.id, t.tag_id, 'import', '', '', %(job)s, now()
          FROM import_firms f CROSS JOIN LATERAL unnest(f.tag_ids) AS t(tag_id)
          ON CONFLICT (enterprise_id, tag_id) DO NOTHING
          RETURNING enterprise_id
        )
        INSERT INTO import_affected SELECT DISTINCT enterprise_id FROM added ON CONFLICT DO NOTHING
        """,
        {"job": job_id},
    )
