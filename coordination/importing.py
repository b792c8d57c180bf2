"""Spreadsheet import, all or nothing, shared by the admin and `manage.py import_records`.

`import_records()` reads a workbook or CSV, finds the header row under any title rows, maps
the columns of the kind's `Resource` (headers compared without case, diacritics, spacing or
punctuation), converts every cell, resolves related records by name from tables loaded once,
matches rows to existing records (record number, else the natural key), and validates every
row against the same rules the database enforces. It writes only when asked to and only when
no row has an error, in one transaction, with bulk statements: the number of queries does not
grow with the number of rows.
"""

import gc
import logging
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coordination import kinds
from coordination.bulk import insert_records
from coordination.constraints import FieldUniqueConstraint, q_truth, violated_checks
from coordination.history import CHANGED, CREATED, has_history, record_history, with_last_change
from coordination.legacy_text import detect_legacy
from coordination.models.base import SEARCH_TEXT
from coordination.resources import Column, RecordResource
from coordination.scoping import allowed_unit_ids, owning_paths, visible_to
from coordination.search import UnicodeLower
from coordination.spreadsheets import (
    Sheet,
    SpreadsheetError,
    column_letter,
    dump_sheets,
    load_sheets,
    read_workbook,
    too_many_rows,
)
from coordination.suggestions import CloseNames
from coordination.text import clean_text, fold
from coordination.widgets import (
    BooleanWidget,
    CellError,
    ChoiceWidget,
    DateWidget,
    IntegerWidget,
    PersonWidget,
    RecordIdWidget,
    TextWidget,
    is_empty,
    shorten,
)

logger = logging.getLogger(__name__)

HEADER_SCAN_ROWS = 30
#: No header is longer; longer cells of the first rows are titles or data.
MAX_HEADER_LENGTH = 200
LEGACY_SAMPLE_ROWS = 200
LABELLED_ROWS = 200
IGNORED_HEADERS = {"stt", "tt", "sott", "so", "sothutu"}
NEW, UPDATED, UNCHANGED, ERROR = "new", "updated", "unchanged", "error"
PROGRESS_EVERY = 500
#: The column holding the version of each record in an exported file.
VERSION = "updated_at"
LOCK_BATCH = 10000
#: First key of the advisory locks taken by imports ("IMPO").
IMPORT_LOCK_NAMESPACE = 0x494D504F
#: Rows refused for a newer change say who made it; beyond these, only when.
MAX_DESCRIBED = 1000
#: Unknown names of one import for which close matches are searched, and how many each gets.
MAX_SUGGESTED_NAMES = 200
MAX_SUGGESTIONS = 3
#: A problem's cell value is shown up to this length.
SHOWN_VALUE = 200
#: The problems a page or the command line lists; the marked workbook has every one.
PROBLEMS_LISTED = 500
#: Unknown headers named in the warning.
HEADERS_LISTED = 10


def header_key(text) -> str:
    """“Hạn xử lý”, “han xu ly” and “HẠN XỬ LÝ:” compare equal."""
    return "".join(ch for ch in fold(str(text)) if ch.isalnum())


def cell_header_key(cell) -> str | None:
    """The header key of a cell that may be a header: not empty, not a paragraph."""
    if cell is None or len(text := str(cell)) > MAX_HEADER_LENGTH:
        return None
    return header_key(text)


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


class ImportLookups:
    """Name → records tables, each loaded with one query the first time a widget needs it
    (the widget says how: `ReferenceWidget.build_table`).

    Units and people are reference data anyone may name. Agreements and meetings are
    records: given a user, the tables hold only those the user may see, so a row cannot
    link to (or even confirm the existence of) another unit's record.
    """

    def __init__(self, user=None):
        self.user = user
        self._tables = {}
        self._close = {}
        self._suggested = {}

    def table(self, widget) -> dict:
        if widget.table not in self._tables:
            self._tables[widget.table] = widget.build_table(self)
        return self._tables[widget.table]

    def suggestions(self, widget, key: str) -> list:
        """Distinct records whose names are close to `key`, searched once per name and for
        at most `MAX_SUGGESTED_NAMES` names per import (a file of thousands of unknown names
        is answered in seconds; the rest get no suggestion)."""
        if (widget.table, key) not in self._suggested:
            if len(self._suggested) >= MAX_SUGGESTED_NAMES:
                return []
            names = self.table(widget)
            if widget.table not in self._close:
                self._close[widget.table] = CloseNames(names)
            found = []
            for name in self._close[widget.table](key):
                found += [record for record in names[name] if record not in found]
            self._suggested[(widget.table, key)] = found[:MAX_SUGGESTIONS]
        return self._suggested[(widget.table, key)]

    def visible(self, queryset):
        return queryset if self.user is None else visible_to(queryset, self.user)


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


class Importer:
    """One import of one file for one kind of record (see the module docstring)."""

    def __init__(
        self, resource_class: type[RecordResource], *, user=None, progress=None, file_name=""
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
        self.progress: Callable[[int, int], None] | None = progress
        self.lookups = ImportLookups(user)
        self.by_attribute = {column.attribute: column for column in self.columns}
        # Fields whose widgets already checked type, range and choice: clean_fields() skips
        # them, as it skips relations (found through the lookup tables, no query per row).
        self.unchecked = [
            model_field.name
            for model_field in self.model._meta.get_fields()
            if model_field.is_relation
            or not getattr(model_field, "concrete", False)
            or isinstance(
                getattr(self.by_attribute.get(model_field.name), "widget", None),
                DateWidget | IntegerWidget | ChoiceWidget | BooleanWidget,
            )
        ]

    # -- finding the data ---------------------------------------------------------------

    def header_index(self) -> dict[str, Column]:
        index = {}
        for column in self.columns:
            names = [column.column_name, *column.aliases]
            with translation.override("en"):
                names.append(str(column.column_name))
            for name in names:
                index.setdefault(header_key(name), column)
        return index

    def locate(self, sheets: list[Sheet], report: ImportReport):
        """Pick the sheet and row holding the headers; map sheet columns to resource columns."""
        index = self.header_index()
        best = None
        for sheet in sheets:
            for row_index, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
                keys = [(col, cell_header_key(cell)) for col, cell in enumerate(row)]
                matched = {col: index[key] for col, key in keys if key in index}
                score = len({column.attribute for column in matched.values()})
                if best is None or score > best[0]:
                    best = (score, sheet, row_index, matched)
        required = [column for column in self.columns if column.required]
        if best is None or best[0] < min(2, len(required) or 1):
            report.file_errors.append(
                _(
                    "No header row found. The first rows of the sheet must include the column "
                    "headers: %(headers)s. Download the template to see them."
                )
                % {"headers": ", ".join(str(column.column_name) for column in self.columns)}
            )
            return None
        _score, sheet, header_row, matched = best
        report.sheet_name, report.header_row = sheet.name, header_row
        by_attribute = defaultdict(list)
        for col, column in matched.items():
            by_attribute[column.attribute].append(col)
        for cols in by_attribute.values():
            if len(cols) > 1:
                report.file_errors.append(
                    _("The column “%(header)s” appears more than once (columns %(letters)s).")
                    % {
                        "header": matched[cols[0]].column_name,
                        "letters": ", ".join(column_letter(col) for col in cols),
                    }
                )
        missing = [column for column in required if column.attribute not in by_attribute]
        if missing:
            report.file_errors.append(
                _("Missing required columns: %(headers)s.")
                % {"headers": ", ".join(f"“{column.column_name}”" for column in missing)}
            )
        unknown = [
            str(cell)
            for col, cell in enumerate(sheet.rows[header_row])
            if not is_empty(cell) and col not in matched and header_key(cell) not in IGNORED_HEADERS
        ]
        if unknown:
            names = [f"“{shorten(clean_text(name))}”" for name in unknown[:HEADERS_LISTED]]
            if len(unknown) > HEADERS_LISTED:
                more = len(unknown) - HEADERS_LISTED
                names.append(
                    ngettext("…and %(count)d more", "…and %(count)d more", more) % {"count": more}
                )
            report.warnings.append(
                _("These columns are not used and were ignored: %(headers)s.")
                % {"headers": ", ".join(names)}
            )
        return sheet, header_row, matched

    # -- reading rows ---------------------------------------------------------------------

    def parse_rows(self, sheet: Sheet, header_row: int, matched: dict[int, Column]) -> list:
        """Convert every cell; rows with cell errors keep them in their outcome."""
        merged = merged_cells(sheet)
        # References are resolved after the columns that narrow them (a person by the unit).
        order = sorted(matched.items(), key=lambda item: _resolve_order(item[1]))
        rows = []
        total = len(sheet.rows) - header_row - 1
        file_names = self.names_in_file(sheet, header_row, matched)
        legacy = self.legacy_columns(sheet, header_row, matched)
        for index in range(header_row + 1, len(sheet.rows)):
            cells = sheet.rows[index]
            if self.progress and (index - header_row) % PROGRESS_EVERY == 0:
                self.progress(index - header_row, total)
            if is_blank_or_section(cells, matched):
                continue
            outcome = RowOutcome(row=index + 1, status=NEW)
            values = {"_allowed_unit_ids": self.allowed}
            pending = {}
            for col, column in order:
                raw = cells[col] if col < len(cells) else None
                if (index, col) in sheet.formula_without_value:
                    outcome.problems.append(
                        Problem(
                            _(
                                "The cell holds a formula without a computed value: open the "
                                "file in Excel, save it, and upload it again."
                            ),
                            index + 1,
                            str(column.column_name),
                        )
                    )
                    continue
                try:
                    value = column.widget.clean(
                        raw,
                        lookups=self.lookups,
                        row_values=values,
                        notes=outcome.notes,
                        legacy=legacy.get(col),
                    )
                except CellError as error:
                    if self.is_self_reference(column) and self.self_key(raw) in file_names:
                        pending[column.attribute] = self.self_key(raw)
                        continue
                    outcome.problems.append(
                        Problem(
                            str(error),
                            index + 1,
                            str(column.column_name),
                            shorten(display(raw), SHOWN_VALUE),
                        )
                    )
                    continue
                if column.required and (value is None or value in ("", ())):
                    hint = (
                        _(" (a merged cell? Unmerge it and fill every row.)")
                        if (index, col) in merged
                        else ""
                    )
                    outcome.problems.append(
                        Problem(
                            _("Required, but empty.") + hint, index + 1, str(column.column_name)
                        )
                    )
                    continue
                values[column.attribute] = value
            rows.append(ParsedRow(index=index, values=values, outcome=outcome, pending=pending))
        if self.progress:
            self.progress(total, total)
        return rows

    def legacy_columns(self, sheet, header_row, matched) -> dict:
        """Text columns typed in a legacy encoding, judged on the whole column.

        One short cell ("Hïng") rarely says enough; a column of them does. A column mixing
        Unicode and legacy text is left to the cell-by-cell check.
        """
        found = {}
        for col, column in matched.items():
            if not isinstance(column.widget, TextWidget):
                continue
            sample = [
                row[col]
                for row in sheet.rows[header_row + 1 : header_row + 1 + LEGACY_SAMPLE_ROWS]
                if col < len(row) and isinstance(row[col], str)
            ]
            encoding = detect_legacy(" ".join(sample)) if sample else None
            if encoding is not None:
                found[col] = encoding
        return found

    # A record may name another of the same file (a unit its parent or successor, an
    # agreement the one it supersedes), defined further down: by the name of its kind.

    def self_widget(self, column: Column):
        """The column's reference widget when it names records of the imported kind."""
        widget = column.widget.inner if column.is_many else column.widget
        return widget if getattr(widget, "model", None) is self.model else None

    def is_self_reference(self, column: Column) -> bool:
        return self.self_widget(column) is not None

    def self_key(self, raw) -> str:
        return self.name_key(clean_text(str(raw or "")))

    @property
    def self_named_by(self) -> str | None:
        """The column naming this kind's records in others' files, when a column refers
        to the kind itself."""
        if not any(self.is_self_reference(column) for column in self.columns):
            return None
        return kinds.for_model(self.model).named_by[0]

    def name_key(self, text: str) -> str:
        widget = next(w for w in map(self.self_widget, self.columns) if w is not None)
        return widget.key(text)

    def names_in_file(self, sheet, header_row, matched) -> set[str]:
        attribute = self.self_named_by
        if attribute is None:
            return set()
        cols = [col for col, column in matched.items() if column.attribute == attribute]
        return {
            self.self_key(row[cols[0]])
            for row in sheet.rows[header_row + 1 :]
            if cols and cols[0] < len(row) and not is_empty(row[cols[0]])
        }

    # -- matching and validating ------------------------------------------------------------

    def natural_key(self, source, from_instance=False):
        parts = []
        for name in self.resource_class._meta.import_id_fields:
            if from_instance:
                model_field = self.model._meta.get_field(name)
                value = getattr(source, model_field.attname)
            else:
                value = source.get(name)
                if isinstance(value, models.Model):
                    value = value.pk
            if value is None or value == "":
                return None
            parts.append(self.column_for(name).widget.key_of(value))
        return tuple(parts)

    def existing_records(self, rows: list[ParsedRow]):
        """The records the file may name, by id and by natural key (all matches of a key).

        Only records the user may see are candidates: for unit staff an import behaves
        exactly as if other units' records did not exist, so no message can tell a hidden
        record from a missing one.
        """
        candidates = self.lookups.visible(self.model.objects.all())
        ids = {row.values["id"] for row in rows if row.values.get("id")}
        by_id = candidates.in_bulk(ids) if ids else {}
        filters = {}
        for name in self.resource_class._meta.import_id_fields:
            model_field = self.model._meta.get_field(name)
            if isinstance(model_field, models.CharField | models.TextField):
                continue
            values = {row.values.get(name) for row in rows} - {None}
            values = {value.pk if isinstance(value, models.Model) else value for value in values}
            filters[f"{model_field.attname}__in"] = values
        by_key = defaultdict(list)
        for record in candidates.filter(**filters).order_by("pk") if rows else ():
            key = self.natural_key(record, from_instance=True)
            if key is not None:
                by_key[key].append(record)
        for matches in by_key.values():
            by_id.update({record.pk: record for record in matches})
        return by_id, by_key

    def match(self, rows: list[ParsedRow]):
        by_id, by_key = self.existing_records(rows)
        seen_ids, seen_keys = {}, {}
        id_header = str(self.resource_class.fields["id"].column_name)
        for row in rows:
            if row.outcome.problems:
                continue
            record_id = row.values.get("id")
            key = self.natural_key(row.values)
            if record_id:
                row.instance = by_id.get(record_id)
                if row.instance is None:
                    row.outcome.problems.append(
                        Problem(
                            _("No record has the number %(id)s.") % {"id": record_id},
                            row.outcome.row,
                            id_header,
                            str(record_id),
                        )
                    )
                    continue
            elif key is not None and key in by_key:
                matches = by_key[key]
                if len(matches) > 1:
                    row.outcome.problems.append(
                        Problem(
                            _(
                                "%(count)d records match this row (%(key)s): add the "
                                "“%(column)s” column of an export to say which one."
                            )
                            % {
                                "count": len(matches),
                                "key": self.key_headers(),
                                "column": id_header,
                            },
                            row.outcome.row,
                        )
                    )
                    continue
                row.instance = matches[0]
            duplicate_of = seen_ids.get(row.instance.pk) if row.instance else None
            if duplicate_of is None and key is not None:
                duplicate_of = seen_keys.get(key)
            if duplicate_of is not None:
                row.outcome.problems.append(
                    Problem(
                        _("Rows %(first)d and %(second)d describe the same record (%(key)s).")
                        % {
                            "first": duplicate_of,
                            "second": row.outcome.row,
                            "key": self.key_headers(),
                        },
                        row.outcome.row,
                    )
                )
                continue
            if row.instance is not None:
                seen_ids[row.instance.pk] = row.outcome.row
            if key is not None:
                seen_keys[key] = row.outcome.row

    def key_headers(self) -> str:
        return ", ".join(
            str(self.column_for(name).column_name)
            for name in self.resource_class._meta.import_id_fields
        )

    def column_for(self, attribute: str) -> Column | None:
        return self.by_attribute.get(attribute)

    def header_for(self, attribute: str) -> str:
        column = self.column_for(attribute)
        if column is not None:
            return str(column.column_name)
        if attribute == NON_FIELD_ERRORS:
            return ""
        try:
            return str(self.model._meta.get_field(attribute).verbose_name)
        except Exception:
            return attribute

    def build(self, rows: list[ParsedRow], present: set[str]):
        """Apply each row's values to its record (new or existing) and validate it."""
        many_present = [c for c in self.columns if c.attribute in present and c.is_many]
        current_many = self.current_many(rows, many_present)
        numbered = self.numbered_records(rows)
        live = [row for row in rows if not row.outcome.problems]
        for row in live:
            row.instance = row.instance or self.model()
            row.before = model_values(row.instance) if row.instance.pk else {}
            self.apply(row, current_many, numbered)
        self.resolve_pending(live)
        for row in live:
            if row.outcome.problems:
                continue
            instance = row.instance
            instance.prepare_for_save()
            if instance.pk:
                after = model_values(instance)
                row.changed |= {name for name, value in after.items() if row.before[name] != value}
                row.outcome.status = UPDATED if row.changed else UNCHANGED
        # Scope first: a row the user may not import is refused for that alone, before any
        # check (fields, version, uniqueness) whose answer could describe a record.
        self.check_scope(live, current_many)
        labelled = 0
        for row in live:
            if row.outcome.problems:
                continue
            self.validate(row)
            # Only the preview's first rows show a label; 100,000 of them cost 20 MB.
            if not row.outcome.problems and labelled < LABELLED_ROWS:
                row.outcome.label = str(row.instance)
                labelled += 1
        self.check_versions(live)
        self.check_unique(live)

    def apply(self, row: ParsedRow, current_many, numbered):
        instance = row.instance
        for attribute, value in row.values.items():
            if attribute.startswith("_") or attribute in ("id", VERSION):
                continue
            if self.is_many(attribute):
                old = current_many.get((instance.pk, attribute), set())
                if instance.pk is None or {obj.pk for obj in value} != old:
                    row.changed.add(attribute)
                continue
            if attribute in numbered and value:
                source = numbered[attribute].get(value)
                if source is None:
                    model = self.model._meta.get_field(attribute).related_model
                    row.outcome.problems.append(
                        Problem(
                            _("No %(record)s has the number %(id)s.")
                            % {"record": model._meta.verbose_name, "id": value},
                            row.outcome.row,
                            self.header_for(attribute),
                            str(value),
                        )
                    )
                    continue
                value = source
            setattr(instance, attribute, value)
        for attribute, message in self.resource_class.row_problems(row.values):
            row.outcome.problems.append(
                Problem(message, row.outcome.row, self.header_for(attribute))
            )

    def resolve_pending(self, rows: list[ParsedRow]):
        """Point references to records defined elsewhere in the same file at those records."""
        attribute = self.self_named_by
        if attribute is None:
            return
        by_name = {}
        for row in rows:
            name = row.values.get(attribute)
            if name and not row.outcome.problems:
                by_name.setdefault(self.self_key(name), row.instance)
        for row in rows:
            for reference, key in row.pending.items():
                target = by_name.get(key)
                if target is None:
                    row.outcome.problems.append(
                        Problem(
                            _("“%(value)s” is neither in the system nor a valid row of this file.")
                            % {"value": key},
                            row.outcome.row,
                            self.header_for(reference),
                        )
                    )
                    continue
                setattr(row.instance, reference, target)

    def validate(self, row: ParsedRow):
        instance = row.instance
        errors = {}
        for step in (
            lambda: instance.clean_fields(exclude=self.unchecked),
            instance.clean,
        ):
            try:
                step()
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        for constraint in violated_checks(instance):
            errors.setdefault(constraint.error_field or NON_FIELD_ERRORS, []).append(
                constraint.get_violation_error_message()
            )
        for attribute, messages in errors.items():
            for message in messages:
                text = (
                    " ".join(message.messages) if isinstance(message, ValidationError) else message
                )
                row.outcome.problems.append(
                    Problem(str(text), row.outcome.row, self.header_for(attribute))
                )

    def check_versions(self, rows: list[ParsedRow]):
        """A row would overwrite changes made after its file was exported: refuse it.

        Only rows that change something are compared: a row the user left as exported
        writes nothing, however old its version. A row without a version (a list kept by
        hand, or a cell emptied on purpose) updates the record as it is now.
        """
        stale = [
            (row, row.values[VERSION], row.instance.updated_at)
            for row in rows
            if not row.outcome.problems
            and row.outcome.status == UPDATED
            and row.values.get(VERSION) is not None
            and row.values[VERSION] != row.instance.updated_at
        ]
        self.refuse_changed(stale, during_import=False)

    def lock_updated(self, rows: list[ParsedRow]):
        """Lock the records about to be updated and refuse rows whose record changed meanwhile.

        The rows were compared with the records as read at the start of this confirmation;
        another save may have committed since (PostgreSQL reads committed data). The lock
        holds until the import's transaction ends, so nothing changes between this check and
        the write. On SQLite the transaction already holds the database's write lock.
        """
        updating = {row.instance.pk: row for row in rows if row.outcome.status == UPDATED}
        current = {}
        pks = list(updating)
        for start in range(0, len(pks), LOCK_BATCH):
            current.update(
                self.model._base_manager.select_for_update()
                .filter(pk__in=pks[start : start + LOCK_BATCH])
                .values_list("pk", "updated_at")
            )
        stale = [
            (row, row.instance.updated_at, current.get(pk))
            for pk, row in updating.items()
            if current.get(pk) != row.instance.updated_at
        ]
        self.refuse_changed(stale, during_import=True)

    def refuse_changed(self, stale: list[tuple], *, during_import: bool):
        """Refuse each (row, version it was based on, version now) with who changed it, when.

        The time is the record's version now; the person is the author of its last history
        entry when that entry is newer than the row's version (a save that changed no field
        writes no entry), otherwise "somebody".
        """
        if not stale:
            return
        changed_by = {}
        if has_history(self.model):
            described = with_last_change(
                self.model._base_manager.filter(
                    pk__in=[row.instance.pk for row, _since, _now in stale][:MAX_DESCRIBED]
                )
            ).values_list("pk", "last_changed_by", "last_changed_by_name", "last_changed_at")
            changed_by = {
                # People by their name, as the change form's conflict message names them.
                pk: ((name or "").strip() or username, moment)
                for pk, username, name, moment in described
            }
        column = self.column_for(VERSION)
        header = str(column.column_name) if column is not None else ""
        for row, since, now in stale:
            if now is None:
                message = _(
                    "The record was deleted while this import ran; nothing was written. "
                    "Import the file again."
                )
                row.outcome.problems.append(Problem(message, row.outcome.row, header))
                row.outcome.status = ERROR
                continue
            who, entry_date = changed_by.get(row.instance.pk, (None, None))
            if entry_date is None or since is None or entry_date <= since:
                who = None
            details = {
                "who": who or _("somebody"),
                "when": formats.date_format(timezone.localtime(now), "SHORT_DATETIME_FORMAT"),
                "column": header,
            }
            if during_import:
                message = _(
                    "The record was changed by %(who)s at %(when)s while this import ran; "
                    "nothing was written. Import the file again."
                )
            else:
                message = _(
                    "The record was changed after this file was exported, by %(who)s at "
                    "%(when)s; importing this row would overwrite that change. Export the "
                    "records again and make your changes in the new file, or empty the "
                    "“%(column)s” cell of this row to overwrite them on purpose."
                )
            row.outcome.problems.append(Problem(message % details, row.outcome.row, header))
            row.outcome.status = ERROR

    def check_unique(self, rows: list[ParsedRow]):
        """The model's unique constraints, checked for the whole file with one query each."""
        valid = [row for row in rows if not row.outcome.problems]
        for constraint in unique_constraints(self.model):
            parts = unique_parts(constraint)
            keyed = {}
            for row in valid:
                if constraint.condition is not None and not q_allows(constraint.condition, row):
                    continue
                key = unique_key(parts, row.instance)
                if key is None:
                    continue
                other = keyed.get(key)
                if other is not None and (
                    row.instance.pk is None or other.instance.pk != row.instance.pk
                ):
                    self.unique_problem(row, constraint, other.outcome.row)
                    continue
                keyed[key] = row
            if not keyed:
                continue
            annotations = {f"_u{i}": expression for i, (_name, expression) in enumerate(parts)}
            first_values = {key[0] for key in keyed}
            existing = (
                self.model.objects.annotate(**annotations)
                .filter(_u0__in=first_values)
                .values_list("pk", *annotations)
            )
            updating = {row.instance.pk for row in valid if row.instance.pk}
            for pk, *key in existing:
                row = keyed.get(tuple(key))
                if row is not None and row.instance.pk != pk and pk not in updating:
                    self.unique_problem(row, constraint, None)

    def unique_problem(self, row, constraint, other_row):
        message = str(constraint.get_violation_error_message())
        if other_row is not None:
            message = f"{message} " + _("(also in row %(row)d)") % {"row": other_row}
        row.outcome.problems.append(
            Problem(message, row.outcome.row, self.header_for(constraint.error_field or ""))
        )
        row.outcome.status = ERROR

    def check_scope(self, rows: list[ParsedRow], current_many):
        """Unit staff may only import rows of their own units, and only change their own."""
        if self.allowed is None:
            return
        for row in rows:
            # An unchanged row writes nothing: re-importing one's own export must pass even
            # where it shows records the user may read but not change (coordinated tasks).
            if row.outcome.problems or row.outcome.status == UNCHANGED:
                continue
            new_units = self.scope_units(row, current_many, new=True)
            old_units = self.scope_units(row, current_many, new=False) if row.instance.pk else None
            if not (new_units & self.allowed) or (
                old_units is not None and not old_units & self.allowed
            ):
                row.outcome.problems.append(
                    Problem(
                        _("You may only import records of your own units."),
                        row.outcome.row,
                        self.scope_header(),
                    )
                )

    def scope_header(self) -> str:
        """The column that decides a row's units ("self": a unit's own name)."""
        first = self.scope_attributes[0]
        if first == "self":
            first = self.resource_class._meta.import_id_fields[-1]
        return self.header_for(first)

    def scope_units(self, row: ParsedRow, current_many, *, new: bool) -> set[int]:
        """The units a row's record belongs to, after the import (`new`) or before it."""
        instance, units = row.instance, set()
        for attribute in self.scope_attributes:
            if attribute == "self":
                if instance.pk:
                    units.add(instance.pk)
                continue
            if self.is_many(attribute):
                if new and attribute in row.values:
                    units |= {unit.pk for unit in row.values[attribute]}
                else:
                    units |= current_many.get((instance.pk, attribute), set())
                continue
            attname = self.model._meta.get_field(attribute).attname
            unit_id = getattr(instance, attname) if new else row.before.get(attname)
            if unit_id:
                units.add(unit_id)
        return units

    # -- related sets -----------------------------------------------------------------------

    def current_many(self, rows, many_columns) -> dict:
        """Current pks of each many-valued column for the existing records, one query each."""
        pks = {row.instance.pk for row in rows if row.instance is not None}
        current = defaultdict(set)
        scoped_many = [
            self.column_for(name)
            for name in self.scope_attributes
            if self.column_for(name) is not None and self.column_for(name).is_many
        ]
        for column in {*many_columns, *scoped_many}:
            for owner, target in self.many_pairs(column.attribute, pks):
                current[(owner, column.attribute)].add(target)
        return current

    def many_pairs(self, attribute, pks):
        if not pks:
            return []
        link = self.column_for(attribute).link
        if link is not None:
            return link.model.objects.filter(
                **{f"{link.owner}_id__in": pks}, **link.where
            ).values_list(f"{link.owner}_id", f"{link.target}_id")
        through = self.model._meta.get_field(attribute).remote_field.through
        owner, target = m2m_columns(self.model, attribute)
        return through.objects.filter(**{f"{owner}__in": pks}).values_list(owner, target)

    def numbered_records(self, rows) -> dict:
        """The records named by number in relation columns (an item carried over from),
        among those the user may see: attribute → {number: record}, one query each."""
        found = {}
        for column in self.columns:
            if column.attribute == "id" or not isinstance(column.widget, RecordIdWidget):
                continue
            model = self.model._meta.get_field(column.attribute).related_model
            ids = {row.values.get(column.attribute) for row in rows} - {None}
            records = self.lookups.visible(model.objects.all())
            found[column.attribute] = records.in_bulk(ids) if ids else {}
        return found

    # -- writing ----------------------------------------------------------------------------

    def write(self, rows: list[ParsedRow], present: set[str]):
        """Create and update in bulk; the caller holds the transaction."""
        new = [row.instance for row in rows if row.outcome.status == NEW]
        changed_rows = [row for row in rows if row.outcome.status == UPDATED]
        deferred = detach_unsaved_self_references(new)
        insert_records(self.model, new)
        if deferred:
            for instance, attname, target in deferred:
                setattr(instance, attname, target.pk)
            self.model.objects.bulk_update(
                [item[0] for item in deferred], {item[1] for item in deferred}, batch_size=1000
            )
        scalar_changes = set()
        for row in changed_rows:
            scalar_changes |= {name for name in row.changed if not self.is_many(name)}
        updated = [row.instance for row in changed_rows]
        if updated:
            now = timezone.now()
            for instance in updated:
                instance.updated_at = now
            fields = sorted(scalar_changes | {"updated_at"})
            self.model.objects.bulk_update(updated, fields, batch_size=1000)
        self.write_many(rows, present)
        reason = _("Import of %(file)s") % {"file": self.file_name}
        record_history(
            self.model, [o.pk for o in new], history_type=CREATED, user=self.user, reason=reason
        )
        record_history(
            self.model, [o.pk for o in updated], history_type=CHANGED, user=self.user, reason=reason
        )
        if self.user is not None:
            self.log(new, updated)

    def is_many(self, attribute) -> bool:
        column = self.column_for(attribute)
        return column is not None and column.is_many

    def write_many(self, rows, present):
        """Replace the related sets a row changed (coordinating units, parties, ...)."""
        written = [row for row in rows if row.outcome.status in (NEW, UPDATED)]
        links = defaultdict(list)
        for column in self.columns:
            if column.link is not None:
                links[column.link.model].append(column)
        for columns in links.values():
            self.write_links(written, present, columns)
        for column in self.columns:
            if not column.is_many or column.attribute not in present or column.link:
                continue
            targets = [row for row in written if column.attribute in row.changed]
            if not targets:
                continue
            through = self.model._meta.get_field(column.attribute).remote_field.through
            owner, target = m2m_columns(self.model, column.attribute)
            through.objects.filter(
                **{
                    f"{owner}__in": [
                        row.instance.pk for row in targets if row.outcome.status == UPDATED
                    ]
                }
            ).delete()
            through.objects.bulk_create(
                through(**{owner: row.instance.pk, target: obj.pk})
                for row in targets
                for obj in row.values[column.attribute]
            )

    def write_links(self, written, present, columns):
        """Columns sharing one link table (an agreement's lead units and other parties):
        rewrite each changed record's links at once, keeping those of absent columns."""
        link_model = columns[0].link.model
        owner = f"{columns[0].link.owner}_id"
        targets = [row for row in written if row.changed & {c.attribute for c in columns}]
        if not targets:
            return
        updated = [row.instance.pk for row in targets if row.outcome.status == UPDATED]
        kept = defaultdict(list)
        for link in link_model.objects.filter(**{f"{owner}__in": updated}):
            kept[getattr(link, owner)].append(link)
        link_model.objects.filter(**{f"{owner}__in": updated}).delete()
        created = []
        for row in targets:
            claimed = []
            for column in columns:
                spec = column.link
                claimed.append(spec.where)
                if column.attribute in present:
                    created += [
                        link_model(**{spec.owner: row.instance, spec.target: obj}, **spec.where)
                        for obj in row.values[column.attribute]
                    ]
            # Links no present column rewrites stay as they were.
            created += [
                link_model(
                    **{
                        field.attname: getattr(old, field.attname)
                        for field in link_model._meta.concrete_fields
                        if not field.primary_key
                    }
                )
                for old in kept[row.instance.pk]
                if not any(
                    column.attribute in present
                    and all(getattr(old, key) == value for key, value in column.link.where.items())
                    for column in columns
                )
            ]
        link_model.objects.bulk_create(created)

    def log(self, new, updated):
        message = _("Imported from a spreadsheet.")
        for objects, flag in ((new, ADDITION), (updated, CHANGE)):
            if objects:
                LogEntry.objects.log_actions(
                    self.user.pk, objects, flag, change_message=message, single_object=False
                )

    # -- the whole run -----------------------------------------------------------------------

    def run(self, sheets: list[Sheet], report: ImportReport, *, dry_run: bool):
        located = self.locate(sheets, report)
        if located is None or report.file_errors:
            return
        sheet, header_row, matched = located
        present = {column.attribute for column in matched.values()}

        def process():
            rows = self.parse_rows(sheet, header_row, matched)
            # The raw cells are no longer needed: free them before the records are built.
            sheet.rows.clear()
            if len(rows) > settings.IMPORT_MAX_ROWS:
                raise too_many_rows(sheet.name, len(rows), settings.IMPORT_MAX_ROWS)
            self.match(rows)
            self.build(rows, present)
            for row in rows:
                if row.outcome.problems:
                    row.outcome.status = ERROR
            report.outcomes = [row.outcome for row in rows]
            if not rows:
                report.file_errors.append(_("The sheet has a header row but no data rows."))
            return rows

        if dry_run:
            process()
            return
        with transaction.atomic():
            serialize_imports(self.model)
            rows = process()
            if not report.has_errors:
                self.lock_updated(rows)
            if not report.has_errors:
                self.write(rows, present)
                report.written = True


def serialize_imports(model) -> None:
    """Let one import of `model` write at a time, until the caller's transaction ends.

    Two people importing the same new rows at once would each find no existing record and
    both insert it (tasks and follow-ups have no unique constraint on their natural key).
    PostgreSQL: a transaction-scoped advisory lock per model, so the second import reads the
    records only after the first has committed, and finds its rows unchanged. SQLite's
    IMMEDIATE transactions already take the database's write lock when they begin.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [IMPORT_LOCK_NAMESPACE, zlib.crc32(model._meta.label.encode()) & 0x7FFFFFFF],
        )


def import_records(
    *,
    kind: str,
    data: bytes,
    file_name: str,
    user=None,
    dry_run: bool = True,
    progress: Callable[[int, int], None] | None = None,
    sheets_data: bytes | None = None,
    keep_sheets: bool = False,
) -> ImportReport:
    """Import one file of `kind` records; write only if `dry_run` is false and nothing is wrong.

    `keep_sheets=True` keeps the cells read from the file in `report.sheets_data`; passing
    them back as `sheets_data` (the admin's confirmation after its preview) skips reading
    `data` again. Only the reading is skipped: every row is checked again against the
    database as it is now.
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
        importer = Importer(resource_class, user=user, progress=progress, file_name=file_name)
        # Tens of thousands of long-lived row objects make the cyclic garbage collector rescan
        # them again and again (a third of the run); reference counting still frees memory.
        collecting = gc.isenabled()
        gc.disable()
        try:
            importer.run(sheets, report, dry_run=dry_run)
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


# -- helpers --------------------------------------------------------------------------------


def _resolve_order(column: Column) -> int:
    widget = column.widget.inner if column.is_many else column.widget
    return 1 if isinstance(widget, PersonWidget) else 0


def display(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return str(value)


def merged_cells(sheet: Sheet) -> set[tuple[int, int]]:
    """Cells covered by a merge but not its top-left cell: calamine reads them as empty."""
    cells = set()
    for first_row, first_col, last_row, last_col in sheet.merged:
        for row in range(first_row, last_row + 1):
            for col in range(first_col, last_col + 1):
                if (row, col) != (first_row, first_col):
                    cells.add((row, col))
    return cells


SECTION_MARKERS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "A", "B", "C", "D")


def is_blank_or_section(cells: list, matched: dict[int, Column]) -> bool:
    """Empty rows, STT-only rows and section rows such as “I. Khối chính quyền” are skipped."""
    filled = [(col, cell) for col, cell in enumerate(cells) if not is_empty(cell)]
    if not any(col in matched for col, _cell in filled):
        return True
    if len(filled) != 1:
        return False
    text = clean_text(str(filled[0][1]))
    marker = text.split(" ", 1)[0].rstrip(".)/:-")
    return marker.upper() in SECTION_MARKERS and text[len(marker) : len(marker) + 1] in ".)/:-"


def model_values(instance) -> dict:
    return {
        model_field.attname: getattr(instance, model_field.attname)
        for model_field in instance._meta.concrete_fields
        # search_text follows the text fields: derived, never a change of its own.
        if model_field.name not in ("created_at", "updated_at", SEARCH_TEXT)
    }


def m2m_columns(model, attribute) -> tuple[str, str]:
    m2m = model._meta.get_field(attribute)
    return m2m.m2m_column_name(), m2m.m2m_reverse_name()


def unique_constraints(model) -> list[models.UniqueConstraint]:
    """The model's unique constraints, with its `unique=True` fields (one-to-one links) as such."""
    constraints = [c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    for model_field in model._meta.concrete_fields:
        if model_field.unique and not model_field.primary_key:
            message = model_field.error_messages["unique"] % {
                "model_name": capfirst(model._meta.verbose_name),
                "field_label": capfirst(model_field.verbose_name),
            }
            constraints.append(
                FieldUniqueConstraint(
                    fields=[model_field.name],
                    name=f"{model._meta.db_table}_{model_field.name}_unique",
                    error_field=model_field.name,
                    violation_error_message=message,
                )
            )
    return constraints


def unique_parts(constraint) -> list[tuple[str, models.Expression]]:
    """(attribute, SQL expression) for each component of a unique constraint."""
    parts = []
    for name in constraint.fields:
        parts.append((name, models.F(name)))
    for expression in constraint.expressions:
        source = (
            expression.source_expressions[0] if isinstance(expression, UnicodeLower) else expression
        )
        parts.append((source.name, expression))
    return parts


def unique_key(parts, instance):
    key = []
    for name, expression in parts:
        model_field = instance._meta.get_field(name)
        value = getattr(instance, model_field.attname)
        if value is None:
            return None
        if isinstance(expression, UnicodeLower):
            value = value.lower()
        key.append(value)
    return tuple(key)


def q_allows(condition, row) -> bool:
    return q_truth(condition, row.instance) is not False


def detach_unsaved_self_references(instances):
    """Clear links to records of the same file not yet saved; return them to set afterwards."""
    pending = {id(instance) for instance in instances}
    deferred = []
    for instance in instances:
        for model_field in instance._meta.concrete_fields:
            if not model_field.is_relation or model_field.related_model is not type(instance):
                continue
            target = model_field.get_cached_value(instance, default=None)
            if target is not None and id(target) in pending and target.pk is None:
                deferred.append((instance, model_field.attname, target))
                setattr(instance, model_field.name, None)
    return deferred
