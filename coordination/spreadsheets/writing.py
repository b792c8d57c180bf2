"""Writing exports: streamed .xlsx workbooks and Excel-friendly CSV, formulas escaped."""

import csv
import datetime
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from coordination.spreadsheets.errors import column_letter
from coordination.spreadsheets.formulas import _ESCAPED_STARTS, escape_csv_text, escape_formula

# openpyxl refuses its illegal characters; lone surrogates and U+FFFE/U+FFFF cannot be
# encoded or are not XML either, and a crash in the middle of an export helps nobody.
_ILLEGAL_XML = re.compile(ILLEGAL_CHARACTERS_RE.pattern + r"|[\ud800-\udfff\ufffe\uffff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_DATE_FORMAT = "DD/MM/YYYY"
_DATETIME_FORMAT = "DD/MM/YYYY HH:MM"


def _naive(value: datetime.datetime) -> datetime.datetime:
    # Excel has no time zones: an aware value is shown as local (Vietnam) time.
    if timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _xlsx_text(value: str) -> str:
    # Most cells are one line of printable text that starts no formula: nothing to change
    # (printable excludes CR, control characters, surrogates and U+FFFE/U+FFFF).
    if value.isprintable() and value[:1] not in _ESCAPED_STARTS and "'" not in value:
        return value
    # Excel breaks lines in a cell with LF; a CR would be stored as the literal "_x000D_".
    text = escape_formula(value).replace("\r\n", "\n").replace("\r", "\n")
    return _ILLEGAL_XML.sub("\ufffd", text)


def _sheet_title(title: str, used: set[str]) -> str:
    base = _SHEET_TITLE_FORBIDDEN.sub("-", str(title)).strip("'")[:31] or "Sheet"
    candidate, number = base, 1
    while candidate.lower() in used:
        number += 1
        suffix = f" ({number})"
        candidate = base[: 31 - len(suffix)] + suffix
    used.add(candidate.lower())
    return candidate


def write_xlsx(
    stream,
    *,
    sheets: list[tuple[str, list[str], Iterable[Sequence[object]]]],
    column_widths: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
    drop_downs: Mapping[str, Mapping[int, Sequence[str]]] | None = None,
    lists_title: str = "Lists",
) -> None:
    """Write sheets of (title, header, rows) to `stream` as a streamed .xlsx workbook.

    `drop_downs` gives, per sheet title, the columns (by index) whose cells offer a drop-down
    list of values (Excel's and LibreOffice's data validation) in the first
    `DROP_DOWN_ROWS` rows; the values are kept on a hidden sheet `lists_title`, since a
    label may hold a comma."""
    # XlsxWriter's constant-memory mode flushes each row as it is written: 100,000 rows
    # take about 6 s and a few MB, against 12-18 s for openpyxl's write-only mode.
    # `column_widths` is one list for every sheet or a mapping of sheet title to list; a
    # missing width follows the header's length.
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        stream,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": _DATE_FORMAT})
    datetime_format = workbook.add_format({"num_format": _DATETIME_FORMAT})
    used_titles: set[str] = set()
    written = {}
    for title, header, rows in sheets:
        worksheet = workbook.add_worksheet(_sheet_title(title, used_titles))
        written[title] = worksheet
        if isinstance(column_widths, Mapping):
            widths = column_widths.get(title) or ()
        else:
            widths = column_widths or ()
        for index, name in enumerate(header):
            given = widths[index] if index < len(widths) else None
            worksheet.set_column(index, index, given or min(60, max(10, len(str(name)) + 2)))
        worksheet.freeze_panes(1, 0)
        for index, name in enumerate(header):
            worksheet.write_string(0, index, _xlsx_text(str(name)), bold)
        last_row, last_col = 0, len(header)
        for row in rows:
            last_row += 1
            last_col = max(last_col, len(row))
            for index, value in enumerate(row):
                _write_xlsx_cell(worksheet, last_row, index, value, date_format, datetime_format)
        if last_col:
            worksheet.autofilter(0, 0, last_row, last_col - 1)
    if not sheets:
        workbook.add_worksheet("Sheet")
    if drop_downs:
        _add_drop_downs(workbook, written, drop_downs, _sheet_title(lists_title, used_titles))
    workbook.close()


#: The rows of a template that offer the drop-down lists.
DROP_DOWN_ROWS = 1000


def _add_drop_downs(workbook, written, drop_downs, lists_title):
    lists = workbook.add_worksheet(lists_title)
    values_of = [values for columns in drop_downs.values() for values in columns.values()]
    # Constant-memory mode writes a sheet row by row: each list is a column.
    for row in range(max(map(len, values_of), default=0)):
        for column, values in enumerate(values_of):
            if row < len(values):
                lists.write_string(row, column, _xlsx_text(str(values[row])))
    column = 0
    for title, columns in drop_downs.items():
        for index, values in columns.items():
            letter = column_letter(column)
            source = f"='{lists_title}'!${letter}$1:${letter}${len(values)}"
            written[title].data_validation(
                1,
                index,
                DROP_DOWN_ROWS,
                index,
                {"validate": "list", "source": source, "ignore_blank": True},
            )
            column += 1
    lists.hide()


def _write_xlsx_cell(worksheet, row, col, value, date_format, datetime_format):
    if value is None or value == "":
        return
    # Text first: most cells are text.
    if type(value) is str:
        worksheet.write_string(row, col, _xlsx_text(value))
    elif isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
    elif isinstance(value, int | float | Decimal):
        # Excel refuses a file with NaN or infinity in a number cell.
        if math.isfinite(value):
            worksheet.write_number(row, col, value)
    elif isinstance(value, str):
        # write_string never turns text into a formula, whatever it starts with.
        worksheet.write_string(row, col, _xlsx_text(value))
    elif isinstance(value, datetime.datetime):
        worksheet.write_datetime(row, col, _naive(value), datetime_format)
    elif isinstance(value, datetime.date):
        worksheet.write_datetime(row, col, value, date_format)
    else:
        worksheet.write_string(row, col, _xlsx_text(str(value)))


def write_csv(stream, *, header: list[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a header and rows as Excel-friendly CSV: UTF-8 with BOM, commas, CRLF."""
    binary = isinstance(stream, io.RawIOBase | io.BufferedIOBase)
    text_stream = (
        io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        if binary
        else stream
    )
    # Without the BOM, Excel on Windows opens UTF-8 as the ANSI code page and garbles
    # Vietnamese.
    text_stream.write("\ufeff")
    writer = csv.writer(text_stream, lineterminator="\r\n")
    writer.writerow([_csv_value(name) for name in header])
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    if binary:
        text_stream.flush()
        text_stream.detach()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", escape_csv_text(value))
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        return _naive(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    return _SURROGATES.sub("\ufffd", escape_csv_text(str(value)))
