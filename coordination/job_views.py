"""The background jobs' pages: a job's progress, its status (polled), its file, the user's
jobs. A job is its owner's alone: anybody else gets 404 (`jobs.owned_job`)."""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

import coordination.jobs.files as files
from coordination import exporting
from coordination.jobs import services as jobs
from coordination.models import Job
from coordination.reports.docx import DOCX_CONTENT_TYPE

CONTENT_TYPES = {**exporting.FORMATS, "docx": DOCX_CONTENT_TYPE}


@staff_member_required
def job_list(request):
    """*Việc đang chạy*: the user's own jobs, newest first."""
    context = {"jobs": jobs.user_jobs(request.user), "keep_hours": settings.JOBS_KEEP_HOURS}
    return render(request, "coordination/jobs/list.html", context)


@staff_member_required
def job_page(request, pk: int):
    """A job's progress bar, stages and rows, then a link to its result."""
    job = jobs.owned_job(request.user, pk)
    context = {"job": job, "state": jobs.job_status(job), "stages": stages_of(job)}
    return render(request, "coordination/jobs/job.html", context)


@never_cache
@staff_member_required
def job_status(request, pk: int):
    """The job's state as JSON, which its page asks for every second."""
    return JsonResponse(jobs.job_status(jobs.owned_job(request.user, pk)))


@staff_member_required
def job_download(request, pk: int):
    """The file a finished export or report job produced."""
    job = jobs.owned_job(request.user, pk)
    if job.status != Job.Status.DONE or not job.file_name:
        raise Http404
    path = files.output_path(job.pk, job.file_name)
    if not path.is_file():
        raise Http404
    extension = job.file_name.rsplit(".", 1)[-1]
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=job.file_name,
        content_type=CONTENT_TYPES.get(extension, "application/octet-stream"),
    )


def stages_of(job: Job) -> list[tuple[str, str]]:
    """The stages the job's kind goes through, in order, as (value, label)."""
    names = {
        Job.Kind.IMPORT_PREVIEW: ["reading", "checking"],
        Job.Kind.IMPORT_CONFIRM: ["reading", "checking", "writing"],
    }.get(job.kind, ["producing"])
    labels = dict(Job.Stage.choices)
    return [(name, labels[name]) for name in names]
