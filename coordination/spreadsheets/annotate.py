"""Returning an uploaded file with its errors: an extra column beside the rows that failed."""

import csv
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
from coordination.spreadsheets.formulas import unescape_formula
from coordination.spreadsheets.writing import _csv_value, _xlsx_text
from coordination.spreadsheets.xlsx import _read_xlsx
from coordination.spreadsheets.zipsafety import _EMPTY_ZIP_MAGIC, _ZIP_MAGIC

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
    if data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
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
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    # The same checks as on import, and calamine's view of the sheet (openpyxl would walk
    # every formatted blank cell down to row 1,048,576 to find free columns).
    sheets = _read_xlsx(
        data,
        max_rows=MAX_CELLS,
        max_unpacked_bytes=max_unpacked_bytes,
        max_cells=MAX_CELLS,
        check_every_member=True,
    )
    sheet = next((sheet for sheet in sheets if sheet.name == sheet_name), None)
    if sheet is None:
        raise _error(
            _("The sheet “%(sheet)s” was not found among the visible sheets of the workbook."),
            "sheet_not_found",
            sheet=sheet_name,
        )
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
    fill = PatternFill(fill_type="solid", fgColor=_ERROR_FILL_COLOUR)
    no_fill = PatternFill(fill_type=None)
    wrap = Alignment(wrap_text=True, vertical="top")
    header_cell = worksheet.cell(row=header_row + 1, column=column + 1)
    header_cell.value = _xlsx_text(error_header)
    header_cell.data_type = "s"
    header_cell.font = Font(bold=True)
    # Clear what an earlier round wrote in this column, then write this round's errors.
    for index in range(header_row + 1, len(rows)):
        if column < len(rows[index]) and rows[index][column] is not None:
            cell = worksheet.cell(row=index + 1, column=column + 1)
            cell.value = None
            cell.fill = no_fill
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
