"""Running one job in a worker: claiming it, its progress and heartbeat, its deadline, its end."""

import logging
import threading
import time

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import coordination.jobs.files as files
from coordination.models import Job

logger = logging.getLogger(__name__)
#: The progress file is rewritten at most this often (seconds), and the heartbeat at least.
PROGRESS_SECONDS = 1.0
HEARTBEAT_SECONDS = 2.0


class JobTimedOut(Exception):
    """The job ran past JOBS_TIMEOUT: raised between batches, so that its transaction rolls
    back."""


class JobLost(Exception):
    """The job was given to another attempt meanwhile (this worker was thought dead)."""


class Tracker:
    """A running job's progress: the rows read, checked and written, kept in the job's folder
    at most once a second (never a query per row), and its deadline, checked at each report."""

    def __init__(self, job: Job):
        self.job = job
        self.deadline = time.monotonic() + settings.JOBS_TIMEOUT
        self.values = {"stage": Job.Stage.STARTING, "read": 0, "checked": 0, "written": 0}
        self.values["total"] = job.rows_total
        self.written_at = 0.0
        self.lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int | None = None) -> None:
        """One report: `done` rows of `total` at `stage` ("reading", "checking", "writing",
        "producing")."""
        if time.monotonic() > self.deadline:
            raise JobTimedOut
        counter = {"reading": "read", "checking": "checked"}.get(stage, "written")
        changed = stage != self.values["stage"]
        self.values.update({"stage": stage, counter: done})
        # The rows read are the file's; the later stages count only its valid rows.
        if total is not None and (stage == "reading" or self.values["total"] is None):
            self.values["total"] = total
        if changed or time.monotonic() - self.written_at >= PROGRESS_SECONDS:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            files.write_progress(self.job.pk, self.values)
            self.written_at = time.monotonic()

    def fields(self) -> dict:
        """The progress as the job's columns, written when it ends."""
        return {
            "rows_total": self.values["total"],
            "rows_read": self.values["read"],
            "rows_checked": self.values["checked"],
            "rows_written": self.values["written"],
        }


class Heartbeat(threading.Thread):
    """Rewrites the progress file every few seconds while the job runs, even in a long step
    that reports nothing (reading a big file, one bulk insert): a stale heartbeat means the
    worker died (`services.jobs_recover`)."""

    def __init__(self, tracker: Tracker):
        super().__init__(daemon=True)
        self.tracker = tracker
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                self.tracker.flush()
            except OSError:
                logger.exception("Could not write the heartbeat of job %s", self.tracker.job.pk)


def claim(job_id: int) -> Job | None:
    """The job, now running under this attempt; None if it is not waiting (already run, or
    given to another worker: a queue may deliver a task twice)."""
    now = timezone.now()
    job = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).first()
    if job is None:
        return None
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED, attempts=job.attempts).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=job.attempts + 1,
        stage=Job.Stage.STARTING,
    )
    if not claimed:
        return None
    job.refresh_from_db()
    return job


def finish(job: Job, tracker: Tracker, *, result: dict, file_name: str = "") -> None:
    """Mark `job` done, if this attempt still owns it; else raise JobLost (in an import's
    transaction, the rows written then roll back with it)."""
    done = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(
        status=Job.Status.DONE,
        stage=Job.Stage.FINISHED,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        result=result,
        file_name=file_name,
        error="",
        **tracker.fields(),
    )
    if not done:
        raise JobLost


def fail(job: Job, tracker: Tracker, *, status: str, error: str) -> None:
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(
        status=status,
        finished_at=timezone.now(),
        error=error,
        **tracker.fields(),
    )


def run_job(job_id: int, work: dict) -> str:
    """Run job `job_id` once by what `work` (`work.WORK`) says its kind does; returns its
    status (the queue's task calls this)."""
    job = claim(job_id)
    if job is None:
        return "skipped"
    tracker = Tracker(job)
    tracker.flush()
    heartbeat = Heartbeat(tracker)
    heartbeat.start()
    try:
        with translation.override(settings.LANGUAGE_CODE):
            try:
                work[job.kind](job, tracker)
            except JobTimedOut:
                minutes = max(1, settings.JOBS_TIMEOUT // 60)
                fail(
                    job,
                    tracker,
                    status=Job.Status.TIMED_OUT,
                    error=_(
                        "The job took longer than %(minutes)d minutes and was stopped. Nothing "
                        "was written; split the file or narrow the list and try again."
                    )
                    % {"minutes": minutes},
                )
            except JobLost:
                logger.warning("Job %s was given to another attempt; this one stopped", job_id)
            except Exception:
                logger.exception("Job %s failed", job_id)
                fail(
                    job,
                    tracker,
                    status=Job.Status.FAILED,
                    error=_(
                        "The job failed because of an unexpected error on the server. Nothing "
                        "was written; the error has been recorded."
                    ),
                )
    finally:
        heartbeat.stopped.set()
        heartbeat.join()
    tracker.flush()
    return Job.objects.values_list("status", flat=True).get(pk=job_id)
