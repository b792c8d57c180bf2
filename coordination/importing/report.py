"""What an import did or would do: each row's outcome and problems, in words to act on."""

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext as _

from coordination.spreadsheets import annotate_errors

NEW, UPDATED, UNCHANGED, ERROR = "new", "updated", "unchanged", "error"
#: How often (in rows) an import reports its progress: the command line's bar, a job's page.
PROGRESS_EVERY = 500
#: The problems a page or the command line lists; the marked workbook has every one.
PROBLEMS_LISTED = 500


@dataclass(slots=True)
class Problem:
    """One thing wrong with the file or a cell, in words the user can act on."""

    message: str
    row: int | None = None  # the row number Excel shows (1-based)
    column: str = ""
    value: str = ""


@dataclass(slots=True)
class RowOutcome:
    """What the import does (or would do) with one row of the sheet."""

    row: int
    status: str
    label: str = ""
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: For an updated row: each field it changes (`importing.changes.Change`).
    changes: list = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return {
            NEW: _("New"),
            UPDATED: _("Updated"),
            UNCHANGED: _("Unchanged"),
            ERROR: _("Error"),
        }[self.status]


@dataclass
class ImportReport:
    """Everything an import found; `written` says whether the database was changed."""

    kind: str
    file_name: str
    sheet_name: str = ""
    header_row: int | None = None  # 0-based index in the sheet's rows
    outcomes: list[RowOutcome] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    #: With `import_records(keep_sheets=True)`: the file's cells (`dump_sheets`), for the
    #: confirmation to reuse instead of reading the file again.
    sheets_data: bytes | None = None
    #: Unit names that named no single unit (`lookups.UnresolvedName`), for the user to pick.
    unresolved_units: list = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def count_new(self) -> int:
        return self.count(NEW)

    @property
    def count_updated(self) -> int:
        return self.count(UPDATED)

    @property
    def count_unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def has_errors(self) -> bool:
        return bool(self.file_errors) or any(o.status == ERROR for o in self.outcomes)

    @property
    def error_rows(self) -> list[RowOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == ERROR]

    @property
    def problems(self) -> list[Problem]:
        return [problem for outcome in self.error_rows for problem in outcome.problems]

    def marked_workbook(self, data: bytes, file_name: str) -> tuple[bytes, str]:
        """The uploaded file `data` with each refused row's errors in a column of its own,
        and its download name ("<name>-loi.<ext>"). SpreadsheetError when it cannot be
        written (the admin's download and an import job's file alike)."""
        content, extension = annotate_errors(
            data,
            filename=file_name,
            sheet_name=self.sheet_name,
            header_row=self.header_row,
            errors=self.errors_by_sheet_row(),
            error_header=_("Error"),
        )
        return content, f"{file_name.rsplit('.', 1)[0]}-{_('errors')}.{extension}"

    def errors_by_sheet_row(self) -> dict[int, str]:
        """Error text per 0-based sheet row, for the annotated workbook."""
        return {
            outcome.row - 1: "; ".join(
                f"{p.column}: {p.message}" if p.column else p.message for p in outcome.problems
            )
            for outcome in self.error_rows
        }

    def summary_line(self) -> str:
        return (
            f"new={self.count(NEW)} updated={self.count(UPDATED)} "
            f"unchanged={self.count(UNCHANGED)} errors={len(self.error_rows)}"
        )


@dataclass(slots=True)
class ParsedRow:
    index: int  # 0-based index in the sheet's rows
    values: dict
    outcome: RowOutcome
    instance: models.Model | None = None
    changed: set = field(default_factory=set)
    before: dict = field(default_factory=dict)
    # Names of records of this same file, resolved once every row has its record.
    pending: dict = field(default_factory=dict)


def shown(value) -> str:
    """A cell value as the user reads it in a message: dates as dd/mm/yyyy, whole numbers
    without ".0", nothing as empty."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
