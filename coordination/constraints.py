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


_COMPARISONS = {
    "exact": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _value(instance, name):
    if isinstance(name, models.F):
        name = name.name
    field = instance._meta.pk if name == "pk" else instance._meta.get_field(name)
    return getattr(instance, field.attname)


def _lookup(instance, key: str, expected):
    """SQL truth of one `field__lookup=value` term: True, False or None (unknown, NULL)."""
    name, _sep, lookup = key.partition("__")
    lookup = lookup or "exact"
    actual = _value(instance, name)
    if lookup == "isnull":
        return (actual is None) == bool(expected)
    if lookup == "in":
        return None if actual is None else actual in expected
    if isinstance(expected, models.F):
        expected = _value(instance, expected)
    if actual is None or expected is None:
        return None
    if lookup not in _COMPARISONS:
        raise NotImplementedError(f"lookup {lookup!r} is not evaluated in Python")
    return _COMPARISONS[lookup](actual, expected)


def q_truth(q: models.Q, instance):
    """Evaluate a CheckConstraint condition on an unsaved instance, with SQL's NULL logic.

    Imports validate thousands of rows; `CheckConstraint.validate()` runs one query per row
    and constraint, this evaluates the same condition without the database.
    """
    results = [
        q_truth(child, instance) if isinstance(child, models.Q) else _lookup(instance, *child)
        for child in q.children
    ]
    if q.connector == models.Q.AND:
        result = False if False in results else (None if None in results else True)
    else:
        result = True if True in results else (None if None in results else False)
    if q.negated:
        return None if result is None else not result
    return result


def violated_checks(instance) -> list[models.CheckConstraint]:
    """The model's check constraints that `instance` breaks (a NULL result passes, as in SQL)."""
    return [
        constraint
        for constraint in instance._meta.constraints
        if isinstance(constraint, models.CheckConstraint)
        and q_truth(constraint.condition, instance) is False
    ]
