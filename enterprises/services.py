"""Writes for the enterprise register: imports, tag edits, qualification expiry, derived tags."""

from __future__ import annotations

import csv
import datetime
import io
import queue
import tempfile
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from core import changes
from core.db import foreign_keys_validated_once
from core.models import Region
from enterprises.derivation import Rules, derived_tags_refresh
from enterprises.importing.columns import map_headers
from enterprises.importing.merge import CHANGES, FIRMS, LINKS, RegisterMerge, stage_line
from enterprises.importing.readers import NotATable, Table, open_table
from enterprises.importing.rows import RowError, RowValidator
from enterprises.models import Enterprise, EnterpriseTag, EnterpriseTagChange, ImportJob, PortraitTag

# Files above this size (about 10,000 rows) are merged with foreign keys checked once per load
# instead of once per row. The price is an exclusive lock on the register while that import runs.
BULK_BYTES = 2_000_000
ERROR_PREVIEW = 200
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
    report_path: Path | None = None

    def summary(self) -> str:
        prefix = "（试运行，未写入）" if self.dry_run else ""
        line = (
            f"{prefix}共 {self.total_rows:,} 行：新增 {self.added:,}，更新 {self.updated:,}，"
            f"未变化 {self.unchanged:,}，拒绝 {self.refused:,}"
        )
        if self.total_rows and not self.added and not self.updated and not self.refused:
            line += "。数据与库中一致，没有任何改动"
        return line + "。"


class _ErrorReport:
    """Refused rows as a CSV (UTF-8 with BOM, so Excel opens it), streamed to disk."""

    HEADER = ["行号", "列", "值", "原因"]

    def __init__(self, path: Path | None):
        self.path = path or Path(tempfile.mkstemp(prefix="import-errors-", suffix=".csv")[1])
        self.handle = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.handle)
        self.writer.writerow(self.HEADER)
        self.preview: list[RowError] = []

    def add(self, error: RowError) -> None:
        self.writer.writerow([error.row, error.column, error.value, error.reason])
        if len(self.preview) < ERROR_PREVIEW:
            self.preview.append(error)

    def close(self) -> None:
        self.handle.close()


def _lookups() -> tuple[dict[str, int], dict[str, int]]:
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
    report_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a register file (or an already opened ``table``, such as the API's JSON lines): every
    good row is upserted by USCC, every bad row refused with its reason.

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
    header = map_headers(table.headers)
    if header.missing_required:
        found = "、".join(h for h in table.headers if h) or "（空）"
        raise ImportRefused(f"缺少必需的列：{'、'.join(header.missing_required)}。文件的表头为：{found}。")
    if header.duplicated:
        raise ImportRefused(f"列重复出现：{'、'.join(header.duplicated)}，请只保留一列。")
    result = ImportResult(dry_run=dry_run)
    if header.unknown:
        result.warnings.append(f"以下列不认识，已忽略：{'、'.join(header.unknown)}。")
    regions, tags = _lookups()
    validator = RowValidator(
        positions=header.positions, regions=regions, tags=tags, rules=Rules.load(), today=timezone.localdate()
    )
    present = {"region_id" if f == "region" else "tag_ids" if f == "tags" else f for f in header.positions}
    report = _ErrorReport(report_path)
    producer = _ChunkProducer(table, validator)
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
                        report.add(error)
                    result.refused += chunk.refused
                    for row_no, uscc, first_row in merge.merge_chunk(chunk.lines):
                        result.refused += 1
                        reason = f"与第 {first_row} 行的统一社会信用代码重复，本行未导入。"
                        report.add(RowError(row_no, "统一社会信用代码", uscc, reason))
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
    finally:
        producer.stop()
        report.close()
    result.errors = report.preview
    result.report_path = report.path if result.refused else None
    if not result.refused and report_path is None:
        report.path.unlink(missing_ok=True)
    return result


@dataclass
class _Chunk:
    lines: io.BytesIO
    errors: list[RowError]
    refused: int
    rows_read: int
    fraction: float


class _ChunkProducer:
    """Parses and validates the file in a background thread, handing over chunks of COPY lines.

    The thread never touches the database, and the queue holds at most two chunks, so memory stays
    bounded whatever the file size. An error in the thread (such as a file that stops being
    decodable half-way) is raised in the caller.
    """

    CHUNK_ROWS = 100_000
    _DONE = object()

    def __init__(self, table, validator: RowValidator):
        self.table, self.validator = table, validator
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="import-parser", daemon=True)
        self.thread.start()

    def _put(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        width = len(self.table.headers)
        lines, errors, refused, staged, rows = io.BytesIO(), [], 0, 0, 0
        try:
            for row_no, cells in self.table.rows:
                rows += 1
                record, row_errors = self.validator.validate(row_no, cells, width)
                if row_errors:
                    refused += 1
                    errors.extend(row_errors)
                else:
                    lines.write(stage_line(row_no, record))
                    staged += 1
                if staged + refused >= self.CHUNK_ROWS:
                    if not self._put(_Chunk(lines, errors, refused, rows, self.table.progress())):
                        return
                    lines, errors, refused, staged = io.BytesIO(), [], 0, 0
            if self._put(_Chunk(lines, errors, refused, rows, 1.0)):
                self._put(self._DONE)
        except Exception as exc:  # noqa: BLE001 - handed to the caller, which raises it
            self._put(exc)

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if isinstance(item, NotATable):
                raise ImportRefused(str(item))
            if isinstance(item, Exception):
                raise item
            yield item

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


# --- import jobs (admin upload → Celery) -----------------------------------------------------------


def import_progress_key(job_id: int) -> str:
    return f"enterprises:import:{job_id}:progress"


def import_job_create(*, user, upload, encoding: str = "", dry_run: bool = False) -> ImportJob:
    if not user.has_perm("enterprises.add_importjob"):
        raise PermissionDenied("您没有导入企业数据的权限。")
    job = ImportJob.objects.create(
        file=upload, original_name=getattr(upload, "name", ""), encoding=encoding, dry_run=dry_run, created_by=user
    )
    from enterprises.tasks import run_import_job

    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run one queued import job; safe to call twice (a finished job is left alone)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status in {ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED}:
            return job
        job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    key = import_progress_key(job.pk)

    def progress(stage: str, fraction: float, rows: int) -> None:
        cache.set(key, {"stage": stage, "fraction": round(fraction, 3), "rows": rows}, 3600)

    try:
        with job.file.open("rb") as handle:
            result = enterprise_import(
                source=handle, encoding=job.encoding or None, dry_run=job.dry_run, job_id=job.pk, progress=progress
            )
    except ImportRefused as exc:
        job.status, job.message = ImportJob.Status.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - the job must end in a terminal state whatever happened
        job.status, job.message = ImportJob.Status.FAILED, f"导入出错：{exc.__class__.__name__}: {exc}"
    else:
        job.status = ImportJob.Status.SUCCEEDED
        job.message = " ".join([result.summary(), *result.warnings])
        job.total_rows, job.refused = result.total_rows, result.refused
        job.added, job.updated, job.unchanged = result.added, result.updated, result.unchanged
        if result.report_path:
            with open(result.report_path, "rb") as report:
                job.error_report.save(f"import-{job.pk}-errors.csv", File(report), save=False)
            result.report_path.unlink(missing_ok=True)
    job.finished_at = timezone.now()
    job.save()
    cache.set(key, {"stage": job.get_status_display(), "fraction": 1.0, "rows": job.total_rows}, 3600)
    return job


# --- tags edited by staff, expiry ----------------------------------------------------------------------


@transaction.atomic
def enterprise_tags_set(
    *, enterprise: Enterprise, tag_codes: list[str], user, source: str = EnterpriseTag.Source.STAFF, detail: str = ""
) -> dict[str, list[str]]:
    """Set a firm's staff-maintained tags to exactly ``tag_codes``; returns what was added and removed.

    Tags from files, rules and certificates are not touched here: they follow their own sources.
    """
    if not user.has_perm("enterprises.change_enterprise"):
        raise PermissionDenied("您没有修改企业标签的权限。")
    tags = {t.code: t for t in PortraitTag.objects.filter(code__in=tag_codes, is_active=True)}
    unknown = sorted(set(tag_codes) - set(tags))
    if unknown:
        raise ValidationError(f"未知的企业标签：{'、'.join(unknown)}。")
    current = {
        link.tag.code: link
        for link in EnterpriseTag.objects.select_related("tag").filter(enterprise=enterprise, source=source)
    }
    existing_other = set(
        EnterpriseTag.objects.filter(enterprise=enterprise).exclude(source=source).values_list("tag__code", flat=True)
    )
    added = [c for c in tags if c not in current and c not in existing_other]
    removed = [c for c in current if c not in tags]
    EnterpriseTag.objects.filter(enterprise=enterprise, source=source, tag__code__in=removed).delete()
    EnterpriseTag.objects.bulk_create(EnterpriseTag(enterprise=enterprise, tag=tags[c], source=source) for c in added)
    if added or removed:
        changes.enterprises_changed_on_commit([enterprise.pk])
    EnterpriseTagChange.objects.bulk_create(
        [
            EnterpriseTagChange(
                enterprise=enterprise, tag=tags[c], action="added", source=source, user=user, detail=detail
            )
            for c in added
        ]
        + [
            EnterpriseTagChange(
                enterprise=enterprise, tag=current[c].tag, action="removed", source=source, user=user, detail=detail
            )
            for c in removed
        ]
    )
    return {"added": added, "removed": removed}


@transaction.atomic
def qualification_expire_due(*, today: datetime.date | None = None) -> int:
    """Retire qualification tags whose certificate expired before ``today``; each leaves a change record."""
    day = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH gone AS (
              DELETE FROM {LINKS} WHERE valid_until IS NOT NULL AND valid_until < %s
              RETURNING enterprise_id, tag_id, source, certificate_no, valid_until
            ), logged AS (
              INSERT INTO {CHANGES} (enterprise_id, tag_id, action, source, detail, at)
              SELECT enterprise_id, tag_id, 'expired', source,
                     '证书 ' || certificate_no || ' 有效期至 ' || to_char(valid_until, 'YYYY-MM-DD'), now()
              FROM gone RETURNING enterprise_id
            ) SELECT DISTINCT enterprise_id FROM logged
            """,
            [day],
        )
        expired = [row[0] for row in cursor.fetchall()]
    changes.enterprises_changed_on_commit(expired)
    return len(expired)


def derived_tags_refresh_all() -> dict[str, int]:
    """Nightly: age buckets move with the calendar, and rules may have been edited."""
    with transaction.atomic():
        changed = derived_tags_refresh()
        if changed:
            changes.enterprises_changed_on_commit(None)
        return changed


@transaction.atomic
def enterprise_tag_correct(*, enterprise: Enterprise, tag: PortraitTag, add: bool, user, detail: str) -> bool:
    """Apply an approved correction: add the tag (source 纠错) or remove it whatever its source, with a
    change record naming who and why. Tags derived from the register's data cannot be removed here."""
    if not (user.has_perm("enterprises.correct_tags") or user.has_perm("enterprises.change_enterprise")):
        raise PermissionDenied("您没有修改企业标签的权限。")
    if not add and tag.pk in (enterprise.derived_tags or []):
        raise ValidationError(f"“{tag.name}”由企业登记信息推导，请更正企业的登记信息，而不是删除标签。")
    source = EnterpriseTag.Source.CORRECTION
    if add:
        changed = not EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).exists()
        if changed:
            EnterpriseTag.objects.create(enterprise=enterprise, tag=tag, source=source)
    else:
        changed = EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).delete()[0] > 0
    if changed:
        EnterpriseTagChange.objects.create(
            enterprise=enterprise,
            tag=tag,
            action="added" if add else "removed",
            source=source,
            user=user,
            detail=detail,
        )
        changes.enterprises_changed_on_commit([enterprise.pk])
    return changed
