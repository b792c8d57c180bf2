"""The admin's list filters, backed by the FilterSets of `coordination.filters`.

One hidden filter applies the whole FilterSet, so that the admin, the /records/ pages and the
exports read a parameter the same way (`?unit=3&unit_role=lead&predecessors=yes` works in the
admin too); the visible sidebar entries only draw links for some of those parameters.
"""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Max, Min
from django.utils.translation import gettext_lazy as _

from coordination.filters import unit_queryset


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
        return [name for name in self.filterset_class.base_filters if name not in self.not_claimed]

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
    """The units the user may filter by (unit staff: their own units)."""

    title = _("unit")
    parameter_name = "unit"

    def lookups(self, request, model_admin):
        # Full names: short names repeat across localities ("UBND huyện" of each district).
        return [(unit.pk, unit.full_name) for unit in unit_queryset(request)]


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
