"""Reading a CSV file: decoding (UTF-8 or Windows-1258), refusing what is no CSV, detecting
the delimiter, and parsing within the row and cell limits."""

import csv
import io
import unicodedata

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.errors import (
    _CHUNK,
    MAX_COLUMNS,
    SpreadsheetError,
    _error,
    _not_a_spreadsheet,
    _row_span_limit,
    _sheet_too_large,
    too_many_rows,
)
from coordination.spreadsheets.sheets import _pad

_UTF8_BOM = b"\xef\xbb\xbf"
_CONTROL_BYTES = (*range(1, 9), 11, 12, *range(14, 32), 127)
# Files people upload by mistake: PDF, images, archives, RTF, old Word/Excel HTML exports.
_BINARY_MAGICS = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",
    b"{\\rtf",
)
_MARKUP_STARTS = ("<html", "<!doctype", "<?xml", "<table", "<head", "<body")


def _base_name(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def _decode_text(data: bytes) -> str:
    """Decode CSV bytes as UTF-8, or as Vietnamese Windows (cp1258), in NFC."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _utf16()
    head = data[:4096]
    if head.startswith(_BINARY_MAGICS):
        raise _not_a_spreadsheet()
    zeros = head.count(0)
    if zeros >= 8 and zeros > len(head) // 10:
        # UTF-16 text has its zero bytes all at even or all at odd positions.
        even = head[0::2].count(0)
        if max(even, zeros - even) > zeros * 0.9:
            raise _utf16()
        raise _not_a_spreadsheet()
    # A few control characters are cell text for the engine to clean; many are a binary file.
    controls = zeros + sum(head.count(byte) for byte in _CONTROL_BYTES)
    binary = controls >= 8 and controls > len(head) // 20
    if binary:
        raise _not_a_spreadsheet()
    if data.startswith(_UTF8_BOM):
        try:
            text = data[len(_UTF8_BOM) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8() from exc
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1258")
            except UnicodeDecodeError as exc:
                raise _not_utf8() from exc
    if text[:1024].lstrip().lower().startswith(_MARKUP_STARTS):
        raise _not_a_spreadsheet()
    # cp1258 writes tone marks as combining characters; stored text is NFC everywhere.
    return unicodedata.normalize("NFC", text)


def _utf16() -> SpreadsheetError:
    return _error(
        _(
            "The file is saved as Unicode (UTF-16) text. In Excel use Save As → “CSV UTF-8 "
            "(Comma delimited)”."
        ),
        "utf16",
    )


def _not_utf8() -> SpreadsheetError:
    return _error(
        _("The file is not UTF-8 text; in Excel use Save As → “CSV UTF-8 (Comma delimited)”."),
        "not_utf8",
    )


def _detect_delimiter(text: str) -> str:
    """Pick "," or ";" from the first lines, counting only outside quotes."""
    candidates = (",", ";", "\t", "|")
    lines: list[dict[str, int]] = []
    counts = dict.fromkeys(candidates, 0)
    quoted = False
    for char in text[:_CHUNK]:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in counts:
            counts[char] += 1
        elif char in "\r\n" and any(counts.values()):
            lines.append(counts)
            if len(lines) == 20:
                break
            counts = dict.fromkeys(candidates, 0)
    if any(counts.values()) and len(lines) < 20:
        lines.append(counts)
    if not lines:
        return ","

    def score(candidate):
        per_line = [line[candidate] for line in lines]
        # The real separator appears the same number of times on every line.
        return (len(set(per_line)) == 1 and per_line[0] > 0, sum(per_line))

    best = max(candidates, key=score)
    if score(best)[1] == 0:
        return ","
    if best == "\t":
        raise _error(
            _(
                "The file is separated by tabs (tab-delimited text). In Excel use Save As → "
                "“CSV UTF-8 (Comma delimited)”."
            ),
            "tab_delimited",
        )
    if best not in (",", ";"):
        raise _error(
            _(
                "The columns of the file are not separated by commas or semicolons. In Excel use "
                "Save As → “CSV UTF-8 (Comma delimited)”."
            ),
            "unknown_delimiter",
        )
    return best


def _parse_csv(
    data: bytes, *, max_rows: int, max_cells: int, name: str
) -> tuple[list[list[object]], str]:
    text = _decode_text(data)
    delimiter = _detect_delimiter(text)
    # Strict, so that a quote left open fails instead of swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[object]] = []
    nonempty = 0
    pending_blank = 0
    width = 0
    try:
        for record in reader:
            if len(record) > MAX_COLUMNS:
                raise _sheet_too_large(_base_name(name), reader.line_num, len(record))
            row = [cell if cell else None for cell in record]
            while row and row[-1] is None:
                row.pop()
            if not row:
                pending_blank += 1
                continue
            nonempty += 1
            if nonempty > max_rows:
                continue  # keep counting, so that the message gives the real number
            rows.extend([] for _ in range(pending_blank))
            pending_blank = 0
            rows.append(row)
            width = max(width, len(row))
            if len(rows) * width > max_cells or len(rows) > _row_span_limit(max_rows):
                raise _sheet_too_large(_base_name(name), len(rows), width)
    except csv.Error as exc:
        raise _error(
            _(
                "The CSV file could not be read near line %(line)s: a cell may be missing its "
                "closing quote or be too long. Open the file in Excel and save it again as "
                "“CSV UTF-8 (Comma delimited)”."
            ),
            "malformed_csv",
            line=reader.line_num,
        ) from exc
    if nonempty > max_rows:
        raise too_many_rows(_base_name(name), nonempty, max_rows)
    return _pad(rows), delimiter
