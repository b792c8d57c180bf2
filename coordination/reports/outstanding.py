"""/records/outstanding/: outstanding and overdue records per unit and year, with their ageing,
on-time rates and a bar chart, each number linking to the /records/ list of its records.

A province holds some 4,000 units and a year some 250,000 follow-up items: the table is
paged (`PAGE_SIZE` unit × year rows), its rows grouped by the units' level and locality in
Vietnamese order, and every figure is counted by the database in one statement
(`reports/outstanding_figures.py`) that reads the records once, per unit and year — or, when
the table counts every record of the kind, the counts stored per unit and year
(`reports/tallies.py`) — and sums those cells for the rest:

- the page's rows, in the table's order, and the number of rows and pages;
- each group on the page (a locality and level): its subtotal over all its units, on this
  page or not;
- the grand total;
- the chart: the `CHART_UNITS` units with the most outstanding records, and the others in
  one bar (the grand total less the units shown).

So the number of queries is the same for 3 units or 4,000, on page 1 or the last. With no
`year` the table counts the current year; `year=` (empty) counts every year.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.paginator import Page
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coordination import registry
from coordination.choices import UnitLevel
from coordination.collation import sort_key
from coordination.filters import ageing_dates
from coordination.models import Unit
from coordination.reports.counts import (
    AGEING,
    rate,
    show_rate,
    status_columns,
)
from coordination.reports.outstanding_figures import outstanding_figures
from coordination.reports.parameters import (
    OUTSTANDING_FILTERS,
    OutstandingForm,
    ShownForm,
    bind_filters,
)
from coordination.reports.tallies import stored_cells
from coordination.reports.tallies import value_names as stored_value_names
from coordination.tables import Cell, unit_name

#: Unit × year rows on a page of the table.
PAGE_SIZE = 50
#: Units the chart draws a bar for; the others share one bar.
CHART_UNITS = 30


@dataclass
class OutstandingRow:
    unit: Unit | None
    year: int | None
    cells: list[Cell]
    outstanding: int = 0
    overdue: int = 0


@dataclass
class OutstandingGroup:
    """The units of one locality and level on a page, with the subtotal of all its rows."""

    locality: str
    level: str
    level_label: str
    subtotal: OutstandingRow
    rows: list[OutstandingRow] = field(default_factory=list)
    #: Whether the group began on an earlier page.
    continued: bool = False


@dataclass
class OutstandingTable:
    #: What the page's filter form shows: the choice of records, the FilterSet's fields.
    form: ShownForm
    valid: bool = True
    forbidden: bool = False
    records: str = "followups"
    today: datetime.date | None = None
    #: The year counted, None for every year.
    year: int | None = None
    #: Whether the year is the default (the current year, the request naming none).
    default_year: bool = False
    headers: list = field(default_factory=list)
    #: (label, number of columns) over the headers of the counts: the statuses, which add
    #: up to the total, and the derived figures.
    groups: list = field(default_factory=list)
    #: The page's rows, in the table's order; `sections` holds the same rows by group.
    rows: list[OutstandingRow] = field(default_factory=list)
    sections: list[OutstandingGroup] = field(default_factory=list)
    total: OutstandingRow | None = None
    chart: dict | None = None
    page: Page | None = None
    #: When the figures were counted, if they came from the cache (`outstanding_figures`).
    counted_at: datetime.datetime | None = None
    #: The request's query without `page`, for the pager's links.
    query: str = ""
    #: The same table of every year, and of the current year (the pages' first).
    all_years_query: str = ""
    this_year_query: str = ""


def list_link(kind: str, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{reverse('coordination:record-list', args=[kind])}?{query}"


def with_query(request, **changes) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return params.urlencode()


def outstanding_table(request, today: datetime.date | None = None) -> OutstandingTable:
    """The unit × year table of /records/outstanding/, a page of it, in queries that do not
    grow with the units, rows or pages.

    `records` chooses the kind; `year`, `unit` and `predecessors` are that kind's FilterSet's
    (`unit` as the unit the kind's reports group by), so that each number counts the rows of
    the list it links to. With no `year` at all the table counts the current year; an empty
    `year` (the form's field left empty) counts every year.
    """
    today = today or timezone.localdate()
    choice = OutstandingForm(request.GET or None)
    records = "followups"
    if choice.is_bound and choice.is_valid():
        records = choice.cleaned_data["records"] or records
    kind = registry.get(records)
    filterset = bind_filters(
        kind, request, OUTSTANDING_FILTERS, today=today, defaults={"year": str(today.year)}
    )
    table = OutstandingTable(
        form=ShownForm((choice, ["records"]), (filterset.form, OUTSTANDING_FILTERS)),
        today=today,
        records=records,
        default_year="year" not in request.GET,
        query=with_query(request),
        all_years_query=with_query(request, year=""),
        this_year_query=with_query(request, year=None),
    )
    # Both forms' errors are shown.
    table.valid = all([choice.is_valid() if choice.is_bound else True, filterset.is_valid()])
    if not table.valid:
        return table
    if not request.user.has_perm(kind.permission("view")):
        table.forbidden = True
        return table
    data = filterset.form.cleaned_data
    table.year = data.get("year")
    unit_field = kind.report_unit
    records_qs = filterset.qs.order_by()
    value_names = stored_value_names(kind, today)

    statuses = status_columns(kind.model)
    table.headers = [
        _("Unit"),
        _("Year"),
        _("Total"),
        *(label for _key, _status, label in statuses),
        _("Outstanding"),
        _("Overdue"),
        *(label for _name, _low, _high, label in AGEING),
        _("On-time rate"),
        *(count.label for count in kind.report_counts),
    ]
    table.groups = [
        (_("By status (adds up to the total)"), len(statuses)),
        (_("Derived (not part of the total)"), len(table.headers) - 3 - len(statuses)),
    ]

    def cells(values, unit_pk, year, predecessors=None, *, linked=True) -> list[Cell]:
        # The list of the same rows: the unit (as the unit the reports group by) and year
        # of the cell, with the predecessors the total counts. A group's subtotal has no
        # list (no filter selects a locality and level): plain numbers.
        params = {"unit": unit_pk, "year": year}
        if unit_pk:
            params.update(kind.report_unit_params, predecessors=predecessors)

        def link(**extra):
            return list_link(kind.name, **params, **extra) if linked else None

        result = [
            Cell(str(values["total"]), link(), "number"),
            *(
                Cell(str(values[key]), link(status=status), "number")
                for key, status, _label in statuses
            ),
            Cell(str(values["outstanding"]), link(outstanding="yes"), "number"),
            Cell(str(values["overdue"]), link(overdue="yes"), "number"),
        ]
        for name, low, high, _label in AGEING:
            dates = ageing_dates(today, low, high)
            result.append(
                Cell(
                    str(values[name]),
                    link(outstanding="yes", **dates),
                    f"number {name}" if values[name] else "number",
                )
            )
        due = values["on_time"] + values["late"]
        on_time = rate(values["on_time"], due)
        result.append(Cell(show_rate(on_time), link(late="yes") if due else None, "number rate"))
        for count in kind.report_counts:
            result.append(Cell(str(values[count.name]), link(**count.params), "number"))
        return result

    def row(values, unit, year, **options) -> OutstandingRow:
        return OutstandingRow(
            unit=unit,
            year=year,
            cells=cells(values, unit.pk if unit else None, year, **options),
            outstanding=values["outstanding"],
            overdue=values["overdue"],
        )

    figures = outstanding_figures(
        records_qs,
        unit_field=unit_field,
        value_names=value_names,
        page=request.GET.get("page"),
        per_page=PAGE_SIZE,
        chart_units=CHART_UNITS,
        # Every record of the kind (of a year): the counts stored per unit and year.
        stored=stored_cells(kind, records_qs, year=table.year, names=value_names, today=today),
        today=today,
    )
    table.page = figures.page
    table.counted_at = figures.counted_at
    page_units = {values["unit_id"] for values in figures.rows}
    units = Unit.objects.in_bulk(
        page_units
        | {bar["unit_id"] for bar in figures.chart}
        | ({figures.before} if figures.before else set())
    )
    levels = dict(UnitLevel.choices)
    for values in figures.rows:
        unit = units[values["unit_id"]]
        group_key = (unit.locality, unit.level)
        if not table.sections or (table.sections[-1].locality, table.sections[-1].level) != (
            group_key
        ):
            table.sections.append(
                OutstandingGroup(
                    locality=unit.locality,
                    level=unit.level,
                    level_label=levels.get(unit.level, unit.level),
                    subtotal=row(figures.groups[group_key], None, table.year, linked=False),
                )
            )
        shown = row(values, unit, values["year"])
        table.sections[-1].rows.append(shown)
        table.rows.append(shown)
    if figures.before and table.sections:
        # The key before the page, in the page's first group: the group began earlier.
        before = units[figures.before]
        first = table.sections[0]
        first.continued = (before.locality, before.level) == (first.locality, first.level)

    totals = figures.total
    unit = data.get("unit")
    table.total = OutstandingRow(
        unit=None,
        year=table.year,
        cells=cells(
            totals,
            unit.pk if unit else None,
            table.year,
            predecessors=data.get("predecessors") or None,
        ),
        outstanding=totals["outstanding"],
        overdue=totals["overdue"],
    )
    chart = figures.chart
    table.chart = bar_chart(
        [(units[bar["unit_id"]], (bar["outstanding"], bar["overdue"])) for bar in chart],
        others=(
            figures.units_outstanding - len(chart),
            totals["outstanding"] - sum(bar["outstanding"] for bar in chart),
            totals["overdue"] - sum(bar["overdue"] for bar in chart),
        ),
    )
    return table


def bar_chart(items, others=(0, 0, 0)) -> dict | None:
    """Geometry of an SVG bar chart: outstanding and overdue per unit, largest first, and
    `others` — (number of units, outstanding, overdue) — in one bar after them."""
    items = sorted(items, key=lambda item: (-item[1][0], -item[1][1], sort_key(unit_name(item[0]))))
    labelled = [(unit_name(unit), unit_name(unit), sums) for unit, sums in items]
    rest, *rest_sums = others
    if rest and any(rest_sums):
        label = ngettext("%(count)s other unit", "%(count)s other units", rest) % {"count": rest}
        labelled.append((label, label, tuple(rest_sums)))
    if not labelled:
        return None
    # Scaled to the largest unit: the others' bar, the sum of hundreds of units, would
    # flatten every other bar; it is cut at the chart's width, its number written beside it.
    largest = max(max(sums) for _label, _title, sums in labelled[: len(items) or 1]) or 1
    label_width, bar_area, row_height = 260, 420, 34

    def width(value):
        return round(min(bar_area * value / largest, bar_area), 1)

    bars = []
    for index, (label, title, (outstanding, overdue)) in enumerate(labelled):
        top = 10 + index * row_height
        bars.append(
            {
                "label": label,
                "title": title,
                "others": index >= len(items),
                "label_y": top + 17,
                "outstanding_y": top + 4,
                "overdue_y": top + 17,
                "outstanding_width": width(outstanding),
                "overdue_width": width(overdue),
                "outstanding": outstanding,
                "overdue": overdue,
                "outstanding_text_x": label_width + round(width(outstanding)) + 4,
                "overdue_text_x": label_width + round(width(overdue)) + 4,
            }
        )
    return {
        "bars": bars,
        "limit": CHART_UNITS,
        "label_width": label_width,
        "label_x": label_width - 8,
        "width": label_width + bar_area + 50,
        "height": 20 + len(labelled) * row_height + 24,
        "legend_y": 20 + len(labelled) * row_height,
    }
