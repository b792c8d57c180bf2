"""Spreadsheet import, all or nothing, shared by the admin and `manage.py import_records`.

`import_records()` reads a workbook or CSV, finds the header row under any title rows, maps
the columns of the kind's `Resource` (headers compared without case, diacritics, spacing or
punctuation), converts every cell, resolves related records by name from tables loaded once,
matches rows to existing records (record number, else the natural key), and validates every
row against the same rules the database enforces. It writes only when asked to and only when
no row has an error, in one transaction, with bulk statements: the number of queries does not
grow with the number of rows.

The steps, in the order `Importer.run()` takes them, one module each:

- `reading`: the header row, the columns, every cell converted (`Reading`), each distinct
  cell of a column once where its widget allows (`cells`);
- `matching`: each row's record by number or natural key, the row applied (`Matching`);
- `keys`: records found by the file's own keys, a few queries whatever the table's size;
- `checks`: versions, unique rules and unit scope across the rows (`Checks`);
- `writing`: bulk writes, related sets, history and the admin log (`Writing`);
- `report`: what happened to each row (`ImportReport`), `lookups`: the name tables;
- `choices`: the units a user picks, in the admin's preview, for names left unresolved;
- `importer`: `Importer`, made of the four steps, and `import_records()`.
"""

from coordination.importing.importer import Importer, import_records
from coordination.importing.lookups import ImportLookups
from coordination.importing.report import (
    ERROR,
    NEW,
    PROBLEMS_LISTED,
    UNCHANGED,
    UPDATED,
    ImportReport,
    Problem,
    RowOutcome,
)

__all__ = [
    "ERROR",
    "NEW",
    "PROBLEMS_LISTED",
    "UNCHANGED",
    "UPDATED",
    "ImportLookups",
    "ImportReport",
    "Importer",
    "Problem",
    "RowOutcome",
    "import_records",
]
