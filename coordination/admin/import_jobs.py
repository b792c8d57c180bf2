"""The admin's large imports and exports as background jobs (`coordination.jobs`).

A file of more than IMPORT_JOB_ROWS rows is kept as any upload (`uploads`, its token in the
session) and checked by a worker; the preview page, the units picked for its names and the
confirmation are the same as for a small file, only each heavy step runs as a job whose page
shows its progress, then leads back here (`import_job_view`). An export of more than
EXPORT_JOB_ROWS records writes its file in a job too. The workbook with a large file's refused
rows marked is written by the job that checked it (`work.marked_errors`), and downloaded from
here (`marked_errors_view`).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext as _

import coordination.jobs.files as files
from coordination import exporting, uploads
from coordination.jobs import services as jobs
from coordination.models import Job


class ImportJobsMixin:
    """Runs a SpreadsheetAdminMixin's large imports and exports as jobs."""

    def get_urls(self):
        info = self.get_model_info()
        return [
            path(
                "import/job/<int:job_id>/",
                self.admin_site.admin_view(self.import_job_view),
                name="{}_{}_import_job".format(*info),
            ),
            *super().get_urls(),
        ]

    def is_large_upload(self, data: bytes) -> bool:
        return jobs.estimated_rows(data) > settings.IMPORT_JOB_ROWS

    def upload_is_job(self, request, token: str) -> bool:
        entry = uploads.load_entry(request, token, kind=self.spreadsheet_kind) or {}
        return bool(entry.get("job"))

    def preview_job(self, request, *, data: bytes, file_name: str):
        """Keep the upload and check it in a job; its page leads to the preview."""
        token, discarded = uploads.save_upload(
            request, data=data, file_name=file_name, kind=self.spreadsheet_kind
        )
        uploads.update_entry(request, token, kind=self.spreadsheet_kind, job=True)
        for name in discarded:
            messages.warning(request, _("Your older upload %(file)s was removed.") % {"file": name})
        return self.start_import_job(request, token, file_name, Job.Kind.IMPORT_PREVIEW)

    def repreview_job(self, request, token, file_name, *, pick_problems=(), saved_aliases=()):
        """Check the upload again in a job, with the units picked for its names."""
        return self.start_import_job(
            request,
            token,
            file_name,
            Job.Kind.IMPORT_PREVIEW,
            pick_problems=[str(problem) for problem in pick_problems],
            saved_aliases=[{"name": a.name, "unit": str(a.unit)} for a in saved_aliases],
        )

    def start_import_job(self, request, token: str, file_name: str, kind: str, **extra):
        title = {
            Job.Kind.IMPORT_PREVIEW: _("Check of %(file)s (%(kind)s)"),
            Job.Kind.IMPORT_CONFIRM: _("Import of %(file)s (%(kind)s)"),
        }[kind] % {"file": file_name, "kind": self.opts.verbose_name_plural}
        job = jobs.job_enqueue(
            owner=request.user,
            kind=kind,
            title=title,
            record_kind=self.spreadsheet_kind,
            token=token,
            file_name=file_name,
            unit_choices=self.unit_choices(request, token),
            **extra,
        )
        return HttpResponseRedirect(reverse("coordination:job", args=[job.pk]))

    def import_job_view(self, request, job_id: int):
        """The result of an import job: the preview page (with its problems and the units to
        pick), or, once written, the list with what was imported."""
        job = jobs.owned_job(request.user, job_id)
        if not self.has_import_permission(request):
            raise PermissionDenied
        if job.record_kind != self.spreadsheet_kind or job.status != Job.Status.DONE:
            return HttpResponseRedirect(reverse("coordination:job", args=[job.pk]))
        report = files.load_report(job.pk)
        token = job.params["token"]
        if report is None:
            messages.error(request, _("The result of this job is no longer kept."))
            return HttpResponseRedirect(reverse(self.url_name("import")))
        if uploads.load_entry(request, token, kind=self.spreadsheet_kind) is not None:
            # The rows this page lists are this job's: its marked workbook is the one offered.
            uploads.update_entry(request, token, kind=self.spreadsheet_kind, checked_by=job.pk)
        if job.kind == Job.Kind.IMPORT_CONFIRM:
            if not report.written:
                return self.render_import_page(
                    request, form=self.upload_form(), report=report, token=token, refused=True
                )
            uploads.delete_upload(request, token)
            uploads.remove_upload(token)
            messages.success(
                request,
                _("Imported %(file)s: %(new)d new, %(updated)d updated, %(unchanged)d unchanged.")
                % {
                    "file": job.params["file_name"],
                    "new": report.count_new,
                    "updated": report.count_updated,
                    "unchanged": report.count_unchanged,
                },
            )
            return HttpResponseRedirect(reverse(self.url_name("changelist")))
        if report.file_errors and not report.error_rows:
            # Refused outright, as a small file's preview: nothing to confirm.
            uploads.delete_upload(request, token)
            return self.render_import_page(request, form=self.upload_form(), report=report)
        if uploads.load_entry(request, token, kind=self.spreadsheet_kind) is None:
            messages.error(
                request, _("The uploaded file has expired or is unknown: please upload it again.")
            )
            return HttpResponseRedirect(reverse(self.url_name("import")))
        self.keep_unresolved(request, token, report)
        return self.render_import_page(
            request,
            form=self.upload_form(),
            report=report,
            token=token,
            pick_problems=job.params.get("pick_problems", ()),
            saved_aliases=job.params.get("saved_aliases", ()),
        )

    def marked_errors_view(self, request, token: str):
        """The large upload `token` with its refused rows marked, as the job whose result its
        owner last saw wrote it: nothing is read or checked again in the request."""
        entry = uploads.load_entry(request, token, kind=self.spreadsheet_kind) or {}
        job = Job.objects.filter(pk=entry.get("checked_by") or 0, owner=request.user).first()
        marked = job.result.get("marked_file", "") if job is not None else ""
        path = files.output_path(job.pk, marked) if marked else None
        if path is None or not path.is_file():
            if job is not None and job.result.get("marked_problem"):
                messages.error(request, job.result["marked_problem"])
            else:
                messages.info(request, _("This file has no row errors to mark."))
            return HttpResponseRedirect(reverse(self.url_name("import")))
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=marked,
            content_type=exporting.FORMATS[marked.rsplit(".", 1)[-1]],
        )

    def export_job(self, request, query: str, file_format: str):
        """Write a large export in a job; its page offers the file."""
        job = jobs.job_enqueue(
            owner=request.user,
            kind=Job.Kind.EXPORT,
            title=_("Export of %(kind)s (.%(format)s)")
            % {"kind": self.opts.verbose_name_plural, "format": file_format},
            record_kind=self.spreadsheet_kind,
            source="admin",
            query=query,
            format=file_format,
        )
        return HttpResponseRedirect(reverse("coordination:job", args=[job.pk]))
