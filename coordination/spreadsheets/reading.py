"""`read_workbook`, the one entry point for an upload: an .xlsx, .xlsm, .ods, .xls or CSV file
into its sheets, by the same limits whatever the format."""

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.csv_files import _base_name, _parse_csv
from coordination.spreadsheets.errors import (
    MAX_CELLS,
    SpreadsheetError,
    _empty_file,
    _error,
    _megabytes,
    _unreadable,
)
from coordination.spreadsheets.formats import CSV, ODS, XLS, XLSM, sniff
from coordination.spreadsheets.ods import _read_ods
from coordination.spreadsheets.sheets import Sheet
from coordination.spreadsheets.xls import _read_xls
from coordination.spreadsheets.xlsx import _read_xlsx


def read_workbook(
    data: bytes,
    *,
    filename: str,
    max_bytes: int,
    max_rows: int,
    max_unpacked_bytes: int,
    max_cells: int = MAX_CELLS,
) -> list[Sheet]:
    """Read an uploaded workbook or CSV file into its visible sheets, or raise SpreadsheetError."""
    if not data:
        raise _empty_file()
    if len(data) > max_bytes:
        raise _error(
            _(
                "File too large: %(size)s MB (limit %(limit)s MB). Split the list into "
                "several files."
            ),
            "too_large",
            size=_megabytes(len(data), round_up=True),
            limit=_megabytes(max_bytes),
        )
    fmt = sniff(data, filename)
    if fmt == CSV:
        rows, _delimiter = _parse_csv(data, max_rows=max_rows, max_cells=max_cells, name=filename)
        return [Sheet(name=_base_name(filename), rows=rows)]
    if fmt == ODS:
        return _read_ods(
            data, max_rows=max_rows, max_unpacked_bytes=max_unpacked_bytes, max_cells=max_cells
        )
    if fmt == XLS:
        return _read_xls(data, max_rows=max_rows, max_cells=max_cells)
    try:
        return _read_xlsx(
            data, max_rows=max_rows, max_unpacked_bytes=max_unpacked_bytes, max_cells=max_cells
        )
    except SpreadsheetError as error:
        # The .xlsx reader names its format; a macro-enabled workbook is named as such.
        if fmt == XLSM and error.code == "bad_xlsx":
            raise _unreadable(XLSM) from error
        raise
