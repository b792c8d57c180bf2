"""Reading a LibreOffice Calc spreadsheet (.ods): the zip and XML checks first, then a streaming
scan of content.xml, then python-calamine's cell values.

An .ods says "this cell, 16,384 times across" and "this row, a million times down" in a few
bytes, and calamine (calamine/src/ods.rs) reads every sheet, hidden ones too, when it opens the
file, giving each repeated cell its own copy. So content.xml is first read here the way calamine
reads it, its repeats counted without being expanded: each sheet's farthest cell, its rows with
content, the text all the copies add up to, its merged ranges (calamine reports none for .ods)
and its formulas without a value. LibreOffice itself ends every sheet with a block of empty
rows and columns repeated to the edge of the grid; empty cells cost calamine nothing.
"""

import re
import xml.parsers.expat
import zipfile

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.calamine import check_extents, read_with_calamine
from coordination.spreadsheets.errors import (
    MAX_TEXT_CHARS,
    SpreadsheetError,
    _encrypted,
    _error,
    _megabytes,
    _sheet_too_large,
    _too_much_text,
    _unreadable,
    _zip_bomb,
)
from coordination.spreadsheets.sheets import Sheet
from coordination.spreadsheets.xmlscan import _XmlFeed
from coordination.spreadsheets.zipsafety import _inflate, _open_zip, inflate_members

ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_COUNT = re.compile(r"\+?[0-9]+")
# The attributes any of which gives a cell its value in calamine (the first one it meets).
_VALUE_KEYS = frozenset(
    {
        "office:value",
        "office:string-value",
        "office:date-value",
        "office:time-value",
        "office:boolean-value",
    }
)
_CELLS = frozenset({"table:table-cell", "table:covered-table-cell"})
# Elements calamine would read as part of the table if they came inside a cell.
_STRUCTURE = _CELLS | {"table:table-row", "table:table"}
# More merged ranges than this in one sheet is no list a person keeps.
MAX_MERGED_RANGES = 250_000


def _unreadable_ods() -> SpreadsheetError:
    return _unreadable("ods")


def _refuse_dtd(*args) -> None:
    raise _error(
        _(
            "The spreadsheet contains an XML document type declaration (DTD), which LibreOffice "
            "Calc never writes and which is refused for safety. Open it in LibreOffice Calc and "
            "save it again as “ODF Spreadsheet (.ods)”."
        ),
        "xml_dtd",
    )


def _token_too_long(limit: int) -> SpreadsheetError:
    return _error(
        _(
            "The spreadsheet contains an XML tag or comment longer than %(limit)s MB, which "
            "LibreOffice Calc never writes and which is refused for safety. Open it in "
            "LibreOffice Calc and save it again as “ODF Spreadsheet (.ods)”."
        ),
        "xml_token_too_long",
        limit=_megabytes(limit),
    )


def _read_ods(
    data: bytes, *, max_rows: int, max_unpacked_bytes: int, max_cells: int
) -> list[Sheet]:
    archive = _open_zip(
        data, max_unpacked_bytes, required="content.xml", unreadable=_unreadable_ods
    )
    if b"encryption-data" in _member(data, archive, "META-INF/manifest.xml", max_unpacked_bytes):
        raise _encrypted("ods")
    scan = _inspect_members(data, archive, max_unpacked_bytes)
    check_extents(scan.sheets, max_cells=max_cells)
    scan.expand(max_cells)
    return read_with_calamine(data, "ods", scan.sheets, max_rows=max_rows)


def _member(data: bytes, archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        member = archive.getinfo(name)
    except KeyError:
        raise _unreadable_ods() from None
    if member.file_size > limit:
        raise _zip_bomb(limit)
    return b"".join(_inflate(data, member, _unreadable_ods))


def _inspect_members(data: bytes, archive: zipfile.ZipFile, max_unpacked_bytes: int):
    """Inflate every member once: real sizes, no DTD in any XML member, content.xml scanned."""
    scan = None
    for member, chunks in inflate_members(
        data,
        archive,
        max_unpacked_bytes,
        xml_suffixes=(".xml", ".rdf"),
        on_dtd=_refuse_dtd,
        unreadable=_unreadable_ods,
    ):
        if member.filename == "content.xml":
            scan = _ContentScan()
            for chunk in chunks:
                scan.feed(chunk)
            scan.feed(b"", final=True)
        else:
            for _chunk in chunks:
                pass
    return scan


def _count(value: str | None) -> int:
    """A repeat or span count, read as calamine reads it (digits, perhaps a plus sign); no
    count is 1, and 0, which no office writes, is refused."""
    if value is None:
        return 1
    if not _COUNT.fullmatch(value) or int(value) == 0:
        raise _unreadable_ods()
    return int(value)


class _Table:
    """One sheet of content.xml as calamine will hold it."""

    def __init__(self, name: str):
        self.name = name
        self.bottom = -1
        self.right = -1
        self.nonempty_rows = 0
        # (row, rows repeated, column, columns repeated, [rows spanned, columns spanned]),
        # expanded once the extent is known to be sane.
        self.merge_specs: list[tuple[int, int, int, int, int, int]] = []
        self.error_specs: list[tuple[int, int, int, int]] = []
        self.merged: list[tuple[int, int, int, int]] | None = None
        self.formula_without_value: set[tuple[int, int]] = set()

    def expand(self, limit: int) -> None:
        """Merged ranges and formula cells within the extent, repeats spelt out."""
        bottom, right = self.bottom, self.right
        self.merged = []
        for row, rows, col, cols, spanned_rows, spanned_cols in self.merge_specs:
            for top in range(row, min(row + rows, bottom + 1)):
                for left in range(col, min(col + cols, right + 1)):
                    self.merged.append((top, left, top + spanned_rows - 1, left + spanned_cols - 1))
                if len(self.merged) > limit:
                    raise _sheet_too_large(self.name, bottom + 1, right + 1)
        for row, rows, col, cols in self.error_specs:
            self.formula_without_value.update(
                (top, left)
                for top in range(row, min(row + rows, bottom + 1))
                for left in range(col, min(col + cols, right + 1))
            )


class _ContentScan:
    """Streaming pass over content.xml, its element names matched as calamine matches them
    (prefix and name as written). Cells and rows are only read where calamine reads them:
    a cell inside a cell, a row outside a table or a table inside a table is refused."""

    def __init__(self):
        self.sheets: list[_Table] = []
        self.text = 0
        # The path of elements outside cells; the table (None outside one or in a table
        # without a name), its row, the row's repeats, the column, and whether the row has
        # content; the open cell: [depth of elements in it, repeats, occupied, content, reads
        # its text from paragraphs, characters, paragraphs, depth of annotations].
        stack: list[str] = []
        state = {"table": None, "row": 0, "rows": 1, "col": 0, "row_content": False}
        cell: list = [None]

        def start(name, attrs):
            open_cell = cell[0]
            if open_cell is not None:
                open_cell[0] += 1
                if name == "text:p":
                    open_cell[6] += 1
                elif name == "text:s":
                    open_cell[5] += _count(attrs.get("text:c"))
                elif name == "office:annotation":
                    open_cell[7] += 1
                elif name in _STRUCTURE:
                    raise _unreadable_ods()
                return
            parent = stack[-1] if stack else ""
            stack.append(name)
            if name in _CELLS:
                if parent != "table:table-row":
                    raise _unreadable_ods()
                start_cell(attrs)
            elif name == "table:table-row":
                if "table:table" not in stack[:-1]:
                    raise _unreadable_ods()
                state["rows"] = _count(attrs.get("table:number-rows-repeated"))
                state["col"] = 0
                state["row_content"] = False
            elif name == "table:table":
                if "table:table" in stack[:-1]:
                    raise _unreadable_ods()
                table_name = attrs.get("table:name")
                state["table"] = None if table_name is None else _Table(table_name)
                state["row"] = 0
                if table_name is not None:
                    self.sheets.append(state["table"])

        def start_cell(attrs):
            get = attrs.get
            repeats = _count(get("table:number-columns-repeated"))
            formula = get("table:formula", "")
            has_value = not _VALUE_KEYS.isdisjoint(attrs)
            reads_text = not has_value and get("office:value-type") == "string"
            string = get("office:string-value")
            content = has_value and string != ""
            chars = len(formula)
            if has_value:
                chars += len(string or "") + len(get("office:date-value", ""))
                chars += len(get("office:time-value", ""))
            cell[0] = [1, repeats, has_value or reads_text or bool(formula), content]
            cell[0] += [reads_text, chars, 0, 0]
            table = state["table"]
            if table is None:
                return
            col, row, rows = state["col"], state["row"], state["rows"]
            if formula and (get("calcext:value-type") == "error" or not (has_value or reads_text)):
                table.error_specs.append((row, rows, col, repeats))
            if "table:number-rows-spanned" in attrs or "table:number-columns-spanned" in attrs:
                spanned_rows = _count(get("table:number-rows-spanned"))
                spanned_cols = _count(get("table:number-columns-spanned"))
                if spanned_rows > 1 or spanned_cols > 1:
                    table.merge_specs.append((row, rows, col, repeats, spanned_rows, spanned_cols))

        def end(name):
            open_cell = cell[0]
            if open_cell is not None:
                open_cell[0] -= 1
                if open_cell[0]:
                    if name == "office:annotation":
                        open_cell[7] -= 1
                    return
                cell[0] = None  # the cell's own end
                end_cell(open_cell)
            stack.pop()
            if name == "table:table-row":
                table = state["table"]
                if table is not None and state["row_content"]:
                    table.nonempty_rows += state["rows"]
                state["row"] += state["rows"]
            elif name == "table:table":
                state["table"] = None

        def end_cell(open_cell):
            _depth, repeats, occupied, content, reads_text, chars, paragraphs, _ = open_cell
            col = state["col"]
            state["col"] = col + repeats
            table = state["table"]
            if table is None or not occupied:
                return
            if reads_text:
                chars += max(paragraphs - 1, 0)  # calamine joins paragraphs with a newline
                content = chars > 0
            rows = state["rows"]
            self.text += chars * repeats * rows
            if self.text > MAX_TEXT_CHARS:
                raise _too_much_text(MAX_TEXT_CHARS)
            if state["row"] + rows - 1 > table.bottom:
                table.bottom = state["row"] + rows - 1
            if col + repeats - 1 > table.right:
                table.right = col + repeats - 1
            if content:
                state["row_content"] = True

        def text(data):
            open_cell = cell[0]
            if open_cell is not None and open_cell[4] and not open_cell[7]:
                open_cell[5] += len(data)

        parser = xml.parsers.expat.ParserCreate()
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.EntityDeclHandler = _refuse_dtd
        parser.buffer_text = True
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text
        self.xml = _XmlFeed(parser)

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.xml.feed(chunk, final)
        except xml.parsers.expat.ExpatError as exc:
            raise _unreadable_ods() from exc
        except SpreadsheetError as error:
            if error.code == "xml_token_too_long":
                raise _token_too_long(self.xml.max_token) from error
            raise

    def expand(self, max_cells: int) -> None:
        for table in self.sheets:
            table.expand(min(MAX_MERGED_RANGES, max_cells))
