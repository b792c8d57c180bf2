"""The queue's one task: run a job by its id (the job's row holds everything else)."""

from django_tasks import task

from coordination.jobs.running import run_job
from coordination.jobs.work import WORK


@task()
def run(job_id: int) -> str:
    """Run job `job_id` in a worker (`manage.py jobs_worker`)."""
    return run_job(job_id, WORK)
