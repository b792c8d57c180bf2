"""python-calamine, called once a file's checks have passed: its errors and panics become the
refusal naming the format, and its values become `Sheet` rows the same way for every format.

The checks a reader makes before calling calamine end in one scan per sheet, in the workbook's
order, with the farthest cell calamine keeps (`bottom`, `right`, 0-based, -1 when empty), the
rows with content and the formula cells without a value; an .ods scan also has its merged
ranges, which calamine does not report for that format.
"""

import datetime
import io
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Protocol

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.errors import (
    MAX_COLUMNS,
    SpreadsheetError,
    _error,
    _row_span_limit,
    _sheet_too_large,
    _unreadable,
    too_many_rows,
)
from coordination.spreadsheets.sheets import Sheet, _pad


class SheetScan(Protocol):
    name: str
    bottom: int
    right: int
    nonempty_rows: int
    formula_without_value: set[tuple[int, int]]
    merged: list[tuple[int, int, int, int]] | None


@contextmanager
def refusing_failures(unreadable: Callable[[], SpreadsheetError]):
    """calamine's errors, and its Rust panics (pyo3's PanicException, a BaseException), as
    the refusal of an unreadable file."""
    try:
        yield
    except SpreadsheetError:
        raise
    except Exception as exc:
        raise unreadable() from exc
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise unreadable() from exc


def check_extents(scans: Sequence[SheetScan], *, max_cells: int) -> None:
    """calamine reads every sheet of an .ods or .xls, hidden ones too, when it opens the file:
    together they must stay within the cells it may allocate."""
    cells = 0
    for scan in scans:
        if scan.bottom >= 0:
            height, width = scan.bottom + 1, scan.right + 1
            cells += height * width
            if cells > max_cells or width > MAX_COLUMNS:
                raise _sheet_too_large(scan.name, height, width)


def read_with_calamine(
    data: bytes, fmt: str, scans: Sequence[SheetScan], *, max_rows: int
) -> list[Sheet]:
    """The visible worksheets of an .ods or .xls whose scans passed `check_extents`."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    def unreadable():
        return _unreadable(fmt)

    with refusing_failures(unreadable):
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    with workbook:
        metadata = workbook.sheets_metadata
        names = [meta.name for meta in metadata]
        # The scans are matched to calamine's sheets by position; calamine keeps one of two
        # sheets of the same name.
        if len(metadata) != len(scans) or len(set(names)) != len(names):
            raise unreadable()
        visible = [
            (meta.name, scan)
            for meta, scan in zip(metadata, scans, strict=True)
            if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet
        ]
        if not visible:
            raise _no_visible_sheet(fmt)
        for name, scan in visible:
            if scan.nonempty_rows > max_rows:
                raise too_many_rows(name, scan.nonempty_rows, max_rows)
            if scan.bottom >= 0 and scan.bottom + 1 > _row_span_limit(max_rows):
                raise _sheet_too_large(name, scan.bottom + 1, scan.right + 1)
        return [
            calamine_sheet(
                workbook,
                name,
                scan.formula_without_value,
                max_rows=max_rows,
                unreadable=unreadable,
                merged=scan.merged,
                extent=(scan.bottom, scan.right),
            )
            for name, scan in visible
        ]


def _no_visible_sheet(fmt: str) -> SpreadsheetError:
    if fmt == "ods":
        message = _(
            "The spreadsheet has no visible sheet. In LibreOffice Calc, right-click a sheet "
            "tab, choose “Show Sheet…”, show the sheet with the list and save again."
        )
    else:
        message = _(
            "The workbook has no visible sheet. In Excel, right-click a sheet tab, "
            "choose “Unhide…”, show the sheet with the list and save again."
        )
    return _error(message, "no_visible_sheet")


def calamine_sheet(
    workbook,
    name: str,
    formula_without_value: set[tuple[int, int]],
    *,
    max_rows: int,
    unreadable: Callable[[], SpreadsheetError],
    merged: list[tuple[int, int, int, int]] | None = None,
    extent: tuple[int, int] | None = None,
) -> Sheet:
    """One sheet's rows; its merged ranges from calamine unless the reader found them."""
    with refusing_failures(unreadable):
        sheet = workbook.get_sheet_by_name(name)
        if merged is None:
            merged = [
                (top, left, bottom, right)
                for (top, left), (bottom, right) in sheet.merged_cell_ranges or []
            ]
        end = sheet.end
        # A cell calamine placed beyond the scan's extent: the checks measured another file.
        if extent is not None and end is not None and (end[0] > extent[0] or end[1] > extent[1]):
            raise unreadable()
        rows, nonempty = _collect_rows(sheet)
    if nonempty > max_rows:
        raise too_many_rows(name, nonempty, max_rows)
    # A formula without a value at the end of a row still gets a cell to point at.
    width = max((col + 1 for row, col in formula_without_value if row < len(rows)), default=0)
    if rows and width > len(rows[0]):
        for row in rows:
            row.extend([None] * (width - len(row)))
    return Sheet(
        name=name, rows=rows, merged=merged, formula_without_value=set(formula_without_value)
    )


def _collect_rows(sheet) -> tuple[list[list[object]], int]:
    """Rows from the top of the sheet with calamine's values converted, trailing blanks dropped."""
    rows: list[list[object]] = []
    if sheet.start is None:
        return rows, 0
    (first_row, first_col), (last_row, _last_col) = sheet.start, sheet.end
    left_pad = [None] * first_col  # calamine starts each row at the first used column
    nonempty = 0
    pending_blank = 0
    yielded = 0
    for raw in sheet.iter_rows():
        yielded += 1
        cells = [
            None if value == "" else _calamine_value(value) if type(value) in _CONVERTED else value
            for value in raw
        ]
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            pending_blank += 1
            continue
        rows.extend([] for _ in range(pending_blank))
        pending_blank = 0
        rows.append(left_pad + cells if first_col else cells)
        nonempty += 1
    # calamine 0.9 yields rows from row 1; should a later version start at the first used
    # row instead, put the rows back where they are in the sheet.
    if first_row and yielded == last_row - first_row + 1:
        rows[:0] = [[] for _ in range(first_row)]
    return _pad(rows), nonempty


_CONVERTED = frozenset({float, datetime.time, datetime.timedelta})


def _calamine_value(value):
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is datetime.time:
        # The engine gets the text Excel shows; a time of day on its own is not a date.
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if kind is datetime.timedelta:
        minutes, seconds = divmod(int(value.total_seconds()), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return value
