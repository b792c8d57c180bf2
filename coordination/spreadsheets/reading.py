"""`read_workbook`, the one entry point for an upload: an .xlsx or a CSV file into its sheets."""

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.csv_files import _base_name, _parse_csv
from coordination.spreadsheets.errors import MAX_CELLS, _empty_file, _error, _megabytes
from coordination.spreadsheets.sheets import Sheet
from coordination.spreadsheets.xlsx import _read_xlsx
from coordination.spreadsheets.zipsafety import _EMPTY_ZIP_MAGIC, _ZIP_MAGIC

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_workbook(
    data: bytes,
    *,
    filename: str,
    max_bytes: int,
    max_rows: int,
    max_unpacked_bytes: int,
    max_cells: int = MAX_CELLS,
) -> list[Sheet]:
    """Read an uploaded .xlsx or CSV file into its visible sheets, or raise SpreadsheetError."""
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
    if data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _read_xlsx(
            data, max_rows=max_rows, max_unpacked_bytes=max_unpacked_bytes, max_cells=max_cells
        )
    if data.startswith(_OLE_MAGIC):
        # Excel 97-2003 files and password-protected .xlsx files are both OLE containers.
        raise _error(
            _(
                "This is an old Excel 97–2003 workbook (.xls) or a password-protected workbook. "
                "Open it in Excel, remove any password and save it as “Excel Workbook (.xlsx)” "
                "or “CSV UTF-8 (Comma delimited)”."
            ),
            "xls",
        )
    rows, _delimiter = _parse_csv(data, max_rows=max_rows, max_cells=max_cells, name=filename)
    return [Sheet(name=_base_name(filename), rows=rows)]
