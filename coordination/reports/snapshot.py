"""The figures and lists of a `YearlyReport` frozen as JSON, and thawed back into one that
the page's tables (and the workbook) read as they read a live report.

Names are kept as text, records as what the report showed of them, so that a later edit,
import or unit merger changes nothing in an issued report. The summary's lines are kept
field by field (`dataclasses.fields(StatusCount)`), so that a count added to them later is
frozen too, with the status columns their `statuses` count (status and label): the issued
report keeps the columns it had, whatever statuses the code has later.

A snapshot of an older format reads too: what it did not keep is missing, never invented
(format 1, before the status columns and the items' threads: no status columns, no year
first raised).
"""

import dataclasses
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.functional import Promise

import coordination.reports.yearly as yearly
from coordination.reports.counts import StatusCount, status_key
from coordination.reports.yearly import YearlyReport

#: 1: the first; 2: the status columns (`task_columns`, `followup_columns`, each line's
#: `statuses`) and the outstanding items' threads (`first_raised_year`, `times_carried`).
FORMAT = 2


@dataclass
class FrozenUnit:
    full_name: str
    short_name: str = ""
    #: Kept since the units are shown with their place (“UBND huyện Hàm Tân”); a snapshot
    #: without it shows the short name, as it was issued.
    locality: str = ""

    def __str__(self):
        return self.full_name


@dataclass
class FrozenIndicator:
    name: str
    unit: FrozenUnit
    measure: str
    target: Decimal
    actual: Decimal | None
    is_met: bool | None


@dataclass
class FrozenRecord:
    """An outstanding task or follow-up item as the report listed it."""

    pk: int
    content: str
    responsible_unit: FrozenUnit
    due_date: datetime.date | None
    status: str
    status_label: str
    days: int
    kind: str = ""
    first_raised_year: int | None = None
    times_carried: int = 0

    def get_status_display(self) -> str:
        return self.status_label

    def days_overdue(self, today=None) -> int:
        return self.days


def _plain(value):
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    return str(value) if isinstance(value, Promise) else value


def _value(value):
    if isinstance(value, dict) and set(value) == {"decimal"}:
        return Decimal(value["decimal"])
    if isinstance(value, dict) and set(value) == {"date"}:
        return datetime.date.fromisoformat(value["date"])
    return value


def _count(count: StatusCount) -> dict:
    return {f.name: _plain(getattr(count, f.name)) for f in dataclasses.fields(StatusCount)}


def _known(cls, data: dict) -> dict:
    """The keys of `data` that dataclass `cls` has: a snapshot read by an older release."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _unit(unit) -> dict:
    if unit is None:
        return None
    return {"full_name": unit.full_name, "short_name": unit.short_name, "locality": unit.locality}


def _record(record, today) -> dict:
    unit = getattr(record, "lead_unit", None) or record.responsible_unit
    return {
        "pk": record.pk,
        "content": record.content,
        "unit": _unit(unit),
        "due_date": _plain(record.due_date),
        "status": record.status,
        "status_label": str(record.get_status_display()),
        "days": record.days_overdue(today),
        "kind": getattr(record, "kind", ""),
        "first_raised_year": getattr(record, "first_raised_year", None),
        "times_carried": getattr(record, "times_carried", 0),
    }


def _columns(columns) -> list[list[str]]:
    return [[status, str(label)] for status, label in columns]


def freeze(report: YearlyReport) -> dict:
    """What `report` (valid) shows, as JSON: every outstanding row."""
    report.load_every_row()
    return {
        "format": FORMAT,
        "today": report.today.isoformat(),
        "date": report.date.isoformat() if report.date else None,
        "year": report.year,
        "issuer": report.issuer,
        "issuer_parent": report.issuer_parent,
        "place": report.place,
        "subject": report.subject,
        "notes": [str(note) for note in report.notes],
        "task_columns": _columns(report.task_columns),
        "followup_columns": _columns(report.followup_columns),
        "tasks": _count(report.tasks),
        "followups": _count(report.followups),
        "followup_kinds": [_count(item) for item in report.followup_kinds],
        "indicators": [
            {
                "name": indicator.name,
                "unit": _unit(indicator.unit),
                "measure": indicator.measure,
                "target": _plain(indicator.target),
                "actual": _plain(indicator.actual),
                "is_met": indicator.is_met,
            }
            for indicator in report.indicators
        ],
        "outstanding_tasks": [_record(task, report.today) for task in report.outstanding_tasks],
        "outstanding_followups": [
            _record(item, report.today) for item in report.outstanding_followups
        ],
    }


def shown(frozen: dict) -> dict:
    """What the page of an issued report reads of `frozen` (`freeze()`'s): the figures, the
    first `ANNEX_ROWS` rows of each outstanding table and how many rows it has, so that the
    page never reads every row."""
    return {
        **frozen,
        **{key: frozen[key][: yearly.ANNEX_ROWS] for key in BOUNDED_KEYS},
        **{f"{key}_count": len(frozen[key]) for key in BOUNDED_KEYS},
    }


OUTSTANDING_KEYS = ("outstanding_tasks", "outstanding_followups")
#: The tables whose first `ANNEX_ROWS` rows the page of an issued report shows.
BOUNDED_KEYS = (*OUTSTANDING_KEYS, "indicators")


def _thaw_count(data: dict) -> StatusCount:
    """A summary line; a field the snapshot's format did not have is empty (no statuses)."""
    return StatusCount(
        **{
            f.name: _value(data[f.name])
            if f.name in data
            else ([] if f.name == "statuses" else None)
            for f in dataclasses.fields(StatusCount)
        }
    )


@dataclass
class FrozenReport(YearlyReport):
    """A report thawed from its snapshot: its status columns as they were issued, and whether
    its outstanding items had their threads."""

    frozen_task_columns: list = field(default_factory=list)
    frozen_followup_columns: list = field(default_factory=list)
    frozen_threads: bool = False
    #: How many rows each outstanding table has, when the snapshot holds its first rows only
    #: (`shown()`); else None, and the lists are whole.
    frozen_counts: tuple | None = None
    #: How many indicators the report has, when the snapshot holds the first ones only.
    frozen_indicator_count: int | None = None

    @property
    def indicator_count(self) -> int:
        if self.frozen_indicator_count is not None:
            return self.frozen_indicator_count
        return len(self.indicators)

    def load_every_row(self) -> None:
        if not self.complete:
            raise ValueError("The page's part of an issued report has its first rows only.")

    @property
    def outstanding_task_count(self) -> int:
        return self.frozen_counts[0] if self.frozen_counts else len(self.outstanding_tasks)

    @property
    def outstanding_followup_count(self) -> int:
        return self.frozen_counts[1] if self.frozen_counts else len(self.outstanding_followups)

    @property
    def task_columns(self) -> list[tuple[str, str]]:
        return self.frozen_task_columns

    @property
    def followup_columns(self) -> list[tuple[str, str]]:
        return self.frozen_followup_columns

    @property
    def followup_threads(self) -> bool:
        return self.frozen_threads


def thaw(data: dict) -> FrozenReport:
    """The report `freeze()` kept (or its `shown()` part), for the page's tables and the
    workbook."""
    counts = None
    if all(f"{key}_count" in data for key in OUTSTANDING_KEYS):
        counts = tuple(data[f"{key}_count"] for key in OUTSTANDING_KEYS)
    return FrozenReport(
        form=None,
        bound=True,
        valid=True,
        today=datetime.date.fromisoformat(data["today"]),
        date=datetime.date.fromisoformat(data["date"]) if data.get("date") else None,
        year=data["year"],
        issuer=data["issuer"],
        issuer_parent=data["issuer_parent"],
        place=data["place"],
        subject=data["subject"],
        notes=list(data["notes"]),
        tasks=_thaw_count(data["tasks"]),
        followups=_thaw_count(data["followups"]),
        followup_kinds=[_thaw_count(item) for item in data["followup_kinds"]],
        indicators=[
            FrozenIndicator(
                name=item["name"],
                unit=FrozenUnit(**_known(FrozenUnit, item["unit"])),
                measure=item["measure"],
                target=_value(item["target"]),
                actual=_value(item["actual"]),
                is_met=item["is_met"],
            )
            for item in data["indicators"]
        ],
        outstanding_tasks=[_thaw_record(item) for item in data["outstanding_tasks"]],
        outstanding_followups=[_thaw_record(item) for item in data["outstanding_followups"]],
        frozen_task_columns=[tuple(column) for column in data.get("task_columns", [])],
        frozen_followup_columns=[tuple(column) for column in data.get("followup_columns", [])],
        frozen_threads=data.get("format", 1) >= 2,
        frozen_counts=counts,
        frozen_indicator_count=data.get("indicators_count"),
        complete=counts is None,
    )


def _thaw_record(item: dict) -> FrozenRecord:
    unit = FrozenUnit(**_known(FrozenUnit, item["unit"])) if item["unit"] else FrozenUnit("")
    return FrozenRecord(
        pk=item["pk"],
        content=item["content"],
        responsible_unit=unit,
        due_date=_value(item["due_date"]),
        status=item["status"],
        status_label=item["status_label"],
        days=item["days"],
        kind=item.get("kind", ""),
        first_raised_year=item.get("first_raised_year"),
        times_carried=item.get("times_carried") or 0,
    )


def figures(report: YearlyReport) -> dict[tuple[str, str], str]:
    """The report's figures as text, by (line or indicator, column): what “changed since it
    was issued” compares. A status column is named by `counts.status_key()` (“status_done”).
    """
    result = {}
    lines = [
        (report.tasks, report.task_columns),
        *((count, report.followup_columns) for count in [report.followups, *report.followup_kinds]),
    ]
    for count, columns in lines:
        for f in dataclasses.fields(StatusCount):
            if f.name == "statuses":
                for (status, _label), value in zip(columns, count.statuses, strict=False):
                    result[(count.label, status_key(status))] = str(value)
            elif f.name != "label":
                value = getattr(count, f.name)
                result[(count.label, f.name)] = "—" if value is None else str(value)
    for indicator in report.indicators:
        unit = indicator.unit.short_name or indicator.unit.full_name
        actual = "—" if indicator.actual is None else str(indicator.actual)
        result[(f"{indicator.name} ({unit})", "actual")] = actual
    return result
