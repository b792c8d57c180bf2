"""Spreadsheet export, streamed so that memory stays flat however many rows are written.

The columns are the kind's `Resource` columns, written by their widgets, so an exported file
re-imports unchanged. Shared by the admin and `manage.py export_records`.
"""

import datetime
import io
from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from coordination.models import Agreement, AgreementParty
from coordination.resources import RESOURCES, Column, RecordResource
from coordination.spreadsheets import write_csv, write_xlsx

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
CHUNK = 2000


def export_queryset(resource_class: type[RecordResource], queryset: QuerySet) -> QuerySet:
    """`queryset` with the joins and prefetches its columns need: no query per row."""
    related, many = [], []
    for column in resource_class.columns():
        if column.is_many:
            many.append(column.attribute)
            continue
        model_field = _model_field(resource_class, column.attribute)
        if model_field is not None and model_field.is_relation:
            related.append(column.attribute)
    queryset = queryset.select_related(*related)
    if resource_class._meta.model is Agreement:
        party_links = AgreementParty.objects.select_related("unit").order_by("pk")
        queryset = queryset.prefetch_related(Prefetch("party_links", queryset=party_links))
        many = [name for name in many if name not in ("lead_units", "party_units")]
    return queryset.prefetch_related(*many).order_by("pk")


def _model_field(resource_class, attribute):
    try:
        return resource_class._meta.model._meta.get_field(attribute)
    except Exception:
        return None


def cell(column: Column, record):
    """The value one column writes for one record."""
    attribute = column.attribute
    if attribute == "id":
        return record.pk
    if attribute in ("lead_units", "party_units"):
        role = "lead" if attribute == "lead_units" else "party"
        value = tuple(link.unit for link in record.party_links.all() if link.role == role)
    elif column.is_many:
        value = tuple(getattr(record, attribute).all())
    elif attribute == "carried_over_from":
        value = record.carried_over_from_id
    else:
        value = getattr(record, attribute)
    return column.widget.render(value)


def rows(resource_class: type[RecordResource], queryset: QuerySet) -> Iterator[list]:
    columns = resource_class.columns()
    for record in export_queryset(resource_class, queryset).iterator(chunk_size=CHUNK):
        yield [cell(column, record) for column in columns]


def write_export(kind: str, queryset: QuerySet, stream, file_format: str) -> None:
    """Write every record of `queryset` as a `file_format` ("xlsx" or "csv") file to `stream`."""
    resource_class = RESOURCES[kind]
    with translation.override("vi"):
        header = [str(column.column_name) for column in resource_class.columns()]
        if file_format == "csv":
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
            write_csv(text, header=header, rows=rows(resource_class, queryset))
            text.detach()
        else:
            sheet_name = str(resource_class._meta.model._meta.verbose_name_plural).capitalize()
            write_xlsx(stream, sheets=[(sheet_name[:31], header, rows(resource_class, queryset))])


def export_file_name(kind: str, file_format: str) -> str:
    return f"{kind}-{datetime.date.today():%Y%m%d}.{file_format}"


def template_workbook(kind: str, stream) -> None:
    """A blank workbook to fill in: the headers, one example row, and a sheet explaining them."""
    resource_class = RESOURCES[kind]
    with translation.override("vi"):
        columns = resource_class.columns()
        header = [str(column.column_name) for column in columns]
        example = [resource_class.EXAMPLE.get(column.attribute) for column in columns]
        guide = [
            [
                str(column.column_name),
                _("Yes") if column.required else _("No"),
                str(column.help_text or _model_help(resource_class, column.attribute)),
                allowed_values(column),
                ", ".join(column.aliases),
            ]
            for column in columns
        ]
        write_xlsx(
            stream,
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
    model_field = _model_field(resource_class, attribute)
    return str(getattr(model_field, "help_text", "") or "")


def allowed_values(column: Column) -> str:
    choices = getattr(column.widget, "choices", None)
    if choices is not None:
        return "; ".join(f"{choice.label} ({choice.value})" for choice in choices)
    kind = type(column.widget).__name__
    return {
        "DateWidget": _("A date: dd/mm/yyyy, or an Excel date"),
        "IntegerWidget": _("A whole number"),
        "DecimalWidget": _("A number; the decimal comma or point are both accepted"),
        "BooleanWidget": _("Có or Không"),
        "UnitWidget": _("A unit's full or short name"),
        "PersonWidget": _("A person's full name"),
        "AgreementWidget": _("An agreement's number"),
        "MeetingWidget": _("A meeting's title"),
        "ManyWidget": _("Several names, one per line or separated by “;”"),
        "RecordIdWidget": _("A record number from an export"),
        "CodeWidget": _("Text (format the cell as Text to keep leading zeros)"),
    }.get(kind, _("Text"))
