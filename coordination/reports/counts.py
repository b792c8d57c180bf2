"""The counts of the reports: totals, outstanding, overdue and its ageing, on-time rates.

Every condition comes from the model's `deadline_rules` (`models/base.py`), the rules the
lists' QuerySets and filters are built from; see the package's docstring for the definitions.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import formats
from django.utils.translation import gettext_lazy

#: The ageing columns of overdue records: (count name, from day, to day or None, label).
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


@dataclass
class StatusCount:
    """One line of the yearly report's summary."""

    label: str
    total: int
    completed: int
    outstanding: int
    overdue: int
    on_time_rate: Decimal | None

    @classmethod
    def of(cls, label, values: dict) -> "StatusCount":
        """The line of `values` (the sums of `counts()`)."""
        return cls(
            label=label,
            total=values["total"],
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
    return StatusCount.of(label, values)


def add_counts(groups, model, today: datetime.date) -> dict:
    """The sums of `counts()` over `groups` (rows annotated with them)."""
    totals = dict.fromkeys(counts(model, today), 0)
    for group in groups:
        for key in totals:
            totals[key] += group[key]
    return totals
