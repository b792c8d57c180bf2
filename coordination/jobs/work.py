"""What each kind of job does in the worker: an import's check and its writing, an export, the
yearly report's document. Each ends with `running.finish` (or raises)."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone
from django.utils.translation import gettext as _

import coordination.jobs.files as files
from coordination import exporting, kinds, reports, selectors, uploads
from coordination.importing import import_records
from coordination.jobs.running import Tracker, finish
from coordination.models import Job
from coordination.scoping import visible_to
from coordination.spreadsheets import SpreadsheetError


class JobRefused(Exception):
    """The job cannot run as asked (the upload expired, a filter is no longer valid); its
    message is for the user."""


def import_summary(report) -> dict:
    return {
        "written": report.written,
        "new": report.count_new,
        "updated": report.count_updated,
        "unchanged": report.count_unchanged,
        "errors": len(report.error_rows),
        "file_errors": len(report.file_errors),
    }


def marked_errors(job: Job, data: bytes, report) -> dict:
    """The upload with its refused rows marked, written beside the job's report (as the
    small file's download does in the request): its name as `marked_file` in the job's
    result, or why it could not be written as `marked_problem`; nothing without row errors."""
    if not report.error_rows or report.header_row is None:
        return {}
    try:
        content, name = report.marked_workbook(data, job.params["file_name"])
    except SpreadsheetError as error:
        return {"marked_problem": str(error)}
    files.output_path(job.pk, name).write_bytes(content)
    return {"marked_file": files.output_path(job.pk, name).name}


def stored_upload(job: Job) -> tuple[bytes, bytes | None]:
    """The uploaded file behind the job's token, and the cells its preview kept."""
    stored = uploads.stored_files(job.params["token"])
    if stored is None:
        raise JobRefused(_("The uploaded file has expired or is unknown: please upload it again."))
    return stored


def import_preview(job: Job, tracker: Tracker) -> None:
    """Read and check the upload, as the admin's preview does; nothing is written."""
    data, sheets = stored_upload(job)
    report = import_records(
        kind=job.record_kind,
        data=data,
        file_name=job.params["file_name"],
        user=job.owner,
        dry_run=True,
        # A second preview (units picked for names) reads the cells the first one kept.
        sheets_data=sheets,
        keep_sheets=sheets is None,
        stages=tracker,
        unit_choices=job.params.get("unit_choices") or None,
    )
    kept, report.sheets_data = report.sheets_data, None
    if kept is not None:
        uploads.save_sheets(job.params["token"], kept)
    files.save_report(job.pk, report)
    finish(job, tracker, result={**import_summary(report), **marked_errors(job, data, report)})


def import_confirm(job: Job, tracker: Tracker) -> None:
    """Write the upload, all or nothing; the job is marked done in the import's transaction."""
    data, sheets = stored_upload(job)

    def done(report):
        files.save_report(job.pk, report)
        finish(job, tracker, result=import_summary(report))

    report = import_records(
        kind=job.record_kind,
        data=data,
        file_name=job.params["file_name"],
        user=job.owner,
        dry_run=False,
        sheets_data=sheets,
        stages=tracker,
        before_commit=done,
        unit_choices=job.params.get("unit_choices") or None,
    )
    if not report.written:
        # Refused (a row is wrong, or the database said no): nothing was written.
        files.save_report(job.pk, report)
        finish(job, tracker, result={**import_summary(report), **marked_errors(job, data, report)})


def replayed_request(job: Job, path: str):
    """A GET of `path` with the job's parameters, as its owner: the list or report reads the
    same filters, with the same scope, as the page the job was asked from."""
    request = RequestFactory().get(path, data=None, QUERY_STRING=job.params.get("query", ""))
    request.user = job.owner
    return request


def export(job: Job, tracker: Tracker) -> None:
    """Write the list's rows (the admin's changelist or a /records/ list) to the job's file."""
    file_format = job.params["format"]
    request = replayed_request(job, "/")
    if job.params.get("source") == "admin":
        from django.contrib import admin

        model_admin = admin.site._registry[kinds.get(job.record_kind).model]
        try:
            queryset = visible_to(model_admin.get_export_queryset(request), job.owner)
        except IncorrectLookupParameters as error:
            raise JobRefused(
                _("The list's filters are not valid choices: nothing was exported.")
            ) from error
    else:
        filterset = selectors.record_filterset(job.record_kind, request.GET, request=request)
        if not filterset.is_valid():
            raise JobRefused(_("The list's filters are not valid choices: nothing was exported."))
        queryset = filterset.qs
    # One count, for the page's bar; the rows are then streamed.
    tracker("producing", 0, queryset.count())
    name = exporting.export_file_name(job.record_kind, file_format)
    with open(files.output_path(job.pk, name), "wb") as stream:
        exporting.write_export(
            job.record_kind,
            queryset,
            stream,
            file_format,
            progress=lambda rows: tracker("producing", rows),
        )
    finish(job, tracker, result={"rows": tracker.values["written"]}, file_name=name)


def report(job: Job, tracker: Tracker) -> None:
    """The yearly report's .xlsx or .docx, every outstanding row listed."""
    from coordination.reports import issuing
    from coordination.reports.document import Edits, report_units
    from coordination.reports.docx import TemplateProblem, render_docx, template_for

    request = replayed_request(job, "/records/report/")
    result = reports.yearly_report(request)
    if result.forbidden or not result.valid:
        raise JobRefused(_("The report's parameters are no longer valid."))
    tracker("producing", 0, result.outstanding_task_count + result.outstanding_followup_count)
    if job.params["format"] == "xlsx":
        name = result.file_name
        with open(files.output_path(job.pk, name), "wb") as stream:
            reports.write_report_xlsx(result, stream)
    else:
        name = result.file_name.replace(".xlsx", ".docx")
        # The edits posted with the download (a correction's text, its signers), if any.
        edits = Edits.from_dict(job.params["edits"]) if job.params.get("edits") else None
        document = issuing.draft(result, edits, issuing.latest_issued(result), every_row=True)
        try:
            content = render_docx(document, template_for(report_units(result)))
        except TemplateProblem as problem:
            raise JobRefused(str(problem)) from problem
        files.output_path(job.pk, name).write_bytes(content)
    tracker("producing", tracker.values["total"] or 0)
    finish(job, tracker, result={"rows": tracker.values["total"]}, file_name=name)


def refusing(work):
    """`work`, with a refusal told to the user as the job's failure (not a server error)."""

    def run(job: Job, tracker: Tracker) -> None:
        try:
            work(job, tracker)
        except JobRefused as refused:
            with transaction.atomic():
                Job.objects.filter(pk=job.pk, attempts=job.attempts).update(
                    status=Job.Status.FAILED, error=str(refused), finished_at=timezone.now()
                )

    return run


WORK = {
    Job.Kind.IMPORT_PREVIEW: refusing(import_preview),
    Job.Kind.IMPORT_CONFIRM: refusing(import_confirm),
    Job.Kind.EXPORT: refusing(export),
    Job.Kind.REPORT: refusing(report),
}
