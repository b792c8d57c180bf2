"""What the /records/ pages show of each record type: list columns, detail fields, history."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from coordination.history import has_history
from coordination.models import Agreement, FollowUp, Meeting, Task


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
    return unit.short_name or unit.full_name if unit else ""


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
    return Cell(f"{when} · {who}" if who else when)


@dataclass(frozen=True)
class RecordType:
    """One record type of the /records/ pages."""

    kind: str
    model: type[models.Model]
    columns: list[ListColumn]
    #: Detail page: the fields shown, in order (many-to-many included).
    detail_fields: list[str] = field(default_factory=list)

    @property
    def title(self):
        return self.model._meta.verbose_name_plural

    @property
    def has_history(self) -> bool:
        return has_history(self.model)

    def detail_url(self, record) -> str:
        return reverse("coordination:record-detail", args=[self.kind, record.pk])

    def list_url(self) -> str:
        return reverse("coordination:record-list", args=[self.kind])


def _link_first(kind):
    def value(record, today):
        return Cell(str(record), reverse("coordination:record-detail", args=[kind, record.pk]))

    return value


RECORD_TYPES = {
    "followups": RecordType(
        kind="followups",
        model=FollowUp,
        columns=[
            ListColumn(_("content"), _link_first("followups")),
            ListColumn(_("kind"), lambda r, t: r.get_kind_display()),
            ListColumn(_("year"), lambda r, t: str(r.year), "year", "number"),
            ListColumn(_("responsible unit"), lambda r, t: unit_name(r.responsible_unit), "unit"),
            ListColumn(_("due date"), lambda r, t: show_date(r.due_date), "due_date", "date"),
            ListColumn(_("status"), lambda r, t: r.get_status_display(), "status"),
            ListColumn(_("days overdue"), overdue_cell, None, "number"),
            ListColumn(_("last changed"), last_change_cell, "updated"),
        ],
        detail_fields=[
            "kind",
            "year",
            "content",
            "responsible_unit",
            "agreement",
            "meeting",
            "raised_on",
            "source_reference",
            "due_date",
            "status",
            "resolution",
            "resolved_on",
            "carried_over_from",
            "created_at",
            "updated_at",
        ],
    ),
    "tasks": RecordType(
        kind="tasks",
        model=Task,
        columns=[
            ListColumn(_("content"), _link_first("tasks")),
            ListColumn(_("year"), lambda r, t: str(r.year), "year", "number"),
            ListColumn(_("agreement"), lambda r, t: r.agreement.number),
            ListColumn(_("lead unit"), lambda r, t: unit_name(r.lead_unit), "unit"),
            ListColumn(_("due date"), lambda r, t: show_date(r.due_date), "due_date", "date"),
            ListColumn(_("status"), lambda r, t: r.get_status_display(), "status"),
            ListColumn(_("progress (%)"), lambda r, t: str(r.progress), None, "number"),
            ListColumn(_("days overdue"), overdue_cell, None, "number"),
            ListColumn(_("last changed"), last_change_cell, "updated"),
        ],
        detail_fields=[
            "agreement",
            "year",
            "content",
            "lead_unit",
            "coordinating_units",
            "assignee",
            "meeting",
            "start_date",
            "due_date",
            "status",
            "progress",
            "completed_on",
            "result",
            "created_at",
            "updated_at",
        ],
    ),
    "agreements": RecordType(
        kind="agreements",
        model=Agreement,
        columns=[
            ListColumn(
                _("number"),
                lambda r, t: Cell(
                    r.number, reverse("coordination:record-detail", args=["agreements", r.pk])
                ),
                "number",
            ),
            ListColumn(_("title"), lambda r, t: r.title),
            ListColumn(_("kind"), lambda r, t: r.get_kind_display()),
            ListColumn(
                _("years"),
                lambda r, t: (
                    str(r.start_year)
                    if r.start_year == r.end_year
                    else f"{r.start_year}–{r.end_year}"
                ),
                "year",
            ),
            ListColumn(_("signed on"), lambda r, t: show_date(r.signed_on), "signed_on", "date"),
            ListColumn(_("status"), lambda r, t: r.get_status_display(), "status"),
            ListColumn(
                _("parties"),
                lambda r, t: ", ".join(unit_name(link.unit) for link in r.party_links.all()),
            ),
            ListColumn(_("last changed"), last_change_cell, "updated"),
        ],
        detail_fields=[
            "number",
            "title",
            "kind",
            "status",
            "signed_on",
            "start_year",
            "end_year",
            "parent",
            "supersedes",
            "parties",
            "notes",
            "created_at",
            "updated_at",
        ],
    ),
    "meetings": RecordType(
        kind="meetings",
        model=Meeting,
        columns=[
            ListColumn(_("title"), _link_first("meetings"), "title"),
            ListColumn(_("kind"), lambda r, t: r.get_kind_display()),
            ListColumn(_("held on"), lambda r, t: show_date(r.held_on), "held_on", "date"),
            ListColumn(_("venue"), lambda r, t: r.venue),
        ],
        detail_fields=[
            "title",
            "kind",
            "held_on",
            "venue",
            "agreements",
            "period_from_year",
            "period_to_year",
            "co_chairs",
            "attending_units",
            "summary",
            "conclusions",
            "source_url",
            "created_at",
            "updated_at",
        ],
    ),
}


def field_display(record, name: str) -> str:
    """A field of `record` as the detail page shows it."""
    model_field = record._meta.get_field(name)
    if model_field.many_to_many:
        return ", ".join(str(item) for item in getattr(record, name).all())
    value = getattr(record, name)
    if value is None or value == "":
        return ""
    if model_field.choices:
        return str(getattr(record, f"get_{name}_display")())
    if isinstance(value, datetime.datetime):
        return show_datetime(value)
    if isinstance(value, datetime.date):
        return show_date(value)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    return str(value)
