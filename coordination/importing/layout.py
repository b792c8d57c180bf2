"""Where the list is in an office sheet: merged cells, the header block, the end of the list.

Offices keep their lists the way they print them: a title above, a header of one to three
rows (a label merged across its sub-labels), a unit's cell merged down over that unit's rows,
and the recipients and signature block (*Nơi nhận*, *TM. ỦY BAN NHÂN DÂN*, *(Đã ký)*) under
the list. This module reads that layout; `Reading` (reading.py) then reads the cells.

- `fill_merges()`: a merged cell means its value for every cell of the merge.
- `header_labels()`: the label of each column of a header block, by its lowest label.
- `list_end()`: where the list stops (a signature block or a long run of empty rows).
- `section_row()`: a title row inside the list ("I. Khối chính quyền", a merged band).
"""

import re
from dataclasses import dataclass

from coordination.legacy_text import convert_legacy, detect_legacy
from coordination.spreadsheets import Sheet
from coordination.text import clean_text, fold
from coordination.widgets import is_empty

#: No header is longer; longer cells of the first rows are titles or data.
MAX_HEADER_LENGTH = 200
#: A header has at most this many rows (a label, its sub-labels, and their sub-labels).
MAX_HEADER_ROWS = 3
#: After this many empty rows in a row the list has ended; anything further down is a note.
EMPTY_ROWS_END = 10
#: A signature block's rows hold few cells; a row with more is a data row whatever it says.
SIGNATURE_ROW_CELLS = 2

# The first words of the recipients and signature block, compared folded (no diacritics,
# lower case): "Nơi nhận:", "TM. ỦY BAN NHÂN DÂN" (or "T/M"), "KT. CHỦ TỊCH", "TL. CHỦ TỊCH",
# "TUQ. CHỦ TỊCH", "Q. CHỦ TỊCH", "(Đã ký)", "(Ký, ghi rõ họ tên)", "Người lập biểu",
# "XÁC NHẬN CỦA ...", and the place and date line "Hàm Tân, ngày 10 tháng 12 năm 2024".
SIGNATURE_MARKERS = re.compile(
    r"^(?:noi nhan\b"
    r"|(?:tm|kt|tl|tuq|ttl|q)\s*[.:]\s*\S"
    r"|(?:t/m|k/t|t/l)\b"
    r"|\(\s*(?:da ky|ky\b|ky ten|ky,)"
    r"|nguoi lap(?: bieu)?\b"
    r"|xac nhan cua\b"
    r"|thu truong (?:don vi|co quan)\b"
    r"|.{0,60}\bngay\W*(?:\d{1,2}|\W*)\W+thang\W*(?:\d{1,2}|\W*)\W+nam\W*(?:\d{4}|\W*)\s*$)"
)

# A total row under a list or a section: “Tổng cộng”, “Cộng: 12 kiến nghị”, “TỔNG SỐ”.
TOTAL_ROW = re.compile(r"^(?:tong cong|tong so|cong|tong)\s*(?:$|[:(])")

SECTION_MARKERS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "A", "B", "C", "D")


@dataclass(frozen=True)
class ListEnd:
    """Where the list ends: the first row after it (0-based) and why."""

    row: int
    signature: bool
    #: Rows holding something below the end, which are not read.
    ignored: int


def fill_merges(sheet: Sheet) -> list[list[object]]:
    """The sheet's rows with each merged range's value in every cell of the range.

    Only the rows a merge touches are copied; the sheet's own rows keep what each cell
    holds itself (blank rows and stray values are judged on those). Ranges are clipped to
    the cells read; overlapping ranges, which no spreadsheet program writes, fill at most
    every cell once over.
    """
    rows = sheet.rows
    if not sheet.merged or not rows:
        return rows
    filled = list(rows)
    copied: set[int] = set()
    width = max(len(row) for row in rows)
    budget = len(rows) * width
    for top, left, bottom, right in sheet.merged:
        if top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        if is_empty(value):
            continue
        bottom, right = min(bottom, len(rows) - 1), min(right, width - 1)
        budget -= (bottom - top + 1) * (right - left + 1)
        if budget < 0:
            break
        for index in range(top, bottom + 1):
            if index not in copied:
                row = filled[index] = list(rows[index])
                copied.add(index)
                if len(row) < right + 1:
                    row.extend([None] * (right + 1 - len(row)))
            row = filled[index]
            for col in range(left, right + 1):
                row[col] = value
    return filled


def merge_starts(sheet: Sheet) -> dict[tuple[int, int], tuple]:
    """The top-left cell of each merged range → the range."""
    return {(merge[0], merge[1]): merge for merge in sheet.merged}


def merge_anchors(sheet: Sheet, first: int, last: int) -> dict[tuple[int, int], tuple]:
    """Cells of rows `first`..`last` covered by a merge, not its top-left cell: → the range."""
    covered = {}
    for merge in sheet.merged:
        top, left, bottom, right = merge
        if bottom < first or top > last:
            continue
        for row in range(max(top, first), min(bottom, last) + 1):
            for col in range(left, right + 1):
                if (row, col) != (top, left):
                    covered[(row, col)] = merge
    return covered


def header_text(cell, encoding) -> str | None:
    """A header cell's text, converted from a legacy encoding found in its row; None for
    an empty cell or a paragraph (no header is that long)."""
    if is_empty(cell):
        return None
    text = str(cell)
    if len(text) > MAX_HEADER_LENGTH:
        return None
    if encoding is not None and isinstance(cell, str):
        text = convert_legacy(text, encoding)
    return clean_text(text) or None


def row_encoding(row: list) -> object:
    """The legacy encoding (TCVN3, VNI) a row of labels is typed in, or None."""
    text = " ".join(cell for cell in row if isinstance(cell, str))
    return detect_legacy(text) if text else None


class HeaderCells:
    """The first rows of a sheet as header labels, read once: each cell's text (legacy
    text converted row by row), and which cells a merge covers."""

    def __init__(self, sheet: Sheet, rows: int):
        self.sheet = sheet
        self.encodings = [row_encoding(row) for row in sheet.rows[:rows]]
        self.texts = [
            [header_text(cell, encoding) for cell in row]
            for row, encoding in zip(sheet.rows[:rows], self.encodings, strict=True)
        ]
        self.covered = merge_anchors(sheet, 0, len(self.texts) - 1)

    def encoding(self, top: int, bottom: int):
        """The legacy encoding the header rows `top`..`bottom` are typed in, if any: the
        font of the whole sheet."""
        return next((e for e in self.encodings[top : bottom + 1] if e is not None), None)

    def text(self, row: int, col: int) -> str | None:
        line = self.texts[row] if row < len(self.texts) else []
        return line[col] if col < len(line) else None

    def blocks(self, top: int, heights: int):
        """For header rows `top`..`top + h - 1`, h = 1..`heights`: each column's lowest label
        (a label merged down counts in every row it covers; one merged across heads the
        columns under it but names only the first) and its labels top-down joined (“Đơn
        vị” over “chủ trì”), as (lowest, joined) per column."""
        lowest: list[str | None] = []
        parts: list[list[str]] = []
        for row in range(top, min(top + heights, len(self.texts))):
            width = len(self.texts[row])
            if width > len(lowest):
                lowest.extend([None] * (width - len(lowest)))
                parts.extend([] for _ in range(width - len(parts)))
            for col in range(len(lowest)):
                own, across = self.text(row, col), None
                merge = self.covered.get((row, col))
                if own is None and merge is not None:
                    if merge[1] == col:
                        own = self.text(merge[0], merge[1])  # merged down
                    else:
                        across = self.text(merge[0], merge[1])  # merged across
                if own is not None:
                    lowest[col] = own
                for text in (across, own):
                    if text and text not in parts[col]:
                        parts[col].append(text)
            yield [(low, " ".join(joined)) for low, joined in zip(lowest, parts, strict=True)]


def section_row(own: list, filled: list, index: int, starts: dict) -> bool:
    """A title row within the list: “I. Khối chính quyền” or a total (“Tổng cộng: 12”)
    alone, or one value merged across
    (every filled cell of the row comes from that one merge; `starts` from
    `merge_starts()`)."""
    values = [(col, cell) for col, cell in enumerate(own) if not is_empty(cell)]
    if values and total_row([cell for _col, cell in values]):
        return True
    if len(values) != 1:
        return False
    col, cell = values[0]
    merge = starts.get((index, col))
    if merge is not None and merge[3] > merge[1]:
        left, right = merge[1], merge[3]
        if all(left <= c <= right for c, v in enumerate(filled) if not is_empty(v)):
            return True
    text = clean_text(str(cell))
    marker = text.split(" ", 1)[0].rstrip(".)/:-")
    return marker.upper() in SECTION_MARKERS and text[len(marker) : len(marker) + 1] in ".)/:-"


def total_row(values: list) -> bool:
    """“Tổng cộng” (or “Cộng:”, “Tổng số”) followed by nothing but numbers."""
    first, rest = values[0], values[1:]
    return (
        isinstance(first, str)
        and all(isinstance(value, int | float) for value in rest)
        and TOTAL_ROW.match(fold(clean_text(first))) is not None
    )


def signature_row(own: list) -> bool:
    """The first row of a recipients or signature block."""
    values = [cell for cell in own if not is_empty(cell)]
    if not values or len(values) > SIGNATURE_ROW_CELLS:
        return False
    encoding = row_encoding(own)
    for cell in values:
        if not isinstance(cell, str):
            continue
        text = convert_legacy(cell, encoding) if encoding is not None else cell
        if SIGNATURE_MARKERS.match(" ".join(fold(text).split())):
            return True
    return False


def list_end(rows: list[list], start: int) -> ListEnd | None:
    """Where the list that starts at row `start` ends, when something follows it that is
    not the list: a signature block, or anything after `EMPTY_ROWS_END` empty rows."""
    empty_run = 0
    for index in range(start, len(rows)):
        row = rows[index]
        if not any(not is_empty(cell) for cell in row):
            empty_run += 1
            continue
        if empty_run >= EMPTY_ROWS_END and index - empty_run > start:
            return ListEnd(index - empty_run, False, _nonempty(rows, index))
        empty_run = 0
        if signature_row(row):
            return ListEnd(index, True, _nonempty(rows, index))
    return None


def _nonempty(rows: list[list], start: int) -> int:
    return sum(1 for row in rows[start:] if any(not is_empty(cell) for cell in row))
