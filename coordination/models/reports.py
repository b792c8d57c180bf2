"""Issued reports, kept exactly as issued, and the offices' own .docx layouts of them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from coordination.constraints import FieldCheckConstraint, FieldUniqueConstraint
from coordination.models.agreements import Agreement
from coordination.models.base import Record, year_range_constraint
from coordination.models.units import Unit


class IssuedReport(models.Model):
    """A yearly report as it was issued: its number, date, signers, text and figures frozen.

    Nothing here reads the records again: `content` holds the document and its tables as
    JSON, `docx` and `xlsx` the files as they were given out, and the names of the unit,
    the agreement and the user as text. The foreign keys only find the reports of a unit or
    an agreement, and protect them: a unit merger never deletes a unit, and neither a unit
    nor an agreement with an issued report can be deleted.
    """

    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_reports",
    )
    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_reports",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    version = models.PositiveSmallIntegerField(_("issue version"), default=1)
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        help_text=_("The issued report this one corrects."),
    )
    number = models.CharField(_("number"), max_length=100)
    issued_on = models.DateField(_("report date"))
    subject_name = models.CharField(_("unit or agreement"), max_length=800)
    signers = models.CharField(_("signed by"), max_length=500, blank=True)
    content = models.JSONField(_("content"), editable=False)
    docx = models.BinaryField(_("Word document"), editable=False)
    xlsx = models.BinaryField(_("Excel workbook"), editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="issued_reports",
    )
    issued_by_name = models.CharField(_("issued by"), max_length=300, blank=True)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True, editable=False)

    class Meta:
        verbose_name = _("issued report")
        verbose_name_plural = _("issued reports")
        ordering = ["-year", "-issued_at", "-pk"]
        constraints = [
            FieldCheckConstraint(
                condition=models.Q(unit__isnull=False, agreement__isnull=True)
                | models.Q(unit__isnull=True, agreement__isnull=False),
                name="coordination_issuedreport_one_subject",
                error_field="unit",
                violation_error_message=_("A report is of one unit or of one agreement."),
            ),
            FieldUniqueConstraint(
                fields=["unit", "year", "version"],
                condition=models.Q(unit__isnull=False),
                name="coordination_issuedreport_unit_version",
                error_field="version",
                violation_error_message=_("This version of the report was already issued."),
            ),
            FieldUniqueConstraint(
                fields=["agreement", "year", "version"],
                condition=models.Q(agreement__isnull=False),
                name="coordination_issuedreport_agreement_version",
                error_field="version",
                violation_error_message=_("This version of the report was already issued."),
            ),
            year_range_constraint("issuedreport"),
        ]
        indexes = [
            models.Index(fields=["unit", "year"], name="coordination_isr_unit_year"),
            models.Index(fields=["agreement", "year"], name="coordination_isr_agr_year"),
        ]
        permissions = [("issue_report", "Can issue reports")]

    def __str__(self):
        return f"{self.number} – {self.subject_name} ({self.year})"


class ReportTemplate(Record):
    """An office's own .docx layout of the yearly report, for one unit or for every unit.

    The file is a docxtpl template with the placeholders of the default one
    (`coordination/reports/docx.py`); it is checked when uploaded (`reports.docx`).
    """

    name = models.CharField(_("name"), max_length=200)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="report_templates",
        help_text=_("Left empty, the template serves every unit without one of its own."),
    )
    content = models.BinaryField(_("file"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")
        ordering = ["unit", "-updated_at"]

    def __str__(self):
        return self.name
