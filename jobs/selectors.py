"""Reads on jobs, and access_job, which fetches a job only for its owner."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from config.api import owned_or_404
from jobs.models import Job


def access_job(*, user: User, job_id: Any) -> Job:
    """The job if `user` owns it; 404 otherwise, so ids of others' jobs reveal nothing."""
    job: Job = owned_or_404(Job.objects.all(), user=user, object_id=job_id, what="job")
    return job


def jobs_for_owner(*, user: User) -> QuerySet[Job]:
    return Job.objects.filter(owner=user)
