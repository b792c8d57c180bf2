"""Admin pages of the reports: issued reports (read only, within the user's units) and the
offices' own .docx templates of the báo cáo (uploaded, checked, downloadable)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from coordination.models import IssuedReport, ReportTemplate
from coordination.reports import issuing
from coordination.reports.docx import (
    DOCX_CONTENT_TYPE,
    MAX_TEMPLATE_BYTES,
    TemplateProblem,
    check_template,
)
from coordination.reports.docx_template import default_template


class StoredFilesMixin:
    """No list lookup on the stored files and snapshot: a URL filters on their bytes never
    (PostgreSQL's driver refuses text for bytes), and nobody needs to."""

    stored = ("docx", "xlsx", "content")

    def lookup_allowed(self, lookup, value, request):
        if lookup.split(LOOKUP_SEP)[0] in self.stored:
            return False
        return super().lookup_allowed(lookup, value, request)


@admin.register(IssuedReport)
class IssuedReportAdmin(StoredFilesMixin, admin.ModelAdmin):
    """The issued reports, as they were issued: nothing here can change or delete them."""

    list_display = [
        "number",
        "subject_name",
        "year",
        "version",
        "issued_on",
        "signers",
        "issued_by_name",
        "issued_at",
    ]
    list_filter = ["year"]
    search_fields = ["number", "subject_name", "signers"]
    list_select_related = ["corrects"]
    show_full_result_count = False
    fields = [
        "number",
        "subject_name",
        "year",
        "version",
        "corrects",
        "issued_on",
        "signers",
        "issued_by_name",
        "issued_at",
        "files",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # The user's scope, as on /records/; the files and the content stay in the database.
        return issuing.issued_reports(request.user).defer("docx", "xlsx", "content")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Files"))
    def files(self, obj):
        url = reverse("coordination:issued-report", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> · <a href="{}?format=docx">.docx</a> · '
            '<a href="{}?format=xlsx">.xlsx</a>',
            url,
            _("Report page"),
            url,
            url,
        )


class ReportTemplateForm(forms.ModelForm):
    """The template's file, checked before it is kept (`reports.docx.check_template`)."""

    upload = forms.FileField(
        label=_("Word template (.docx)"),
        required=False,
        help_text=_(
            "A .docx with the placeholders of the default template (download it below); "
            "at most 2 MB."
        ),
    )

    class Meta:
        model = ReportTemplate
        fields = ["name", "unit", "is_active"]

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload is None:
            if self.instance.pk is None:
                raise forms.ValidationError(_("Choose the template's .docx file."))
            return None
        if upload.size > MAX_TEMPLATE_BYTES:
            raise forms.ValidationError(
                _("The template is larger than %(size)d MB.")
                % {"size": MAX_TEMPLATE_BYTES // (1024 * 1024)}
            )
        data = upload.read()
        try:
            check_template(data)
        except TemplateProblem as problem:
            raise forms.ValidationError(str(problem)) from problem
        return data

    def save(self, commit=True):
        data = self.cleaned_data.get("upload")
        if data is not None:
            self.instance.content = data
        return super().save(commit)


@admin.register(ReportTemplate)
class ReportTemplateAdmin(StoredFilesMixin, admin.ModelAdmin):
    form = ReportTemplateForm
    list_display = ["name", "unit", "is_active", "updated_at", "download"]
    list_filter = ["is_active"]
    list_select_related = ["unit"]
    autocomplete_fields = ["unit"]
    readonly_fields = ["download", "default_template_link"]
    fields = ["name", "unit", "is_active", "upload", "download", "default_template_link"]

    def get_urls(self):
        opts = self.model._meta
        prefix = f"{opts.app_label}_{opts.model_name}"
        return [
            path(
                "default.docx",
                self.admin_site.admin_view(self.default_view),
                name=f"{prefix}_default",
            ),
            path(
                "<int:pk>/template.docx",
                self.admin_site.admin_view(self.download_view),
                name=f"{prefix}_download",
            ),
            *super().get_urls(),
        ]

    def default_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self.docx_response(default_template(), "mau-bao-cao.docx")

    def download_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        template = get_object_or_404(ReportTemplate, pk=pk)
        return self.docx_response(bytes(template.content), f"mau-bao-cao-{template.pk}.docx")

    @staticmethod
    def docx_response(content: bytes, file_name: str) -> HttpResponse:
        response = HttpResponse(content, content_type=DOCX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{file_name}"'
        return response

    @admin.display(description=_("File"))
    def download(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:coordination_reporttemplate_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    @admin.display(description=_("Default template"))
    def default_template_link(self, obj):
        url = reverse("admin:coordination_reporttemplate_default")
        return format_html('<a href="{}">{}</a>', url, _("Download the default template"))
