"""Returning an uploaded file with its errors: an extra column beside the rows that failed.

An .xlsx (or .xlsm) comes back as itself with the column added, a CSV file as CSV; an .ods or
.xls, which the project does not write, comes back as an .xlsx of the cells that were read,
merged ranges kept."""

import csv
import datetime
import io
import warnings
from collections.abc import Mapping, Sequence

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.csv_files import _parse_csv
from coordination.spreadsheets.errors import (
    DEFAULT_MAX_UNPACKED_BYTES,
    MAX_CELLS,
    _bad_xlsx,
    _empty_file,
    _error,
)
from coordination.spreadsheets.formats import ODS, XLS, XLSM, XLSX, sniff
from coordination.spreadsheets.formulas import unescape_formula
from coordination.spreadsheets.reading import read_workbook
from coordination.spreadsheets.sheets import Sheet
from coordination.spreadsheets.writing import _csv_value, _sheet_title, _xlsx_text
from coordination.spreadsheets.xlsx import _read_xlsx

_ERROR_FILL_COLOUR = "FFC7CE"  # Excel's own "light red fill"
_ERROR_COLUMN_WIDTH = 60


def annotate_errors(
    data: bytes,
    *,
    filename: str,
    sheet_name: str,
    header_row: int,
    errors: dict[int, str],
    error_header: str,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
) -> tuple[bytes, str]:
    """Return the uploaded file with an extra last column holding each row's error."""
    if not data:
        raise _empty_file()
    fmt = sniff(data, filename)
    if fmt in (ODS, XLS):
        sheets = read_workbook(
            data,
            filename=filename,
            max_bytes=len(data),
            max_rows=MAX_CELLS,
            max_unpacked_bytes=max_unpacked_bytes,
        )
        sheet = _sheet_named(sheets, sheet_name)
        return _annotate_sheet(sheet, header_row, errors, error_header), "xlsx"
    if fmt in (XLSX, XLSM):
        return _annotate_xlsx(
            data,
            sheet_name=sheet_name,
            header_row=header_row,
            errors=errors,
            error_header=error_header,
            max_unpacked_bytes=max_unpacked_bytes,
        ), "xlsx"
    rows, delimiter = _parse_csv(data, max_rows=len(data) + 1, max_cells=MAX_CELLS, name=filename)
    column = _error_column(rows, header_row, errors, error_header, merged=[])
    last = max([len(rows) - 1, header_row, *errors])
    output = io.StringIO(newline="")
    output.write("\ufeff")
    writer = csv.writer(output, delimiter=delimiter, lineterminator="\r\n")
    for index in range(last + 1):
        # Unescaped, then escaped again as written: the importer reads each cell as it read
        # the uploaded one (an apostrophe of an earlier export does not become two).
        row = [unescape_formula(cell) for cell in rows[index]] if index < len(rows) else []
        row.extend([None] * (column + 1 - len(row)))
        if index == header_row:
            row[column] = error_header
        elif index > header_row:
            row[column] = errors.get(index)
        writer.writerow([_csv_value(value) for value in row])
    return output.getvalue().encode("utf-8"), "csv"


def _error_column(
    rows: list[list[object]],
    header_row: int,
    errors: Mapping[int, str],
    error_header: str,
    merged: Sequence[tuple[int, int, int, int]],
) -> int:
    """The column for the errors: the one from an earlier round, or the first free one."""
    header = rows[header_row] if header_row < len(rows) else []
    for index, value in enumerate(header):
        if isinstance(value, str) and value.strip() == error_header.strip():
            return index
    last_used = max((i for i, value in enumerate(header) if value is not None), default=-1)
    written = {header_row, *errors}
    # A cell inside a merged range cannot take a value, so skip columns it covers.
    blocked = {
        col
        for top, left, bottom, right in merged
        if any(top <= row <= bottom for row in written)
        for col in range(left, right + 1)
    }
    column = last_used + 1
    while column in blocked or any(column < len(row) and row[column] is not None for row in rows):
        column += 1
    return column


def _sheet_named(sheets: list[Sheet], name: str) -> Sheet:
    sheet = next((sheet for sheet in sheets if sheet.name == name), None)
    if sheet is None:
        raise _error(
            _("The sheet “%(sheet)s” was not found among the visible sheets of the workbook."),
            "sheet_not_found",
            sheet=name,
        )
    return sheet


def _annotate_sheet(
    sheet: Sheet, header_row: int, errors: Mapping[int, str], error_header: str
) -> bytes:
    """A new .xlsx of the sheet's cells as read, with the error column."""
    from openpyxl import Workbook

    rows = [list(row) for row in sheet.rows]
    for row, col in sheet.formula_without_value:
        while len(rows) <= row:
            rows.append([])
        rows[row].extend([None] * (col + 1 - len(rows[row])))
    column = _error_column(rows, header_row, errors, error_header, sheet.merged)
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = _sheet_title(sheet.name, set())
    for index, row in enumerate(rows, start=1):
        for col, value in enumerate(row, start=1):
            if value is None or (index - 1, col - 1) in sheet.formula_without_value:
                continue
            cell = worksheet.cell(row=index, column=col)
            if isinstance(value, str):
                cell.value = _xlsx_text(unescape_formula(value))
                cell.data_type = "s"
            else:
                cell.value = value
                if isinstance(value, datetime.datetime):
                    cell.number_format = "DD/MM/YYYY HH:MM"
                elif isinstance(value, datetime.date):
                    cell.number_format = "DD/MM/YYYY"
    for top, left, bottom, right in sheet.merged:
        if top != bottom or left != right:
            worksheet.merge_cells(
                start_row=top + 1, start_column=left + 1, end_row=bottom + 1, end_column=right + 1
            )
    return _with_error_column(workbook, worksheet, header_row, column, errors, error_header)


def _annotate_xlsx(
    data: bytes,
    *,
    sheet_name: str,
    header_row: int,
    errors: Mapping[int, str],
    error_header: str,
    max_unpacked_bytes: int,
) -> bytes:
    from openpyxl import load_workbook
    from openpyxl.styles import PatternFill

    # The same checks as on import, and calamine's view of the sheet (openpyxl would walk
    # every formatted blank cell down to row 1,048,576 to find free columns).
    sheets = _read_xlsx(
        data,
        max_rows=MAX_CELLS,
        max_unpacked_bytes=max_unpacked_bytes,
        max_cells=MAX_CELLS,
        check_every_member=True,
    )
    sheet = _sheet_named(sheets, sheet_name)
    rows = [list(row) for row in sheet.rows]
    for row, col in sheet.formula_without_value:
        # A formula calamine saw as empty still occupies its cell.
        while len(rows) <= row:
            rows.append([])
        rows[row].extend([None] * (col + 1 - len(rows[row])))
        rows[row][col] = "="
    column = _error_column(rows, header_row, errors, error_header, sheet.merged)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it drops (data validation lists, slicers).
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), rich_text=False)
        worksheet = workbook[sheet_name]
    except Exception as exc:  # openpyxl raises many types on files calamine accepted
        raise _bad_xlsx() from exc
    no_fill = PatternFill(fill_type=None)
    # Clear what an earlier round wrote in this column, then write this round's errors.
    for index in range(header_row + 1, len(rows)):
        if column < len(rows[index]) and rows[index][column] is not None:
            cell = worksheet.cell(row=index + 1, column=column + 1)
            cell.value = None
            cell.fill = no_fill
    return _with_error_column(workbook, worksheet, header_row, column, errors, error_header)


def _with_error_column(workbook, worksheet, header_row, column, errors, error_header) -> bytes:
    """The workbook saved with the error column: its bold header, and each refused row's
    message, shaded and wrapped."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_cell = worksheet.cell(row=header_row + 1, column=column + 1)
    header_cell.value = _xlsx_text(error_header)
    header_cell.data_type = "s"
    header_cell.font = Font(bold=True)
    fill = PatternFill(fill_type="solid", fgColor=_ERROR_FILL_COLOUR)
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, message in sorted(errors.items()):
        if index <= header_row:
            continue
        cell = worksheet.cell(row=index + 1, column=column + 1)
        cell.value = _xlsx_text(str(message))
        cell.data_type = "s"
        cell.fill = fill
        cell.alignment = wrap
    worksheet.column_dimensions[get_column_letter(column + 1)].width = _ERROR_COLUMN_WIDTH
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
