"""The registry of record kinds: what every layer needs to know about one kind of record.

A `RecordKind` binds a model to its spreadsheet columns (the Resource), its list filters
(the FilterSet), the query its lists run, its /records/ table and detail fields, the units
that own and involve a record, its deadline rules and how spreadsheets name it. Each kind is
declared once, in its module of `coordination/kinds/`, which registers it here; the admin,
the importer and exporter, the /records/ pages, the reports, scoping and the commands read
the entry instead of keeping tables of their own.

This module sits low (it imports only `coordination.history`) so that scoping, which the
kinds' FilterSets use, can read the entries without an import cycle. The entries are
complete once `coordination.kinds` is imported, which the app's `ready()` does.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.urls import reverse

from coordination.history import has_history

#: When a record was created and last changed: every kind has them, read-only.
RECORD_FIELDS = ("created_at", "updated_at")


@dataclass(frozen=True)
class ReportCount:
    """A count the outstanding table adds for one kind: a column of its own, each number
    linking to the list of the records it counts."""

    name: str
    label: Any
    #: The records counted (a `Q` on the kind's model).
    condition: Any
    #: The list parameters that select the same records.
    params: dict


@dataclass(frozen=True)
class RecordKind:
    #: The kind's name in URLs, on the command line and in file names ("tasks").
    name: str
    model: type[models.Model]
    #: Its spreadsheet columns (a `coordination.resources.RecordResource`).
    resource: type
    #: Paths from a record to the units whose staff may change it ("pk": the unit itself).
    owning_units: tuple[str, ...]
    #: Paths to every unit a record involves (owners, coordinating units, parties...);
    #: a unit's staff may read the record. Empty: the owning units.
    involved_units: tuple[str, ...] = ()
    #: The fields a spreadsheet names a record of this kind by, in another kind's column.
    named_by: tuple[str, ...] = ()
    #: Its list filters (a `coordination.filters.RecordFilterSet`), for /records/ and reports.
    filterset: type | None = None
    #: The queryset its lists and pages read, with the joins they need.
    selector: Callable[[], models.QuerySet] | None = None
    #: The columns of its /records/ list (`coordination.tables.ListColumn`).
    table: tuple[Any, ...] = ()
    #: The record's fields as people group them: (title or None, field names) per section.
    #: The admin's change form and the /records/ detail page show them in this order.
    sections: tuple[tuple[Any, tuple[str, ...]], ...] = ()
    #: Fields the detail page shows besides the sections' (links edited in admin inlines).
    also_shown: tuple[str, ...] = ()
    #: The records the detail page lists under the fields (`coordination.tables.RelatedTable`):
    #: an agreement's tasks, a task's follow-up items...
    related: tuple[Any, ...] = ()
    #: Why a user whose unit takes part in a record without owning it (a task's
    #: coordinating unit) may only read it; `%(owners)s` names the owning units.
    read_only_note: Any = None
    #: The columns of a compact table of such records on another record's detail page
    #: (`coordination.tables.RelatedColumn`), the first naming and linking the record.
    summary: tuple[Any, ...] = ()
    #: For kinds with deadlines (`deadline_rules` on the model): the unit the reports group
    #: by, and the list parameters under which `unit` means that unit.
    report_unit: str = ""
    report_unit_params: dict = field(default_factory=dict)
    #: Counts the outstanding table adds for the kind, after its own (`ReportCount`).
    report_counts: tuple[ReportCount, ...] = ()

    @property
    def title(self):
        return self.model._meta.verbose_name_plural

    @property
    def form_fields(self) -> list[str]:
        return [name for _title, names in self.sections for name in names]

    @property
    def detail_fields(self) -> list[str]:
        """The fields of the /records/ detail page, in order."""
        return [*self.form_fields, *self.also_shown, *RECORD_FIELDS]

    @property
    def involving(self) -> tuple[str, ...]:
        return self.involved_units or self.owning_units

    @property
    def has_pages(self) -> bool:
        """Whether the kind has /records/ pages (a list table and a FilterSet)."""
        return bool(self.table) and self.filterset is not None

    @property
    def has_history(self) -> bool:
        return has_history(self.model)

    def reference_text(self, values) -> str:
        """The name a spreadsheet gives a record, from the values of its `named_by` fields."""
        text = getattr(self.model, "reference_text", None)
        return text(*values) if text else values[0]

    def records(self) -> models.QuerySet:
        """Every record of the kind, with the joins its lists need."""
        return self.selector() if self.selector else self.model._default_manager.all()

    def list_url(self) -> str:
        return reverse("coordination:record-list", args=[self.name])

    def detail_url(self, record) -> str:
        return reverse("coordination:record-detail", args=[self.name, record.pk])

    def permission(self, action: str) -> str:
        """The permission to `action` ("view", "export", ...) records of this kind."""
        opts = self.model._meta
        return f"{opts.app_label}.{action}_{opts.model_name}"


_KINDS: dict[str, RecordKind] = {}
_BY_MODEL: dict[type, RecordKind] = {}


def register(kind: RecordKind) -> RecordKind:
    if kind.name in _KINDS or kind.model in _BY_MODEL:
        raise ValueError(f"The kind {kind.name} ({kind.model.__name__}) is registered twice.")
    _KINDS[kind.name] = kind
    _BY_MODEL[kind.model] = kind
    return kind


def get(name: str) -> RecordKind | None:
    return _KINDS.get(name)


def for_model(model) -> RecordKind | None:
    """The kind of `model` (a model class or a record), or None for link tables."""
    if not isinstance(model, type):
        model = type(model)
    return _BY_MODEL.get(model)


def all_kinds() -> list[RecordKind]:
    """Every kind, in the order people work: units first, follow-up items last."""
    return list(_KINDS.values())


def names() -> list[str]:
    return list(_KINDS)
