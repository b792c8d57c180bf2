"""The file layer of imports and exports: read uploaded workbooks and CSV files, write exports.

Pure functions over bytes and streams, with no database access: the import engine decides
what the rows mean. Uploads are .xlsx, .xlsm, .ods, .xls or CSV, told apart by content. Every
upload is untrusted, so reading checks sizes, zip and XML bombs, the sheets' real extent and
the text calamine would copy before python-calamine parses anything, the same limits for every
format, and every refusal is a `SpreadsheetError` whose message names the format found and
tells the user what to do in Excel or LibreOffice Calc. Exports are .xlsx and CSV only.

The modules, each importing only those above it:

- `errors`: `SpreadsheetError`, the limits (sizes, cells, XML tokens) and the shared messages.
- `sheets`: `Sheet`, what a reader returns, and its JSON form kept beside an upload.
- `formulas`: the apostrophe that keeps text from running as a formula, and its removal.
- `zipsafety`: the zip directory's checks, and inflating a member against its declared size.
- `xmlscan`: linear expat passes: no DTD, no over-long token, each worksheet's real extent.
- `calamine`: calling python-calamine once the checks passed: its failures, `Sheet` rows.
- `xlsx`: reading an .xlsx or .xlsm, those checks first, then python-calamine.
- `ods`: reading an .ods: the zip checks, a scan of content.xml counting its repeats.
- `cfb`: the OLE compound file around an .xls, read as calamine reads it, bounded.
- `xls`: reading an .xls: a walk of its BIFF records, then python-calamine.
- `csv_files`: reading a CSV file: encoding, delimiter, rows.
- `formats`: which format an upload is, by content, and the refusals of other files.
- `reading`: `read_workbook`, the entry point for an upload of any of these formats.
- `writing`: `write_xlsx` and `write_csv` for exports.
- `annotate`: `annotate_errors`, the uploaded file returned with a column of its errors.
"""

from coordination.spreadsheets.annotate import annotate_errors
from coordination.spreadsheets.errors import SpreadsheetError, column_letter, too_many_rows
from coordination.spreadsheets.formats import EXTENSIONS as IMPORT_EXTENSIONS
from coordination.spreadsheets.formulas import escape_csv_text, escape_formula, unescape_formula
from coordination.spreadsheets.reading import read_workbook
from coordination.spreadsheets.sheets import Sheet, dump_sheets, load_sheets
from coordination.spreadsheets.writing import write_csv, write_xlsx

__all__ = [
    "IMPORT_EXTENSIONS",
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
