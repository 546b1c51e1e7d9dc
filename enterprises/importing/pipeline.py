"""One import of the register: a file (or the API's JSON lines) validated, merged and reported on."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import changes
from core.db import foreign_keys_validated_once
from core.models import Region
from enterprises.derivation import Rules, derived_tags_refresh
from enterprises.importing.columns import map_headers
from enterprises.importing.merge import CHANGES, FIRMS, LINKS, RegisterMerge
from enterprises.importing.producer import ChunkProducer
from enterprises.importing.readers import NotATable, Table, open_table
from enterprises.importing.report import ErrorReport
from enterprises.importing.rows import RowError, RowValidator, visible
from enterprises.models import PortraitTag

# Files above this size (about 10,000 rows) are merged with foreign keys checked once per load
# instead of once per row. The price is an exclusive lock on the register while that import runs.
BULK_BYTES = 2_000_000
IMPORT_LOCK = 4_754_2017  # advisory lock key held by the running import
Progress = Callable[[str, float, int], None]


class ImportRefused(Exception):
    """The whole file is refused (not a table, required columns missing, no data rows)."""


@dataclass
class ImportResult:
    total_rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # the first ERROR_PREVIEW refused cells

    def summary(self) -> str:
        prefix = "（试运行，未写入）" if self.dry_run else ""
        line = (
            f"{prefix}共 {self.total_rows:,} 行：新增 {self.added:,}，更新 {self.updated:,}，"
            f"未变化 {self.unchanged:,}，拒绝 {self.refused:,}"
        )
        if self.total_rows and not self.added and not self.updated and not self.refused:
            line += "。数据与库中一致，没有任何改动"
        return line + "。"


def register_lookups() -> tuple[dict[str, int], dict[str, int]]:
    """Region and active portrait-tag ids by code and by name, as a file may give either."""
    regions: dict[str, int] = {}
    for pk, code, name in Region.objects.values_list("id", "code", "name"):
        regions[code] = regions[name] = pk
    tags: dict[str, int] = {}
    for pk, code, name in PortraitTag.objects.filter(is_active=True).values_list("id", "code", "name"):
        tags[code] = tags[name] = pk
    return regions, tags


def enterprise_import(
    *,
    source: str | Path | BinaryIO | None = None,
    table: Table | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    job_id: int | None = None,
    report: str | Path | BinaryIO | None = None,
    progress: Progress | None = None,
    contacts: bool = True,
) -> ImportResult:
    """Import a register file (or an already opened ``table``, such as the API's JSON lines): every
    good row is upserted by USCC, every bad row refused with its reason, each refused cell also written
    to ``report`` (a path or an open binary file) when one is given.

    Runs in one transaction: a killed import leaves the register as it was, and running it again
    completes it. A dry run does all the work and then rolls back, so its counts are exact. Parsing
    and validation (Python, in a thread) overlap with merging the previous chunk (PostgreSQL).
    """
    progress = progress or (lambda stage, fraction, rows: None)
    if table is None:
        try:
            table = open_table(source, encoding=encoding)
        except NotATable as exc:
            raise ImportRefused(str(exc)) from None
    try:
        return _import_table(table, dry_run=dry_run, job_id=job_id, report=report, progress=progress, contacts=contacts)
    finally:
        table.close()


def _import_table(
    table: Table,
    *,
    dry_run: bool,
    job_id: int | None,
    report: str | Path | BinaryIO | None,
    progress: Progress,
    contacts: bool = True,
) -> ImportResult:
    width = max((i + 1 for i, h in enumerate(table.headers) if h), default=0)
    if width > settings.IMPORT_MAX_COLUMNS:
        raise ImportRefused(f"表头超过 {settings.IMPORT_MAX_COLUMNS:,} 列的上限，请删除多余的列后再导入。")
    header = map_headers(table.headers)
    if header.missing_required:
        found = visible("、".join(h for h in table.headers if h)) or "（空）"
        raise ImportRefused(f"缺少必需的列：{'、'.join(header.missing_required)}。文件的表头为：{found}。")
    if header.duplicated:
        raise ImportRefused(f"列重复出现：{'、'.join(header.duplicated)}，请只保留一列。")
    result = ImportResult(dry_run=dry_run)
    if not contacts and header.positions.pop("contact_mobile", None) is not None:
        result.warnings.append("未获授权修改企业联系电话（需要 register:write-contacts 权限），已忽略“联系电话”列。")
    if header.unknown:
        result.warnings.append(visible(f"以下列不认识，已忽略：{'、'.join(header.unknown)}。"))
    regions, tags = register_lookups()
    validator = RowValidator(
        positions=header.positions, regions=regions, tags=tags, rules=Rules.load(), today=timezone.localdate()
    )
    present = {"region_id" if f == "region" else "tag_ids" if f == "tags" else f for f in header.positions}
    refusals = ErrorReport(report)
    producer = ChunkProducer(table, validator, max_rows=settings.IMPORT_MAX_ROWS)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:  # one import at a time: the merge relies on it
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
            merge = RegisterMerge(present=present, job_id=job_id)
            # A large file is merged with foreign keys checked once at the end, not row by row.
            bulk = table.size_bytes >= BULK_BYTES
            with foreign_keys_validated_once(FIRMS, LINKS, CHANGES) if bulk else nullcontext():
                for chunk in producer:
                    result.total_rows = chunk.rows_read
                    for error in chunk.errors:
                        refusals.add(error)
                    result.refused += chunk.refused
                    for row_no, uscc, first_row in merge.merge_chunk(chunk.lines):
                        result.refused += 1
                        reason = f"与第 {first_row} 行的统一社会信用代码重复，本行未导入。"
                        refusals.add(RowError(row_no, "统一社会信用代码", uscc, reason))
                    progress("导入", chunk.fraction, chunk.rows_read)
                if result.total_rows == 0:
                    raise ImportRefused("文件中没有数据行（只有表头）。")
                counts = merge.counts()
                progress("推导标签", 1.0, result.total_rows)
                derived_tags_refresh(scope_table="import_updated")
                changes.enterprises_changed_on_commit(merge.affected_ids(limit=changes.MAX_IDS))
            result.added, result.updated, result.unchanged = counts.added, counts.updated, counts.unchanged
            if dry_run:
                transaction.set_rollback(True)
    except NotATable as exc:  # the file stopped being readable half-way
        raise ImportRefused(str(exc)) from None
    finally:
        producer.stop()
        refusals.close()
    result.errors = refusals.preview
    return result
