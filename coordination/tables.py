"""The cells of the /records/ tables: how a list column and a detail field show a value.

Each kind lists its columns in its module of `coordination/kinds/`; the views render them.
"""

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from coordination.unit_names import display_name


@dataclass(frozen=True)
class Cell:
    text: str
    url: str | None = None
    css: str = ""


@dataclass(frozen=True)
class ListColumn:
    label: Any
    value: Any  # function(record, today) -> str or Cell
    sort: str | None = None  # the `sort` parameter value ordering by this column
    css: str = ""


def column_cell(value, css: str) -> Cell:
    """A list's cell: the column's value as a `Cell`, styled as its column unless it says
    otherwise (`overdue_cell`)."""
    if isinstance(value, Cell):
        return value if value.css else dataclasses.replace(value, css=css)
    return Cell(value, css=css)


def show_date(day: datetime.date | None) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT") if day else ""


def show_datetime(moment: datetime.datetime | None) -> str:
    """A stored (UTC) moment as the office reads it: in local time (Asia/Ho_Chi_Minh)."""
    if not moment:
        return ""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")


def unit_name(unit) -> str:
    """A unit as lists, charts and reports name it: short, and never ambiguous
    (`unit_names.display_name`)."""
    return display_name(unit.full_name, unit.short_name, unit.locality) if unit else ""


def overdue_cell(record, today) -> Cell:
    days = record.days_overdue(today)
    if not days:
        return Cell("")
    css = "age-90" if days > 90 else "age-30" if days > 30 else "age-0"
    return Cell(str(days), css=f"number overdue {css}")


def last_change_cell(record, today) -> Cell:
    who = (getattr(record, "last_changed_by_name", "") or "").strip()
    who = who or getattr(record, "last_changed_by", "") or ""
    when = show_datetime(getattr(record, "last_changed_at", None))
    return Cell(f"{when} · {who}" if who else when, css="changed")


def yes_no(value: bool | None) -> str:
    if value is None:
        return ""
    return str(_("Yes") if value else _("No"))


def link_first(kind: str):
    """A column that shows the record's name linked to its detail page."""

    def value(record, today):
        return Cell(str(record), reverse("coordination:record-detail", args=[kind, record.pk]))

    return value


def field_display(record, name: str) -> str:
    """A field of `record` as the detail page shows it."""
    model_field = record._meta.get_field(name)
    if model_field.many_to_many:
        return ", ".join(str(item) for item in getattr(record, name).all())
    value = getattr(record, name)
    if value is None or value == "":
        return ""
    if isinstance(value, FieldFile):
        return PurePosixPath(value.name).name  # the file's name, not the storage's path
    if model_field.choices:
        return str(getattr(record, f"get_{name}_display")())
    if isinstance(value, datetime.datetime):
        return show_datetime(value)
    if isinstance(value, datetime.date):
        return show_date(value)
    if isinstance(value, bool):
        return yes_no(value)
    return str(value)
