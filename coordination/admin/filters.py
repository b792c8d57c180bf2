"""The admin's list filters, backed by the FilterSets of `coordination.filters`.

One hidden filter applies the whole FilterSet, so that the admin, the /records/ pages and the
exports read a parameter the same way (`?unit=3&unit_role=lead&predecessors=yes` works in the
admin too); the visible sidebar entries only draw links for some of those parameters.
"""

import datetime

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Max, Min
from django.db.models.constants import LOOKUP_SEP
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coordination.filters import (
    UnitRole,
    check_integer,
    check_value,
    unit_queryset,
    validate_search,
)
from coordination.pagination import SORTED_DEPTH
from coordination.tables import unit_name


class FilterSetFilter(admin.ListFilter):
    """Applies `filterset_class` to every parameter it knows; draws nothing."""

    title = ""
    # The changelist only applies filters that have output; this one draws an empty template.
    template = "admin/coordination/hidden_filter.html"
    filterset_class = None
    #: Parameters the admin handles itself: the search box is `q`, the ordering is `o`.
    not_claimed = ("q", "sort")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.data = {}
        for name in self.expected_parameters():
            if name in params:
                value = params.pop(name)
                self.data[name] = value[-1] if isinstance(value, list) else value

    def has_output(self):
        return True

    def expected_parameters(self):
        return self.claimed_parameters()

    @classmethod
    def claimed_parameters(cls) -> list[str]:
        return [name for name in cls.filterset_class.base_filters if name not in cls.not_claimed]

    def queryset(self, request, queryset):
        if not self.data:
            return queryset
        filterset = self.filterset_class(self.data, queryset, request=request)
        if not filterset.is_valid():
            raise IncorrectLookupParameters(filterset.errors)
        return filterset.qs

    def choices(self, changelist):
        return []


def filterset_filter(filterset_class) -> type[FilterSetFilter]:
    return type(
        f"{filterset_class.__name__}Filter",
        (FilterSetFilter,),
        {"filterset_class": filterset_class},
    )


class LinksFilter(admin.ListFilter):
    """A sidebar section of links for one parameter that a `FilterSetFilter` applies."""

    parameter_name = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.value = request.GET.get(self.parameter_name)
        self.links = [(str(value), label) for value, label in self.lookups(request, model_admin)]

    def lookups(self, request, model_admin):
        raise NotImplementedError

    def has_output(self):
        return bool(self.links)

    def expected_parameters(self):
        # Claimed, validated and applied by the FilterSetFilter of the same list.
        return []

    def queryset(self, request, queryset):
        return queryset

    def choices(self, changelist):
        yield {
            "selected": not self.value,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("All"),
        }
        for value, label in self.links:
            yield {
                "selected": self.value == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


class YearLinks(LinksFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        # Every year from the first to the last: MIN and MAX read the ends of the year index,
        # where the distinct years would read every row of a large table.
        span = model_admin.get_queryset(request).order_by().aggregate(Min("year"), Max("year"))
        first, last = span["year__min"], span["year__max"]
        if first is None:
            return []
        return [(year, str(year)) for year in range(last, first - 1, -1)]


class AgreementYearLinks(LinksFilter):
    """Years in which the visible agreements are in force."""

    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        spans = model_admin.get_queryset(request).order_by().values_list("start_year", "end_year")
        years = {year for start, end in spans.distinct() for year in range(start, end + 1)}
        return [(year, str(year)) for year in sorted(years, reverse=True)]


class OutstandingLinks(LinksFilter):
    title = _("outstanding")
    parameter_name = "outstanding"

    def lookups(self, request, model_admin):
        return [("yes", _("Outstanding")), ("no", _("Finished"))]


class OverdueLinks(LinksFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]


class UnitLinks(LinksFilter):
    """The units the user may filter by (unit staff: their own units and predecessors).

    A few units are links, as the other sections; more than `LINKS_AT_MOST` (an auditor's
    forty, a province's four thousand) are a type-ahead box, which asks the admin's
    autocomplete for the names typed (`unit_filter.html`, `unit_filter.js`): the sidebar
    stays short and the page does not carry every unit's name.
    """

    title = _("unit")
    parameter_name = "unit"
    template = "admin/coordination/unit_filter.html"
    LINKS_AT_MOST = 12
    #: The autocomplete's source field: any foreign key to Unit gives the units the user may
    #: look up (`UnitAdmin.get_search_results`, folded search on the names).
    AUTOCOMPLETE_SOURCE = ("coordination", "task", "lead_unit")

    def __init__(self, request, params, model, model_admin):
        self.typeahead = False
        self.selected_label = ""
        super().__init__(request, params, model, model_admin)
        if self.typeahead:
            app_label, model_name, field_name = self.AUTOCOMPLETE_SOURCE
            self.autocomplete = {
                "url": reverse(f"{model_admin.admin_site.name}:autocomplete"),
                "app_label": app_label,
                "model_name": model_name,
                "field_name": field_name,
            }
            # The other parameters of the list, kept when a unit is chosen.
            self.kept = [
                (name, value)
                for name, values in request.GET.lists()
                if name not in (self.parameter_name, "p")
                for value in values
            ]

    def lookups(self, request, model_admin):
        units = list(unit_queryset(request)[: self.LINKS_AT_MOST + 1])
        if len(units) <= self.LINKS_AT_MOST:
            return [(unit.pk, unit_name(unit)) for unit in units]
        self.typeahead = True
        chosen = unit_queryset(request).filter(pk=self.value).first() if self.chosen_id() else None
        self.selected_label = unit_name(chosen) if chosen else ""
        return [(chosen.pk, self.selected_label)] if chosen else []

    def chosen_id(self) -> int | None:
        try:
            return int(self.value) if self.value else None
        except ValueError:
            return None  # the FilterSet refuses it with its own message

    def has_output(self):
        return self.typeahead or super().has_output()


class UnitRoleLinks(LinksFilter):
    """Which of a record's units the chosen unit is: the lead (as the reports count a record,
    once, under its lead unit), a coordinating unit, or either. Shown once a unit is chosen;
    the choices are the kind's FilterSet's (`unit_role`)."""

    title = _("unit's role")
    parameter_name = "unit_role"

    def lookups(self, request, model_admin):
        if not request.GET.get("unit"):
            return []
        role = model_admin.search_filterset.base_filters["unit_role"]
        return list(role.extra["choices"])

    def choices(self, changelist):
        # "Either" is the FilterSet's default: its link is the list without the parameter.
        for value, label in self.links:
            default = value == UnitRole.ANY
            yield {
                "selected": self.value == value or (default and not self.value),
                "query_string": changelist.get_query_string(
                    remove=[self.parameter_name] if default else [],
                    new_params=None if default else {self.parameter_name: value},
                ),
                "display": label,
            }


def choice_links(name: str, title, choices) -> type[LinksFilter]:
    return type(
        f"{name.title()}Links",
        (LinksFilter,),
        {
            "title": title,
            "parameter_name": name,
            "lookups": lambda self, request, model_admin: list(choices),
        },
    )


# ---------------------------------------------------------------------------
# Parameters the database would fail on: refused before any query
# ---------------------------------------------------------------------------

#: Lookups whose value is compared as the field's own type (the others, such as `contains`
#: or `isnull`, read it as text or as a yes/no).
TYPED_LOOKUPS = {"exact", "in", "gt", "gte", "lt", "lte", "range"}
#: Parts of a date a lookup can extract (`?held_on__year=`, the date hierarchy's), and the
#: values Python's dates take for them: a year becomes a `datetime.date`, the others are
#: read as C integers (32 bits) first.
YEARS, INT32 = (datetime.MINYEAR, datetime.MAXYEAR), (-(2**31), 2**31 - 1)
DATE_PARTS = {"year": YEARS, "iso_year": YEARS} | dict.fromkeys(
    ["quarter", "month", "week", "week_day", "iso_week_day", "day", "hour", "minute", "second"],
    INT32,
)


def check_lookup(model, key: str, value: str) -> None:
    """Refuse (ValidationError) a changelist lookup `key=value` that would fail in the
    database rather than match nothing: see `coordination.filters.check_value`; a year or
    another part of a date must be an integer Python's dates can hold."""
    check_value(value)
    opts, model_field, parts = model._meta, None, key.split(LOOKUP_SEP)
    while parts:
        try:
            found = opts.pk if parts[0] == "pk" else opts.get_field(parts[0])
        except FieldDoesNotExist:
            break
        model_field, parts = found, parts[1:]
        if not found.is_relation or found.related_model is None:
            break  # what follows is a transform or a lookup (`due_date__year`)
        opts = found.related_model._meta
    if model_field is None:
        return  # not a field: a FilterSet's parameter, or an error Django reports itself
    lookup = parts[-1] if parts else "exact"
    values = value.split(",") if lookup in ("in", "range") else [value]
    if parts and parts[0] in DATE_PARTS:
        low, high = DATE_PARTS[parts[0]]
        for item in values:
            check_integer(item, low, high)
    elif lookup in TYPED_LOOKUPS and len(parts) <= 1:
        for item in values:
            check_value(item, model_field)


class CheckedChangeList(ChangeList):
    """Django's changelist, refusing the parameters the database would fail on before any
    query: the admin then redirects to the list with `?e=1`, as for any invalid lookup.

    - a search of more than `MAX_SEARCH_WORDS` words (with a message saying so);
    - a lookup, by Django's list filters or on any field (`?carried_over_from=…`,
      `?year__in=…`, `?signed_on__year=…`), whose value `check_lookup` refuses. The
      parameters a FilterSet reads (`FilterSetFilter`) are checked by its form.
    """

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        claimed = {
            name
            for list_filter in self.list_filter
            if isinstance(list_filter, type) and issubclass(list_filter, FilterSetFilter)
            for name in list_filter.claimed_parameters()
        }
        for key, values in lookup_params.items():
            for value in values if key not in claimed else ():
                try:
                    check_lookup(self.model, key, value)
                except ValidationError as error:
                    raise IncorrectLookupParameters(error) from error
        return lookup_params

    def get_results(self, request):
        super().get_results(request)
        # A page too deep in an order the user chose (`pagination.SORTED_DEPTH`): the
        # nearest page served is shown, and says why.
        clamped = getattr(self.paginator, "clamped", None)
        if clamped:
            self.page_num = clamped[1]
            messages.warning(
                request,
                _(
                    "Sorted by a column, a list is shown for its first and last %(depth)s "
                    "rows: page %(asked)s lies between, so page %(shown)s is shown. Filter the "
                    "list (year, unit, status…) or sort in the default order to reach every "
                    "page."
                )
                % {"depth": SORTED_DEPTH, "asked": clamped[0], "shown": clamped[1]},
            )

    def get_queryset(self, request, exclude_parameters=None):
        try:
            validate_search(self.query)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            raise IncorrectLookupParameters(error) from error
        return super().get_queryset(request, exclude_parameters)
