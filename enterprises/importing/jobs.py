"""Import jobs: a file uploaded in the admin, or JSON lines posted to the API, imported by a Celery worker
while the page (or the calling system) polls its progress and then reads the result."""

from __future__ import annotations

import dataclasses
import tempfile

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from enterprises.importing.pipeline import ImportRefused, enterprise_import
from enterprises.importing.readers import json_lines_table
from enterprises.importing.rows import visible
from enterprises.models import ImportJob

PROGRESS_SECONDS = 3600  # how long a job's live progress stays readable
FINISHED = {ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED}


def _progress_key(job_id: int) -> str:
    """The one name of a job's progress entry in the Django cache (whose keys are namespaced already)."""
    return f"enterprises:import:{job_id}:progress"


def _progress_set(job_id: int, *, stage: str, fraction: float, rows: int) -> None:
    cache.set(_progress_key(job_id), {"stage": stage, "fraction": round(fraction, 3), "rows": rows}, PROGRESS_SECONDS)


def import_job_progress(*, job: ImportJob) -> dict:
    """Where a job stands, for the page (or client) polling it: status, stage, fraction done, rows read."""
    live = cache.get(_progress_key(job.pk)) or {}
    finished = job.status in FINISHED
    return {
        "status": job.status,
        "status_display": job.get_status_display(),
        "stage": live.get("stage", job.get_status_display()),
        "fraction": 1.0 if finished else live.get("fraction", 0.0),
        "rows": live.get("rows", job.total_rows),
        "finished": finished,
        "message": job.message,
    }


def _size_text(size: int) -> str:
    return f"{size / 2**20:,.0f} MB" if size >= 2**20 else f"{size:,} 字节"


def upload_too_large(size: int | None) -> str:
    """The reason an upload (or API body) of ``size`` bytes is refused, or "" when it is within the limit."""
    limit = settings.IMPORT_MAX_BYTES
    if size is None or size <= limit:
        return ""
    return f"文件过大：超过 {_size_text(limit)} 的上限，请拆分成几批分别导入。"


def import_job_create(
    *,
    user,
    upload,
    source: str = ImportJob.Source.UPLOAD,
    encoding: str = "",
    dry_run: bool = False,
    contacts_allowed: bool = True,
) -> ImportJob:
    """Store the upload (a file, or the body of an API call) as a queued job; a worker runs it after commit.
    ``contacts_allowed`` False: the job leaves enterprises' mobiles as they are, whatever the file says."""
    if not user.has_perm("enterprises.add_importjob"):
        raise PermissionDenied("您没有导入企业数据的权限。")
    reason = upload_too_large(getattr(upload, "size", None))
    if reason:
        raise ValidationError(reason)
    job = ImportJob.objects.create(
        file=upload,
        original_name=getattr(upload, "name", ""),
        source=source,
        encoding=encoding,
        dry_run=dry_run,
        contacts_allowed=contacts_allowed,
        created_by=user,
    )
    from enterprises.tasks import run_import_job  # the task module imports this one

    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run one queued import job; safe to call twice (a finished job is left alone)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status in FINISHED:
            return job
        job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])

    def progress(stage: str, fraction: float, rows: int) -> None:
        _progress_set(job.pk, stage=stage, fraction=fraction, rows=rows)

    try:
        # The error report holds phone numbers: it goes to an anonymous temporary file (gone when closed,
        # whatever happens) and from there only into the job's own storage.
        with job.file.open("rb") as handle, tempfile.TemporaryFile() as report:
            if job.source == ImportJob.Source.API:
                read = {"table": json_lines_table(handle)}
            else:
                read = {"source": handle, "encoding": job.encoding or None}
            result = enterprise_import(
                **read, dry_run=job.dry_run, job_id=job.pk, report=report, progress=progress,
                contacts=job.contacts_allowed,
            )  # fmt: skip
            if result.refused:
                report.seek(0)
                job.error_report.save(f"import-{job.pk}-errors.csv", File(report), save=False)
    except ImportRefused as exc:
        job.status, job.message = ImportJob.Status.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - the job must end in a terminal state whatever happened
        job.status, job.message = ImportJob.Status.FAILED, visible(f"导入出错：{exc.__class__.__name__}: {exc}")
    else:
        job.status = ImportJob.Status.SUCCEEDED
        job.message = " ".join([result.summary(), *result.warnings])
        job.total_rows, job.refused = result.total_rows, result.refused
        job.added, job.updated, job.unchanged = result.added, result.updated, result.unchanged
        job.warnings, job.errors = result.warnings, [dataclasses.asdict(e) for e in result.errors]
    job.finished_at = timezone.now()
    job.save()
    _progress_set(job.pk, stage=job.get_status_display(), fraction=1.0, rows=job.total_rows)
    return job
