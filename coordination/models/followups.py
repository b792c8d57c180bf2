"""Follow-up items tracked until resolved: limitations, conclusions, petitions, ..."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coordination.choices import FollowUpKind, FollowUpStatus
from coordination.constraints import FieldCheckConstraint
from coordination.db_functions import ContentKey
from coordination.history import unindexed_entry_fields
from coordination.models.agreements import Agreement
from coordination.models.base import (
    DeadlineMixin,
    DeadlineQuerySet,
    DeadlineRules,
    DerivedInputs,
    Record,
    SearchableMixin,
    import_export_permissions,
    year_range_constraint,
)
from coordination.models.meetings import Meeting
from coordination.models.tasks import Task
from coordination.models.units import Unit

#: The fields an item derives from the items it continues (`carried_over_from`) and repeats
#: (`repeats`): its thread. Kept by `FollowUp.set_thread()` and `refresh_threads()`.
THREAD_FIELDS = ("first_raised_year", "times_carried", "times_raised")
#: Generations `refresh_threads()` follows at most: far more than any thread has years.
MAX_GENERATIONS = 200
#: A link to an item not loaded with the record (its id only).
NOT_AT_HAND = object()


def thread_values(year: int, carried: tuple | None, repeated: tuple | None) -> tuple:
    """(first raised year, times carried over, times raised) of an item of `year`, from the
    same values of the item it is carried over from and of the item it repeats (or None).

    The year first raised is the earliest of the thread; an item is carried once more than
    the item it continues; it is raised once more than the more-raised of the two.
    """
    first = min([year, *(values[0] for values in (carried, repeated) if values)])
    times_carried = carried[1] + 1 if carried else 0
    times_raised = 1 + max([0, *(values[2] for values in (carried, repeated) if values)])
    return first, times_carried, times_raised


class FollowUpQuerySet(DeadlineQuerySet):
    def for_unit(self, unit):
        """Items a unit answers for, as the responsible unit or a co-responsible one."""
        through = FollowUp.co_responsible_units.through
        return self.filter(
            models.Q(responsible_unit=unit)
            | models.Q(pk__in=through.objects.filter(unit=unit).values("followup"))
        )

    def refresh_threads(self, pks) -> dict[int, tuple]:
        """Recompute the thread fields of the items `pks` from the items they continue or
        repeat, then of the items continuing or repeating them, generation by generation,
        as long as values change: two queries per generation (and per 5,000 items), however
        many items, and no chain walked item by item. Returns the new values by pk.

        `updated_at` is left alone: derived values are no change of the record's own.
        """
        model = self.model
        manager = model._base_manager
        changed_values: dict[int, tuple] = {}
        frontier, descend = set(pks), set(pks)
        for _generation in range(MAX_GENERATIONS):
            if not frontier:
                break
            changed = []
            for batch in _batches(frontier):
                rows = manager.filter(pk__in=batch).values_list(
                    "pk",
                    "year",
                    *THREAD_FIELDS,
                    "carried_over_from",
                    *(f"carried_over_from__{name}" for name in THREAD_FIELDS),
                    "repeats",
                    *(f"repeats__{name}" for name in THREAD_FIELDS),
                )
                for pk, year, *current, carried, c1, c2, c3, repeated, r1, r2, r3 in rows:
                    values = thread_values(
                        year,
                        (c1, c2, c3) if carried else None,
                        (r1, r2, r3) if repeated else None,
                    )
                    if tuple(current) != values:
                        changed.append(
                            model(pk=pk, **dict(zip(THREAD_FIELDS, values, strict=True)))
                        )
                        changed_values[pk] = values
            manager.bulk_update(changed, THREAD_FIELDS, batch_size=1000)
            descend |= {item.pk for item in changed}
            frontier = set()
            for batch in _batches(descend):
                frontier |= set(
                    manager.filter(
                        models.Q(carried_over_from__in=batch) | models.Q(repeats__in=batch)
                    ).values_list("pk", flat=True)
                )
            descend = set()
        return changed_values


def _batches(pks, size: int = 5000):
    pks = sorted(pks)
    for start in range(0, len(pks), size):
        yield pks[start : start + size]


class FollowUp(DeadlineMixin, SearchableMixin, Record):
    """A limitation, conclusion, petition or recommendation that a unit must resolve."""

    # The text `q` searches, kept folded in `search_text` (SearchableMixin).
    search_document_fields = ("content", "resolution", "source_reference")
    # The thread follows the year and the links: written with them (`with_derived_fields`).
    derived_fields = dict.fromkeys(
        THREAD_FIELDS,
        ("year", "carried_over_from", "carried_over_from_id", "repeats", "repeats_id"),
    )
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
        # The index beginning with the unit ("coordination_fu_unit_st_due") serves every
        # lookup by unit; one more written by every new item would serve none (migration 0031).
        db_index=False,
    )
    co_responsible_units = models.ManyToManyField(
        Unit,
        verbose_name=_("co-responsible units"),
        related_name="co_responsible_followups",
        blank=True,
        help_text=_(
            "Other units that answer for the item with the responsible unit (a direction "
            "addressed to several bodies). Their staff see it among their records; the "
            "tables and reports count it under the responsible unit only."
        ),
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
    repeats = models.ForeignKey(
        "self",
        verbose_name=_("repeats"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="repeated_by",
        help_text=_(
            "An earlier item this one raises again: a voter petition raised again (tái kiến "
            "nghị), a limitation that recurs."
        ),
    )
    # The task that carries the item out: next year's programme makes one for each open
    # conclusion of the review meeting (`coordination.programme`); any item may name one.
    task = models.ForeignKey(
        Task,
        verbose_name=_("carried out by task"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followups",
        help_text=_("The task of a programme that carries this item out."),
    )
    # The item's thread, derived from the two links above (`set_thread`, `refresh_threads`):
    # stored so that lists and reports read it without walking chains.
    first_raised_year = models.PositiveSmallIntegerField(_("first raised in"), editable=False)
    times_carried = models.PositiveSmallIntegerField(
        _("times carried over"), default=0, editable=False
    )
    times_raised = models.PositiveSmallIntegerField(_("times raised"), default=1, editable=False)

    objects = FollowUpQuerySet.as_manager()
    # The thread fields follow the links, which the history keeps; a link set on one item
    # changes the thread of its successors without being a change of theirs.
    # Each entry keeps the co-responsible units as they were, as a task's keeps its
    # coordinating units.
    history = HistoricalRecords(
        m2m_fields=[co_responsible_units],
        excluded_fields=["search_text", *THREAD_FIELDS],
        no_db_index=unindexed_entry_fields(
            "responsible_unit", "agreement", "meeting", "carried_over_from", "repeats", "task"
        ),
    )

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
            FieldCheckConstraint(
                condition=~models.Q(repeats=models.F("pk")),
                name="coordination_followup_not_repeating_itself",
                error_field="repeats",
                violation_error_message=_("An item cannot repeat itself."),
            ),
            FieldCheckConstraint(
                condition=models.Q(first_raised_year__lte=models.F("year")),
                name="coordination_followup_first_raised_not_after_year",
                error_field="year",
                violation_error_message=_(
                    "The year cannot be before the year the item was first raised."
                ),
            ),
        ]
        indexes = [
            # A year and a unit (and a status, checked in the index), and the natural key
            # an import finds its rows' records by (`importing.keys`: year, unit, a hash of
            # the content; the kind is compared on the row). One index where there were two
            # (migration 0033): an import's rows, spread over the province's units, touch
            # the pages of one index beginning with the year and unit, not of two.
            models.Index(
                models.F("year"),
                models.F("responsible_unit"),
                ContentKey("content"),
                models.F("status"),
                name="coordination_fu_year_unit_key",
            ),
            # The lists' default order (newest year, then by due date), and a year's rows
            # by due date: the admin's first page reads 50 index entries, sorts nothing.
            models.Index(fields=["-year", "due_date", "id"], name="coordination_fu_list_order"),
            # A year and a status (or the outstanding statuses) across all units, by due date.
            models.Index(
                fields=["year", "status", "due_date"], name="coordination_fu_yr_status_due"
            ),
            models.Index(fields=["status", "due_date"], name="coordination_fu_status_due"),
            # A unit's outstanding items by deadline (its landing page, its reminders): the
            # counts and the first rows in order from the index alone, for a unit of 40,000.
            models.Index(
                fields=["responsible_unit", "status", "due_date", "id"],
                name="coordination_fu_unit_st_due",
            ),
            models.Index(fields=["kind", "year"], name="coordination_fu_kind_year"),
        ]
        permissions = import_export_permissions("followup", "follow-up items")

    def __str__(self):
        return self.content if len(self.content) <= 80 else f"{self.content[:79]}…"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # The items continuing or repeating this one follow it (and this one, when its
        # links were not at hand to compute it before the write).
        values = FollowUp.objects.refresh_threads([self.pk]).get(self.pk)
        if values is not None:
            for name, value in zip(THREAD_FIELDS, values, strict=True):
                setattr(self, name, value)

    def clean(self):
        super().clean()
        errors = {}
        carried = self.linked("carried_over_from")
        if carried not in (None, NOT_AT_HAND) and self.year and carried.year >= self.year:
            errors["carried_over_from"] = _(
                "An item is carried over from an item of an earlier year."
            )
        repeated = self.linked("repeats")
        if repeated not in (None, NOT_AT_HAND) and self.year:
            later = repeated.year > self.year
            entered_after = repeated.year == self.year and self.pk and repeated.pk >= self.pk
            if later or entered_after:
                errors["repeats"] = _(
                    "An item can only repeat an earlier one: of an earlier year, or of the "
                    "same year and entered before it."
                )
        if errors:
            raise ValidationError(errors)

    def prepare_for_save(self) -> None:
        super().prepare_for_save()
        self.set_thread()

    def linked(self, name: str):
        """The item a link names if it is at hand (loaded with the record, or set on it),
        None when there is none, `NOT_AT_HAND` when only its id is known."""
        model_field = self._meta.get_field(name)
        if getattr(self, model_field.attname) is None:
            return None
        if model_field.is_cached(self):
            return getattr(self, name)
        return NOT_AT_HAND

    def set_thread(self) -> None:
        """The thread fields from the items this one continues and repeats, when both are
        at hand; else they are left to `refresh_threads()` after the write (which every
        write path runs), kept only from being after the item's own year."""
        if self.year is None:
            return
        links = [self.linked("carried_over_from"), self.linked("repeats")]
        if NOT_AT_HAND in links:
            self.first_raised_year = min(self.first_raised_year or self.year, self.year)
            return
        carried, repeated = (
            tuple(getattr(item, name) for name in THREAD_FIELDS) if item else None for item in links
        )
        values = thread_values(self.year, carried, repeated)
        self.first_raised_year, self.times_carried, self.times_raised = values

    derived_inputs = DerivedInputs(
        links=("carried_over_from_id", "repeats_id"),
        fields=frozenset({"year", "carried_over_from_id", "repeats_id"}),
    )

    @classmethod
    def refresh_derived(cls, pks) -> None:
        cls.objects.refresh_threads(pks)

    @staticmethod
    def co_responsible_problem(unit, co_responsible) -> str | None:
        """The message when the responsible unit is also named co-responsible (the admin's
        form and the import check it: a many-to-many rule no database constraint holds)."""
        if unit is None or unit not in set(co_responsible or ()):
            return None
        return _("%(unit)s is the responsible unit: it cannot also be co-responsible.") % {
            "unit": unit.full_name
        }
