"""The auditors' summaries: outstanding commitments per unit and year, and the yearly report.

Definitions (the ones local governments publish for on-time handling):

- outstanding: a task not done or cancelled, an item open or in progress;
- overdue: outstanding with a due date before today; its age is today − due date, in days;
- completed on time: done (resolved) on or before the due date; late: after it;
- due in the period: every completed record with a due date, and every record whose due date
  has passed without completion (overdue, or a follow-up carried over after its due date);
- late rate = (late still open + late completed) ÷ due in the period; on-time rate = 100% − it.

Cancelled tasks and closed items count in the totals but not in the rates; records without a
due date cannot be late.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django import forms
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coordination import registry, scoping
from coordination.choices import FollowUpKind, PartyRole
from coordination.filters import (
    YES_NO,
    YesNoSelect,
    ageing_dates,
    agreement_queryset,
    unit_queryset,
    with_predecessors,
)
from coordination.models import Agreement, FollowUp, Indicator, Task, Unit
from coordination.models.base import YEAR_MAX, YEAR_MIN
from coordination.tables import Cell, show_date, unit_name

AGEING = [
    ("age_30", 1, 30, gettext_lazy("1–30 days")),
    ("age_90", 31, 90, gettext_lazy("31–90 days")),
    ("age_more", 91, None, gettext_lazy("over 90 days")),
]


def counts(model, today: datetime.date) -> dict:
    """The conditional counts of one unit × year cell, for `.annotate()`/`.aggregate()`,
    by the model's `deadline_rules` (the lists' and filters' definitions)."""
    rules = model.deadline_rules
    overdue = rules.overdue_q(today)
    values = {
        "total": Count("pk"),
        "outstanding": Count("pk", filter=rules.outstanding_q()),
        "overdue": Count("pk", filter=overdue),
        "completed": Count("pk", filter=rules.completed_q()),
        "on_time": Count("pk", filter=rules.on_time_q()),
        "late": Count("pk", filter=rules.late_q(today)),
    }
    for name, low, high, _label in AGEING:
        condition = overdue & Q(due_date__lte=today - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(due_date__gte=today - datetime.timedelta(days=high))
        values[name] = Count("pk", filter=condition)
    return values


def rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def show_rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{formats.number_format(value, 1)}%"


# ---------------------------------------------------------------------------
# Outstanding commitments
# ---------------------------------------------------------------------------


class OutstandingForm(forms.Form):
    records = forms.ChoiceField(
        label=gettext_lazy("Records"),
        choices=[
            ("followups", gettext_lazy("Follow-up items")),
            ("tasks", gettext_lazy("Tasks (by lead unit)")),
        ],
        required=False,
    )
    year = forms.IntegerField(
        label=gettext_lazy("Year"), min_value=YEAR_MIN, max_value=YEAR_MAX, required=False
    )
    unit = forms.ModelChoiceField(
        label=gettext_lazy("Unit"),
        queryset=Unit.objects.none(),
        required=False,
        empty_label=gettext_lazy("All units"),
    )
    predecessors = forms.ChoiceField(
        label=gettext_lazy("Include dissolved predecessors of the unit"),
        choices=[("", gettext_lazy("No")), *YES_NO[:1]],
        required=False,
        widget=YesNoSelect,
    )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_queryset(request)


@dataclass
class OutstandingRow:
    unit: Unit | None
    year: int | None
    cells: list[Cell]
    outstanding: int = 0
    overdue: int = 0


@dataclass
class OutstandingTable:
    form: OutstandingForm
    valid: bool = True
    forbidden: bool = False
    records: str = "followups"
    today: datetime.date | None = None
    headers: list = field(default_factory=list)
    rows: list[OutstandingRow] = field(default_factory=list)
    total: OutstandingRow | None = None
    chart: dict | None = None


def list_link(kind: str, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{reverse('coordination:record-list', args=[kind])}?{query}"


def outstanding_table(request, today: datetime.date | None = None) -> OutstandingTable:
    """The unit × year table of /records/outstanding/, in two queries whatever the rows."""
    today = today or timezone.localdate()
    form = OutstandingForm(request.GET or None, request=request)
    table = OutstandingTable(form=form, today=today)
    if form.is_bound and not form.is_valid():
        table.valid = False
        return table
    data = form.cleaned_data if form.is_bound else {}
    table.records = data.get("records") or "followups"
    kind = registry.get(table.records)
    unit_field = kind.report_unit
    if not request.user.has_perm(kind.permission("view")):
        table.forbidden = True
        return table
    queryset = scoping.visible_to(kind.model.objects.all(), request.user)
    if data.get("year"):
        queryset = queryset.filter(year=data["year"])
    unit = data.get("unit")
    if unit is not None:
        ids = with_predecessors([unit.pk]) if data.get("predecessors") == "yes" else {unit.pk}
        queryset = queryset.filter(**{f"{unit_field}__in": ids})
    groups = list(
        queryset.order_by()
        .values(f"{unit_field}_id", "year")
        .annotate(**counts(kind.model, today))
        .order_by(f"{unit_field}_id", "-year")
    )
    units = Unit.objects.in_bulk({group[f"{unit_field}_id"] for group in groups})

    table.headers = [
        _("Unit"),
        _("Year"),
        _("Total"),
        _("Outstanding"),
        _("Overdue"),
        *(label for _name, _low, _high, label in AGEING),
        _("On-time rate"),
    ]
    base = {"predecessors": None}

    def cells(values, unit_id, year) -> list[Cell]:
        params = {**base, "unit": unit_id, "year": year}
        if unit_id:
            params.update(kind.report_unit_params)
        result = [
            Cell(str(values["total"]), list_link(kind.name, **params), "number"),
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
        return result

    totals = dict.fromkeys(counts(kind.model, today), 0)
    per_unit: dict[int, list[int]] = {}
    for group in groups:
        unit_id = group[f"{unit_field}_id"]
        for key in totals:
            totals[key] += group[key]
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
    table.rows.sort(key=lambda row: (row.unit.full_name.casefold(), -row.year))
    table.total = OutstandingRow(
        unit=None,
        year=data.get("year"),
        cells=cells(totals, unit.pk if unit else None, data.get("year")),
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
    items = sorted(items, key=lambda item: (-item[1][0], -item[1][1], item[0].full_name))[:30]
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


# ---------------------------------------------------------------------------
# Yearly report
# ---------------------------------------------------------------------------


class ReportForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=YEAR_MIN, max_value=YEAR_MAX)
    unit = forms.ModelChoiceField(
        label=gettext_lazy("Unit"), queryset=Unit.objects.none(), required=False
    )
    agreement = forms.ModelChoiceField(
        label=gettext_lazy("Agreement"), queryset=Agreement.objects.none(), required=False
    )
    predecessors = forms.ChoiceField(
        label=gettext_lazy("Include dissolved predecessors of the unit"),
        choices=[("", gettext_lazy("No")), *YES_NO[:1]],
        required=False,
        widget=YesNoSelect,
    )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_queryset(request)
        self.fields["agreement"].queryset = agreement_queryset(request)

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("unit")) == bool(data.get("agreement")):
            raise forms.ValidationError(_("Choose either a unit or an agreement."))
        return data


@dataclass
class StatusCount:
    label: str
    total: int
    completed: int
    outstanding: int
    overdue: int
    on_time_rate: Decimal | None

    @property
    def on_time_text(self) -> str:
        return show_rate(self.on_time_rate)


@dataclass
class YearlyReport:
    form: ReportForm
    bound: bool = False
    valid: bool = False
    forbidden: bool = False
    today: datetime.date | None = None
    year: int | None = None
    unit: Unit | None = None
    agreement: Agreement | None = None
    issuer: str = ""
    issuer_parent: str = ""
    place: str = ""
    subject: str = ""
    notes: list[str] = field(default_factory=list)
    tasks: StatusCount | None = None
    followups: StatusCount | None = None
    followup_kinds: list[StatusCount] = field(default_factory=list)
    indicators: list = field(default_factory=list)
    outstanding_tasks: list = field(default_factory=list)
    outstanding_followups: list = field(default_factory=list)

    @property
    def file_name(self) -> str:
        subject = f"unit{self.unit.pk}" if self.unit else f"agreement{self.agreement.pk}"
        return f"report-{self.year}-{subject}.xlsx"

    @property
    def date_line(self) -> str:
        day = self.today
        return _("%(place)s, day %(day)02d month %(month)02d year %(year)d") % {
            "place": self.place,
            "day": day.day,
            "month": day.month,
            "year": day.year,
        }


ADMINISTRATIVE_PREFIXES = (
    "thành phố ",
    "thị trấn ",
    "thị xã ",
    "phường ",
    "huyện ",
    "quận ",
    "tỉnh ",
    "xã ",
)


def place_name(locality: str) -> str:
    """ "huyện Hàm Tân, tỉnh Bình Thuận" → "Hàm Tân", the place a report is dated at."""
    place = locality.split(",")[0].strip()
    for prefix in ADMINISTRATIVE_PREFIXES:
        if place.casefold().startswith(prefix):
            return place[len(prefix) :].strip()
    return place


def status_count(label, queryset: QuerySet, today) -> StatusCount:
    values = queryset.order_by().aggregate(**counts(queryset.model, today))
    return StatusCount(
        label=label,
        total=values["total"],
        completed=values["completed"],
        outstanding=values["outstanding"],
        overdue=values["overdue"],
        on_time_rate=rate(values["on_time"], values["on_time"] + values["late"]),
    )


def yearly_report(request, today: datetime.date | None = None) -> YearlyReport:
    """The yearly report of /records/report/: a fixed number of queries whatever the rows."""
    today = today or timezone.localdate()
    form = ReportForm(request.GET or None, request=request)
    report = YearlyReport(form=form, bound=form.is_bound, today=today)
    user = request.user
    for model in (Task, FollowUp, Indicator):
        if not user.has_perm(f"coordination.view_{model._meta.model_name}"):
            report.forbidden = True
            return report
    if not form.is_bound or not form.is_valid():
        return report
    report.valid = True
    data = form.cleaned_data
    report.year = year = data["year"]
    tasks = scoping.visible_to(registry.get("tasks").records(), user).filter(year=year)
    followups = scoping.visible_to(registry.get("followups").records(), user).filter(year=year)
    indicators = scoping.visible_to(
        Indicator.objects.select_related("unit", "agreement"), user
    ).filter(year=year)
    if data.get("unit"):
        unit = report.unit = data["unit"]
        ids = with_predecessors([unit.pk]) if data.get("predecessors") == "yes" else {unit.pk}
        tasks = tasks.filter(lead_unit__in=ids)
        followups = followups.filter(responsible_unit__in=ids)
        indicators = indicators.filter(unit__in=ids)
        report.issuer = unit.full_name
        report.issuer_parent = unit.parent.full_name if unit.parent_id else ""
        report.place = place_name(unit.locality)
        report.subject = unit.full_name
        if unit.dissolved_on:
            report.notes.append(
                _(
                    "This unit was dissolved on %(date)s; its outstanding work passed to "
                    "%(successor)s."
                )
                % {
                    "date": show_date(unit.dissolved_on),
                    "successor": unit.successor.full_name if unit.successor_id else "—",
                }
            )
    else:
        agreement = report.agreement = data["agreement"]
        tasks = tasks.filter(agreement=agreement)
        followups = followups.filter(agreement=agreement)
        indicators = indicators.filter(agreement=agreement)
        links = sorted(
            agreement.party_links.select_related("unit", "unit__parent"),
            key=lambda link: (link.role != PartyRole.LEAD, link.pk),
        )
        lead = links[0].unit if links else None
        report.issuer = lead.full_name if lead else ""
        report.issuer_parent = lead.parent.full_name if lead and lead.parent_id else ""
        report.place = place_name(lead.locality) if lead else ""
        report.subject = f"{agreement.number} – {agreement.title}"
    report.tasks = status_count(_("Tasks"), tasks, today)
    report.followups = status_count(_("Follow-up items"), followups, today)
    by_kind = {
        group["kind"]: group
        for group in followups.order_by().values("kind").annotate(**counts(FollowUp, today))
    }
    for kind in FollowUpKind:
        if kind.value in by_kind:
            values = by_kind[kind.value]
            report.followup_kinds.append(
                StatusCount(
                    label=str(kind.label),
                    total=values["total"],
                    completed=values["completed"],
                    outstanding=values["outstanding"],
                    overdue=values["overdue"],
                    on_time_rate=rate(values["on_time"], values["on_time"] + values["late"]),
                )
            )
    report.indicators = list(indicators.order_by("unit__full_name", "name"))
    report.outstanding_tasks = list(tasks.outstanding().order_by("due_date", "pk"))
    report.outstanding_followups = list(followups.outstanding().order_by("due_date", "pk"))
    return report


def write_report_xlsx(report: YearlyReport, stream) -> None:
    """The yearly report as a workbook headed like the printed page."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(stream, {"in_memory": True})
    sheet = workbook.add_worksheet(_("Report"))
    bold_center = workbook.add_format({"bold": True, "align": "center", "text_wrap": True})
    center = workbook.add_format({"align": "center", "italic": True})
    title = workbook.add_format({"bold": True, "align": "center", "font_size": 14})
    bold = workbook.add_format({"bold": True})
    header = workbook.add_format({"bold": True, "border": 1, "bg_color": "#EEEEEE"})
    cell = workbook.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    date = workbook.add_format({"border": 1, "num_format": "dd/mm/yyyy", "valign": "top"})
    number = workbook.add_format({"border": 1, "valign": "top"})
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 60)
    sheet.set_column(2, 6, 16)

    def text(value):
        # Nothing typed by a user is written as a formula.
        return sheet.write_string if isinstance(value, str) else sheet.write

    sheet.merge_range(0, 0, 0, 2, report.issuer_parent.upper(), bold_center)
    sheet.merge_range(1, 0, 1, 2, report.issuer.upper(), bold_center)
    sheet.merge_range(0, 3, 0, 6, _("SOCIALIST REPUBLIC OF VIETNAM"), bold_center)
    sheet.merge_range(1, 3, 1, 6, _("Independence – Freedom – Happiness"), bold_center)
    sheet.merge_range(2, 3, 2, 6, report.date_line, center)
    sheet.merge_range(4, 0, 4, 6, _("REPORT"), title)
    sheet.merge_range(
        5,
        0,
        5,
        6,
        _("Results of coordination work in %(year)d") % {"year": report.year},
        bold_center,
    )
    sheet.merge_range(6, 0, 6, 6, report.subject, center)
    row = 8
    for note in report.notes:
        sheet.write_string(row, 0, note)
        row += 1

    def table(start_row, heading, columns, values):
        sheet.write_string(start_row, 0, heading, bold)
        start_row += 1
        for column, label in enumerate(columns):
            sheet.write_string(start_row, column, str(label), header)
        for line in values:
            start_row += 1
            for column, value in enumerate(line):
                if isinstance(value, datetime.date):
                    sheet.write_datetime(start_row, column, value, date)
                elif value is None:
                    sheet.write_blank(start_row, column, None, cell)
                elif isinstance(value, (int, float, Decimal)):
                    sheet.write_number(start_row, column, float(value), number)
                else:
                    text(str(value))(start_row, column, str(value), cell)
        return start_row + 2

    summary_columns = [
        _("No."),
        _("Records"),
        _("Total"),
        _("Completed"),
        _("Outstanding"),
        _("Overdue"),
        _("On-time rate"),
    ]
    summary = [
        [
            index,
            item.label,
            item.total,
            item.completed,
            item.outstanding,
            item.overdue,
            item.on_time_text,
        ]
        for index, item in enumerate(
            [report.tasks, report.followups, *report.followup_kinds], start=1
        )
    ]
    row = table(row, _("I. Summary"), summary_columns, summary)
    row = table(
        row,
        _("II. Indicators"),
        [_("No."), _("Indicator"), _("Unit"), _("Measure"), _("Target"), _("Actual"), _("Met")],
        [
            [
                index,
                indicator.name,
                unit_name(indicator.unit),
                indicator.measure,
                indicator.target,
                indicator.actual,
                met_text(indicator.is_met),
            ]
            for index, indicator in enumerate(report.indicators, start=1)
        ],
    )
    outstanding_columns = [
        _("No."),
        _("Content"),
        _("Unit"),
        _("Due date"),
        _("Status"),
        _("Days overdue"),
    ]
    row = table(
        row,
        _("III. Outstanding tasks"),
        outstanding_columns,
        [
            [
                index,
                task.content,
                unit_name(task.lead_unit),
                task.due_date,
                task.get_status_display(),
                task.days_overdue(report.today) or None,
            ]
            for index, task in enumerate(report.outstanding_tasks, start=1)
        ],
    )
    table(
        row,
        _("IV. Outstanding follow-up items"),
        outstanding_columns,
        [
            [
                index,
                item.content,
                unit_name(item.responsible_unit),
                item.due_date,
                item.get_status_display(),
                item.days_overdue(report.today) or None,
            ]
            for index, item in enumerate(report.outstanding_followups, start=1)
        ],
    )
    workbook.close()


def met_text(met: bool | None) -> str:
    if met is None:
        return ""
    return _("Yes") if met else _("No")
