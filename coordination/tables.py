"""The cells of the /records/ tables: how a list column and a detail field show a value.

Each kind lists its columns in its module of `coordination/kinds/`; the views render them.
"""

import dataclasses
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from coordination import registry, scoping
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


class Links:
    """Which records a user may open on /records/: those get a link, the others plain text.

    A record is linked when its kind has pages, the user has its view permission and the
    record is one `scoping` lets them read. `prime()` asks once per model for all the
    records of a page, so that a page's queries do not grow with its rows.
    """

    def __init__(self, user):
        self.user = user
        self._checked: set[tuple[type, Any]] = set()
        self._readable: set[tuple[type, Any]] = set()

    def _kind(self, model):
        kind = registry.for_model(model)
        if kind is None or not kind.has_pages:
            return None
        return kind if self.user.has_perm(kind.permission("view")) else None

    def prime(self, records) -> None:
        """Find out which of `records` the user may read: one query per model at most."""
        pending: dict[type, set] = {}
        for record in records:
            if record is not None and (type(record), record.pk) not in self._checked:
                pending.setdefault(type(record), set()).add(record.pk)
        for model, pks in pending.items():
            self._checked.update((model, pk) for pk in pks)
            if self._kind(model) is None:
                continue
            if scoping.visible_unit_ids(self.user) is None:
                readable = pks
            else:
                queryset = scoping.visible_to(model._default_manager.filter(pk__in=pks), self.user)
                readable = set(queryset.values_list("pk", flat=True))
            self._readable.update((model, pk) for pk in readable)

    def grant(self, records) -> None:
        """Records already read through `scoping.visible_to`: linked without asking again."""
        records = list(records)
        if records and self._kind(type(records[0])) is not None:
            keys = {(type(record), record.pk) for record in records}
            self._checked |= keys
            self._readable |= keys

    def url(self, record) -> str | None:
        if record is None:
            return None
        self.prime([record])
        if (type(record), record.pk) not in self._readable:
            return None
        return self._kind(type(record)).detail_url(record)

    def cell(self, record, text=None, css: str = "") -> Cell:
        """`record` named by `text` (its own name by default), linked when the user may read it."""
        if record is None:
            return Cell("", css=css)
        return Cell(str(record) if text is None else text, self.url(record), css)


def related_records(record, name: str) -> list:
    """The records a relation field of `record` names (none, one or several)."""
    model_field = record._meta.get_field(name)
    if model_field.many_to_many:
        return list(getattr(record, name).all())
    value = getattr(record, name)
    return [] if value is None else [value]


def detail_cells(record, names, links: Links) -> list[tuple[Any, list[Cell]]]:
    """The detail page's fields of `record`: (label, cells), the related records linked."""
    related = {
        name: related_records(record, name)
        for name in names
        if record._meta.get_field(name).is_relation
    }
    links.prime(item for items in related.values() for item in items)
    return [
        (
            record._meta.get_field(name).verbose_name,
            [links.cell(item) for item in related[name]]
            if name in related
            else [Cell(field_display(record, name))],
        )
        for name in names
    ]


@dataclass(frozen=True)
class RelatedColumn:
    """A column of a related table on a detail page."""

    label: Any
    #: The record the cell names and links to: "" for the row itself, a field of the row
    #: ("lead_unit"), or None for a plain value.
    link: str | None = None
    #: The cell's text, function(row) -> str; by default the linked record's name.
    text: Callable[[Any], str] | None = None
    css: str = ""

    def linked(self, row):
        if self.link is None:
            return None
        return row if self.link == "" else getattr(row, self.link)

    def cell(self, row, links: Links) -> Cell:
        text = self.text(row) if self.text else None
        if self.link is None:
            return Cell(text or "", css=self.css)
        return links.cell(self.linked(row), text, self.css)


@dataclass(frozen=True)
class RelatedTable:
    """Records related to the one a detail page shows: a heading with their count, the
    latest `RELATED_ROWS` of them, and a link to the /records/ list of them all."""

    label: Any
    #: function(record) -> the related records, newest first.
    rows: Callable[[Any], Any]
    #: The kind of the records listed: its view permission, its `summary` columns, its list
    #: (with the parameters function(record) -> dict) holding them all.
    kind: str = ""
    list_params: Callable[[Any], dict] | None = None
    #: The columns, for records of no kind (an agreement's parties).
    columns: tuple[RelatedColumn, ...] = ()
