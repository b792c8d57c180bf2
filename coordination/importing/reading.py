"""Reading a sheet: the header row under any titles, the columns, every cell converted."""

from collections import defaultdict

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coordination import kinds
from coordination.importing.report import (
    NEW,
    ImportReport,
    ParsedRow,
    Problem,
    RowOutcome,
    shown,
)
from coordination.legacy_text import detect_legacy
from coordination.resources import EXAMPLE_MARKER, Column
from coordination.spreadsheets import (
    Sheet,
    column_letter,
)
from coordination.text import clean_text, fold
from coordination.widgets import (
    CellError,
    PersonWidget,
    TextWidget,
    is_empty,
    shorten,
)

HEADER_SCAN_ROWS = 30
#: No header is longer; longer cells of the first rows are titles or data.
MAX_HEADER_LENGTH = 200
LEGACY_SAMPLE_ROWS = 200
IGNORED_HEADERS = {"stt", "tt", "sott", "so", "sothutu"}
PROGRESS_EVERY = 500
#: A problem's cell value is shown up to this length.
SHOWN_VALUE = 200
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
        markers = example_markers()
        for index in range(header_row + 1, len(sheet.rows)):
            cells = sheet.rows[index]
            if self.progress and (index - header_row) % PROGRESS_EVERY == 0:
                self.progress(index - header_row, total)
            if is_blank_or_section(cells, matched):
                continue
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
                            shorten(shown(raw), SHOWN_VALUE),
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

    def template_example_column(self, cells: list, matched: dict[int, Column], markers):
        """The record number column when the row is the template's example row, left in:
        that cell holds the template's marker (`EXAMPLE_MARKER`); else None."""
        for col, column in matched.items():
            if column.attribute == "id" and col < len(cells) and isinstance(cells[col], str):
                return column if header_key(cells[col]) in markers else None
        return None

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


def _resolve_order(column: Column) -> int:
    widget = column.widget.inner if column.is_many else column.widget
    return 1 if isinstance(widget, PersonWidget) else 0


def example_markers() -> set[str]:
    """The marker as compared, in Vietnamese and in English."""
    with translation.override("en"):
        english = header_key(str(EXAMPLE_MARKER))
    return {header_key(str(EXAMPLE_MARKER)), english}


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
