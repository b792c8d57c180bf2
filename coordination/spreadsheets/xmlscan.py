"""Linear streaming passes over a workbook's XML: expat fed in bounded steps, no DTD, no
over-long token, and a scan of each worksheet for what calamine cannot tell or must not meet."""

import xml.parsers.expat

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.errors import (
    _CHUNK,
    MAX_XML_TOKEN,
    SpreadsheetError,
    _bad_xlsx,
    _error,
    _megabytes,
)


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
    rows with content, adds up the shared strings calamine will copy into the cells naming
    them (`shared` holds their lengths), and lists formula cells without a cached value:
    calamine returns them as empty cells, and error values (#REF!, #N/A) as empty text.

    Sheets padded with a million formatted rows make this hot, so there is no end-element
    handler: a cell is closed by the next cell or row, and the extent grows at every <v> or
    <is> from the last cell address seen, whatever encloses it, so that it can only be too
    large, never too small.
    """

    def __init__(self, shared: list[int] = ()):
        self.bottom = -1
        self.right = -1
        self.nonempty_rows = 0
        self.text = 0
        self.formula_without_value: set[tuple[int, int]] = set()
        kinds: dict[str, str] = {}
        columns: dict[str, int] = {}
        # row, column, row counted, in value text, cell open, cell type, has formula,
        # has <v>, has <is>, has text, a shared string's index
        state = [-1, -1, False, False, False, "n", False, False, False, False, ""]

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
            if state[10]:
                index = state[10].strip()
                if index.isascii() and index.isdigit() and int(index) < len(shared):
                    self.text += shared[int(index)]
                state[10] = ""
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
                if state[5] == "s":
                    state[10] += data

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
