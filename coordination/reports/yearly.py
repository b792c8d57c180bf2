"""/records/report/: the yearly report of a unit or an agreement, headed like an official
letter: its tasks, follow-up items and indicators of the year, and what is still outstanding."""

import datetime
from dataclasses import dataclass, field

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coordination import registry, scoping
from coordination.choices import FollowUpKind, PartyRole
from coordination.filters import (
    YES_NO,
    YesNoSelect,
    agreement_queryset,
    unit_queryset,
    with_predecessors,
)
from coordination.models import Agreement, FollowUp, Indicator, Task, Unit
from coordination.models.base import YEAR_MAX, YEAR_MIN
from coordination.reports.counts import StatusCount, counts, rate, status_count
from coordination.tables import show_date


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
