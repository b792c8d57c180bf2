"""Import and export in the admin, on django-import-export's URLs, buttons and permissions.

The library's own import runs row by row and can commit part of a file; here the upload form,
the preview and the confirmation call `coordination.importing`, which validates everything
first and writes all or nothing. Exports stream the filtered changelist rows. Large files and
exports run as background jobs (`import_jobs.py`).
"""

import io
import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ExportMixin, ImportMixin
from import_export.formats import base_formats

from coordination import exporting, kinds, uploads
from coordination.admin.import_jobs import ImportJobsMixin
from coordination.admin.unit_picks import UnitPickAdminMixin
from coordination.exporting import spooled_file
from coordination.importing import PROBLEMS_LISTED, import_records
from coordination.jobs import services as jobs
from coordination.scoping import visible_to
from coordination.spreadsheets import IMPORT_EXTENSIONS, SpreadsheetError

logger = logging.getLogger(__name__)
PREVIEW_ROWS = 100
# A page listing 100,000 problems helps nobody and takes long to render.
PROBLEMS_SHOWN = PROBLEMS_LISTED


class UploadForm(forms.Form):
    import_file = forms.FileField(
        label=gettext_lazy("Spreadsheet file (.xlsx, .xlsm, .ods, .xls or .csv)"),
        # What the file chooser offers; the file is read by its content whatever its name.
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(IMPORT_EXTENSIONS)}),
    )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("File too large: %(size).1f MB (limit %(limit)d MB).")
                % {
                    "size": upload.size / 1024 / 1024,
                    "limit": settings.IMPORT_MAX_BYTES // 1024 // 1024,
                }
            )
        return upload


class SpreadsheetAdminMixin(ImportJobsMixin, UnitPickAdminMixin, ImportMixin, ExportMixin):
    """Adds import (preview, units picked for unresolved names, confirm, error workbook,
    template) and export to a ModelAdmin."""

    import_export_change_list_template = "admin/import_export/change_list_import_export.html"
    import_page_template = "admin/coordination/import.html"
    upload_form = UploadForm

    @property
    def spreadsheet_kind(self) -> str:
        """The name of the kind of records this admin imports and exports."""
        return kinds.for_model(self.model).name

    def get_import_formats(self):
        """The library's own lookups (its views and actions, if ever used) offer only the two
        formats our exporter writes safely; our importer also reads .xlsm, .ods and .xls, by
        content (`spreadsheets.read_workbook`), which the library's readers would not check."""
        return [base_formats.XLSX, base_formats.CSV]

    def get_export_formats(self):
        return self.get_import_formats()

    def get_resource_classes(self, request=None):
        return [kinds.for_model(self.model).resource]

    def get_urls(self):
        info = self.get_model_info()
        return [
            path(
                "import/template/",
                self.admin_site.admin_view(self.import_template_view),
                name="{}_{}_import_template".format(*info),
            ),
            path(
                "import/units/",
                self.admin_site.admin_view(self.import_units_view),
                name="{}_{}_import_units".format(*info),
            ),
            path(
                "import/errors/<str:token>/",
                self.admin_site.admin_view(self.import_errors_view),
                name="{}_{}_import_errors".format(*info),
            ),
            *super().get_urls(),
        ]

    # -- import ---------------------------------------------------------------------------

    def import_action(self, request, **kwargs):
        """Upload a file and preview what importing it would do; nothing is written."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        context = {}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["import_file"]
            data = upload.read()
            if self.is_large_upload(data):
                return self.preview_job(request, data=data, file_name=upload.name)
            try:
                report = import_records(
                    kind=self.spreadsheet_kind,
                    data=data,
                    file_name=upload.name,
                    user=request.user,
                    dry_run=True,
                    keep_sheets=True,
                )
            except Exception:
                # A fault of ours, not of the file: say so on the form, keep the details
                # for the log (mailed to ADMINS in production), and keep nothing else.
                logger.exception("Preview of %s failed", upload.name)
                form.add_error(
                    "import_file",
                    _(
                        "The file could not be checked because of an unexpected error on "
                        "the server. Nothing was written; the error has been recorded."
                    ),
                )
                return self.render_import_page(request, form=form)
            sheets, report.sheets_data = report.sheets_data, None
            if report.file_errors and not report.error_rows:
                # Refused outright (unreadable, a zip bomb, a DTD, no header row...): there
                # is nothing to confirm and no row to mark, so nothing is kept.
                return self.render_import_page(request, form=form, report=report)
            try:
                token, discarded = uploads.save_upload(
                    request,
                    data=data,
                    file_name=upload.name,
                    kind=self.spreadsheet_kind,
                    sheets=sheets,
                )
            except OSError:
                logger.exception("Could not keep an uploaded spreadsheet")
                form.add_error(
                    "import_file",
                    _("The server could not keep the file (disk full?). Nothing was imported."),
                )
            else:
                self.keep_unresolved(request, token, report)
                context.update(report=report, token=token)
                if discarded:
                    messages.warning(
                        request,
                        _(
                            "At most %(count)d uploaded files (%(size)d MB) may wait for "
                            "confirmation per person, so your oldest waiting uploads were "
                            "removed: %(files)s. Upload a file again if you still want to "
                            "import it."
                        )
                        % {
                            "count": settings.IMPORT_UPLOADS_PER_USER,
                            "size": settings.IMPORT_UPLOAD_BYTES_PER_USER // 1024 // 1024,
                            "files": ", ".join(discarded),
                        },
                    )
        return self.render_import_page(request, form=form, **context)

    def posted_upload(self, request):
        """The token and the stored upload a POST names, or the response when there is none
        (not a POST, no permission, an unknown or another user's token)."""
        if request.method != "POST":
            return None, HttpResponseRedirect(reverse(self.url_name("import")))
        if not self.has_import_permission(request):
            raise PermissionDenied
        token = request.POST.get("token", "")
        stored = self.stored_upload(request, token)
        if stored is None:
            return None, HttpResponseRedirect(reverse(self.url_name("import")))
        return (token, stored), None

    def import_stored(self, request, token: str, stored, *, dry_run: bool):
        """Run the import of the stored upload `token` on the cells its preview read (the
        file is not parsed a second time), with the units picked for its names."""
        data, file_name = stored
        return import_records(
            kind=self.spreadsheet_kind,
            data=data,
            file_name=file_name,
            user=request.user,
            dry_run=dry_run,
            sheets_data=uploads.load_sheets_data(request, token, kind=self.spreadsheet_kind),
            unit_choices=self.unit_choices(request, token),
        )

    def process_import(self, request, **kwargs):
        """Import the previewed file for real: everything or, if any row is wrong, nothing."""
        posted, response = self.posted_upload(request)
        if response is not None:
            return response
        token, stored = posted
        file_name = stored[1]
        if self.upload_is_job(request, token):
            return self.start_import_job(request, token, file_name, "import_confirm")
        try:
            report = self.import_stored(request, token, stored, dry_run=False)
        except Exception:
            logger.exception("Import of %s failed", file_name)
            messages.error(request, _("The import failed unexpectedly. Nothing was written."))
            return HttpResponseRedirect(reverse(self.url_name("import")))
        if not report.written:
            return self.render_import_page(
                request, form=UploadForm(), report=report, token=token, refused=True
            )
        uploads.delete_upload(request, token)
        messages.success(
            request,
            _("Imported %(file)s: %(new)d new, %(updated)d updated, %(unchanged)d unchanged.")
            % {
                "file": file_name,
                "new": report.count("new"),
                "updated": report.count("updated"),
                "unchanged": report.count("unchanged"),
            },
        )
        return HttpResponseRedirect(reverse(self.url_name("changelist")))

    def import_errors_view(self, request, token):
        """The uploaded file again, with a column explaining each refused row."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        stored = self.stored_upload(request, token)
        if stored is None:
            return HttpResponseRedirect(reverse(self.url_name("import")))
        if self.upload_is_job(request, token):
            return self.marked_errors_view(request, token)
        data, file_name = stored
        report = import_records(
            kind=self.spreadsheet_kind,
            data=data,
            file_name=file_name,
            user=request.user,
            unit_choices=self.unit_choices(request, token),
        )
        if not report.error_rows or report.header_row is None:
            messages.info(request, _("This file has no row errors to mark."))
            return HttpResponseRedirect(reverse(self.url_name("import")))
        try:
            content, name = report.marked_workbook(data, file_name)
        except SpreadsheetError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(reverse(self.url_name("import")))
        return FileResponse(
            io.BytesIO(content),
            as_attachment=True,
            filename=name,
            content_type=exporting.FORMATS[name.rsplit(".", 1)[1]],
        )

    def import_template_view(self, request):
        """A blank workbook with the right headers, an example row and instructions."""
        if not self.has_import_permission(request) and not self.has_export_permission(request):
            raise PermissionDenied
        stream = spooled_file()
        exporting.template_workbook(self.spreadsheet_kind, stream)
        stream.seek(0)
        prefix = _("template")
        return FileResponse(
            stream,
            as_attachment=True,
            filename=f"{prefix}-{self.spreadsheet_kind}.xlsx",
            content_type=exporting.FORMATS["xlsx"],
        )

    def preview_stored(self, request, token: str, stored, **page):
        """Preview the stored upload `token` again, with the units picked for its names."""
        file_name = stored[1]
        if self.upload_is_job(request, token):
            return self.repreview_job(request, token, file_name, **page)
        try:
            report = self.import_stored(request, token, stored, dry_run=True)
        except Exception:
            logger.exception("Preview of %s failed", file_name)
            messages.error(
                request,
                _(
                    "The file could not be checked because of an unexpected error on the "
                    "server. Nothing was written; the error has been recorded."
                ),
            )
            return HttpResponseRedirect(reverse(self.url_name("import")))
        self.keep_unresolved(request, token, report)
        return self.render_import_page(
            request, form=UploadForm(), report=report, token=token, **page
        )

    def render_import_page(
        self,
        request,
        *,
        form,
        report=None,
        token=None,
        refused=False,
        pick_problems=(),
        saved_aliases=(),
    ):
        resource_class = kinds.for_model(self.model).resource
        problems = report.problems if report else []
        picks = None
        if report and token and report.unresolved_units and not refused:
            picks = self.pick_form(request, report.unresolved_units)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import %(name)s") % {"name": self.opts.verbose_name_plural},
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media + (picks.media if picks else forms.Media()),
            "report": report,
            "pick_form": picks,
            "pick_problems": pick_problems,
            "saved_aliases": saved_aliases,
            "token": token,
            "refused": refused,
            "preview_rows": report.outcomes[:PREVIEW_ROWS] if report else [],
            "changed_rows": [o for o in report.outcomes if o.changes] if report else [],
            "problems": problems[:PROBLEMS_SHOWN],
            "hidden_problems": max(0, len(problems) - PROBLEMS_SHOWN),
            "preview_limit": PREVIEW_ROWS,
            "columns": resource_class.columns(),
            "max_mb": settings.IMPORT_MAX_BYTES // 1024 // 1024,
            "max_rows": number_format(settings.IMPORT_MAX_ROWS, force_grouping=True),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.import_page_template, context)

    # -- export ---------------------------------------------------------------------------

    def export_action(self, request):
        """Stream exactly the rows the changelist shows (its filters and search) as a file."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        file_format = request.GET.get("_format")
        filters = request.GET.copy()
        filters.pop("_format", None)
        if file_format not in exporting.FORMATS:
            context = {
                **self.admin_site.each_context(request),
                "title": _("Export %(name)s") % {"name": self.opts.verbose_name_plural},
                "opts": self.opts,
                "query": filters.urlencode(),
            }
            request.current_app = self.admin_site.name
            return TemplateResponse(request, "admin/coordination/export.html", context)
        request.GET = filters
        try:
            queryset = visible_to(self.get_export_queryset(request), request.user)
        except IncorrectLookupParameters:
            # What the changelist answers with its "?e=1" page: the filter is not a choice.
            messages.error(
                request,
                _("The list's filters are not valid choices: nothing was exported."),
            )
            return HttpResponseRedirect(reverse(self.url_name("changelist")))
        if jobs.is_large(queryset, settings.EXPORT_JOB_ROWS):
            return self.export_job(request, filters.urlencode(), file_format)
        stream = spooled_file()
        exporting.write_export(self.spreadsheet_kind, queryset, stream, file_format)
        stream.seek(0)
        return FileResponse(
            stream,
            as_attachment=True,
            filename=exporting.export_file_name(self.spreadsheet_kind, file_format),
            content_type=exporting.FORMATS[file_format],
        )

    def stored_upload(self, request, token):
        """The upload behind `token`, or None with a message asking to upload it again."""
        stored = uploads.load_upload(request, token, kind=self.spreadsheet_kind)
        if stored is None:
            messages.error(
                request, _("The uploaded file has expired or is unknown: please upload it again.")
            )
        return stored

    def url_name(self, view: str) -> str:
        return "admin:{}_{}_{}".format(*self.get_model_info(), view)
