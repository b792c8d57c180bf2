"""/records/outstanding/: outstanding and overdue records per unit and year, with their ageing,
on-time rates and a bar chart, each number linking to the /records/ list of its records."""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination import registry
from coordination.collation import sort_key
from coordination.filters import ageing_dates
from coordination.models import Unit
from coordination.reports.counts import (
    AGEING,
    add_counts,
    counts,
    rate,
    show_rate,
    status_columns,
)
from coordination.reports.parameters import (
    OUTSTANDING_FILTERS,
    OutstandingForm,
    ShownForm,
    bind_filters,
)
from coordination.tables import Cell, unit_name


@dataclass
class OutstandingRow:
    unit: Unit | None
    year: int | None
    cells: list[Cell]
    outstanding: int = 0
    overdue: int = 0


@dataclass
class OutstandingTable:
    #: What the page's filter form shows: the choice of records, the FilterSet's fields.
    form: ShownForm
    valid: bool = True
    forbidden: bool = False
    records: str = "followups"
    today: datetime.date | None = None
    headers: list = field(default_factory=list)
    #: (label, number of columns) over the headers of the counts: the statuses, which add
    #: up to the total, and the derived figures.
    groups: list = field(default_factory=list)
    rows: list[OutstandingRow] = field(default_factory=list)
    total: OutstandingRow | None = None
    chart: dict | None = None


def list_link(kind: str, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{reverse('coordination:record-list', args=[kind])}?{query}"


def outstanding_table(request, today: datetime.date | None = None) -> OutstandingTable:
    """The unit × year table of /records/outstanding/, in two queries whatever the rows.

    `records` chooses the kind; `year`, `unit` and `predecessors` are that kind's FilterSet's
    (`unit` as the unit the kind's reports group by), so that each number counts the rows of
    the list it links to.
    """
    today = today or timezone.localdate()
    choice = OutstandingForm(request.GET or None)
    records = "followups"
    if choice.is_bound and choice.is_valid():
        records = choice.cleaned_data["records"] or records
    kind = registry.get(records)
    filterset = bind_filters(kind, request, OUTSTANDING_FILTERS, today=today)
    table = OutstandingTable(
        form=ShownForm((choice, ["records"]), (filterset.form, OUTSTANDING_FILTERS)),
        today=today,
        records=records,
    )
    if choice.is_bound:
        # Both forms' errors are shown.
        table.valid = all([choice.is_valid(), filterset.is_valid()])
        if not table.valid:
            return table
    if not request.user.has_perm(kind.permission("view")):
        table.forbidden = True
        return table
    data = filterset.form.cleaned_data if filterset.is_bound else {}
    unit_field = kind.report_unit
    groups = list(
        filterset.qs.order_by()
        .values(f"{unit_field}_id", "year")
        .annotate(**counts(kind.model, today, kind.report_counts))
        .order_by(f"{unit_field}_id", "-year")
    )
    units = Unit.objects.in_bulk({group[f"{unit_field}_id"] for group in groups})

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

    def cells(values, unit_id, year, predecessors=None) -> list[Cell]:
        # The list of the same rows: the unit (as the unit the reports group by) and year
        # of the cell, with the predecessors the total counts.
        params = {"unit": unit_id, "year": year}
        if unit_id:
            params.update(kind.report_unit_params, predecessors=predecessors)
        result = [
            Cell(str(values["total"]), list_link(kind.name, **params), "number"),
            *(
                Cell(
                    str(values[key]),
                    list_link(kind.name, **params, status=status),
                    "number",
                )
                for key, status, _label in statuses
            ),
            Cell(
                str(values["outstanding"]),
                list_link(kind.name, **params, outstanding="yes"),
                "number",
            ),
            Cell(str(values["overdue"]), list_link(kind.name, **params, overdue="yes"), "number"),
        ]
        for name, low, high, _label in AGEING:
            dates = ageing_dates(today, low, high)
            result.append(
                Cell(
                    str(values[name]),
                    list_link(kind.name, **params, outstanding="yes", **dates),
                    f"number {name}" if values[name] else "number",
                )
            )
        due = values["on_time"] + values["late"]
        on_time = rate(values["on_time"], due)
        result.append(
            Cell(
                show_rate(on_time),
                list_link(kind.name, **params, late="yes") if due else None,
                "number rate",
            )
        )
        for count in kind.report_counts:
            result.append(
                Cell(
                    str(values[count.name]),
                    list_link(kind.name, **params, **count.params),
                    "number",
                )
            )
        return result

    per_unit: dict[int, list[int]] = {}
    for group in groups:
        unit_id = group[f"{unit_field}_id"]
        sums = per_unit.setdefault(unit_id, [0, 0])
        sums[0] += group["outstanding"]
        sums[1] += group["overdue"]
        table.rows.append(
            OutstandingRow(
                unit=units.get(unit_id),
                year=group["year"],
                cells=cells(group, unit_id, group["year"]),
                outstanding=group["outstanding"],
                overdue=group["overdue"],
            )
        )
    table.rows.sort(key=lambda row: (sort_key(row.unit.full_name), -row.year))
    totals = add_counts(groups, kind.model, today, kind.report_counts)
    unit = data.get("unit")
    table.total = OutstandingRow(
        unit=None,
        year=data.get("year"),
        cells=cells(
            totals,
            unit.pk if unit else None,
            data.get("year"),
            predecessors=data.get("predecessors") or None,
        ),
        outstanding=totals["outstanding"],
        overdue=totals["overdue"],
    )
    table.chart = bar_chart(
        [(units[unit_id], sums) for unit_id, sums in per_unit.items() if any(sums)]
    )
    return table


def bar_chart(items) -> dict | None:
    """Geometry of an SVG bar chart: outstanding and overdue per unit, largest first."""
    if not items:
        return None
    items = sorted(
        items, key=lambda item: (-item[1][0], -item[1][1], sort_key(unit_name(item[0])))
    )[:30]
    largest = max(max(sums) for _unit, sums in items) or 1
    label_width, bar_area, row_height = 260, 420, 34
    bars = []
    for index, (unit, (outstanding, overdue)) in enumerate(items):
        top = 10 + index * row_height
        bars.append(
            {
                "label": unit_name(unit),
                "label_y": top + 17,
                "outstanding_y": top + 4,
                "overdue_y": top + 17,
                "outstanding_width": round(bar_area * outstanding / largest, 1),
                "overdue_width": round(bar_area * overdue / largest, 1),
                "outstanding": outstanding,
                "overdue": overdue,
                "outstanding_text_x": label_width + round(bar_area * outstanding / largest) + 4,
                "overdue_text_x": label_width + round(bar_area * overdue / largest) + 4,
            }
        )
    return {
        "bars": bars,
        "label_width": label_width,
        "label_x": label_width - 8,
        "width": label_width + bar_area + 50,
        "height": 20 + len(items) * row_height + 24,
        "legend_y": 20 + len(items) * row_height,
    }
