"""The counts of the reports: totals, one count per status, outstanding, overdue and its
ageing, on-time rates.

Every condition comes from the model's `deadline_rules` (`models/base.py`), the rules the
lists' QuerySets and filters are built from; see the package's docstring for the definitions.
The status counts of a row add up to its total (every record has one of the statuses); the
others (outstanding, overdue, on time, late) are derived figures, counted apart.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, QuerySet
from django.utils import formats
from django.utils.translation import gettext_lazy

from coordination.choices import IndicatorComparison

#: The ageing columns of overdue records: (count name, from day, to day or None, label).
AGEING = [
    ("age_30", 1, 30, gettext_lazy("1–30 days")),
    ("age_90", 31, 90, gettext_lazy("31–90 days")),
    ("age_more", 91, None, gettext_lazy("over 90 days")),
]


def counts(model, today: datetime.date, extra=()) -> dict:
    """The conditional counts of one unit × year cell, for `.annotate()`/`.aggregate()`,
    by the model's `deadline_rules` (the lists' and filters' definitions), and the `extra`
    counts of its kind (`registry.ReportCount`)."""
    rules = model.deadline_rules
    overdue = rules.overdue_q(today)
    values = {
        "total": Count("pk"),
        **{
            status_key(status): Count("pk", filter=rules.status_q(status))
            for status in rules.statuses.values
        },
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
    for count in extra:
        values[count.name] = Count("pk", filter=count.condition)
    return values


_MET = Q(comparison=IndicatorComparison.AT_MOST, actual__lte=F("target")) | (
    ~Q(comparison=IndicatorComparison.AT_MOST) & Q(actual__gte=F("target"))
)
#: The indicators' counts (`Indicator.is_met` in SQL): met, not met, nothing reported yet.
INDICATOR_COUNTS = {
    "total": Count("pk"),
    "met": Count("pk", filter=Q(actual__isnull=False) & _MET),
    "unmet": Count("pk", filter=Q(actual__isnull=False) & ~_MET),
    "unreported": Count("pk", filter=Q(actual__isnull=True)),
}


def status_key(status: str) -> str:
    """The name of a status's count in `counts()`."""
    return f"status_{status}"


def status_columns(model) -> list[tuple[str, str, str]]:
    """(count name, status, label) of each status of `model`, in the order of its choices:
    the columns that add up to the total."""
    return [
        (status_key(value), value, label) for value, label in model.deadline_rules.statuses.choices
    ]


def rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def show_rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{formats.number_format(value, 1)}%"


@dataclass
class StatusCount:
    """One line of the yearly report's summary: the total, the count of each status (which
    add up to the total), and the derived figures beside them."""

    label: str
    total: int
    #: The count of each status, in the order of `status_columns()`.
    statuses: list[int]
    completed: int
    outstanding: int
    overdue: int
    on_time_rate: Decimal | None

    @classmethod
    def of(cls, label, values: dict, model) -> "StatusCount":
        """The line of `values` (the sums of `counts()` for `model`)."""
        return cls(
            label=label,
            total=values["total"],
            statuses=[values[key] for key, _status, _label in status_columns(model)],
            completed=values["completed"],
            outstanding=values["outstanding"],
            overdue=values["overdue"],
            on_time_rate=rate(values["on_time"], values["on_time"] + values["late"]),
        )

    @property
    def on_time_text(self) -> str:
        return show_rate(self.on_time_rate)


def status_count(label, queryset: QuerySet, today) -> StatusCount:
    values = queryset.order_by().aggregate(**counts(queryset.model, today))
    return StatusCount.of(label, values, queryset.model)


def add_counts(groups, model, today: datetime.date, extra=()) -> dict:
    """The sums of `counts()` over `groups` (rows annotated with them)."""
    totals = dict.fromkeys(counts(model, today, extra), 0)
    for group in groups:
        for key in totals:
            totals[key] += group[key]
    return totals
