"""One import of one file for one kind: the steps in order, and `import_records()`."""

import gc
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from coordination import kinds
from coordination.importing.changes import Changes
from coordination.importing.checks import Checks
from coordination.importing.lookups import ImportLookups
from coordination.importing.matching import Matching
from coordination.importing.reading import HEADER_SCAN_ROWS, Reading
from coordination.importing.report import ERROR, ImportReport
from coordination.importing.writing import Writing, serialize_imports
from coordination.maintenance import checkpoint_later
from coordination.resources import RecordResource
from coordination.scoping import allowed_unit_ids, owning_paths
from coordination.spreadsheets import (
    Sheet,
    SpreadsheetError,
    dump_sheets,
    load_sheets,
    read_workbook,
    too_many_rows,
)
from coordination.widgets import (
    BooleanWidget,
    ChoiceWidget,
    DateWidget,
    IntegerWidget,
)

logger = logging.getLogger(__name__)


class Importer(Reading, Matching, Checks, Changes, Writing):
    """One import of one file for one kind of record (see the module docstring)."""

    def __init__(
        self,
        resource_class: type[RecordResource],
        *,
        user=None,
        progress=None,
        stages=None,
        file_name="",
        unit_choices: dict[str, int] | None = None,
    ):
        self.resource_class = resource_class
        self.file_name = file_name
        self.model = resource_class._meta.model
        self.columns = resource_class.columns()
        self.user = user
        self.allowed = allowed_unit_ids(user) if user is not None else None
        # The columns naming the units a row belongs to: its kind's owners, asked of scoping
        # ("self": a unit is its own owner).
        self.scope_attributes = [
            attribute
            for path in owning_paths(self.model)
            for attribute in (
                ("self",) if path == "pk" else resource_class.unit_columns.get(path, (path,))
            )
        ]
        #: (pk, version) of each record of the kind the rows' check read (`Matching`).
        self.records_read: set = set()
        self.progress: Callable[[int, int], None] | None = progress
        self.stages: Callable[[str, int, int], None] | None = stages
        self.lookups = ImportLookups(user, unit_choices=unit_choices)
        self.by_attribute = {column.attribute: column for column in self.columns}
        # Fields whose widgets already checked type, range and choice: clean_fields() skips
        # them, as it skips relations (found through the lookup tables, no query per row).
        self.unchecked = {
            model_field.name
            for model_field in self.model._meta.get_fields()
            if model_field.is_relation
            or not getattr(model_field, "concrete", False)
            or isinstance(
                getattr(self.by_attribute.get(model_field.name), "widget", None),
                DateWidget | IntegerWidget | ChoiceWidget | BooleanWidget,
            )
        }

    # -- the whole run -----------------------------------------------------------------------

    def tell(self, stage: str, done: int, total: int) -> None:
        """Report progress: rows read (also to `progress`, the command line's bar), checked
        or written. Called every PROGRESS_EVERY rows or batch, never per row."""
        if stage == "reading" and self.progress:
            self.progress(done, total)
        if self.stages:
            self.stages(stage, done, total)

    def run(
        self,
        sheets: list[Sheet],
        report: ImportReport,
        *,
        dry_run: bool,
        before_commit: Callable[[ImportReport], None] | None = None,
    ):
        table = self.locate(sheets, report)
        if table is None or report.file_errors:
            return
        sheet = table.sheet
        present = {column.attribute for column in table.matched.values()}

        # Reading the cells (and the names they give) needs no lock: another import of this
        # kind may write meanwhile. Only what depends on the stored records waits for it.
        rows = self.parse_rows(table)
        # Unit names left for the user to pick, but those of units of this same file.
        in_file = {key for row in rows for key in row.pending.values()}
        report.unresolved_units = self.lookups.unresolved_names("units", resolved=in_file)
        # The raw cells are no longer needed: free them before the records are built.
        table.rows.clear()
        sheet.rows.clear()
        if len(rows) > settings.IMPORT_MAX_ROWS:
            raise too_many_rows(sheet.name, len(rows), settings.IMPORT_MAX_ROWS)
        if not rows:
            report.file_errors.append(_("The sheet has a header row but no data rows."))
            return

        def check():
            self.match(rows)
            self.build(rows, present)
            mark_errors()

        def mark_errors():
            for row in rows:
                if row.outcome.problems:
                    row.outcome.status = ERROR
            report.outcomes = [row.outcome for row in rows]

        if dry_run:
            check()
            return
        # The rows are matched and checked before the kind's lock, against the records as
        # they are now, while another import of the kind may be writing. Under the lock they
        # are checked again only if a record of the kind that the check read was written
        # meanwhile; else only the unique rules, against records written meanwhile.
        parsed = [(row.outcome.status, list(row.outcome.problems)) for row in rows]
        check()
        read = self.records_read
        with checkpoint_later(connection), transaction.atomic():
            serialize_imports(self.model)
            if self.read_now(rows) != read:
                unchecked(rows, parsed)
                check()
            else:
                self.check_unique(rows)
                mark_errors()
            if not report.has_errors:
                self.lock_updated(rows)
            if not report.has_errors:
                self.write(rows, present)
                report.written = True
                if before_commit is not None:
                    # In the import's transaction: what the caller records (a job done)
                    # commits with the rows, or neither does.
                    before_commit(report)


def unchecked(rows, parsed) -> None:
    """Return `rows` to how reading left them (`parsed`: each row's status and problems), to
    be matched and checked again."""
    for row, (status, problems) in zip(rows, parsed, strict=True):
        row.instance = None
        row.changed = set()
        row.before = {}
        row.outcome.status = status
        row.outcome.problems = list(problems)
        row.outcome.label = ""
        row.outcome.changes = []


def import_records(
    *,
    kind: str,
    data: bytes,
    file_name: str,
    user=None,
    dry_run: bool = True,
    progress: Callable[[int, int], None] | None = None,
    stages: Callable[[str, int, int], None] | None = None,
    before_commit: Callable[[ImportReport], None] | None = None,
    sheets_data: bytes | None = None,
    keep_sheets: bool = False,
    unit_choices: dict[str, int] | None = None,
) -> ImportReport:
    """Import one file of `kind` records; write only if `dry_run` is false and nothing is wrong.

    `keep_sheets=True` keeps the cells read from the file in `report.sheets_data`; passing
    them back as `sheets_data` (the admin's confirmation after its preview) skips reading
    `data` again. Only the reading is skipped: every row is checked again against the
    database as it is now.

    `unit_choices` (unit name key → unit id) stand for names of the file that named no single
    unit: the units the user picked in the admin's preview (`importing.choices`).

    `stages(stage, done, total)` hears of the rows read, checked and written ("reading",
    "checking", "writing"), every few hundred rows or one batch, and may raise to stop the
    import (a job past its deadline): nothing is written then. `before_commit(report)` runs
    in the import's transaction once the rows are written.
    """
    report = ImportReport(kind=kind, file_name=file_name)
    with translation.override(settings.LANGUAGE_CODE):
        try:
            if sheets_data is not None:
                sheets = load_sheets(sheets_data)
            else:
                sheets = read_workbook(
                    data,
                    filename=file_name,
                    max_bytes=settings.IMPORT_MAX_BYTES,
                    # The limit is on data rows; the reader also counts title and header rows.
                    max_rows=settings.IMPORT_MAX_ROWS + HEADER_SCAN_ROWS,
                    max_unpacked_bytes=settings.IMPORT_MAX_UNPACKED_BYTES,
                )
        except SpreadsheetError as error:
            report.file_errors.append(str(error))
            return report
        if keep_sheets:
            report.sheets_data = dump_sheets(sheets)
        resource_class = kinds.get(kind).resource
        importer = Importer(
            resource_class,
            user=user,
            progress=progress,
            stages=stages,
            file_name=file_name,
            unit_choices=unit_choices,
        )
        # Tens of thousands of long-lived row objects make the cyclic garbage collector rescan
        # them again and again (a third of the run); reference counting still frees memory.
        collecting = gc.isenabled()
        gc.disable()
        try:
            importer.run(sheets, report, dry_run=dry_run, before_commit=before_commit)
        except SpreadsheetError as error:
            report.outcomes = []
            report.file_errors.append(str(error))
        except DatabaseError:
            logger.exception("Import of %s failed while writing", file_name)
            report.written = False
            report.file_errors.append(
                _(
                    "The database refused the import (the data may have been changed by someone "
                    "else meanwhile). Nothing was written; check the file and try again."
                )
            )
        finally:
            if collecting:
                gc.enable()
    return report
