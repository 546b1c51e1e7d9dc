"""Validated records merged into the register chunk by chunk, in set-based SQL.

Each chunk is COPYed into a temporary table, checked for USCCs already seen in this file, then
merged: an UPDATE for firms whose values changed (``IS DISTINCT FROM``: equal firms are not
touched, so re-importing a file is a no-op that says so) and an anti-join INSERT for new firms.
Only the columns the file has are written, so a file without phone numbers never wipes them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import connection

from core.db import copy_value
from enterprises.importing.rows import RECORD_FIELDS
from enterprises.models import Enterprise, EnterpriseTag, EnterpriseTagChange

FIRMS = Enterprise._meta.db_table
LINKS = EnterpriseTag._meta.db_table
CHANGES = EnterpriseTagChange._meta.db_table

STAGE_TYPES = {
    "uscc": "text", "name": "text", "short_name": "text", "legal_representative": "text", "contact_name": "text",
    "contact_mobile": "text", "region_id": "bigint", "industry": "text", "size_class": "text", "founded_on": "date",
    "registered_capital": "numeric", "employees": "integer", "annual_revenue": "numeric", "total_assets": "numeric",
    "tag_ids": "bigint[]", "derived_tags": "bigint[]",
}  # fmt: skip
TEXT_FIELDS = {"short_name", "legal_representative", "contact_name", "contact_mobile", "industry", "size_class"}
# Columns of the register a file may set (the tag list is merged separately; derived tags follow the data).
FIRM_FIELDS = [f for f in RECORD_FIELDS if f not in {"uscc", "tag_ids", "derived_tags"}]
STAGE_COLUMNS = "row_no, " + ", ".join(RECORD_FIELDS)


def stage_line(row_no: int, record: list) -> bytes:
    """One validated record as a line of COPY text (UTF-8) for the staging table."""
    return ("\t".join(map(copy_value, (row_no, *record))) + "\n").encode()


@dataclass
class MergeCounts:
    added: int
    updated: int
    unchanged: int


class RegisterMerge:
    """The temporary tables of one import and the SQL that merges each chunk into the register.

    Imports run one at a time (enterprise_import holds an advisory lock), which keeps the
    merge's bookkeeping sound. Afterwards ``import_affected`` holds the ids of firms added or
    changed and ``import_updated`` those that existed before, whose derived tags must be refreshed
    from their stored values.
    """

    def __init__(self, *, present: set[str], job_id: int | None):
        self.present = present
        self.job_id = job_id
        self.fields = [f for f in FIRM_FIELDS if f in present or f == "name"]
        columns = ", ".join(f"{name} {STAGE_TYPES[name]}" for name in RECORD_FIELDS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                DROP TABLE IF EXISTS import_stage, import_chunk, import_upserted, import_affected, import_updated,
                                     import_chunk_new, import_chunk_old;
                CREATE TEMP TABLE import_chunk (row_no integer PRIMARY KEY, {columns}) ON COMMIT DROP;
                CREATE INDEX ON import_chunk (uscc);
                -- every accepted row of the file so far, to find a USCC listed twice
                CREATE TEMP TABLE import_stage (row_no integer, uscc text PRIMARY KEY) ON COMMIT DROP;
                CREATE TEMP TABLE import_upserted (id bigint, inserted boolean) ON COMMIT DROP;
                CREATE TEMP TABLE import_affected (id bigint PRIMARY KEY) ON COMMIT DROP;
                CREATE TEMP TABLE import_updated (id bigint PRIMARY KEY) ON COMMIT DROP;
                CREATE TEMP TABLE import_chunk_new (id bigint, uscc text PRIMARY KEY) ON COMMIT DROP;
                CREATE TEMP TABLE import_chunk_old (id bigint PRIMARY KEY, tag_ids bigint[]) ON COMMIT DROP;
                """
            )

    def merge_chunk(self, lines: io.BytesIO) -> list[tuple[int, str, int]]:
        """Merge one chunk of staged lines; returns the rows refused as duplicates (row, uscc, first row)."""
        size = lines.seek(0, io.SEEK_END)
        lines.seek(0)
        with connection.cursor() as cursor:
            # One read for the whole chunk: psycopg2 takes the GIL for every read, and the parser thread
            # holds it most of the time, so 8 KB reads would each wait a thread switch.
            cursor.copy_expert(f"COPY import_chunk ({STAGE_COLUMNS}) FROM STDIN", lines, max(size, 8192))
            cursor.execute("ANALYZE import_chunk")  # temporary tables have no statistics until analysed
            # A chunk is small next to the register: look each row up by index instead of hashing the
            # whole (growing) register for every chunk, which made the merge quadratic.
            cursor.execute("SET enable_hashjoin = off; SET enable_mergejoin = off")
            try:
                duplicates = self._take_duplicates(cursor)
                cursor.execute("INSERT INTO import_stage SELECT row_no, uscc FROM import_chunk")
                self.chunk_rows = cursor.rowcount
                self._upsert(cursor)
                if "tag_ids" in self.present:
                    self._sync_imported_tags(cursor)
            finally:
                cursor.execute("RESET enable_hashjoin; RESET enable_mergejoin")
            cursor.execute("TRUNCATE import_chunk")
        return duplicates

    @staticmethod
    def _take_duplicates(cursor) -> list[tuple[int, str, int]]:
        """A USCC listed twice in one file: the first row counts, later rows are refused naming it."""
        cursor.execute(
            """
            WITH repeated AS (
              SELECT c.row_no, c.uscc, s.row_no AS first_row
              FROM import_chunk c JOIN import_stage s ON s.uscc = c.uscc
              UNION ALL
              SELECT row_no, uscc, first_row FROM (
                SELECT row_no, uscc, min(row_no) OVER (PARTITION BY uscc) AS first_row FROM import_chunk
              ) w WHERE row_no <> first_row
            ), dropped AS (
              DELETE FROM import_chunk c USING repeated r WHERE c.row_no = r.row_no
              RETURNING r.row_no, r.uscc, r.first_row
            ) SELECT row_no, uscc, first_row FROM dropped ORDER BY row_no
            """
        )
        return cursor.fetchall()

    def _upsert(self, cursor) -> None:
        insert_values = []
        for name in FIRM_FIELDS:
            if name in self.fields or name == "size_class":
                insert_values.append(f"s.{name}")
            else:
                insert_values.append("''" if name in TEXT_FIELDS else "NULL")
        updates = ", ".join(f"{name} = s.{name}" for name in self.fields)
        old = ", ".join(f"e.{name}" for name in self.fields)
        new = ", ".join(f"s.{name}" for name in self.fields)
        # New firms first: the unique index's own check finds the existing ones, so a first import never
        # looks a row up twice. Then only the rows that already existed are compared and updated.
        cursor.execute(
            f"""
            TRUNCATE import_chunk_new;
            WITH added AS (
              INSERT INTO {FIRMS} (uscc, {", ".join(FIRM_FIELDS)}, derived_tags, derived_at,
                                   sms_opt_out, created_at, updated_at)
              SELECT s.uscc, {", ".join(insert_values)}, s.derived_tags, now(), false, now(), now()
              FROM import_chunk s ORDER BY s.row_no
              ON CONFLICT (uscc) DO NOTHING
              RETURNING id, uscc
            ), new_ids AS (
              INSERT INTO import_chunk_new SELECT id, uscc FROM added RETURNING id
            ), marked AS (
              INSERT INTO import_upserted SELECT id, true FROM new_ids RETURNING id
            )
            INSERT INTO import_affected SELECT id FROM marked;
            """
        )
        self.existing = cursor.rowcount < self.chunk_rows
        if not self.existing:
            return  # every row of the chunk was a new firm: nothing to compare
        cursor.execute(
            f"""
            ANALYZE import_chunk_new;
            WITH changed AS (
              UPDATE {FIRMS} AS e SET {updates}, updated_at = now()
              FROM import_chunk s
              WHERE e.uscc = s.uscc AND ({old}) IS DISTINCT FROM ({new})
                AND NOT EXISTS (SELECT 1 FROM import_chunk_new n WHERE n.uscc = s.uscc)
              RETURNING e.id
            ), updated AS (
              INSERT INTO import_updated SELECT id FROM changed RETURNING id
            ), marked AS (
              INSERT INTO import_upserted SELECT id, false FROM updated RETURNING id
            )
            INSERT INTO import_affected SELECT id FROM marked ON CONFLICT DO NOTHING
            """
        )

    def _sync_imported_tags(self, cursor) -> None:
        """The file's tag list replaces each listed firm's earlier file-imported tags (certificates and
        tags from staff or corrections are left alone). New firms simply get theirs."""
        params = {"detail": f"导入批次 #{self.job_id or '-'} 中未再列出", "job": self.job_id}
        cursor.execute(
            f"""
            INSERT INTO {LINKS} (enterprise_id, tag_id, source, certificate_no, issued_by, import_job_id, created_at)
            SELECT n.id, t.tag_id, 'import', '', '', %(job)s, now()
            FROM import_chunk_new n JOIN import_chunk s ON s.uscc = n.uscc
            CROSS JOIN LATERAL unnest(s.tag_ids) AS t(tag_id);
            """,
            params,
        )
        if not self.existing:
            return
        cursor.execute(
            f"""
            TRUNCATE import_chunk_old;
            INSERT INTO import_chunk_old
            SELECT e.id, s.tag_ids FROM import_chunk s JOIN {FIRMS} e ON e.uscc = s.uscc
            WHERE NOT EXISTS (SELECT 1 FROM import_chunk_new n WHERE n.uscc = s.uscc);

            WITH gone AS (
              DELETE FROM {LINKS} t USING import_chunk_old f
              WHERE t.enterprise_id = f.id AND t.source = 'import' AND t.certificate_no = ''
                AND NOT (t.tag_id = ANY(f.tag_ids))
              RETURNING t.enterprise_id, t.tag_id
            ), logged AS (
              INSERT INTO {CHANGES} (enterprise_id, tag_id, action, source, detail, at)
              SELECT enterprise_id, tag_id, 'removed', 'import', %(detail)s, now() FROM gone
              RETURNING enterprise_id
            )
            INSERT INTO import_affected SELECT DISTINCT enterprise_id FROM logged ON CONFLICT DO NOTHING;

            WITH added AS (
              INSERT INTO {LINKS} (enterprise_id, tag_id, source, certificate_no, issued_by, import_job_id, created_at)
              SELECT f.id, t.tag_id, 'import', '', '', %(job)s, now()
              FROM import_chunk_old f CROSS JOIN LATERAL unnest(f.tag_ids) AS t(tag_id)
              WHERE NOT EXISTS (SELECT 1 FROM {LINKS} x WHERE x.enterprise_id = f.id AND x.tag_id = t.tag_id)
              RETURNING enterprise_id
            )
            INSERT INTO import_affected SELECT DISTINCT enterprise_id FROM added ON CONFLICT DO NOTHING;
            """,
            params,
        )

    def affected_ids(self, *, limit: int) -> list[int] | None:
        """Ids of the firms this import added or changed, or None when there are more than ``limit``."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM import_affected LIMIT %s", [limit + 1])
            ids = [row[0] for row in cursor.fetchall()]
        return None if len(ids) > limit else ids

    def counts(self) -> MergeCounts:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM import_upserted WHERE inserted), (SELECT count(*) FROM import_affected),"
                " (SELECT count(*) FROM import_stage)"
            )
            added, affected, staged = cursor.fetchone()
            cursor.execute("ANALYZE import_updated")
        return MergeCounts(added=added, updated=affected - added, unchanged=staged - affected)
