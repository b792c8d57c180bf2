"""Review meetings where the parties assess an agreement and draw conclusions."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from coordination.choices import MeetingKind
from coordination.constraints import FieldCheckConstraint
from coordination.db_functions import Fold, KeyPrefix
from coordination.models.agreements import Agreement
from coordination.models.base import Record, import_export_permissions, year_range_constraint
from coordination.models.units import Person, Unit


class Meeting(Record):
    """An interim, final, annual or signing conference (hội nghị) of an agreement's parties."""

    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=16, choices=MeetingKind)
    held_on = models.DateField(_("held on"))
    venue = models.CharField(_("venue"), max_length=255, blank=True)
    agreements = models.ManyToManyField(
        Agreement,
        verbose_name=_("agreements reviewed"),
        related_name="meetings",
        blank=True,
    )
    period_from_year = models.PositiveSmallIntegerField(
        _("reviews from year"), null=True, blank=True
    )
    period_to_year = models.PositiveSmallIntegerField(_("reviews to year"), null=True, blank=True)
    co_chairs = models.ManyToManyField(
        Person, verbose_name=_("co-chairs"), related_name="chaired_meetings", blank=True
    )
    attending_units = models.ManyToManyField(
        Unit,
        verbose_name=_("attending units"),
        related_name="attended_meetings",
        blank=True,
    )
    summary = models.TextField(_("summary"), blank=True)
    conclusions = models.TextField(_("conclusions"), blank=True)
    source_url = models.URLField(_("source link"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_on", "pk"]
        constraints = [
            FieldCheckConstraint(
                condition=models.Q(period_to_year__gte=models.F("period_from_year")),
                name="coordination_meeting_period_order",
                error_field="period_to_year",
                violation_error_message=_("The reviewed period cannot end before it starts."),
            ),
            year_range_constraint("meeting", "period_from_year"),
        ]
        indexes = [
            models.Index(fields=["held_on"], name="coordination_meeting_held_on"),
            # An import reads the meetings its cells name by their folded titles
            # (`MeetingWidget.named_records`): without it, every title of the table is folded.
            models.Index(KeyPrefix(Fold("title")), name="coordination_meeting_title_key"),
        ]
        permissions = import_export_permissions("meeting", "meetings")

    def __str__(self):
        return self.reference_text(self.title, self.held_on)

    @staticmethod
    def reference_text(title: str, held_on) -> str:
        """How a spreadsheet names a meeting: “title (dd/mm/yyyy)”, as titles repeat."""
        return f"{title} ({held_on:%d/%m/%Y})" if held_on else title
