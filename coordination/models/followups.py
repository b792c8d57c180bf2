"""Follow-up items tracked until resolved: limitations, conclusions, petitions, ..."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coordination.choices import FollowUpKind, FollowUpStatus
from coordination.constraints import FieldCheckConstraint
from coordination.models.agreements import Agreement
from coordination.models.base import (
    DeadlineMixin,
    DeadlineQuerySet,
    DeadlineRules,
    Record,
    SearchableMixin,
    import_export_permissions,
    year_range_constraint,
)
from coordination.models.meetings import Meeting
from coordination.models.units import Unit


class FollowUp(DeadlineMixin, SearchableMixin, Record):
    """A limitation, conclusion, petition or recommendation that a unit must resolve."""

    # The text `q` searches, kept folded in `search_text` (SearchableMixin).
    search_document_fields = ("content", "resolution", "source_reference")
    # A carried-over item lives on in its successor for the next year, so it is not
    # outstanding twice; closed items were settled without a resolution and are never late.
    deadline_rules = DeadlineRules(
        statuses=FollowUpStatus,
        outstanding=(FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS),
        completed=FollowUpStatus.RESOLVED,
        completed_on="resolved_on",
        settled=(FollowUpStatus.CLOSED,),
    )

    kind = models.CharField(_("kind"), max_length=32, choices=FollowUpKind)
    year = models.PositiveSmallIntegerField(_("year"))
    content = models.TextField(_("content"))
    responsible_unit = models.ForeignKey(
        Unit,
        verbose_name=_("responsible unit"),
        on_delete=models.PROTECT,
        related_name="followups",
    )
    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followups",
    )
    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("raised at meeting"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followups",
    )
    raised_on = models.DateField(_("raised on"), null=True, blank=True)
    source_reference = models.CharField(
        _("source reference"),
        max_length=255,
        blank=True,
        help_text=_("The document, report or petition the item comes from."),
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=FollowUpStatus, default=FollowUpStatus.OPEN
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    carried_over_from = models.OneToOneField(
        "self",
        verbose_name=_("carried over from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carried_over_to",
        error_messages={"unique": _("This item has already been carried over.")},
    )

    objects = DeadlineQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("follow-up item")
        verbose_name_plural = _("follow-up items")
        ordering = ["-year", "due_date", "pk"]
        constraints = [
            year_range_constraint("followup"),
            FieldCheckConstraint(
                condition=~models.Q(status=FollowUpStatus.RESOLVED)
                | models.Q(resolved_on__isnull=False),
                name="coordination_followup_resolved_has_date",
                error_field="resolved_on",
                violation_error_message=_("A resolved item needs its resolution date."),
            ),
            FieldCheckConstraint(
                condition=models.Q(status__in=[FollowUpStatus.RESOLVED, FollowUpStatus.CLOSED])
                | models.Q(resolved_on__isnull=True),
                name="coordination_followup_open_has_no_resolution_date",
                error_field="resolved_on",
                violation_error_message=_("Only a resolved or closed item has a resolution date."),
            ),
            FieldCheckConstraint(
                condition=models.Q(due_date__gte=models.F("raised_on")),
                name="coordination_followup_due_after_raised",
                error_field="due_date",
                violation_error_message=_("The due date cannot be before the date it was raised."),
            ),
            FieldCheckConstraint(
                condition=models.Q(resolved_on__gte=models.F("raised_on")),
                name="coordination_followup_resolved_after_raised",
                error_field="resolved_on",
                violation_error_message=_(
                    "The resolution date cannot be before the date it was raised."
                ),
            ),
            FieldCheckConstraint(
                condition=~models.Q(carried_over_from=models.F("pk")),
                name="coordination_followup_not_carried_from_self",
                error_field="carried_over_from",
                violation_error_message=_("An item cannot be carried over from itself."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["year", "responsible_unit", "status"], name="coordination_fu_year_unit"
            ),
            # The lists' default order (newest year, then by due date), and a year's rows
            # by due date: the admin's first page reads 50 index entries, sorts nothing.
            models.Index(fields=["-year", "due_date", "id"], name="coordination_fu_list_order"),
            # A year and a status (or the outstanding statuses) across all units, by due date.
            models.Index(
                fields=["year", "status", "due_date"], name="coordination_fu_yr_status_due"
            ),
            models.Index(fields=["status", "due_date"], name="coordination_fu_status_due"),
            models.Index(fields=["kind", "year"], name="coordination_fu_kind_year"),
        ]
        permissions = import_export_permissions("followup", "follow-up items")

    def __str__(self):
        return self.content if len(self.content) <= 80 else f"{self.content[:79]}…"
