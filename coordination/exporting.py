"""Spreadsheet export, streamed so that memory stays flat however many rows are written.

The columns are the kind's `Resource` columns, written by their widgets, so an exported file
re-imports unchanged. Shared by the admin and `manage.py export_records`.
"""

import datetime
import io
import tempfile
from collections.abc import Callable, Iterator

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from coordination import kinds
from coordination.resources import EXAMPLE_MARKER, Column, RecordResource
from coordination.spreadsheets import write_csv, write_xlsx
from coordination.widgets import RecordIdWidget

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
CHUNK = 2000


def _named_by(model) -> tuple[str, ...]:
    """What a reference column writes of a related record: the name the importer looks up."""
    return kinds.for_model(model).named_by


def _reference_text(model, values) -> str | None:
    if values[0] is None:
        return None
    return kinds.for_model(model).reference_text(values)


class ColumnReader:
    """How one column gets its value from a `values_list()` row, without model instances.

    Instances cost a tenth of a second per 10,000 rows to build and render; reading the
    needed fields as tuples keeps a 100,000-row export inside its time budget.
    """

    def __init__(self, resource_class, column: Column):
        self.column = column
        self.paths: list[str] = []
        self.many: tuple | None = None
        model = resource_class._meta.model
        attribute = column.attribute
        choices = getattr(column.widget, "choices", None)
        self.labels = {c.value: str(c.label) for c in choices} if choices else None
        self.reference = None
        if attribute == "id":
            self.paths = ["pk"]
        elif column.link is not None:
            link, target = column.link, column.link.target_model
            names = tuple(f"{link.target}__{p}" for p in _named_by(target))
            self.many = (link.model, f"{link.owner}_id", names, link.where, target)
        elif column.is_many:
            m2m = model._meta.get_field(attribute)
            target = m2m.related_model
            through = m2m.remote_field.through
            names = tuple(f"{m2m.m2m_reverse_field_name()}__{p}" for p in _named_by(target))
            self.many = (through, m2m.m2m_column_name(), names, {}, target)
        else:
            model_field = model._meta.get_field(attribute)
            if model_field.is_relation and not isinstance(column.widget, RecordIdWidget):
                self.reference = model_field.related_model
                self.paths = [f"{attribute}__{p}" for p in _named_by(self.reference)]
            else:
                self.paths = [model_field.attname]

    def value(self, values: tuple, related: dict):
        if self.many is not None:
            return "; ".join(related.get(values[0], ())) or None
        if self.reference is not None:
            return _reference_text(self.reference, values)
        value = values[0]
        if self.labels is not None:
            return self.labels.get(value) if value else None
        return self.column.widget.render(value)

    def related(self, queryset: QuerySet) -> Iterator[tuple[int, str]]:
        """(owner pk, name) of the related records of every record of `queryset`, in owner
        order: one query, streamed beside the records'."""
        through, owner, names, filters, target = self.many
        query = (
            through.objects.filter(**{f"{owner}__in": queryset.values("pk")}, **filters)
            .order_by(owner, "pk")
            .values_list(owner, *names)
            .iterator(chunk_size=CHUNK)
        )
        for owner_pk, *parts in query:
            yield owner_pk, _reference_text(target, parts)


class _Merged:
    """The names of one many-valued column, taken from its stream as the records go by:
    both are in owner order, so one pass over each answers every record."""

    def __init__(self, stream: Iterator[tuple[int, str]]):
        self.stream = stream
        self.pending = next(stream, None)

    def names(self, pk: int) -> list[str]:
        found = []
        while self.pending is not None and self.pending[0] <= pk:
            if self.pending[0] == pk:
                found.append(self.pending[1])
            self.pending = next(self.stream, None)
        return found


def rows(resource_class: type[RecordResource], queryset: QuerySet) -> Iterator[list]:
    """The export rows of `queryset`, streamed: one query for the records and one for each
    many-valued column, read side by side in record order (memory for one chunk of each)."""
    readers = [ColumnReader(resource_class, column) for column in resource_class.columns()]
    paths, slices = ["pk"], []
    for reader in readers:
        slices.append(slice(len(paths), len(paths) + len(reader.paths)))
        paths += reader.paths
    queryset = queryset.order_by("pk")
    merged = [
        _Merged(reader.related(queryset)) if reader.many is not None else None for reader in readers
    ]
    for record in queryset.values_list(*paths).iterator(chunk_size=CHUNK):
        pk = record[0]
        yield [
            reader.value((pk,), {pk: many.names(pk)})
            if many is not None
            else reader.value(record[part], None)
            for reader, part, many in zip(readers, slices, merged, strict=True)
        ]


def write_export(
    kind: str,
    queryset: QuerySet,
    stream,
    file_format: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write every record of `queryset` as a `file_format` ("xlsx" or "csv") file to `stream`.

    `progress(rows)` hears of the rows written every CHUNK rows (a job's page)."""
    resource_class = kinds.get(kind).resource
    records = rows(resource_class, queryset)
    if progress is not None:
        records = _counted(records, progress)
    with translation.override("vi"):
        header = [str(column.column_name) for column in resource_class.columns()]
        if file_format == "csv":
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
            write_csv(text, header=header, rows=records)
            text.detach()
        else:
            sheet_name = str(resource_class._meta.model._meta.verbose_name_plural).capitalize()
            write_xlsx(stream, sheets=[(sheet_name[:31], header, records)])


def _counted(records: Iterator[list], progress: Callable[[int], None]) -> Iterator[list]:
    count = 0
    for count, record in enumerate(records, 1):
        if count % CHUNK == 0:
            progress(count)
        yield record
    progress(count)


def spooled_file():
    """A file in memory up to 8 MB, on disk beyond, for a response; FileResponse closes it."""
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


def export_file_name(kind: str, file_format: str) -> str:
    return f"{kind}-{datetime.date.today():%Y%m%d}.{file_format}"


def template_workbook(kind: str, stream) -> None:
    """A blank workbook to fill in: the headers, one example row, and a sheet explaining them."""
    resource_class = kinds.get(kind).resource
    with translation.override("vi"):
        columns = resource_class.columns()
        header = [str(column.column_name) for column in columns]
        # The record number cell marks the example row, which an import refuses if left in.
        example = [
            str(EXAMPLE_MARKER)
            if column.attribute == "id"
            else resource_class.EXAMPLE.get(column.attribute)
            for column in columns
        ]
        guide = [
            [
                str(column.column_name),
                _("Yes") if column.required else _("No"),
                str(column.help_text or _model_help(resource_class, column.attribute)),
                column.widget.allowed_text(),
                ", ".join(column.aliases),
            ]
            for column in columns
        ]
        drop_downs = {
            index: labels
            for index, column in enumerate(columns)
            if (labels := column.widget.choice_labels())
        }
        write_xlsx(
            stream,
            drop_downs={_("Data"): drop_downs},
            lists_title=_("Lists"),
            sheets=[
                (_("Data"), header, [example]),
                (
                    _("Instructions"),
                    [
                        _("Column"),
                        _("Required"),
                        _("Explanation"),
                        _("Allowed values"),
                        _("Also accepted as header"),
                    ],
                    guide,
                ),
            ],
        )


def _model_help(resource_class, attribute) -> str:
    try:
        model_field = resource_class._meta.model._meta.get_field(attribute)
    except FieldDoesNotExist:
        return ""
    return str(getattr(model_field, "help_text", "") or "")
