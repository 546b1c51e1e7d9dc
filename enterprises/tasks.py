from celery import shared_task

from enterprises import services
from enterprises.importing.jobs import import_job_run


@shared_task
def run_import_job(job_id: int) -> str:
    """Run one uploaded import; a repeated delivery finds the job finished and returns."""
    return import_job_run(job_id=job_id).status


@shared_task
def expire_qualifications() -> int:
    """Daily: qualifications whose certificate expired stop counting for matching."""
    return services.qualification_expire_due()


@shared_task
def refresh_derived_tags() -> dict:
    """Nightly: age buckets change with the calendar; rules may have been edited."""
    return services.derived_tags_refresh_all()
