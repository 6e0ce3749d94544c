"""Celery tasks of batch jobs: a worker draining a job's items, and the completion webhook
(retried with backoff by re-enqueueing itself; it never holds up a job)."""

from __future__ import annotations

from celery import shared_task

from compute.services.batch import batch_webhook_run
from compute.services.batch import batch_work as batch_work_run


@shared_task(name="compute.batch_work", acks_late=True)
def batch_work(job_id: int) -> int:
    """Claim and run the job's items one at a time until none is left (flat memory)."""
    return batch_work_run(job_id)


@shared_task(name="compute.batch_webhook", acks_late=True)
def batch_webhook(job_id: int) -> bool | None:
    """Deliver the job's signed completion webhook once; a failure schedules the next attempt."""
    return batch_webhook_run(job_id)
