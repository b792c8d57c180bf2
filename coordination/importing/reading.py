"""Reading a sheet: the header row under any titles, the columns, every cell converted."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coordination import kinds
from coordination.importing.cells import ColumnCells, resolve_order
from coordination.importing.layout import (
    EMPTY_ROWS_END,
    MAX_HEADER_ROWS,
    HeaderCells,
    ListEnd,
    fill_merges,
    list_end,
    merge_starts,
    section_row,
)
from coordination.importing.report import (
    NEW,
    PROGRESS_EVERY,
    ImportReport,
    ParsedRow,
    Problem,
    RowOutcome,
    shown,
)
from coordination.legacy_text import detect_legacy, reads_better_in
from coordination.resources import EXAMPLE_MARKER, Column
from coordination.spreadsheets import (
    Sheet,
    column_letter,
)
from coordination.text import clean_text, fold
from coordination.widgets import (
    CellError,
    is_empty,
    shorten,
)

HEADER_SCAN_ROWS = 30
LEGACY_SAMPLE_ROWS = 200
IGNORED_HEADERS = {"stt", "tt", "sott", "so", "sothutu"}
#: A problem's cell value is shown up to this length.
SHOWN_VALUE = 200
#: Unknown headers named in the warning.
HEADERS_LISTED = 10
#: Rows named in the error about a column without a header.
ROWS_LISTED = 5


def header_key(text) -> str:
    """“Hạn xử lý”, “han xu ly” and “HẠN XỬ LÝ:” compare equal."""
    return "".join(ch for ch in fold(str(text)) if ch.isalnum())


@dataclass
class Table:
    """The list found in a sheet: its header, its data rows, its columns."""

    sheet: Sheet
    #: The sheet's rows with merged values filled in (`sheet.rows` keeps each cell's own).
    rows: list[list[object]]
    #: The last header row; the data start below it and stop before `end` (0-based).
    header_row: int
    end: int
    matched: dict[int, Column]
    #: Top-left cell of each merge → the merge (section rows are told by them).
    starts: dict = field(default_factory=dict)
    #: The legacy encoding (TCVN3, VNI) the header is typed in: the sheet's font.
    legacy: object = None

    def data_rows(self):
        """(index, own cells, cells with merges filled) of each row below the header that
        holds something of its own in a known column and is not a section title."""
        for index in range(self.header_row + 1, self.end):
            own = self.sheet.rows[index]
            if not any(col < len(own) and not is_empty(own[col]) for col in self.matched):
                continue
            cells = self.rows[index]
            if section_row(own, cells, index, self.starts):
                continue
            yield index, own, cells


class Reading:
    """Finding the header row and the columns, and converting every cell (`Importer`)."""

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

    def locate(self, sheets: list[Sheet], report: ImportReport) -> Table | None:
        """Find the sheet and the header (one to `MAX_HEADER_ROWS` rows) naming the most
        columns, map sheet columns to resource columns and find where the list ends;
        refuse a column holding values under no header."""
        index = self.header_index()
        keys: dict[str, str] = {}  # label → header key, for the labels seen again and again
        best = None
        for sheet in sheets:
            cells = HeaderCells(sheet, HEADER_SCAN_ROWS + MAX_HEADER_ROWS)
            for top in range(min(len(sheet.rows), HEADER_SCAN_ROWS)):
                for height, labels in enumerate(cells.blocks(top, MAX_HEADER_ROWS), start=1):
                    matched = match_labels(labels, index, keys)
                    score = len({column.attribute for column in matched.values()})
                    # The header naming the most columns; of those, the first, with its
                    # sub-header rows (a data row under a header names fewer columns).
                    rank = (score, -top, height)
                    if best is None or rank > best[0]:
                        last = top + height - 1
                        best = (rank, sheet, last, labels, matched, cells.encoding(top, last))
            if best is not None and best[1] is sheet:
                best = ((best[0][0], 1, 0), *best[1:])  # a later sheet must name more
        required = [column for column in self.columns if column.required]
        if best is None or best[0][0] < min(2, len(required) or 1):
            report.file_errors.append(
                _(
                    "No header row found. The first rows of the sheet must include the column "
                    "headers: %(headers)s. Download the template to see them."
                )
                % {"headers": ", ".join(str(column.column_name) for column in self.columns)}
            )
            return None
        _rank, sheet, header_row, labels, matched, legacy = best
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
        self.warn_unknown(labels, matched, report)
        table = Table(
            sheet=sheet,
            rows=fill_merges(sheet),
            header_row=header_row,
            end=len(sheet.rows),
            matched=matched,
            starts=merge_starts(sheet),
            legacy=legacy,
        )
        end = list_end(sheet.rows, header_row + 1)
        if end is not None:
            table.end = end.row
            self.warn_end(end, report)
        self.refuse_unheaded(table, labels, report)
        return table

    def warn_unknown(self, labels, matched, report: ImportReport) -> None:
        unknown = [
            lowest
            for col, (lowest, _joined) in enumerate(labels)
            if lowest and col not in matched and header_key(lowest) not in IGNORED_HEADERS
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

    def warn_end(self, end: ListEnd, report: ImportReport) -> None:
        if end.signature:
            message = ngettext(
                "The list ends at row %(row)d, where the recipients and signature block "
                "begins; the %(count)d row from there on was not read.",
                "The list ends at row %(row)d, where the recipients and signature block "
                "begins; the %(count)d rows from there on were not read.",
                end.ignored,
            )
        else:
            message = ngettext(
                "The list ends at row %(row)d, before %(empty)d or more empty rows; the "
                "%(count)d row with content below them was not read.",
                "The list ends at row %(row)d, before %(empty)d or more empty rows; the "
                "%(count)d rows with content below them were not read.",
                end.ignored,
            )
        report.warnings.append(
            message % {"row": end.row + 1, "count": end.ignored, "empty": EMPTY_ROWS_END}
        )

    def refuse_unheaded(self, table: Table, labels, report: ImportReport) -> None:
        """Values in a column with no header would be lost without a word: an error."""
        headed = {col for col, (lowest, _joined) in enumerate(labels) if lowest}
        width = max((len(row) for row in table.sheet.rows), default=0)
        unheaded = [col for col in range(width) if col not in headed]
        found = defaultdict(list)
        for index in range(table.header_row + 1, table.end) if unheaded else ():
            own = table.sheet.rows[index]
            cols = [col for col in unheaded if col < len(own) and not is_empty(own[col])]
            if not cols or section_row(own, table.rows[index], index, table.starts):
                continue
            for col in cols:
                if len(found[col]) <= ROWS_LISTED:
                    found[col].append(index + 1)
        for col, rows in sorted(found.items()):
            listed = ", ".join(str(row) for row in rows[:ROWS_LISTED])
            if len(rows) > ROWS_LISTED:
                listed += ", …"
            report.file_errors.append(
                _(
                    "Column %(letter)s holds values (rows %(rows)s) but has no header, so they "
                    "would be lost. Give the column its header (as in the template), or "
                    "delete the column, and upload the file again."
                )
                % {"letter": column_letter(col), "rows": listed}
            )

    # -- reading rows ---------------------------------------------------------------------

    def expect_names(self, table: Table, order, legacy: dict) -> None:
        """The names of each reference column, before any is resolved: the records the file
        names are read, not a whole table (`ImportLookups.expect`)."""
        rows = table.rows[table.header_row + 1 : table.end]
        for col, column in order:
            self.lookups.expect_column(column.widget, rows, col, legacy.get(col))

    def parse_rows(self, table: Table) -> list:
        """Convert every cell; rows with cell errors keep them in their outcome."""
        sheet, header_row, matched = table.sheet, table.header_row, table.matched
        # References are resolved after the columns that narrow them (a person by the unit).
        # A read-only column (computed by the system) is recognised, never read.
        readable = [(col, column) for col, column in matched.items() if not column.readonly]
        order = sorted(readable, key=lambda item: resolve_order(item[1]))
        rows = []
        total = table.end - header_row - 1
        file_names = self.names_in_file(table)
        legacy = self.legacy_columns(table)
        self.expect_names(table, order, legacy)
        markers = example_markers()
        converters = {
            col: ColumnCells(column, self.lookups, legacy.get(col)) for col, column in order
        }
        for index, _own, cells in table.data_rows():
            if (index - header_row) % PROGRESS_EVERY == 0:
                self.tell("reading", index - header_row, total)
            outcome = RowOutcome(row=index + 1, status=NEW)
            example = self.template_example_column(cells, matched, markers)
            if example is not None:
                message = _(
                    "This is the example row of the template: delete it, then upload the "
                    "file again."
                )
                outcome.problems.append(Problem(message, index + 1, str(example.column_name)))
                rows.append(ParsedRow(index=index, values={}, outcome=outcome))
                continue
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
                    value = converters[col].clean(raw, values, outcome.notes)
                except CellError as error:
                    if self.is_self_reference(column) and self.self_key(raw) in file_names:
                        pending[column.attribute] = self.self_key(raw)
                        continue
                    outcome.problems.append(
                        Problem(
                            str(error),
                            index + 1,
                            str(column.column_name),
                            shorten(shown(raw), SHOWN_VALUE),
                        )
                    )
                    continue
                if column.required and (value is None or value in ("", ())):
                    outcome.problems.append(
                        Problem(_("Required, but empty."), index + 1, str(column.column_name))
                    )
                    continue
                values[column.attribute] = value
            rows.append(ParsedRow(index=index, values=values, outcome=outcome, pending=pending))
        self.tell("reading", total, total)
        return rows

    def template_example_column(self, cells: list, matched: dict[int, Column], markers):
        """The record number column when the row is the template's example row, left in:
        that cell holds the template's marker (`EXAMPLE_MARKER`); else None."""
        for col, column in matched.items():
            if column.attribute == "id" and col < len(cells) and isinstance(cells[col], str):
                return column if header_key(cells[col]) in markers else None
        return None

    def legacy_columns(self, table: Table) -> dict:
        """Columns typed in a legacy encoding, judged on the whole column (text, names and
        choices alike: the font was the sheet's).

        One short cell ("Hïng") rarely says enough; a column of them does. A column mixing
        Unicode and legacy text is left to the cell-by-cell check.
        """
        found = {}
        first = table.header_row + 1
        sample_rows = table.rows[first : min(first + LEGACY_SAMPLE_ROWS, table.end)]
        for col in table.matched:
            sample = [
                row[col] for row in sample_rows if col < len(row) and isinstance(row[col], str)
            ]
            text = " ".join(sample)
            encoding = detect_legacy(text) if sample else None
            if encoding is None and table.legacy is not None:
                # The header is in a legacy font, so the sheet is: short or plain columns
                # (“01/CTPH-§H-2022”, “Cã”) convert when they read better for it.
                encoding = table.legacy if reads_better_in(text, table.legacy) else None
            widget = table.matched[col].widget
            if encoding is None and table.legacy is not None and widget.takes_sheet_font:
                encoding = table.legacy  # tried only when the cell is no word as it is
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

    def names_in_file(self, table: Table) -> set[str]:
        attribute = self.self_named_by
        if attribute is None:
            return set()
        cols = [col for col, column in table.matched.items() if column.attribute == attribute]
        return {
            self.self_key(row[cols[0]])
            for row in table.rows[table.header_row + 1 : table.end]
            if cols and cols[0] < len(row) and not is_empty(row[cols[0]])
        }


def example_markers() -> set[str]:
    """The marker as compared, in Vietnamese and in English."""
    with translation.override("en"):
        english = header_key(str(EXAMPLE_MARKER))
    return {header_key(str(EXAMPLE_MARKER)), english}


def match_labels(labels: list[tuple[str | None, str]], index: dict, keys: dict) -> dict:
    """Sheet column → resource column, by each column's lowest label or, failing that, its
    labels joined top-down. A column with no label of its own (under a label merged across
    others) names nothing."""
    matched = {}
    for col, (lowest, joined) in enumerate(labels):
        if lowest is None:
            continue
        for label in (lowest, joined):
            if label not in keys:
                keys[label] = header_key(label)
        column = index.get(keys[lowest]) or index.get(keys[joined])
        if column is not None:
            matched[col] = column
    return matched
