"""Import jobs: a file uploaded in the admin is imported by a Celery worker while the page shows progress."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from enterprises.importing.pipeline import ImportRefused, enterprise_import
from enterprises.models import ImportJob

PROGRESS_SECONDS = 3600  # how long a job's live progress stays readable


def _progress_key(job_id: int) -> str:
    """The one name of a job's progress entry in the Django cache (whose keys are namespaced already)."""
    return f"enterprises:import:{job_id}:progress"


def _progress_set(job_id: int, *, stage: str, fraction: float, rows: int) -> None:
    cache.set(_progress_key(job_id), {"stage": stage, "fraction": round(fraction, 3), "rows": rows}, PROGRESS_SECONDS)


def import_job_progress(*, job: ImportJob) -> dict:
    """Where a job stands, for the page (or client) polling it: status, stage, fraction done, rows read."""
    live = cache.get(_progress_key(job.pk)) or {}
    finished = job.status in {ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED}
    return {
        "status": job.status,
        "status_display": job.get_status_display(),
        "stage": live.get("stage", job.get_status_display()),
        "fraction": 1.0 if finished else live.get("fraction", 0.0),
        "rows": live.get("rows", job.total_rows),
        "finished": finished,
        "message": job.message,
    }


def import_job_create(*, user, upload, encoding: str = "", dry_run: bool = False) -> ImportJob:
    if not user.has_perm("enterprises.add_importjob"):
        raise PermissionDenied("您没有导入企业数据的权限。")
    job = ImportJob.objects.create(
        file=upload, original_name=getattr(upload, "name", ""), encoding=encoding, dry_run=dry_run, created_by=user
    )
    from enterprises.tasks import run_import_job  # the task module imports this one

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

    def progress(stage: str, fraction: float, rows: int) -> None:
        _progress_set(job.pk, stage=stage, fraction=fraction, rows=rows)

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
    _progress_set(job.pk, stage=job.get_status_display(), fraction=1.0, rows=job.total_rows)
    return job
