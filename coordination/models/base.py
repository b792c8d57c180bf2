"""What every coordination record shares: clean text on every write path, timestamps."""

import datetime
import functools

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.constraints import FieldCheckConstraint
from coordination.text import clean_text

YEAR_MIN = 1945
YEAR_MAX = 2100


@functools.cache
def _text_fields(model) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField)) and not field.choices
    ]


def clean_field_value(field: models.Field, value):
    """Clean one value bound for `field`; anything but a str (None, F(), ...) is kept."""
    if isinstance(value, str):
        return clean_text(value, multiline=isinstance(field, models.TextField))
    return value


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
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        fields = {field.name: field for field in _text_fields(self.model)}
        kwargs = {
            name: clean_field_value(fields[name], value) if name in fields else value
            for name, value in kwargs.items()
        }
        return super().update(**kwargs)


class Record(models.Model):
    """Abstract base of every coordination model."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, editable=False)

    objects = RecordQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.prepare_for_save()
        super().save(*args, **kwargs)

    def full_clean(self, *args, **kwargs):
        # Validate what will be stored, so uniqueness is checked on the cleaned text.
        self.prepare_for_save()
        super().full_clean(*args, **kwargs)

    def prepare_for_save(self) -> None:
        """Bring the record into its stored form; called by save(), full_clean() and bulk writes."""
        for field in _text_fields(type(self)):
            value = getattr(self, field.attname)
            cleaned = clean_field_value(field, value)
            if cleaned is not value:
                setattr(self, field.attname, cleaned)


def year_range_constraint(model_name: str, field: str = "year") -> FieldCheckConstraint:
    """The named constraint keeping `field` a plausible year (NULL passes, as in SQL)."""
    return FieldCheckConstraint(
        condition=models.Q(**{f"{field}__gte": YEAR_MIN, f"{field}__lte": YEAR_MAX}),
        name=f"coordination_{model_name}_{field}_range",
        error_field=field,
        violation_error_message=_("The year must be between 1945 and 2100."),
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


class DeadlineMixin:
    """Overdue arithmetic for records with `due_date` and an `is_outstanding` property."""

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
