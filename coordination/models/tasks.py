"""Yearly coordination tasks assigned by an agreement."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coordination.choices import TaskStatus
from coordination.constraints import FieldCheckConstraint
from coordination.db_functions import ContentKey
from coordination.history import unindexed_entry_fields
from coordination.models.agreements import Agreement
from coordination.models.base import (
    DeadlineMixin,
    DeadlineQuerySet,
    DeadlineRules,
    Record,
    SearchableMixin,
    import_export_permissions,
    validate_year_within_agreement,
    year_range_constraint,
)
from coordination.models.meetings import Meeting
from coordination.models.units import Person, Unit


class TaskQuerySet(DeadlineQuerySet):
    def for_unit(self, unit):
        """Tasks a unit leads or coordinates."""
        return self.filter(
            models.Q(lead_unit=unit)
            | models.Q(
                pk__in=Task.coordinating_units.through.objects.filter(unit=unit).values("task")
            )
        )


class Task(DeadlineMixin, SearchableMixin, Record):
    """A coordination task (nhiệm vụ phối hợp) with a lead unit, a deadline and a result."""

    # The text `q` searches, kept folded in `search_text` (SearchableMixin).
    search_document_fields = ("content", "result")
    deadline_rules = DeadlineRules(
        statuses=TaskStatus,
        outstanding=(TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS),
        completed=TaskStatus.DONE,
        completed_on="completed_on",
        settled=(TaskStatus.CANCELLED,),
    )

    agreement = models.ForeignKey(
        Agreement, verbose_name=_("agreement"), on_delete=models.PROTECT, related_name="tasks"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    content = models.TextField(_("content"))
    lead_unit = models.ForeignKey(
        Unit,
        verbose_name=_("lead unit"),
        on_delete=models.PROTECT,
        related_name="led_tasks",
        # The index beginning with the unit ("coordination_task_unit_st_due") serves every
        # lookup by unit (migration 0031).
        db_index=False,
    )
    coordinating_units = models.ManyToManyField(
        Unit, verbose_name=_("coordinating units"), related_name="coordinated_tasks", blank=True
    )
    assignee = models.ForeignKey(
        Person,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=TaskStatus, default=TaskStatus.NOT_STARTED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("from meeting"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
    )
    recurring = models.BooleanField(
        _("recurring every year"),
        default=False,
        help_text=_("Repeated in next year's programme, with its dates moved a year."),
    )
    # Where next year's programme took the task from (`coordination.programme`): one
    # successor per task and year, so a second run finds it and creates nothing.
    repeats = models.OneToOneField(
        "self",
        verbose_name=_("repeats the task of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="repeated_by",
        error_messages={"unique": _("This task has already been repeated.")},
    )
    carried_over_from = models.OneToOneField(
        "self",
        verbose_name=_("carried over from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carried_over_to",
        error_messages={"unique": _("This task has already been carried over.")},
    )

    objects = TaskQuerySet.as_manager()
    # Each history entry keeps the coordinating units as they were.
    history = HistoricalRecords(
        m2m_fields=[coordinating_units],
        excluded_fields=["search_text"],
        no_db_index=unindexed_entry_fields(
            "agreement", "lead_unit", "assignee", "meeting", "repeats", "carried_over_from"
        ),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["-year", "due_date", "pk"]
        constraints = [
            year_range_constraint("task"),
            FieldCheckConstraint(
                condition=models.Q(due_date__gte=models.F("start_date")),
                name="coordination_task_due_after_start",
                error_field="due_date",
                violation_error_message=_("The due date cannot be before the start date."),
            ),
            FieldCheckConstraint(
                condition=models.Q(progress__gte=0, progress__lte=100),
                name="coordination_task_progress_range",
                error_field="progress",
                violation_error_message=_("Progress must be between 0 and 100%%."),
            ),
            FieldCheckConstraint(
                condition=~models.Q(status=TaskStatus.DONE) | models.Q(completed_on__isnull=False),
                name="coordination_task_done_has_completion_date",
                error_field="completed_on",
                violation_error_message=_("A done task needs its completion date."),
            ),
            FieldCheckConstraint(
                condition=models.Q(status=TaskStatus.DONE) | models.Q(completed_on__isnull=True),
                name="coordination_task_completion_date_only_when_done",
                error_field="completed_on",
                violation_error_message=_("Only a done task has a completion date."),
            ),
            FieldCheckConstraint(
                condition=models.Q(repeats__isnull=True) | models.Q(carried_over_from__isnull=True),
                name="coordination_task_one_predecessor",
                error_field="carried_over_from",
                violation_error_message=_(
                    "A task either repeats a recurring task or continues an open one, not both."
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["year", "lead_unit", "status"], name="coordination_task_year_unit"
            ),
            # The lists' default order (newest year, then by due date), and a year's rows
            # by due date: the admin's first page reads 50 index entries, sorts nothing.
            models.Index(fields=["-year", "due_date", "id"], name="coordination_task_list_order"),
            # A year and a status (or the open statuses) across all units, by due date.
            models.Index(fields=["year", "status", "due_date"], name="coordination_task_yr_st_due"),
            models.Index(fields=["status", "due_date"], name="coordination_task_status_due"),
            # A unit's outstanding tasks by deadline (its landing page, its reminders).
            models.Index(
                fields=["lead_unit", "status", "due_date", "id"],
                name="coordination_task_unit_st_due",
            ),
            # The natural key an import finds its rows' records by (`importing.keys`).
            models.Index(
                models.F("agreement"),
                models.F("year"),
                ContentKey("content"),
                name="coordination_task_natural_key",
            ),
        ]
        permissions = import_export_permissions("task", "tasks")

    def __str__(self):
        return self.content if len(self.content) <= 80 else f"{self.content[:79]}…"

    def clean(self):
        super().clean()
        validate_year_within_agreement(self)
