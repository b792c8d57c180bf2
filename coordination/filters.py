"""FilterSets shared by the admin, the /records/ pages and the exports.

Every record type takes the same query parameters where they apply: `year`, `unit`, `kind`,
`status`, `outstanding`, `overdue`, `due_before`, `due_after`, `agreement`, `q`, and `sort`.
"""

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.db import connection, models
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination import scoping
from coordination.collation import vietnamese
from coordination.db_functions import AmongIds
from coordination.models import Agreement, Unit
from coordination.models.base import SEARCH_TEXT, YEAR_MAX, YEAR_MIN, search_document_fields
from coordination.text import fold, fold_name
from coordination.typeahead import TypeaheadSelect

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
# Spellings a hand-written or bookmarked URL may use for a yes/no filter.
YES_NO_ALIASES = {"1": "yes", "true": "yes", "có": "yes", "0": "no", "false": "no", "không": "no"}


class UnitRole:
    """The `unit_role` parameter: which of a record's units `unit` names."""

    ANY = "any"
    LEAD = "lead"
    COORDINATING = "coordinating"
    CO_RESPONSIBLE = "co_responsible"
    #: A task's lead unit and coordinating units.
    CHOICES = [
        (ANY, _("Lead or coordinating")),
        (LEAD, _("Lead")),
        (COORDINATING, _("Coordinating")),
    ]
    #: A follow-up item's responsible unit (its lead) and co-responsible units.
    FOLLOWUP_CHOICES = [
        (ANY, _("Responsible or co-responsible")),
        (LEAD, _("Responsible (lead)")),
        (CO_RESPONSIBLE, _("Co-responsible")),
    ]


class YesNoSelect(forms.Select):
    """A yes/no select that also understands 1/0 and true/false in the URL."""

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        if isinstance(value, str):
            value = value.strip().lower()
            return YES_NO_ALIASES.get(value, value)
        return value


class YesNoFilter(django_filters.ChoiceFilter):
    """`yes` keeps the records the method matches, `no` the others."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", YES_NO)
        kwargs.setdefault("widget", YesNoSelect)
        kwargs.setdefault("empty_label", _("All"))
        super().__init__(*args, **kwargs)


class FlagFilter(YesNoFilter):
    """`yes`/`no` on a boolean field (active units and people)."""

    def filter(self, queryset, value):
        if value in ("yes", "no"):
            return queryset.filter(**{self.field_name: value == "yes"})
        return queryset


class SortFilter(django_filters.OrderingFilter):
    """Names (units', people's: `…full_name`) sort in Vietnamese alphabetical order, as the
    admin's lists and every choice of units do; on PostgreSQL an index of the units in that
    order serves a list sorted by its unit (migration 0021)."""

    def get_ordering_value(self, param):
        value = super().get_ordering_value(param)
        name = value.lstrip("-")
        if not name.endswith("full_name"):
            return value
        return vietnamese(name).desc() if value.startswith("-") else vietnamese(name).asc()


def sort_filter(*keys) -> django_filters.OrderingFilter:
    """The `sort` parameter: (field, parameter value, label) for each order a list offers;
    `-value` sorts descending."""
    return SortFilter(
        fields=[(field, value) for field, value, _label in keys],
        field_labels={field: label for field, _value, label in keys},
        label=_("Sort by"),
    )


def date_filter(label, lookup):
    return django_filters.DateFilter(
        field_name="due_date",
        lookup_expr=lookup,
        label=label,
        widget=forms.DateInput(attrs={"placeholder": "dd/mm/yyyy", "size": 10}),
    )


#: The admin autocompletes that look up the units and the agreements a filter may name
#: (`coordination.typeahead`): any foreign key to the model serves.
UNIT_SOURCE = ("coordination", "task", "lead_unit")
AGREEMENT_SOURCE = ("coordination", "task", "agreement")


def unit_queryset(request) -> QuerySet[Unit]:
    """The units a user may filter by: every unit, or their own units and their predecessors."""
    units = Unit.objects.order_by(vietnamese("full_name"), "pk")
    choosable = choosable_unit_ids(request.user) if request is not None else None
    return units if choosable is None else units.filter(pk__in=choosable)


def choosable_unit_ids(user) -> set[int] | None:
    """None when the user reads every unit, else their units and every unit dissolved into
    them: asked once per user object (that is, once per request, however many FilterSets
    the page binds)."""
    visible = scoping.visible_unit_ids(user)
    if visible is None:
        return None
    cached = getattr(user, "_coordination_choosable_unit_ids", None)
    if cached is None:
        cached = with_predecessors(visible)
        user._coordination_choosable_unit_ids = cached
    return set(cached)


def agreement_filter(**kwargs) -> django_filters.ModelChoiceFilter:
    """The `agreement` parameter: one of the agreements the user may read, picked by a
    type-ahead box when there are many."""
    return django_filters.ModelChoiceFilter(
        queryset=agreement_queryset,
        label=_("Agreement"),
        empty_label=_("All agreements"),
        widget=TypeaheadSelect(
            AGREEMENT_SOURCE,
            placeholder=_("Type an agreement's number or title…"),
            check=check_value,
        ),
        **kwargs,
    )


def agreement_queryset(request) -> QuerySet[Agreement]:
    agreements = Agreement.objects.order_by("-start_year", "number")
    return agreements if request is None else scoping.visible_to(agreements, request.user)


def with_predecessors(unit_ids) -> set[int]:
    """The units and every unit dissolved into them, at any depth (one query per generation)."""
    found = set(unit_ids)
    frontier = set(found)
    while frontier:
        frontier = (
            set(Unit.objects.filter(successor__in=frontier).values_list("pk", flat=True)) - found
        )
        found |= frontier
    return found


#: The most words a search may have. Each word is one more condition of the list's query:
#: a few hundred make a statement too deep for SQLite ("Expression tree is too large") and
#: slow everywhere, and no one types that many (a pasted sentence has a few dozen).
MAX_SEARCH_WORDS = 50


def validate_search(text: str) -> None:
    """Refuse a search of more than MAX_SEARCH_WORDS words, counted as `search_records` and
    the admin split them: the /records/ lists, the admin's lists and its autocomplete."""
    count = len(fold(text).split())
    if count > MAX_SEARCH_WORDS:
        raise ValidationError(
            _("Search for at most %(limit)d words (this search has %(count)d)."),
            code="too_many_words",
            params={"limit": MAX_SEARCH_WORDS, "count": count},
        )


def check_value(value: str, model_field=None) -> None:
    """Refuse (ValidationError), before any query, a value from a URL that the database
    would fail on instead of matching nothing: a NUL character (PostgreSQL's text cannot hold
    one); and, when it is compared with `model_field` (a relation: with the ids it holds), a
    value the field cannot convert for the database as the query would ("abc" for an id, an
    address for PostgreSQL's `inet`) or an integer beyond 64 bits (SQLite's driver overflows).

    The admin's list lookups, object ids, initial values and action ids, the history version
    ids and the /files/ paths are checked here; forms check their own fields.
    """
    ProhibitNullCharactersValidator()(value)
    if model_field is None:
        return
    if model_field.is_relation and model_field.related_model is not None:
        model_field = getattr(model_field, "target_field", model_field.related_model._meta.pk)
    try:
        prepared = model_field.get_db_prep_value(value, connection, prepared=False)
    except (TypeError, ValueError, ArithmeticError):
        raise ValidationError(RegexValidator.message, code="invalid") from None
    if isinstance(model_field, models.IntegerField) and prepared is not None:
        check_integer(prepared, *connection.ops.integer_field_range("BigIntegerField"))


def check_integer(value, low: int, high: int) -> None:
    """Refuse anything but an integer from `low` to `high`, read as the database's driver
    reads it (`int()`)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(RegexValidator.message, code="invalid") from None
    if not low <= number <= high:
        raise ValidationError(RegexValidator.message, code="out_of_range")


def search_records(queryset: QuerySet, fields: list[str], text: str) -> QuerySet:
    """The records of `queryset` where every word of `text` is in one of `fields`, ignoring
    case and diacritics.

    The condition is, for each word, "in the record's own text, or in the name of its unit or
    agreement". Tasks and follow-up items keep their own text folded in `search_text`
    (`SearchableMixin`), matched as stored, with no folding of each row; on PostgreSQL its
    trigram index finds the rows (migration 0008). The units and agreements whose names hold
    a word are looked up first (one small query per kind, whatever the number of words), so
    the list's query names them by id and the planner knows how few they are. A word no name
    holds is then a plain `search_text LIKE` term, which the index serves. When every word is
    in some name, the matches are whole units' records, many of them: the list's own order
    index finds the first page, checking the cheap condition row by row.
    """
    words = fold(text).split()
    if not words:
        return queryset
    model = queryset.model
    own, related, multivalued = [], {}, []
    for path in fields:
        first, _, rest = path.partition("__")
        model_field = model._meta.get_field(first)
        if not rest:
            own.append(path)
        elif model_field.many_to_one and "__" not in rest:
            related.setdefault(first, []).append(rest)
        else:
            multivalued.append(path)
    stored = bool(own) and set(own) <= set(search_document_fields(model))

    def own_text(word) -> Q:
        if stored:
            return Q(**{f"{SEARCH_TEXT}__contains": word})
        return any_contains(own, word)

    # {foreign key: {word: ids of the related records whose names hold the word}}
    named = {name: names_holding(model, name, names, words) for name, names in related.items()}
    exact = Q()
    for word in words:
        condition = own_text(word) if own else Q()
        for name, by_word in named.items():
            if by_word[word]:
                condition |= AmongIds(F(name), sorted(by_word[word]))
        if multivalued:
            matching = model.objects.filter(any_contains(multivalued, word)).values("pk")
            condition |= Q(pk__in=matching)
        if not condition:
            return queryset.none()
        exact &= condition
    return queryset.filter(exact)


def names_holding(model, name: str, names: list[str], words: list[str]) -> dict[str, set]:
    """For each word, the ids of the records `model.<name>` points to (units, agreements)
    whose `names` hold the word, ignoring case and diacritics: one query for all words.

    A target keeping its searched fields folded in `search_text` (units, people) is matched
    there, with no folding of each row: a word in it and in none of the fields other than
    `names` (a unit's place) is in the names; else the names themselves are looked at."""
    target = model._meta.get_field(name).related_model
    document = search_document_fields(target)
    stored = set(names) <= set(document)
    others = [field for field in document if field not in names] if stored else []
    condition = Q()
    for word in words:
        condition |= (
            Q(**{f"{SEARCH_TEXT}__contains": word}) if stored else any_contains(names, word)
        )
    found = {word: set() for word in words}
    columns = [SEARCH_TEXT, *others] if stored else ["pk"]
    rows = target._base_manager.filter(condition).order_by()
    for pk, text, *values in rows.values_list("pk", *columns, *names):
        elsewhere = " ".join(fold_name(value) for value in values[: len(others)] if value)
        for word in words:
            if stored and (word not in text or word not in elsewhere):
                if word in text:
                    found[word].add(pk)
            elif any(word in fold_name(value) for value in values[len(others) :] if value):
                found[word].add(pk)
    return found


def any_contains(paths: list[str], word: str) -> Q:
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{path}__fold__contains": word})
    return condition


class YearFilter(django_filters.NumberFilter):
    """A four-digit year; anything else is a form error, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", _("Year"))
        kwargs.setdefault("min_value", YEAR_MIN)
        kwargs.setdefault("max_value", YEAR_MAX)
        kwargs.setdefault("widget", forms.NumberInput(attrs={"size": 6}))
        super().__init__(*args, **kwargs)


class RecordFilterSet(django_filters.FilterSet):
    """Parameters every record type shares; `search_fields` drive the free-text `q`."""

    #: Fields searched by `q`, ignoring case and diacritics (`__fold__contains`).
    search_fields: list[str] = []
    #: The paths from the record to the unit(s) `unit` filters by.
    unit_paths: dict[str, list[str]] = {}

    q = django_filters.CharFilter(method="search", label=_("Search"), validators=[validate_search])
    unit = django_filters.ModelChoiceFilter(
        queryset=unit_queryset,
        method="filter_unit",
        label=_("Unit"),
        empty_label=_("All units"),
        widget=TypeaheadSelect(UNIT_SOURCE, placeholder=_("Type a unit name…"), check=check_value),
    )
    predecessors = YesNoFilter(method="noop", label=_("Include dissolved predecessors of the unit"))

    def __init__(self, data=None, queryset=None, *, request=None, today=None, **kwargs):
        self.today = today or timezone.localdate()
        super().__init__(data, queryset, request=request, **kwargs)

    def noop(self, queryset, name, value):
        # Read by another filter of the same form (`unit`), not a filter by itself.
        return queryset

    def search(self, queryset, name, value):
        return search_records(queryset, self.search_fields, value)

    def unit_ids(self, unit) -> set[int]:
        if self.form.cleaned_data.get("predecessors") == "yes":
            return with_predecessors([unit.pk])
        return {unit.pk}

    def filter_unit(self, queryset, name, value):
        role = self.form.cleaned_data.get("unit_role") or UnitRole.ANY
        paths = self.unit_paths[role]
        return scoping.involving_units(queryset, self.unit_ids(value), paths)

    @property
    def is_filtered(self) -> bool:
        """Whether any filter (not the sort order) has a value."""
        return self.is_bound and any(
            self.data.get(name) not in (None, "") for name in self.filters if name != "sort"
        )


class DeadlineFilterSet(RecordFilterSet):
    """Filters of records with a status and a due date: tasks and follow-up items."""

    #: Its filters, in the order the form shows them after the kind's own.
    deadline_fields = ["outstanding", "overdue", "late", "due_after", "due_before", "agreement"]

    year = YearFilter(field_name="year")
    outstanding = YesNoFilter(method="filter_outstanding", label=_("Outstanding"))
    overdue = YesNoFilter(method="filter_overdue", label=_("Overdue"))
    late = YesNoFilter(method="filter_late", label=_("Late (done late, or past due)"))
    due_after = date_filter(_("Due on or after"), "gte")
    due_before = date_filter(_("Due on or before"), "lte")
    agreement = agreement_filter()

    # "yes" filters the list's own query, so that the planner can use the (year, unit,
    # status) and (year, due date) indexes; "no" is rarer and takes a subquery.
    def filter_outstanding(self, queryset, name, value):
        if value == "yes":
            return queryset.outstanding()
        return queryset.exclude(pk__in=queryset.model.objects.outstanding().values("pk"))

    def filter_late(self, queryset, name, value):
        if value == "yes":
            return queryset.late(self.today)
        return queryset.exclude(pk__in=queryset.model.objects.late(self.today).values("pk"))

    def filter_overdue(self, queryset, name, value):
        if value == "yes":
            return queryset.overdue(self.today)
        return queryset.exclude(pk__in=queryset.model.objects.overdue(self.today).values("pk"))


def ageing_dates(today: datetime.date, low: int, high: int | None) -> dict[str, str]:
    """`due_after`/`due_before` for items overdue by `low`..`high` days (inclusive) today."""
    params = {"due_before": (today - datetime.timedelta(days=low)).isoformat()}
    if high is not None:
        params["due_after"] = (today - datetime.timedelta(days=high)).isoformat()
    return params
