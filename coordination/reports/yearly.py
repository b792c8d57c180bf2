"""/records/report/: the yearly report of a unit or an agreement, headed like an official
letter: its tasks, follow-up items and indicators of the year, and what is still outstanding.

A big unit has thousands of outstanding records in a year. The page reads only what it shows:
its figures and the outstanding work of each unit come from aggregate queries, the drafted
text names a bounded number of overdue records (`NAMED_UNITS`, `NAMED_PER_UNIT`,
`NAMED_CONCLUSIONS`) and the page lists the first `ANNEX_ROWS` rows of each outstanding table
with their count and a link to the /records/ list of all of them. The official document (the
.docx and .xlsx, and an issued report's snapshot) lists every row: `load_every_row()`, which
they call, reads them.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import F, Window
from django.db.models.fields import BLANK_CHOICE_DASH
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination import registry, scoping
from coordination.choices import FollowUpKind, PartyRole
from coordination.collation import sort_key, vietnamese
from coordination.models import Agreement, FollowUp, Indicator, Task, Unit
from coordination.reports.counts import (
    INDICATOR_COUNTS,
    StatusCount,
    add_counts,
    counts,
    status_columns,
)
from coordination.reports.letterhead import date_line
from coordination.reports.outstanding import list_link
from coordination.reports.parameters import REPORT_FILTERS, ShownForm, bind_filters
from coordination.tables import show_date
from coordination.unit_names import display_name

#: The rows of each outstanding table the page shows (the most overdue first); the documents
#: list every row.
ANNEX_ROWS = 100
#: The units whose outstanding work the drafted text details (those with the most overdue
#: records), the overdue records it names for each, and the outstanding conclusions it
#: names as directions; the others are counted (“… và 12 nội dung quá hạn khác”).
NAMED_UNITS = 10
NAMED_PER_UNIT = 10
NAMED_CONCLUSIONS = 10
#: The indicators the drafted text names one by one (the others are counted).
NAMED_INDICATORS = 20


@dataclass
class UnitWork:
    """A unit's outstanding work in the report (tasks it leads and items it is responsible
    for), and its most overdue records, the most overdue first."""

    name: str
    outstanding: int = 0
    overdue: int = 0
    named: list = field(default_factory=list)


@dataclass
class YearlyReport:
    #: What the page's filter form shows: the FilterSet's year, unit, agreement, predecessors.
    form: ShownForm
    bound: bool = False
    valid: bool = False
    forbidden: bool = False
    today: datetime.date | None = None
    #: The report's own date, when it is not today's (an issued report's, a past year's).
    date: datetime.date | None = None
    year: int | None = None
    unit: Unit | None = None
    agreement: Agreement | None = None
    #: The units that issue the report: its unit, or the agreement's parties, lead first.
    parties: list[Unit] = field(default_factory=list)
    issuer: str = ""
    issuer_parent: str = ""
    place: str = ""
    subject: str = ""
    notes: list[str] = field(default_factory=list)
    tasks: StatusCount | None = None
    followups: StatusCount | None = None
    followup_kinds: list[StatusCount] = field(default_factory=list)
    #: The indicators in the annex's order: the first `ANNEX_ROWS`, or every one once
    #: `complete`; `indicator_counts`: how many there are, met, not met and not reported.
    indicators: list = field(default_factory=list)
    indicator_counts: dict = field(default_factory=dict)
    indicators_url: str = ""
    #: The outstanding records in the annex's order (due date, the most overdue first): the
    #: first `ANNEX_ROWS` of each, or every one once `complete` (`load_every_row()`).
    outstanding_tasks: list = field(default_factory=list)
    outstanding_followups: list = field(default_factory=list)
    complete: bool = True
    #: The /records/ lists of exactly the outstanding records of each table.
    outstanding_tasks_url: str = ""
    outstanding_followups_url: str = ""
    #: The units whose work the drafted text details (`NAMED_UNITS`, in name order), and the
    #: sum of the others' (`name` holds how many units they are), if any.
    unit_work: list[UnitWork] = field(default_factory=list)
    other_units: UnitWork | None = None
    #: The first outstanding conclusions (`NAMED_CONCLUSIONS`), and how many there are.
    conclusions: list = field(default_factory=list)
    conclusions_outstanding: int = 0
    #: The querysets of every outstanding row, which `load_every_row()` reads.
    outstanding_querysets: tuple = field(default=(), repr=False)

    @property
    def outstanding_task_count(self) -> int:
        """How many rows the outstanding tasks' table has (the page shows the first ones)."""
        return len(self.outstanding_tasks) if self.complete else self.tasks.outstanding

    @property
    def outstanding_followup_count(self) -> int:
        return len(self.outstanding_followups) if self.complete else self.followups.outstanding

    @property
    def shown_outstanding_tasks(self) -> list:
        """The rows of the outstanding tasks the page shows: the first `ANNEX_ROWS`."""
        return self.outstanding_tasks[:ANNEX_ROWS]

    @property
    def shown_outstanding_followups(self) -> list:
        return self.outstanding_followups[:ANNEX_ROWS]

    @property
    def indicator_count(self) -> int:
        return self.indicator_counts.get("total", len(self.indicators))

    @property
    def shown_indicators(self) -> list:
        return self.indicators[:ANNEX_ROWS]

    def load_every_row(self) -> None:
        """Read every outstanding row, for the documents (.docx, .xlsx, the issued snapshot),
        which list them all; the page reads the first `ANNEX_ROWS` only."""
        if self.complete:
            return
        tasks, followups, indicators = self.outstanding_querysets
        self.outstanding_tasks = list(tasks)
        self.outstanding_followups = list(followups)
        self.indicators = list(indicators)
        self.complete = True

    @property
    def task_columns(self) -> list[tuple[str, str]]:
        """(status, label) of the tasks' status columns, in the order of `StatusCount.statuses`
        (an issued report keeps its own: `snapshot.FrozenReport`)."""
        return [(status, label) for _key, status, label in status_columns(Task)]

    @property
    def followup_columns(self) -> list[tuple[str, str]]:
        """(status, label) of the follow-up items' status columns."""
        return [(status, label) for _key, status, label in status_columns(FollowUp)]

    @property
    def task_statuses(self) -> list[str]:
        """The labels of the tasks' status columns, which add up to the total."""
        return [label for _status, label in self.task_columns]

    @property
    def followup_statuses(self) -> list[str]:
        """The labels of the follow-up items' status columns, which add up to the total."""
        return [label for _status, label in self.followup_columns]

    @property
    def followup_threads(self) -> bool:
        """Whether the outstanding items show their thread (year first raised, times carried
        over); a report issued before they were kept does not."""
        return True

    @property
    def task_rows(self) -> list[StatusCount]:
        return [self.tasks]

    @property
    def followup_rows(self) -> list[StatusCount]:
        """Every follow-up item, then the items of each kind."""
        return [self.followups, *self.followup_kinds]

    @property
    def file_name(self) -> str:
        subject = f"unit{self.unit.pk}" if self.unit else f"agreement{self.agreement.pk}"
        return f"report-{self.year}-{subject}.xlsx"

    @property
    def date_line(self) -> str:
        """“Hàm Tân, ngày 05 tháng 3 năm 2024”, as Nghị định 30/2020/NĐ-CP pads it."""
        return date_line(self.place, self.date or self.today)


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


def report_filters(kind, request, today):
    """The FilterSet of `kind` bound to the report's parameters, its form asking for what a
    report needs: a year, and one unit or agreement (no "all units")."""
    filterset = bind_filters(kind, request, REPORT_FILTERS, today=today)
    fields = filterset.form.fields
    fields["year"].required = True
    for name in ("unit", "agreement"):
        fields[name].empty_label = BLANK_CHOICE_DASH[0][1]
    return filterset


def names_one_subject(filterset) -> bool:
    """Whether the valid parameters name a unit or an agreement, not both (else a form error)."""
    if not filterset.is_valid():
        return False
    data = filterset.form.cleaned_data
    if bool(data.get("unit")) == bool(data.get("agreement")):
        filterset.form.add_error(None, _("Choose either a unit or an agreement."))
        return False
    return True


def yearly_report(request, today: datetime.date | None = None) -> YearlyReport:
    """The yearly report of /records/report/: a fixed number of queries whatever the rows.

    Tasks and follow-up items are those of their kinds' FilterSets for the same `year`,
    `unit` (the unit the reports group by: a task's lead unit), `predecessors` and
    `agreement`; the indicators, which have no FilterSet, those of the values they parsed.
    """
    today = today or timezone.localdate()
    user = request.user
    task_filters = report_filters(registry.get("tasks"), request, today)
    report = YearlyReport(
        form=ShownForm((task_filters.form, REPORT_FILTERS)),
        bound=task_filters.is_bound,
        today=today,
    )
    for model in (Task, FollowUp, Indicator):
        if not user.has_perm(f"coordination.view_{model._meta.model_name}"):
            report.forbidden = True
            return report
    if not report.bound or not names_one_subject(task_filters):
        return report
    followup_filters = bind_filters(registry.get("followups"), request, REPORT_FILTERS, today=today)
    if not followup_filters.is_valid():  # the same parameters, the same definitions
        return report
    report.valid = True
    data = task_filters.form.cleaned_data
    report.year = year = data["year"]
    tasks, followups = task_filters.qs, followup_filters.qs
    indicators = scoping.visible_to(
        Indicator.objects.select_related("unit", "agreement"), user
    ).filter(year=year)
    if data.get("unit"):
        unit = report.unit = data["unit"]
        indicators = indicators.filter(unit__in=task_filters.unit_ids(unit))
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
        indicators = indicators.filter(agreement=agreement)
        links = sorted(
            agreement.party_links.select_related("unit", "unit__parent"),
            key=lambda link: (link.role != PartyRole.LEAD, link.pk),
        )
        report.parties = [link.unit for link in links]
        lead = links[0].unit if links else None
        report.issuer = lead.full_name if lead else ""
        report.issuer_parent = lead.parent.full_name if lead and lead.parent_id else ""
        report.place = place_name(lead.locality) if lead else ""
        report.subject = f"{agreement.number} – {agreement.title}"
    # The counts of each unit (and of each kind of item): the report's figures are their sums.
    task_groups = _unit_groups(tasks, "lead_unit", (), today)
    report.tasks = StatusCount.of(_("Tasks"), add_counts(task_groups, Task, today), Task)
    item_groups = _unit_groups(followups, "responsible_unit", ("kind",), today)
    by_kind: dict[str, list] = {}
    for group in item_groups:
        by_kind.setdefault(group["kind"], []).append(group)
    report.followups = StatusCount.of(
        _("Follow-up items"), add_counts(item_groups, FollowUp, today), FollowUp
    )
    for kind in FollowUpKind:
        if kind.value in by_kind:
            values = add_counts(by_kind[kind.value], FollowUp, today)
            report.followup_kinds.append(StatusCount.of(str(kind.label), values, FollowUp))
            if kind == FollowUpKind.CONCLUSION:
                report.conclusions_outstanding = values["outstanding"]
    # A province's unit sets some hundreds of indicators a year: the page shows the first
    # ANNEX_ROWS, the counts are the database's, the documents list them all.
    indicators = indicators.order_by(vietnamese("unit__full_name"), vietnamese("name"), "pk")
    report.indicators = list(indicators[:ANNEX_ROWS])
    report.indicator_counts = indicators.aggregate(**INDICATOR_COUNTS)
    outstanding_tasks = tasks.outstanding().order_by("due_date", "pk")
    outstanding_followups = followups.outstanding().order_by("due_date", "pk")
    report.outstanding_querysets = (outstanding_tasks, outstanding_followups, indicators)
    report.outstanding_tasks = list(outstanding_tasks[:ANNEX_ROWS])
    report.outstanding_followups = list(outstanding_followups[:ANNEX_ROWS])
    report.complete = False
    params = {
        "year": year,
        "agreement": report.agreement.pk if report.agreement else None,
        "unit": report.unit.pk if report.unit else None,
        "predecessors": data.get("predecessors") or None,
        "outstanding": "yes",
        "sort": "due_date",
    }
    for name, attribute in (
        ("tasks", "outstanding_tasks_url"),
        ("followups", "outstanding_followups_url"),
    ):
        kind = registry.get(name)
        unit_params = kind.report_unit_params if report.unit else {}
        setattr(report, attribute, list_link(name, **params, **unit_params))
    report.indicators_url = list_link(
        "indicators",
        year=year,
        agreement=params["agreement"],
        unit=params["unit"],
        predecessors=params["predecessors"],
    )
    _unit_work(report, tasks, followups, task_groups, item_groups, today)
    if report.conclusions_outstanding:
        report.conclusions = list(
            outstanding_followups.filter(kind=FollowUpKind.CONCLUSION)[:NAMED_CONCLUSIONS]
        )
    return report


def _unit_groups(queryset, unit_field: str, by: tuple, today) -> list[dict]:
    """The counts of `queryset` per unit the reports group by (and per `by`), with the unit's
    names: one query."""
    names = [f"{unit_field}_id", *(f"{unit_field}__{name}" for name in UNIT_NAME_FIELDS)]
    return list(queryset.order_by().values(*names, *by).annotate(**counts(queryset.model, today)))


UNIT_NAME_FIELDS = ("full_name", "short_name", "locality")


def _unit_work(report, tasks, followups, task_groups, item_groups, today) -> None:
    """Each unit's outstanding work, its most overdue records named for the `NAMED_UNITS`
    units with the most overdue records (one query per kind), the others summed."""
    units: dict[int, UnitWork] = {}
    for unit_field, groups in (("lead_unit", task_groups), ("responsible_unit", item_groups)):
        for group in groups:
            if not group["outstanding"]:
                continue
            names = [group[f"{unit_field}__{name}"] for name in UNIT_NAME_FIELDS]
            work = units.setdefault(group[f"{unit_field}_id"], UnitWork(display_name(*names)))
            work.outstanding += group["outstanding"]
            work.overdue += group["overdue"]
    ranked = sorted(
        units, key=lambda pk: (-units[pk].overdue, -units[pk].outstanding, sort_key(units[pk].name))
    )
    named, others = ranked[:NAMED_UNITS], ranked[NAMED_UNITS:]
    overdue_ids = [pk for pk in named if units[pk].overdue]
    if overdue_ids:
        records = [
            *_most_overdue(tasks, "lead_unit", overdue_ids, today),
            *_most_overdue(followups, "responsible_unit", overdue_ids, today),
        ]
        records.sort(key=lambda record: (record.due_date, record.pk))
        for record in records:
            unit_id = getattr(record, "lead_unit_id", None) or record.responsible_unit_id
            if len(units[unit_id].named) < NAMED_PER_UNIT:
                units[unit_id].named.append(record)
    report.unit_work = sorted((units[pk] for pk in named), key=lambda work: sort_key(work.name))
    if others:
        report.other_units = UnitWork(
            name=str(len(others)),
            outstanding=sum(units[pk].outstanding for pk in others),
            overdue=sum(units[pk].overdue for pk in others),
        )


def _most_overdue(queryset, unit_field: str, unit_ids, today) -> list:
    """The `NAMED_PER_UNIT` most overdue records of each unit of `unit_ids`."""
    rank = Window(
        RowNumber(),
        partition_by=[F(f"{unit_field}_id")],
        order_by=[F("due_date").asc(), F("pk").asc()],
    )
    return list(
        queryset.overdue(today)
        .filter(**{f"{unit_field}_id__in": unit_ids})
        .annotate(overdue_rank=rank)
        .filter(overdue_rank__lte=NAMED_PER_UNIT)
    )
