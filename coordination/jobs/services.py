"""Jobs as the rest of the site sees them: asking for one, its owner's view of it, and the
worker's housekeeping (jobs whose worker died run again; old ones go with their files)."""

import datetime
import io
import logging
import re
import zipfile

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

import coordination.jobs.files as files
from coordination.models import Job

logger = logging.getLogger(__name__)
DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')


def job_enqueue(*, owner, kind: str, title: str, record_kind: str = "", **params) -> Job:
    """Create a job for `owner` and put it on the queue."""
    job = Job.objects.create(
        owner=owner, kind=kind, title=title[:300], record_kind=record_kind, params=params
    )
    enqueue(job)
    return job


def enqueue(job: Job) -> None:
    """Hand `job` to the queue, noting when and under which task id (`jobs_recover` looks for
    the task of a job that waits too long)."""
    from coordination.jobs.tasks import run

    now = timezone.now()
    if settings.JOBS_BACKEND == "database":
        # The queue is a table of the same database: the task commits with the job.
        task = run.enqueue(job.pk)
        Job.objects.filter(pk=job.pk).update(queued_at=now, task_id=task.id)
        return
    Job.objects.filter(pk=job.pk).update(queued_at=now, task_id="")

    def send():
        task = run.enqueue(job.pk)
        Job.objects.filter(pk=job.pk, task_id="").update(task_id=task.id)

    # A broker outside the database must not hand the job out before it is committed. If
    # the broker cannot be reached then, the job waits without a task: the housekeeping
    # queues it again (`jobs_recover`), and the user's request does not fail.
    transaction.on_commit(send, robust=True)


def owned_job(user, pk: int) -> Job:
    """The job `pk` if `user` asked for it; 404 otherwise, whoever the user (an
    administrator too: a job holds its owner's file, read with its owner's scope)."""
    job = Job.objects.filter(pk=pk, owner=user).first()
    if job is None:
        raise Http404
    return job


def user_jobs(user, limit: int = 50):
    """The user's own jobs, newest first."""
    return Job.objects.filter(owner=user).defer("params", "result")[:limit]


def job_status(job: Job) -> dict:
    """What the job's page shows and polls: status, stage, rows, and where the result is."""
    values = {
        "status": job.status,
        "status_label": job.get_status_display(),
        "stage": job.stage,
        "total": job.rows_total,
        "read": job.rows_read,
        "checked": job.rows_checked,
        "written": job.rows_written,
        "error": job.error,
        "finished": job.finished,
        "result_url": result_url(job) if job.status == Job.Status.DONE else "",
    }
    if job.status == Job.Status.RUNNING:
        progress = files.read_progress(job.pk)
        values.update(
            {
                key: progress[key]
                for key in ("stage", "total", "read", "checked", "written")
                if key in progress
            }
        )
    values["stage_label"] = str(dict(Job.Stage.choices).get(values["stage"], ""))
    return values


def result_url(job: Job) -> str:
    if job.kind in (Job.Kind.IMPORT_PREVIEW, Job.Kind.IMPORT_CONFIRM):
        from coordination import kinds

        model = kinds.get(job.record_kind).model
        info = (model._meta.app_label, model._meta.model_name)
        return reverse("admin:{}_{}_import_job".format(*info), args=[job.pk])
    return reverse("coordination:job-download", args=[job.pk])


def is_large(queryset, limit: int) -> bool:
    """Whether `queryset` has more than `limit` rows: one query, which stops at limit + 1."""
    return queryset.order_by().values("pk")[limit : limit + 1].exists()


def estimated_rows(data: bytes) -> int:
    """About how many rows a spreadsheet has, without converting its cells: an .xlsx sheet's
    declared dimension or its row elements, the lines of a text file, else one row per 100
    bytes (.ods, .xls)."""
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                sheets = [
                    name
                    for name in archive.namelist()
                    if name.startswith("xl/worksheets/") and name.endswith(".xml")
                ]
                if sheets:
                    return sum(_sheet_rows(archive, name) for name in sheets)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
            # Unreadable: the preview in the request says why.
            return 0
        return len(data) // 100
    if b"\0" in data[:4096]:
        return len(data) // 100
    return data.count(b"\n")


def _sheet_rows(archive: zipfile.ZipFile, name: str) -> int:
    """The rows of one .xlsx sheet: its <dimension>, else its <row> elements counted as it
    unpacks (up to IMPORT_MAX_UNPACKED_BYTES: a zip bomb is the reader's to refuse)."""
    with archive.open(name) as sheet:
        head = sheet.read(4096)
        found = DIMENSION.search(head)
        if found is not None and found.group(1):
            return int(found.group(1))
        rows, tail, unpacked = 0, b"", len(head)
        chunk = head
        while chunk and unpacked <= settings.IMPORT_MAX_UNPACKED_BYTES:
            rows += (tail + chunk).count(b"<row ") + (tail + chunk).count(b"<row>")
            tail = chunk[-4:]
            chunk = sheet.read(1 << 20)
            unpacked += len(chunk)
        return rows


def jobs_recover(now: datetime.datetime | None = None) -> dict:
    """Run again the jobs whose worker died (no heartbeat for JOBS_HEARTBEAT_TIMEOUT), and
    those the queue lost while they waited (`requeue_lost`), up to JOBS_MAX_ATTEMPTS in all;
    an import's rows were rolled back with it."""
    now = now or timezone.now()
    lost = requeue_lost(now)
    stale = now - datetime.timedelta(seconds=settings.JOBS_HEARTBEAT_TIMEOUT)
    requeued = failed = 0
    for job in Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=stale):
        beat = files.read_progress(job.pk).get("heartbeat")
        if beat and beat > stale.timestamp():
            # Alive: the worker writes its heartbeat in the job's folder, not the table.
            Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
                heartbeat_at=datetime.datetime.fromtimestamp(beat, tz=datetime.UTC)
            )
            continue
        same = Job.objects.filter(
            pk=job.pk,
            status=Job.Status.RUNNING,
            attempts=job.attempts,
            heartbeat_at=job.heartbeat_at,
        )
        if job.attempts >= settings.JOBS_MAX_ATTEMPTS:
            failed += same.update(
                status=Job.Status.FAILED,
                finished_at=now,
                error=_(
                    "The server stopped while running this job %(count)d times; it was given up. "
                    "Nothing was written."
                )
                % {"count": job.attempts},
            )
            continue
        with transaction.atomic():
            if same.update(status=Job.Status.QUEUED, stage=Job.Stage.WAITING):
                job.refresh_from_db()
                enqueue(job)
                requeued += 1
                logger.warning("Job %s lost its worker; queued again", job.pk)
    return {"requeued": requeued + lost["requeued"], "failed": failed + lost["failed"]}


def requeue_lost(now: datetime.datetime) -> dict:
    """Queue again the jobs waiting for more than JOBS_WAITING_TIMEOUT whose task the queue no
    longer holds as waiting (Redis flushed, the task's row deleted, a worker that died between
    taking the task and starting the job, a broker unreachable when the job was asked for).
    Each time counts as an attempt: after JOBS_MAX_ATTEMPTS the job is given up."""
    limit = now - datetime.timedelta(seconds=settings.JOBS_WAITING_TIMEOUT)
    waiting = Job.objects.filter(status=Job.Status.QUEUED).filter(
        Q(queued_at__lt=limit) | Q(queued_at__isnull=True, created_at__lt=limit)
    )
    requeued = failed = 0
    for job in waiting.only("pk", "attempts", "queued_at", "task_id"):
        if task_waiting(job.task_id):
            continue  # in line behind other jobs
        same = Job.objects.filter(
            pk=job.pk, status=Job.Status.QUEUED, attempts=job.attempts, queued_at=job.queued_at
        )
        # Handed to the queue attempts + 1 times so far (`attempts` counts the runs).
        if job.attempts + 1 >= settings.JOBS_MAX_ATTEMPTS:
            failed += same.update(
                status=Job.Status.FAILED,
                finished_at=now,
                error=_(
                    "The queue lost this job; after %(count)d attempts it was given up. "
                    "Nothing was written."
                )
                % {"count": job.attempts + 1},
            )
            continue
        with transaction.atomic():
            if same.update(attempts=job.attempts + 1):
                enqueue(job)
                requeued += 1
                logger.warning("Job %s was lost by the queue while waiting; queued again", job.pk)
    return {"requeued": requeued, "failed": failed}


def task_waiting(task_id: str) -> bool:
    """Whether the queue still holds task `task_id`, waiting for a worker."""
    from django_tasks import TaskResultStatus
    from django_tasks.exceptions import TaskResultDoesNotExist

    from coordination.jobs.tasks import run

    if not task_id:
        return False
    try:
        return run.get_result(task_id).status == TaskResultStatus.READY
    except TaskResultDoesNotExist:
        return False


def jobs_cleanup(now: datetime.datetime | None = None) -> int:
    """Delete the jobs finished more than JOBS_KEEP_HOURS ago, with their files; returns how
    many. The queue's own finished entries older than that go too."""
    now = now or timezone.now()
    limit = now - datetime.timedelta(hours=settings.JOBS_KEEP_HOURS)
    old = Job.objects.filter(
        status__in=[Job.Status.DONE, Job.Status.FAILED, Job.Status.TIMED_OUT],
        finished_at__lt=limit,
    )
    removed = 0
    for pk in old.values_list("pk", flat=True).iterator():
        files.remove(pk)
        removed += Job.objects.filter(pk=pk).delete()[0]
    if settings.JOBS_BACKEND == "database":
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.finished().filter(finished_at__lt=limit).delete()
    return removed


def job_page_title(job: Job) -> str:
    return _("Job: %(title)s") % {"title": job.title}
