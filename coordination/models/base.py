"""What every coordination record shares: clean text on every write path, timestamps."""

import dataclasses
import datetime
import functools

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.constraints import FieldCheckConstraint
from coordination.text import clean_text, fold

YEAR_MIN = 1945
YEAR_MAX = 2100


#: The stored, folded copy of a record's searched text (`SearchableMixin`).
SEARCH_TEXT = "search_text"


@functools.cache
def _text_fields(model) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField))
        and not field.choices
        and field.name != SEARCH_TEXT
    ]


def search_document_fields(model) -> tuple[str, ...]:
    """The fields `model` keeps a folded copy of in `search_text`, or () when none."""
    return getattr(model, "search_document_fields", ())


def with_derived_fields(model, fields):
    """`fields` of a bulk_update() or save(update_fields=…), with the fields derived from
    them added (`prepare_for_save()` computes them): `search_text` when one of the fields it
    copies is among them, and the model's `derived_fields` whose sources are."""
    if fields is None:
        return fields
    derived = {SEARCH_TEXT: search_document_fields(model), **getattr(model, "derived_fields", {})}
    added = [
        name
        for name, sources in derived.items()
        if set(sources) & set(fields) and name not in fields
    ]
    return [*fields, *added] if added else fields


def clean_field_value(field: models.Field, value):
    """Clean one value bound for `field`; anything but a str (None, F(), ...) is kept."""
    if isinstance(value, str):
        return clean_text(value, multiline=isinstance(field, models.TextField))
    return value


@dataclasses.dataclass(frozen=True)
class DerivedInputs:
    """What a model's derived fields are computed from (`Record.derived_inputs`)."""

    links: tuple[str, ...] = ()
    fields: frozenset[str] = frozenset()


class RecordQuerySet(models.QuerySet):
    """A queryset whose bulk writes clean text exactly as `Model.save()` does."""

    def bulk_create(self, objs, *args, prepared: bool = False, **kwargs):
        """`prepared=True`: the caller already ran `prepare_for_save()` on every object."""
        objs = list(objs)
        if not prepared:
            for obj in objs:
                obj.prepare_for_save()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.prepare_for_save()
        return super().bulk_update(objs, with_derived_fields(self.model, fields), *args, **kwargs)

    def update(self, **kwargs):
        fields = {field.name: field for field in _text_fields(self.model)}
        kwargs = {
            name: clean_field_value(fields[name], value) if name in fields else value
            for name, value in kwargs.items()
        }
        document = search_document_fields(self.model)
        if not set(document) & set(kwargs):
            return super().update(**kwargs)
        # SQL cannot fold like Python: read the changed rows back and refresh search_text
        # (with the plain manager, whose bulk_update() does not prepare these bare records).
        with transaction.atomic(using=self.db):
            pks = list(self.values_list("pk", flat=True))
            changed = super().update(**kwargs)
            rows = self.model._base_manager.filter(pk__in=pks).values_list("pk", *document)
            self.model._base_manager.bulk_update(
                [
                    self.model(pk=pk, search_text=fold(" ".join(v or "" for v in values)))
                    for pk, *values in rows
                ],
                [SEARCH_TEXT],
                batch_size=1000,
            )
        return changed


class Record(models.Model):
    """Abstract base of every coordination model."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, editable=False)

    objects = RecordQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.prepare_for_save()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = with_derived_fields(type(self), kwargs["update_fields"])
        super().save(*args, **kwargs)

    def full_clean(self, *args, **kwargs):
        # Validate what will be stored, so uniqueness is checked on the cleaned text.
        self.prepare_for_save()
        super().full_clean(*args, **kwargs)

    #: What the derived fields depend on: `links`, the attnames of the links that make a
    #: new record's values depend on another (refreshed after a bulk write when set), and
    #: `fields`, the attnames whose change affects them or other records' (see `FollowUp`).
    derived_inputs = DerivedInputs()

    @classmethod
    def refresh_derived(cls, pks) -> None:
        """Bring up to date, after a bulk write of the records `pks` (an import's), the
        fields they derive from other records: nothing for most models (see `FollowUp`)."""

    def prepare_for_save(self) -> None:
        """Bring the record into its stored form; called by save(), full_clean() and bulk writes."""
        for field in _text_fields(type(self)):
            value = getattr(self, field.attname)
            cleaned = clean_field_value(field, value)
            if cleaned is not value:
                setattr(self, field.attname, cleaned)
        searched = search_document_fields(type(self))
        if searched:
            self.search_text = fold(" ".join(getattr(self, name) or "" for name in searched))


class SearchableMixin(models.Model):
    """A folded copy of the record's own searched text (`search_document_fields`), kept by
    `prepare_for_save()` on every write path.

    The free-text search matches it with LIKE '%word%': no folding of each row at query time
    (PostgreSQL's TRANSLATE over the Vietnamese letters costs ~85 µs a row), and on
    PostgreSQL a trigram index on it (migration 0008) finds the rows of a large table.
    """

    #: The fields copied, in this order; a subclass sets them.
    search_document_fields: tuple[str, ...] = ()

    search_text = models.TextField(_("search text"), editable=False, blank=True, default="")

    class Meta:
        abstract = True


def year_range_constraint(model_name: str, field: str = "year") -> FieldCheckConstraint:
    """The named constraint keeping `field` a plausible year (NULL passes, as in SQL)."""
    return FieldCheckConstraint(
        condition=models.Q(**{f"{field}__gte": YEAR_MIN, f"{field}__lte": YEAR_MAX}),
        name=f"coordination_{model_name}_{field}_range",
        error_field=field,
        violation_error_message=_("The year must be between 1945 and 2100."),  # YEAR_MIN, YEAR_MAX
    )


def validate_year_within_agreement(record) -> None:
    """Raise a `year` error when `record.year` falls outside its agreement's years."""
    agreement = record.agreement if record.agreement_id else None
    if agreement and record.year and not agreement.start_year <= record.year <= agreement.end_year:
        raise ValidationError(
            {
                "year": _("The year must fall within the agreement's years (%(start)s–%(end)s).")
                % {"start": agreement.start_year, "end": agreement.end_year}
            }
        )


@dataclasses.dataclass(frozen=True)
class DeadlineRules:
    """When a record with a status and a due date is outstanding, overdue, on time or late.

    The one definition the lists, filters, admin links and reports all use:

    - outstanding: a status in `outstanding`;
    - overdue: outstanding with a due date before today;
    - late: `completed` after the due date (`completed_on`), or past the due date and
      neither completed nor `settled` (settled records are never late);
    - on time: completed on or before the due date.

    `statuses` is the model's choice of statuses, in the order the reports show them: each
    status is a column of the reports, and the columns of a row add up to its total.
    """

    statuses: type[models.TextChoices]
    outstanding: tuple
    completed: str
    completed_on: str
    settled: tuple = ()

    def __post_init__(self):
        named = {*self.outstanding, self.completed, *self.settled}
        unknown = named - set(self.statuses.values)
        if unknown:
            raise ValueError(f"Statuses not in {self.statuses.__name__}: {sorted(unknown)}")

    def status_q(self, status: str) -> models.Q:
        return models.Q(status=status)

    def outstanding_q(self) -> models.Q:
        return models.Q(status__in=self.outstanding)

    def overdue_q(self, today: datetime.date) -> models.Q:
        return self.outstanding_q() & models.Q(due_date__lt=today)

    def completed_q(self) -> models.Q:
        return models.Q(status=self.completed)

    def late_done_q(self) -> models.Q:
        return self.completed_q() & models.Q(**{f"{self.completed_on}__gt": models.F("due_date")})

    def late_open_q(self, today: datetime.date) -> models.Q:
        return models.Q(due_date__lt=today) & ~models.Q(status__in=(self.completed, *self.settled))

    def late_q(self, today: datetime.date) -> models.Q:
        return self.late_done_q() | self.late_open_q(today)

    def on_time_q(self) -> models.Q:
        return self.completed_q() & models.Q(due_date__isnull=False) & ~self.late_done_q()


class DeadlineQuerySet(RecordQuerySet):
    """Outstanding, overdue and late records, by the model's `deadline_rules`."""

    def outstanding(self):
        return self.filter(self.model.deadline_rules.outstanding_q())

    def overdue(self, today: datetime.date | None = None):
        """Outstanding records whose due date has passed (derived, never stored)."""
        return self.filter(self.model.deadline_rules.overdue_q(today or timezone.localdate()))

    def late(self, today: datetime.date | None = None):
        return self.filter(self.model.deadline_rules.late_q(today or timezone.localdate()))


class DeadlineMixin:
    """Overdue arithmetic for records with `due_date` and `deadline_rules`."""

    deadline_rules: DeadlineRules

    @property
    def is_outstanding(self) -> bool:
        return self.status in self.deadline_rules.outstanding

    def days_overdue(self, today: datetime.date | None = None) -> int:
        """Days past the due date while outstanding; 0 when not overdue."""
        today = today or timezone.localdate()
        if not self.is_outstanding or self.due_date is None or self.due_date >= today:
            return 0
        return (today - self.due_date).days


def import_export_permissions(model_name: str, plural: str) -> list[tuple[str, str]]:
    """The spreadsheet permissions django-import-export checks ("import_task", "export_task").

    Named in English like Django's own "Can add …" permissions, which are not translated either.
    """
    return [
        (f"import_{model_name}", f"Can import {plural}"),
        (f"export_{model_name}", f"Can export {plural}"),
    ]
