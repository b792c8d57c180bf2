"""Database constraints that report their violation against one form field."""

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models


class FieldErrorMixin:
    """Attach the constraint's message to `error_field`, so forms show it beside that field."""

    def __init__(self, *args, error_field: str | None = None, **kwargs):
        self.error_field = error_field
        super().__init__(*args, **kwargs)

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        try:
            super().validate(model, instance, exclude=exclude, using=using)
        except ValidationError as error:
            if self.error_field is None:
                raise
            raise ValidationError({self.error_field: error.error_list}) from None

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        if self.error_field is not None:
            kwargs["error_field"] = self.error_field
        return path, args, kwargs

    def __eq__(self, other):
        return super().__eq__(other) and self.error_field == getattr(other, "error_field", None)

    __hash__ = None


class FieldCheckConstraint(FieldErrorMixin, models.CheckConstraint):
    """A CheckConstraint whose message belongs to one field."""


class FieldUniqueConstraint(FieldErrorMixin, models.UniqueConstraint):
    """A UniqueConstraint whose message belongs to one field."""
