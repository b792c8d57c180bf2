"""/records/report/: the yearly report of a unit or an agreement, headed like an official
letter: its tasks, follow-up items and indicators of the year, and what is still outstanding."""

import datetime
from dataclasses import dataclass, field

from django.db.models.fields import BLANK_CHOICE_DASH
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination import registry, scoping
from coordination.choices import FollowUpKind, PartyRole
from coordination.collation import vietnamese
from coordination.models import Agreement, FollowUp, Indicator, Task, Unit
from coordination.reports.counts import (
    StatusCount,
    add_counts,
    counts,
    status_columns,
    status_count,
)
from coordination.reports.letterhead import date_line
from coordination.reports.parameters import REPORT_FILTERS, ShownForm, bind_filters
from coordination.tables import show_date


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
    indicators: list = field(default_factory=list)
    outstanding_tasks: list = field(default_factory=list)
    outstanding_followups: list = field(default_factory=list)

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
    report.tasks = status_count(_("Tasks"), tasks, today)
    # The follow-up items by kind, and their sums: one query.
    by_kind = {
        group["kind"]: group
        for group in followups.order_by().values("kind").annotate(**counts(FollowUp, today))
    }
    report.followups = StatusCount.of(
        _("Follow-up items"), add_counts(by_kind.values(), FollowUp, today), FollowUp
    )
    for kind in FollowUpKind:
        if kind.value in by_kind:
            report.followup_kinds.append(
                StatusCount.of(str(kind.label), by_kind[kind.value], FollowUp)
            )
    report.indicators = list(
        indicators.order_by(vietnamese("unit__full_name"), vietnamese("name"), "pk")
    )
    report.outstanding_tasks = list(tasks.outstanding().order_by("due_date", "pk"))
    report.outstanding_followups = list(followups.outstanding().order_by("due_date", "pk"))
    return report
