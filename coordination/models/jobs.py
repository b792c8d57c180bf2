"""Background jobs: what a user asked the server to do off the request, and how it went."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """One import, export or report run by a worker for its owner (`coordination.jobs`)."""

    class Kind(models.TextChoices):
        IMPORT_PREVIEW = "import_preview", _("Import check")
        IMPORT_CONFIRM = "import_confirm", _("Import")
        EXPORT = "export", _("Export")
        REPORT = "report", _("Report")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        TIMED_OUT = "timed_out", _("Timed out")

    class Stage(models.TextChoices):
        WAITING = "waiting", _("Waiting for a worker")
        STARTING = "starting", _("Starting")
        READING = "reading", _("Reading the file")
        CHECKING = "checking", _("Checking the rows")
        WRITING = "writing", _("Writing to the database")
        PRODUCING = "producing", _("Writing the file")
        FINISHED = "finished", _("Finished")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="jobs",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    #: The record kind (`registry`) an import or export is about; empty for a report.
    record_kind = models.CharField(_("record kind"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default="waiting")
    #: What the work needs (plain JSON): an upload's token, a list's parameters.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    rows_total = models.PositiveIntegerField(_("rows in all"), null=True, blank=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    #: When it was last handed to the queue, and the queue's id of that task: a job waiting
    #: long after whose task the queue no longer holds is queued again (`jobs_recover`).
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    task_id = models.CharField(_("queue task"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    #: The last sign of life of the worker running it; a stale one means the worker died.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    #: The outcome in short (counts, the file's name); details in the job's folder.
    result = models.JSONField(_("result"), default=dict, blank=True)
    #: The produced file's name in the job's private folder (`jobs.files`).
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="job_owner_created"),
            models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat"),
        ]

    def __str__(self):
        return self.title

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED, self.Status.TIMED_OUT}
