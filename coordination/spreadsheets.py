"""The file layer of imports and exports: read uploaded workbooks and CSV files, write exports.

Pure functions over bytes and streams, with no database access: the import engine decides
what the rows mean. Everything a unit uploads is untrusted, so reading checks sizes, zip and XML
bombs and the sheet's real extent before python-calamine parses anything, and every refusal is
a `SpreadsheetError` whose message tells the user what to do in Excel.
"""

import csv
import datetime
import io
import json
import math
import re
import struct
import unicodedata
import warnings
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Characters that make Excel or LibreOffice read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
# Also escaped: XML turns a carriage return into a line feed, so an exported "'\r=1" comes
# back from an .xlsx as "'\n=1", and the apostrophe must still come off on re-import.
_ESCAPED_STARTS = FORMULA_TRIGGERS | {"\n"}
# Where a spreadsheet program may begin a cell inside one CSV field: at its start, and after
# each character some program splits fields or lines at ("," or ";" as the list separator,
# Excel's on a Vietnamese Windows being ";", a tab, a line break), spaces skipped as programs
# that trim cells would. `_PART` finds the parts starting with apostrophes and a trigger.
_PART_START = r"(^|[,;\t\r\n])([^\S\t\r\n]*)"
_PART_TRIGGER = r"'*[=+\-@\t\r\n]"
_PART = re.compile(_PART_START + rf"(?={_PART_TRIGGER})")
_ESCAPED_PART = re.compile(_PART_START + rf"'(?={_PART_TRIGGER})")
# A quick test for a part after a separator that `_PART` may have to escape.
_RISKY_PART = re.compile(r"[,;\t\r\n][^\S\t\r\n]*['=+\-@\t\r\n]")

MB = 1024 * 1024
# A zip member that inflates more than this many times over is a zip bomb, not a spreadsheet;
# real worksheets compress about 10:1 and deflate cannot go beyond about 1032:1.
MAX_COMPRESSION_RATIO = 1000
RATIO_CHECK_MIN_BYTES = 1 * MB
MAX_ZIP_MEMBERS = 10_000
# calamine allocates 32 bytes for every cell of the rectangle from A1 to the farthest cell
# holding a value (even an empty text), before Python sees a row; a cell at XFD1048576 would
# ask for 550 GB and abort the whole process. Four million cells is about 128 MB.
MAX_CELLS = 4_000_000
MAX_COLUMNS = 16_384
DEFAULT_MAX_UNPACKED_BYTES = 200 * MB

_CHUNK = 64 * 1024
# No markup token Excel writes (a tag with its attributes, a comment, a processing
# instruction) comes near this: the longest are attributes holding one cell's text (pivot
# caches), at most 32,767 characters, under 200 KB even with every character escaped.
MAX_XML_TOKEN = 1 * MB
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
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
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
# openpyxl refuses its illegal characters; lone surrogates and U+FFFE/U+FFFF cannot be
# encoded or are not XML either, and a crash in the middle of an export helps nobody.
_ILLEGAL_XML = re.compile(ILLEGAL_CHARACTERS_RE.pattern + r"|[\ud800-\udfff\ufffe\uffff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_DATE_FORMAT = "DD/MM/YYYY"
_DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
_ERROR_FILL_COLOUR = "FFC7CE"  # Excel's own "light red fill"
_ERROR_COLUMN_WIDTH = 60


class SpreadsheetError(Exception):
    """A file that cannot be read or written; `message` is the text to show the user."""

    def __init__(self, message, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class Sheet:
    """One visible sheet (or the CSV file) as raw cell values, rows and columns 0-based."""

    name: str
    rows: list[list[object]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    formula_without_value: set[tuple[int, int]] = field(default_factory=set)


def dump_sheets(sheets: list[Sheet]) -> bytes:
    """The sheets as JSON, to keep beside an upload: the confirmation of an import reads
    them back instead of parsing the file a second time. Dates are tagged objects."""

    def tagged(value):
        if isinstance(value, datetime.datetime):
            return {"dt": value.isoformat()}
        if isinstance(value, datetime.date):
            return {"d": value.isoformat()}
        raise TypeError(f"unexpected cell value {type(value).__name__}")

    payload = [
        {
            "name": sheet.name,
            "rows": sheet.rows,
            "merged": sheet.merged,
            "formula_without_value": sorted(sheet.formula_without_value),
        }
        for sheet in sheets
    ]
    return json.dumps(payload, default=tagged, ensure_ascii=False).encode()


def load_sheets(data: bytes) -> list[Sheet]:
    """The sheets `dump_sheets()` wrote, with their cell values as the reader gave them."""

    def untag(obj):
        if "dt" in obj:
            return datetime.datetime.fromisoformat(obj["dt"])
        if "d" in obj:
            return datetime.date.fromisoformat(obj["d"])
        return obj

    return [
        Sheet(
            name=sheet["name"],
            rows=sheet["rows"],
            merged=[tuple(cells) for cells in sheet["merged"]],
            formula_without_value={tuple(cell) for cell in sheet["formula_without_value"]},
        )
        for sheet in json.loads(data, object_hook=untag)
    ]


# --------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------


def _interpolate(message, params) -> str:
    # Numbers are formatted here, when the text is shown, in that language's number format.
    return str(message) % {
        key: value() if callable(value) else value for key, value in params.items()
    }


_lazy_percent = lazy(_interpolate, str)


def _error(message, code: str, **params) -> SpreadsheetError:
    # Formatting stays lazy so that the text follows the language active where it is shown.
    return SpreadsheetError(_lazy_percent(message, params) if params else message, code=code)


def _megabytes(size: int, *, round_up: bool = False):
    value = size / MB
    # Rounded up, a file one byte over a 10 MB limit shows as 10.1 MB rather than "10 MB".
    value = math.ceil(value * 10) / 10 if round_up else round(value, 1)
    return lambda: number_format(int(value) if value.is_integer() else value)


def _count(value: int):
    return lambda: number_format(value, force_grouping=True)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the letters Excel shows above a 0-based column."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _empty_file() -> SpreadsheetError:
    return _error(_("The file is empty (0 bytes). Choose the file again and upload it."), "empty")


def _not_a_spreadsheet() -> SpreadsheetError:
    return _error(
        _(
            "The file is neither an Excel workbook (.xlsx) nor a CSV file. Open it in Excel and "
            "save it as “Excel Workbook (.xlsx)” or “CSV UTF-8 (Comma delimited)”."
        ),
        "not_spreadsheet",
    )


def _bad_xlsx() -> SpreadsheetError:
    return _error(
        _(
            "The file could not be read as an Excel workbook (.xlsx). Save it again from Excel "
            "as “Excel Workbook (.xlsx)”."
        ),
        "bad_xlsx",
    )


def _zip_bomb(limit: int) -> SpreadsheetError:
    return _error(
        _(
            "The file is too large when decompressed (over %(limit)s MB). Delete unused sheets, "
            "pictures and formatting, or split the list into several files."
        ),
        "zip_bomb",
        limit=_megabytes(limit),
    )


def too_many_rows(sheet: str, count: int, limit: int) -> SpreadsheetError:
    """The error for a sheet with more data rows than the limit."""
    return _error(
        _(
            "Too many rows in sheet “%(sheet)s”: %(count)s (limit %(limit)s). Split the list "
            "into several files."
        ),
        "too_many_rows",
        sheet=sheet,
        count=_count(count),
        limit=_count(limit),
    )


def _sheet_too_large(sheet: str, rows: int, columns: int) -> SpreadsheetError:
    return _error(
        _(
            "Sheet “%(sheet)s” is too large: it has content down to row %(row)s and across to "
            "column %(column)s. Delete the unused rows below the list and the unused columns to "
            "its right, save and upload again."
        ),
        "sheet_too_large",
        sheet=sheet,
        row=_count(rows),
        column=column_letter(max(columns - 1, 0)),
    )


# --------------------------------------------------------------------------------------
# Formula escaping
# --------------------------------------------------------------------------------------


def escape_formula(value):
    """Prefix an apostrophe to text that a spreadsheet would run as a formula (OWASP).

    For cells that are never split (.xlsx): only the start of the text is a cell's start.
    """
    if not isinstance(value, str):
        return value
    # A part (the text's start, or after a separator) already starting with apostrophes
    # before a trigger gets one more, so that `unescape_formula` gives back exactly what was
    # exported; a part without apostrophes stays as it is, except at the start.
    if "'" in value:
        value = _ESCAPED_PART.sub(r"\1\2''", value)
    if value[:1] in _ESCAPED_STARTS:
        return "'" + value
    return value


def escape_csv_text(value):
    """`escape_formula` for a CSV field, which a program may split on "," ";" or a tab.

    Excel splits a CSV on the Windows list separator (";" on a Vietnamese Windows), and then
    "x;=1+1" is a cell "=1+1": every part of the text that starts (after spaces) with a
    trigger gets an apostrophe, whatever separator a program splits at.
    """
    if not isinstance(value, str):
        return value
    first = value[:1]
    if first in _ESCAPED_STARTS or first == "'" or first.isspace():
        return _PART.sub(r"\1\2'", value)
    # Most cells: one printable line without "," or ";", or no risky part after them.
    if value.isprintable() and "," not in value and ";" not in value:
        return value
    return _PART.sub(r"\1\2'", value) if _RISKY_PART.search(value) else value


def unescape_formula(text):
    """Remove the apostrophes the escapes added, so an export re-imports unchanged.

    One apostrophe comes off each part (see `escape_csv_text`) that starts with apostrophes
    before a trigger: both escapes add one to every such part.
    """
    if not isinstance(text, str) or "'" not in text:
        return text
    return _ESCAPED_PART.sub(r"\1\2", text)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def read_workbook(
    data: bytes,
    *,
    filename: str,
    max_bytes: int,
    max_rows: int,
    max_unpacked_bytes: int,
    max_cells: int = MAX_CELLS,
) -> list[Sheet]:
    """Read an uploaded .xlsx or CSV file into its visible sheets, or raise SpreadsheetError."""
    if not data:
        raise _empty_file()
    if len(data) > max_bytes:
        raise _error(
            _(
                "File too large: %(size)s MB (limit %(limit)s MB). Split the list into "
                "several files."
            ),
            "too_large",
            size=_megabytes(len(data), round_up=True),
            limit=_megabytes(max_bytes),
        )
    if data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _read_xlsx(
            data, max_rows=max_rows, max_unpacked_bytes=max_unpacked_bytes, max_cells=max_cells
        )
    if data.startswith(_OLE_MAGIC):
        # Excel 97-2003 files and password-protected .xlsx files are both OLE containers.
        raise _error(
            _(
                "This is an old Excel 97–2003 workbook (.xls) or a password-protected workbook. "
                "Open it in Excel, remove any password and save it as “Excel Workbook (.xlsx)” "
                "or “CSV UTF-8 (Comma delimited)”."
            ),
            "xls",
        )
    rows, _delimiter = _parse_csv(data, max_rows=max_rows, max_cells=max_cells, name=filename)
    return [Sheet(name=_base_name(filename), rows=rows)]


def _base_name(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


# XLSX --------------------------------------------------------------------------------


def _read_xlsx(
    data: bytes,
    *,
    max_rows: int,
    max_unpacked_bytes: int,
    max_cells: int,
    check_every_member: bool = False,
) -> list[Sheet]:
    archive = _open_zip(data, max_unpacked_bytes)
    paths = _worksheet_paths(data, archive)
    scans = _inspect_members(data, archive, paths, max_unpacked_bytes, check_every_member)

    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except CalamineError as exc:
        raise _bad_xlsx() from exc
    with workbook:
        visible = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet
        ]
        if not visible:
            raise _error(
                _(
                    "The workbook has no visible sheet. In Excel, right-click a sheet tab, "
                    "choose “Unhide…”, show the sheet with the list and save again."
                ),
                "no_visible_sheet",
            )
        cells = 0
        for name in visible:
            scan = scans.get(paths.get(name, ""))
            if scan is None:
                raise _bad_xlsx()
            if scan.nonempty_rows > max_rows:
                raise too_many_rows(name, scan.nonempty_rows, max_rows)
            if scan.bottom >= 0:
                height, width = scan.bottom + 1, scan.right + 1
                cells += height * width
                if cells > max_cells or width > MAX_COLUMNS or height > _row_span_limit(max_rows):
                    raise _sheet_too_large(name, height, width)
        return [_calamine_sheet(workbook, name, scans[paths[name]], max_rows) for name in visible]


def _row_span_limit(max_rows: int) -> int:
    # Blank rows between the data become lists too; a list is allowed as many blank rows as
    # it has data rows (title and spacing rows), not a stray note at row 1,000,000.
    return 2 * max_rows + 1000


def _open_zip(data: bytes, max_unpacked_bytes: int) -> zipfile.ZipFile:
    """Open the archive and refuse, from its directory alone, what cannot be a sane workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as exc:  # zipfile raises many types on a damaged directory
        raise _bad_xlsx() from exc
    names = [member.filename for member in members]
    # calamine must find, under the name this module resolves, the very member that was
    # checked: no second copy of a name, and no name that its zip reader would rewrite or
    # resolve differently (backslashes, "." and ".." segments, non-ASCII bytes).
    if (
        len(members) > MAX_ZIP_MEMBERS
        or len(set(names)) != len(names)
        or "xl/workbook.xml" not in names
        or not all(_is_plain_member_name(name) for name in names)
    ):
        raise _bad_xlsx()
    if sum(member.file_size for member in members) > max_unpacked_bytes:
        raise _zip_bomb(max_unpacked_bytes)
    for member in members:
        if (
            member.file_size > RATIO_CHECK_MIN_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise _zip_bomb(max_unpacked_bytes)
        if member.flag_bits & 0x1 or member.compress_type not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
        ):
            raise _bad_xlsx()
    return archive


def _is_plain_member_name(name: str) -> bool:
    parts = name.split("/")
    if name.endswith("/"):  # a folder entry
        parts.pop()
    return (
        name.isascii() and "\\" not in name and all(part not in ("", ".", "..") for part in parts)
    )


def _inflate(data: bytes, member: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield a member's bytes, checking its real size and CRC against the directory.

    zipfile stops at the declared size, but calamine's reader may not: a member that
    inflates beyond what the directory says would slip past the size pre-check.
    """
    try:
        signature, *_fields, name_length, extra_length = _LOCAL_HEADER.unpack_from(
            data, member.header_offset
        )
    except struct.error as exc:
        raise _bad_xlsx() from exc
    start = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    end = start + member.compress_size
    if signature != _ZIP_MAGIC or end > len(data):
        raise _bad_xlsx()
    view = memoryview(data)
    produced = 0
    crc = 0
    if member.compress_type == zipfile.ZIP_STORED:
        for offset in range(start, end, _CHUNK):
            chunk = bytes(view[offset : min(offset + _CHUNK, end)])
            produced += len(chunk)
            crc = zlib.crc32(chunk, crc)
            yield chunk
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        position = start
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    pending = inflater.unconsumed_tail
                elif position < end:
                    pending = view[position : min(position + _CHUNK, end)]
                    position += len(pending)
                else:
                    break
                chunk = inflater.decompress(pending, _CHUNK)
                produced += len(chunk)
                if produced > member.file_size:
                    raise _bad_xlsx()
                crc = zlib.crc32(chunk, crc)
                yield chunk
        except zlib.error as exc:
            raise _bad_xlsx() from exc
    if produced != member.file_size or crc != member.CRC:
        raise _bad_xlsx()


def _parse_member(data: bytes, archive: zipfile.ZipFile, name: str, start_element) -> None:
    """Stream one member (workbook.xml, its relationships) through expat; a missing member
    is an empty document, which expat refuses like any other broken one."""
    try:
        chunks = _inflate(data, archive.getinfo(name))
    except KeyError:
        chunks = iter(())
    parser = _new_parser()
    parser.StartElementHandler = start_element
    feed = _XmlFeed(parser)
    try:
        for chunk in chunks:
            feed.feed(chunk)
        feed.feed(b"", final=True)
    except xml.parsers.expat.ExpatError as exc:
        raise _bad_xlsx() from exc


class _XmlFeed:
    """Hands a member to expat chunk by chunk so that the cost stays linear in its size.

    Expat before 2.6 (Python 3.11.7 bundles 2.5.0, CVE-2023-52425) re-scans an unfinished
    token from its start at every Parse() call, and pyexpat splits any Parse() into calls
    of 1 MB: a comment or a start tag spanning thousands of chunks costs quadratic time
    (a 64 MB comment took 41 s). As expat 2.6 does itself, data is held back while expat
    holds more of an unfinished token than has arrived since, so that a token of length L
    is re-scanned O(L) bytes in all; and a token longer than MAX_XML_TOKEN is refused, which
    also keeps every later expat reader of the file (openpyxl) away from such a token.
    """

    def __init__(self, parser, *, max_token: int = MAX_XML_TOKEN):
        self.parser = parser
        self.max_token = max_token
        self.rescanned = 0  # bytes expat read again: a measure of the work, for tests
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._fed = 0
        self._unfinished = 0

    def feed(self, chunk: bytes, final: bool = False) -> None:
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if not final and self._pending_size < max(_CHUNK, self._unfinished):
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        self.rescanned += self._unfinished
        self.parser.Parse(data, final)
        self._fed += len(data)
        # Outside a handler, expat's position is just past its last complete token.
        self._unfinished = self._fed - self.parser.CurrentByteIndex
        if self._unfinished > self.max_token:
            raise _token_too_long(self.max_token)


def _new_parser():
    parser = xml.parsers.expat.ParserCreate()
    # Spreadsheet XML never needs a DTD; refusing it outright stops billion-laughs bombs
    # before any entity is expanded.
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.buffer_text = True
    return parser


def _token_too_long(limit: int) -> SpreadsheetError:
    return _error(
        _(
            "The workbook contains an XML tag or comment longer than %(limit)s MB, which Excel "
            "never writes and which is refused for safety. Save the file again from Excel as "
            "“Excel Workbook (.xlsx)”."
        ),
        "xml_token_too_long",
        limit=_megabytes(limit),
    )


def _refuse_dtd(*args) -> None:
    raise _error(
        _(
            "The workbook contains an XML document type declaration (DTD), which Excel never "
            "writes and which is refused for safety. Save the file again from Excel as “Excel "
            "Workbook (.xlsx)”."
        ),
        "xml_dtd",
    )


def _local(name: str) -> str:
    return name[name.find(":") + 1 :]


def _worksheet_paths(data: bytes, archive: zipfile.ZipFile) -> dict[str, str]:
    """Map each sheet name to its XML member, through workbook.xml and its relationships."""
    sheet_ids: dict[str, str] = {}
    targets: dict[str, str] = {}

    def on_sheet(name, attrs):
        if _local(name) == "sheet":
            sheet_name = attrs.get("name", "")
            if sheet_name in sheet_ids:
                # calamine would read one of the two; the check must see the same one.
                raise _bad_xlsx()
            rel_id = next((v for k, v in attrs.items() if k != "id" and _local(k) == "id"), "")
            sheet_ids[sheet_name] = rel_id

    def on_relationship(name, attrs):
        if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            # Resolved as calamine does, without normalising: a target with "." or ".."
            # segments names no member (plain names only) and calamine fails on it too.
            targets[attrs.get("Id", "")] = target[1:] if target.startswith("/") else "xl/" + target

    _parse_member(data, archive, "xl/workbook.xml", on_sheet)
    _parse_member(data, archive, "xl/_rels/workbook.xml.rels", on_relationship)
    return {name: targets.get(rel_id, "") for name, rel_id in sheet_ids.items()}


# Worksheet elements that come after sheetData: they close the last cell, so that formulas
# in conditional formats or data validations (<xm:f>) are not taken for the cell's.
_AFTER_SHEET_DATA = frozenset(
    {
        "sheetCalcPr",
        "sheetProtection",
        "protectedRanges",
        "scenarios",
        "autoFilter",
        "sortState",
        "dataConsolidate",
        "customSheetViews",
        "mergeCells",
        "conditionalFormatting",
        "dataValidations",
        "hyperlinks",
        "printOptions",
        "pageMargins",
        "pageSetup",
        "headerFooter",
        "rowBreaks",
        "colBreaks",
        "customProperties",
        "cellWatches",
        "ignoredErrors",
        "smartTags",
        "drawing",
        "legacyDrawing",
        "legacyDrawingHF",
        "drawingHF",
        "picture",
        "oleObjects",
        "controls",
        "webPublishItems",
        "tableParts",
        "extLst",
    }
)


class _SheetScan:
    """Streaming pass over a worksheet's XML for what calamine cannot tell or must not meet.

    It finds the farthest cell that calamine could keep (to bound its memory), counts the
    rows with content, and lists formula cells without a cached value: calamine returns them
    as empty cells, and error values (#REF!, #N/A) as empty text.

    Sheets padded with a million formatted rows make this hot, so there is no end-element
    handler: a cell is closed by the next cell or row, and the extent grows at every <v> or
    <is> from the last cell address seen, whatever encloses it, so that it can only be too
    large, never too small.
    """

    def __init__(self):
        self.bottom = -1
        self.right = -1
        self.nonempty_rows = 0
        self.formula_without_value: set[tuple[int, int]] = set()
        kinds: dict[str, str] = {}
        columns: dict[str, int] = {}
        # row, column, row counted, in value text, cell open, cell type, has formula,
        # has <v>, has <is>, has text
        state = [-1, -1, False, False, False, "n", False, False, False, False]

        def kind_of(name):
            kind = kinds[name] = name[name.find(":") + 1 :]
            return kind

        def grow():
            if state[0] > self.bottom:
                self.bottom = state[0]
            if state[1] > self.right:
                self.right = state[1]

        def close_cell():
            state[4] = state[3] = False
            has_value = state[7] and (state[9] or state[5] == "str")
            if state[9] and not state[2] and state[5] != "e":
                self.nonempty_rows += 1
                state[2] = True
            if state[5] == "e" or (state[6] and not has_value):
                self.formula_without_value.add((state[0], state[1]))

        def start(name, attrs):
            kind = kinds.get(name) or kind_of(name)
            if kind == "c":
                if state[4]:
                    close_cell()
                ref = attrs.get("r")
                if ref is None:
                    state[1] += 1  # a cell without an address follows the previous one
                else:
                    # Inline fast path for "C5"; _parse_ref handles the rest.
                    letters = ref.rstrip("0123456789")
                    column = columns.get(letters)
                    if column is not None and len(letters) < len(ref):
                        state[0], state[1] = int(ref[len(letters) :]) - 1, column
                    else:
                        state[0], state[1] = _parse_ref(ref, columns)
                state[4] = True
                state[5] = attrs.get("t", "n")
                state[6] = state[7] = state[8] = state[9] = state[3] = False
            elif kind == "row":
                if state[4]:
                    close_cell()
                number = attrs.get("r")
                if number is None:
                    state[0] += 1
                elif number.isascii() and number.isdigit():
                    state[0] = int(number) - 1
                else:
                    raise _bad_xlsx()
                state[1] = -1
                state[2] = False
            elif kind == "v":
                grow()
                state[7] = state[3] = True
            elif kind == "is":
                grow()
                state[8] = True
                state[3] = False
            elif kind == "t":
                state[3] = state[8]
            elif kind == "f":
                state[6] = state[4]
                state[3] = False
            else:
                state[3] = False
                if state[4] and kind in _AFTER_SHEET_DATA:
                    close_cell()

        def text(data):
            if state[3]:
                state[9] = True

        self._state = state
        self._close_cell = close_cell
        self.parser = _new_parser()
        self.parser.StartElementHandler = start
        self.parser.CharacterDataHandler = text
        self.xml = _XmlFeed(self.parser)

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.xml.feed(chunk, final)
        except xml.parsers.expat.ExpatError as exc:
            raise _bad_xlsx() from exc
        if final and self._state[4]:
            self._close_cell()


class _TokenCheck:
    """A member other than a worksheet, whatever its name, through expat without handlers,
    for openpyxl: it finds parts by relationships and content types, and parses every one
    with expat (a 16 KB chunk at a time), which must meet no over-long token.

    calamine's reader is linear, so imports skip this: a large picture in SVG (often with a
    long base64 attribute) stays importable. A member that is not XML, or stops being XML,
    is left alone from there: any expat reader stops at the same place. No DTD refusal
    either: SVG pictures have one, and openpyxl refuses a DTD in the parts it reads.
    """

    def __init__(self):
        self.xml: _XmlFeed | None = _XmlFeed(xml.parsers.expat.ParserCreate())

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.xml is None:
            return
        try:
            self.xml.feed(chunk, final)
        except xml.parsers.expat.ExpatError:
            self.xml = None


class _Skip:
    def feed(self, chunk: bytes, final: bool = False) -> None:
        pass


def _parse_ref(ref: str, columns: dict[str, int]) -> tuple[int, int]:
    """("C5") → (4, 2), read the way calamine reads it: any number of letters, then digits.

    calamine refuses anything else, and so does this: a cell address read differently here
    could hide a cell far away from the extent check.
    """
    letters = ref.rstrip("0123456789")
    if not (letters and letters.isascii() and letters.isalpha() and len(letters) < len(ref)):
        raise _bad_xlsx()
    column = columns.get(letters)
    if column is None:
        column = 0
        for letter in letters.upper():
            column = column * 26 + ord(letter) - 64
        column = columns[letters] = column - 1
    return int(ref[len(letters) :]) - 1, column


def _inspect_members(
    data: bytes,
    archive: zipfile.ZipFile,
    paths: dict[str, str],
    max_unpacked_bytes: int,
    check_every_member: bool,
) -> dict[str, _SheetScan]:
    """Inflate every member once: real sizes, no DTD anywhere, and a scan of each worksheet;
    with `check_every_member`, no over-long XML token in any member either."""
    worksheets = set(paths.values())
    scans: dict[str, _SheetScan] = {}
    total = 0
    for member in archive.infolist():
        is_xml = member.filename.endswith((".xml", ".rels", ".vml"))
        if member.filename in worksheets:
            scan = _SheetScan()
        else:
            scan = _TokenCheck() if check_every_member else _Skip()
        tail = b""
        for chunk in _inflate(data, member):
            total += len(chunk)
            if total > max_unpacked_bytes:
                raise _zip_bomb(max_unpacked_bytes)
            if is_xml:
                window = tail + chunk
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    _refuse_dtd()
                tail = chunk[-16:]
            scan.feed(chunk)
        scan.feed(b"", final=True)
        if isinstance(scan, _SheetScan):
            scans[member.filename] = scan
    return scans


def _calamine_sheet(workbook, name: str, scan: _SheetScan, max_rows: int) -> Sheet:
    try:
        sheet = workbook.get_sheet_by_name(name)
        merged = sheet.merged_cell_ranges or []
        rows, nonempty = _collect_rows(sheet)
    except Exception as exc:
        raise _bad_xlsx() from exc
    except BaseException as exc:
        # A Rust panic inside calamine arrives as pyo3's PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        raise _bad_xlsx() from exc
    if nonempty > max_rows:
        raise too_many_rows(name, nonempty, max_rows)
    # A formula without a value at the end of a row still gets a cell to point at.
    width = max((col + 1 for row, col in scan.formula_without_value if row < len(rows)), default=0)
    if rows and width > len(rows[0]):
        for row in rows:
            row.extend([None] * (width - len(row)))
    return Sheet(
        name=name,
        rows=rows,
        merged=[(top, left, bottom, right) for (top, left), (bottom, right) in merged],
        formula_without_value=set(scan.formula_without_value),
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


def _pad(rows: list[list[object]]) -> list[list[object]]:
    width = max((len(row) for row in rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return rows


# CSV ---------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def _naive(value: datetime.datetime) -> datetime.datetime:
    # Excel has no time zones: an aware value is shown as local (Vietnam) time.
    if timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _xlsx_text(value: str) -> str:
    # Most cells are one line of printable text that starts no formula: nothing to change
    # (printable excludes CR, control characters, surrogates and U+FFFE/U+FFFF).
    if value.isprintable() and value[:1] not in _ESCAPED_STARTS and "'" not in value:
        return value
    # Excel breaks lines in a cell with LF; a CR would be stored as the literal "_x000D_".
    text = escape_formula(value).replace("\r\n", "\n").replace("\r", "\n")
    return _ILLEGAL_XML.sub("\ufffd", text)


def _sheet_title(title: str, used: set[str]) -> str:
    base = _SHEET_TITLE_FORBIDDEN.sub("-", str(title)).strip("'")[:31] or "Sheet"
    candidate, number = base, 1
    while candidate.lower() in used:
        number += 1
        suffix = f" ({number})"
        candidate = base[: 31 - len(suffix)] + suffix
    used.add(candidate.lower())
    return candidate


def write_xlsx(
    stream,
    *,
    sheets: list[tuple[str, list[str], Iterable[Sequence[object]]]],
    column_widths: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
) -> None:
    """Write sheets of (title, header, rows) to `stream` as a streamed .xlsx workbook."""
    # XlsxWriter's constant-memory mode flushes each row as it is written: 100,000 rows
    # take about 6 s and a few MB, against 12-18 s for openpyxl's write-only mode.
    # `column_widths` is one list for every sheet or a mapping of sheet title to list; a
    # missing width follows the header's length.
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        stream,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": _DATE_FORMAT})
    datetime_format = workbook.add_format({"num_format": _DATETIME_FORMAT})
    used_titles: set[str] = set()
    for title, header, rows in sheets:
        worksheet = workbook.add_worksheet(_sheet_title(title, used_titles))
        if isinstance(column_widths, Mapping):
            widths = column_widths.get(title) or ()
        else:
            widths = column_widths or ()
        for index, name in enumerate(header):
            given = widths[index] if index < len(widths) else None
            worksheet.set_column(index, index, given or min(60, max(10, len(str(name)) + 2)))
        worksheet.freeze_panes(1, 0)
        for index, name in enumerate(header):
            worksheet.write_string(0, index, _xlsx_text(str(name)), bold)
        last_row, last_col = 0, len(header)
        for row in rows:
            last_row += 1
            last_col = max(last_col, len(row))
            for index, value in enumerate(row):
                _write_xlsx_cell(worksheet, last_row, index, value, date_format, datetime_format)
        if last_col:
            worksheet.autofilter(0, 0, last_row, last_col - 1)
    if not sheets:
        workbook.add_worksheet("Sheet")
    workbook.close()


def _write_xlsx_cell(worksheet, row, col, value, date_format, datetime_format):
    if value is None or value == "":
        return
    # Text first: most cells are text.
    if type(value) is str:
        worksheet.write_string(row, col, _xlsx_text(value))
    elif isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
    elif isinstance(value, int | float | Decimal):
        # Excel refuses a file with NaN or infinity in a number cell.
        if math.isfinite(value):
            worksheet.write_number(row, col, value)
    elif isinstance(value, str):
        # write_string never turns text into a formula, whatever it starts with.
        worksheet.write_string(row, col, _xlsx_text(value))
    elif isinstance(value, datetime.datetime):
        worksheet.write_datetime(row, col, _naive(value), datetime_format)
    elif isinstance(value, datetime.date):
        worksheet.write_datetime(row, col, value, date_format)
    else:
        worksheet.write_string(row, col, _xlsx_text(str(value)))


def write_csv(stream, *, header: list[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a header and rows as Excel-friendly CSV: UTF-8 with BOM, commas, CRLF."""
    binary = isinstance(stream, io.RawIOBase | io.BufferedIOBase)
    text_stream = (
        io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        if binary
        else stream
    )
    # Without the BOM, Excel on Windows opens UTF-8 as the ANSI code page and garbles
    # Vietnamese.
    text_stream.write("\ufeff")
    writer = csv.writer(text_stream, lineterminator="\r\n")
    writer.writerow([_csv_value(name) for name in header])
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    if binary:
        text_stream.flush()
        text_stream.detach()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", escape_csv_text(value))
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        return _naive(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    return _SURROGATES.sub("\ufffd", escape_csv_text(str(value)))


# --------------------------------------------------------------------------------------
# Returning a file with its errors
# --------------------------------------------------------------------------------------


def annotate_errors(
    data: bytes,
    *,
    filename: str,
    sheet_name: str,
    header_row: int,
    errors: dict[int, str],
    error_header: str,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
) -> tuple[bytes, str]:
    """Return the uploaded file with an extra last column holding each row's error."""
    if not data:
        raise _empty_file()
    if data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _annotate_xlsx(
            data,
            sheet_name=sheet_name,
            header_row=header_row,
            errors=errors,
            error_header=error_header,
            max_unpacked_bytes=max_unpacked_bytes,
        ), "xlsx"
    rows, delimiter = _parse_csv(data, max_rows=len(data) + 1, max_cells=MAX_CELLS, name=filename)
    column = _error_column(rows, header_row, errors, error_header, merged=[])
    last = max([len(rows) - 1, header_row, *errors])
    output = io.StringIO(newline="")
    output.write("\ufeff")
    writer = csv.writer(output, delimiter=delimiter, lineterminator="\r\n")
    for index in range(last + 1):
        # Unescaped, then escaped again as written: the importer reads each cell as it read
        # the uploaded one (an apostrophe of an earlier export does not become two).
        row = [unescape_formula(cell) for cell in rows[index]] if index < len(rows) else []
        row.extend([None] * (column + 1 - len(row)))
        if index == header_row:
            row[column] = error_header
        elif index > header_row:
            row[column] = errors.get(index)
        writer.writerow([_csv_value(value) for value in row])
    return output.getvalue().encode("utf-8"), "csv"


def _error_column(
    rows: list[list[object]],
    header_row: int,
    errors: Mapping[int, str],
    error_header: str,
    merged: Sequence[tuple[int, int, int, int]],
) -> int:
    """The column for the errors: the one from an earlier round, or the first free one."""
    header = rows[header_row] if header_row < len(rows) else []
    for index, value in enumerate(header):
        if isinstance(value, str) and value.strip() == error_header.strip():
            return index
    last_used = max((i for i, value in enumerate(header) if value is not None), default=-1)
    written = {header_row, *errors}
    # A cell inside a merged range cannot take a value, so skip columns it covers.
    blocked = {
        col
        for top, left, bottom, right in merged
        if any(top <= row <= bottom for row in written)
        for col in range(left, right + 1)
    }
    column = last_used + 1
    while column in blocked or any(column < len(row) and row[column] is not None for row in rows):
        column += 1
    return column


def _annotate_xlsx(
    data: bytes,
    *,
    sheet_name: str,
    header_row: int,
    errors: Mapping[int, str],
    error_header: str,
    max_unpacked_bytes: int,
) -> bytes:
    from openpyxl import load_workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    # The same checks as on import, and calamine's view of the sheet (openpyxl would walk
    # every formatted blank cell down to row 1,048,576 to find free columns).
    sheets = _read_xlsx(
        data,
        max_rows=MAX_CELLS,
        max_unpacked_bytes=max_unpacked_bytes,
        max_cells=MAX_CELLS,
        check_every_member=True,
    )
    sheet = next((sheet for sheet in sheets if sheet.name == sheet_name), None)
    if sheet is None:
        raise _error(
            _("The sheet “%(sheet)s” was not found among the visible sheets of the workbook."),
            "sheet_not_found",
            sheet=sheet_name,
        )
    rows = [list(row) for row in sheet.rows]
    for row, col in sheet.formula_without_value:
        # A formula calamine saw as empty still occupies its cell.
        while len(rows) <= row:
            rows.append([])
        rows[row].extend([None] * (col + 1 - len(rows[row])))
        rows[row][col] = "="
    column = _error_column(rows, header_row, errors, error_header, sheet.merged)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it drops (data validation lists, slicers).
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), rich_text=False)
        worksheet = workbook[sheet_name]
    except Exception as exc:  # openpyxl raises many types on files calamine accepted
        raise _bad_xlsx() from exc
    fill = PatternFill(fill_type="solid", fgColor=_ERROR_FILL_COLOUR)
    no_fill = PatternFill(fill_type=None)
    wrap = Alignment(wrap_text=True, vertical="top")
    header_cell = worksheet.cell(row=header_row + 1, column=column + 1)
    header_cell.value = _xlsx_text(error_header)
    header_cell.data_type = "s"
    header_cell.font = Font(bold=True)
    # Clear what an earlier round wrote in this column, then write this round's errors.
    for index in range(header_row + 1, len(rows)):
        if column < len(rows[index]) and rows[index][column] is not None:
            cell = worksheet.cell(row=index + 1, column=column + 1)
            cell.value = None
            cell.fill = no_fill
    for index, message in sorted(errors.items()):
        if index <= header_row:
            continue
        cell = worksheet.cell(row=index + 1, column=column + 1)
        cell.value = _xlsx_text(str(message))
        cell.data_type = "s"
        cell.fill = fill
        cell.alignment = wrap
    worksheet.column_dimensions[get_column_letter(column + 1)].width = _ERROR_COLUMN_WIDTH
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
