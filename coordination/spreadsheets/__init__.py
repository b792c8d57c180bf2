"""The file layer of imports and exports: read uploaded workbooks and CSV files, write exports.

Pure functions over bytes and streams, with no database access: the import engine decides
what the rows mean. Everything a unit uploads is untrusted, so reading checks sizes, zip and XML
bombs and the sheet's real extent before python-calamine parses anything, and every refusal is
a `SpreadsheetError` whose message tells the user what to do in Excel.

The modules, each importing only those above it:

- `errors`: `SpreadsheetError`, the limits (sizes, cells, XML tokens) and the shared messages.
- `sheets`: `Sheet`, what a reader returns, and its JSON form kept beside an upload.
- `formulas`: the apostrophe that keeps text from running as a formula, and its removal.
- `zipsafety`: the zip directory's checks, and inflating a member against its declared size.
- `xmlscan`: linear expat passes: no DTD, no over-long token, each worksheet's real extent.
- `xlsx`: reading an .xlsx, those checks first, then python-calamine.
- `csv_files`: reading a CSV file: encoding, delimiter, rows.
- `reading`: `read_workbook`, the entry point for an upload of either kind.
- `writing`: `write_xlsx` and `write_csv` for exports.
- `annotate`: `annotate_errors`, the uploaded file returned with a column of its errors.
"""

from coordination.spreadsheets.annotate import annotate_errors
from coordination.spreadsheets.errors import SpreadsheetError, column_letter, too_many_rows
from coordination.spreadsheets.formulas import escape_csv_text, escape_formula, unescape_formula
from coordination.spreadsheets.reading import read_workbook
from coordination.spreadsheets.sheets import Sheet, dump_sheets, load_sheets
from coordination.spreadsheets.writing import write_csv, write_xlsx

__all__ = [
    "Sheet",
    "SpreadsheetError",
    "annotate_errors",
    "column_letter",
    "dump_sheets",
    "escape_csv_text",
    "escape_formula",
    "load_sheets",
    "read_workbook",
    "too_many_rows",
    "unescape_formula",
    "write_csv",
    "write_xlsx",
]
