"""Database constraints that report their violation against one form field."""

import functools
import operator

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
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _attname(model, name) -> str:
    if isinstance(name, models.F):
        name = name.name
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return field.attname


def _compile_lookup(model, key: str, expected):
    """A function giving the SQL truth of `field__lookup=value`: True, False or None (NULL)."""
    name, _sep, lookup = key.partition("__")
    lookup = lookup or "exact"
    attname = _attname(model, name)
    if lookup == "isnull":
        return lambda instance: (getattr(instance, attname) is None) == bool(expected)
    if lookup == "in":
        choices = set(expected)

        def member(instance):
            actual = getattr(instance, attname)
            return None if actual is None else actual in choices

        return member
    if lookup not in _COMPARISONS:
        raise NotImplementedError(f"lookup {lookup!r} is not evaluated in Python")
    compare = _COMPARISONS[lookup]
    other = _attname(model, expected) if isinstance(expected, models.F) else None

    def comparison(instance):
        actual = getattr(instance, attname)
        value = getattr(instance, other) if other else expected
        if actual is None or value is None:
            return None
        return compare(actual, value)

    return comparison


def compile_condition(model, q: models.Q):
    """Turn a CheckConstraint condition into a function of an instance, with SQL's NULL logic.

    Imports validate thousands of rows; `CheckConstraint.validate()` runs one query per row
    and constraint, the compiled condition evaluates the same rule without the database.
    """
    parts = [
        compile_condition(model, child)
        if isinstance(child, models.Q)
        else _compile_lookup(model, *child)
        for child in q.children
    ]
    # AND is false as soon as one part is, OR true as soon as one part is; else unknown
    # (NULL) if one part is, else the other truth. Parts have no side effects, so the rest
    # need not be asked once one decides (imports ask this of every row).
    decisive = q.connector != models.Q.AND
    negated = q.negated

    def truth(instance):
        result = not decisive
        for part in parts:
            value = part(instance)
            if value is None:
                result = None
            elif value == decisive:
                result = decisive
                break
        if negated:
            return None if result is None else not result
        return result

    return truth


def q_truth(q: models.Q, instance):
    """The SQL truth of condition `q` for `instance` (see `compile_condition`)."""
    return _compiled(type(instance), q)(instance)


@functools.cache
def _checks(model) -> list[tuple[models.CheckConstraint, object]]:
    return [
        (constraint, compile_condition(model, constraint.condition))
        for constraint in model._meta.constraints
        if isinstance(constraint, models.CheckConstraint)
    ]


_compiled_conditions = {}


def _compiled(model, q):
    key = (model, id(q))
    if key not in _compiled_conditions:
        _compiled_conditions[key] = compile_condition(model, q)
    return _compiled_conditions[key]


def violated_checks(instance) -> list[models.CheckConstraint]:
    """The model's check constraints that `instance` breaks (a NULL result passes, as in SQL)."""
    return [constraint for constraint, truth in _checks(type(instance)) if truth(instance) is False]
