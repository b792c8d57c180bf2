"""Reading an Excel 97–2003 workbook (.xls): the compound file and a walk of its BIFF records
first, then python-calamine's cell values.

An .xls is no zip, but calamine still allocates from what the file says: the rectangle from
the first to the last cell record of every sheet (hidden ones too, all when the file is
opened), room for the extent the DIMENSIONS record declares, and a copy of a shared string for
every cell that names it. So the records are walked first, as calamine walks them
(calamine/src/xls.rs), to measure all that and count each sheet's rows with content.
"""

import struct
from dataclasses import dataclass, field

from coordination.spreadsheets.calamine import check_extents, read_with_calamine
from coordination.spreadsheets.cfb import BrokenCompoundFile, CompoundFile
from coordination.spreadsheets.errors import (
    MAX_TEXT_CHARS,
    _encrypted,
    _too_much_text,
    _unreadable,
)
from coordination.spreadsheets.sheets import Sheet

_U16 = struct.Struct("<H")
_HEADER = struct.Struct("<HH")
_CELL = struct.Struct("<HH")
_BOF, _EOF, _CONTINUE = 0x0809, 0x000A, 0x003C
# The error codes calamine knows (any other one fails the whole file).
_ERROR_CODES = frozenset({0x00, 0x07, 0x0F, 0x17, 0x1D, 0x24, 0x2A, 0x2B})
# An .xls sheet has at most 65,536 rows and 256 columns; calamine reserves room for the
# extent a sheet declares, so a declaration beyond that grid is a forged file.
_GRID = (65_536, 256)


class _Broken(Exception):
    pass


@dataclass
class _SheetScan:
    name: str = ""
    bottom: int = -1
    right: int = -1
    nonempty_rows: int = 0
    formula_without_value: set[tuple[int, int]] = field(default_factory=set)
    merged: None = None  # calamine reports an .xls's merged ranges


def _read_xls(data: bytes, *, max_rows: int, max_cells: int) -> list[Sheet]:
    try:
        stream = CompoundFile(data).workbook_stream()
        scans = _scan_workbook(stream)
    except (BrokenCompoundFile, _Broken, struct.error, IndexError) as exc:
        raise _unreadable("xls") from exc
    check_extents(scans, max_cells=max_cells)
    return read_with_calamine(data, "xls", scans, max_rows=max_rows)


def _records(stream: bytes, position: int):
    """(type, start, end, continues) of each record from `position`, split as calamine's
    RecordIter splits them: CONTINUE records after a record are part of it."""
    size = len(stream)
    while True:
        if size - position < 4:
            if position == size:
                return
            raise _Broken("record header")
        kind, length = _HEADER.unpack_from(stream, position)
        start = position + 4
        end = position = start + length
        if position > size:
            raise _Broken("record length")
        continues = []
        while size - position > 4 and _U16.unpack_from(stream, position)[0] == _CONTINUE:
            (length,) = _U16.unpack_from(stream, position + 2)
            if position + 4 + length > size:
                raise _Broken("continue length")
            continues.append((position + 4, position + 4 + length))
            position += 4 + length
        yield kind, start, end, continues


def _scan_workbook(stream: bytes) -> list[_SheetScan]:
    """Each sheet's extent, rows with content and error cells, in the workbook's order."""
    sheets: list[tuple[int, str]] = []
    strings: list[int] = []
    biff8 = True
    for kind, start, end, continues in _records(stream, 0):
        if kind == 0x002F:  # FILEPASS: the rest is encrypted
            raise _encrypted("xls")
        if kind == 0x0085:  # BOUNDSHEET: where a sheet's records start
            if end - start < 6:
                raise _Broken("sheet record")
            (position,) = struct.unpack_from("<I", stream, start)
            if position > len(stream):
                raise _Broken("sheet position")
            sheets.append((position, _sheet_name(stream[start + 6 : end], biff8)))
        elif kind == _BOF:
            if end - start < 2:
                raise _Broken("BOF")
            (version,) = _U16.unpack_from(stream, start)
            kind_of_bof = _U16.unpack_from(stream, start + 2)[0] if end - start >= 4 else 0
            biff8 = version not in (0x0200, 0x0002, 0x0007, 0x0300, 0x0400, 0x0500) and not (
                version == 0 and kind_of_bof == 0x1000
            )
        elif kind == 0x00FC:  # SST: the shared strings, each cell naming one gets a copy
            strings = _string_lengths(stream, start, end, continues)
        elif kind == _EOF:
            break
    text = [0]
    scans = [_scan_sheet(stream, position, name, strings, biff8, text) for position, name in sheets]
    if text[0] > MAX_TEXT_CHARS:
        raise _too_much_text(MAX_TEXT_CHARS)
    return scans


def _scan_sheet(
    stream: bytes, position: int, name: str, strings: list[int], biff8: bool, text: list[int]
) -> _SheetScan:
    scan = _SheetScan(name)
    rows: set[int] = set()
    bottom = right = -1
    formula = (0, 0)
    nested = 0
    seen_bof = False
    chars = 0
    string_header = 3 if biff8 else 2
    for kind, start, end, _continues in _records(stream, position):
        if nested:
            nested += kind == _BOF
            nested -= kind == _EOF
            continue
        length = end - start
        if kind == _EOF:
            break
        if kind == _BOF:
            nested += seen_bof  # an embedded chart's records are skipped, as calamine does
            seen_bof = True
            continue
        if kind == 0x0200:  # DIMENSIONS
            _check_dimensions(stream[start:end])
            continue
        cells = 1
        content = True
        if kind in (0x0203, 0x027E):  # NUMBER, RK
            if length < (14 if kind == 0x0203 else 10):
                raise _Broken("number")
            row, col = _CELL.unpack_from(stream, start)
        elif kind in (0x0204, 0x00D6, 0x0207):  # LABEL, RSTRING, STRING (a formula's text)
            offset = start if kind == 0x0207 else start + 6
            if kind == 0x0207:
                row, col = formula
            elif length < 6:
                raise _Broken("label")
            else:
                row, col = _CELL.unpack_from(stream, start)
            count = _string_length(stream, offset, end, string_header)
            chars += count
            content = count > 0
        elif kind == 0x00FD:  # LABELSST
            if length < 10:
                raise _Broken("label sst")
            row, col = _CELL.unpack_from(stream, start)
            (index,) = struct.unpack_from("<I", stream, start + 6)
            if index >= len(strings):
                continue  # calamine leaves the cell out
            chars += strings[index]
            content = strings[index] > 0
        elif kind == 0x00BD:  # MULRK: several numbers in a row
            if length < 6:
                raise _Broken("mulrk")
            row, col = _CELL.unpack_from(stream, start)
            (last,) = _U16.unpack_from(stream, end - 2)
            cells = (last - col + 1) & 0xFFFF
            if length != 6 + 6 * cells:
                raise _Broken("mulrk length")
            if not cells:
                continue
        elif kind == 0x0205:  # BOOLERR
            if length < 8:
                raise _Broken("boolerr")
            row, col = _CELL.unpack_from(stream, start)
            value, is_error = stream[start + 6], stream[start + 7]
            if is_error > 1 or (is_error and value not in _ERROR_CODES):
                raise _Broken("boolerr value")
            if is_error:
                scan.formula_without_value.add((row, col))
                content = False
        elif kind == 0x0006:  # FORMULA, with its last value
            if length < 20:
                raise _Broken("formula")
            row, col = formula = _CELL.unpack_from(stream, start)
            if stream[start + 12 : start + 14] == b"\xff\xff":
                tag = stream[start + 6]
                if tag == 0:  # text, in the STRING record that follows
                    content = False
                elif tag == 2:
                    if stream[start + 8] not in _ERROR_CODES:
                        raise _Broken("formula error value")
                    scan.formula_without_value.add((row, col))
                    content = False
                elif tag == 3:  # empty text
                    content = False
                elif tag != 1:
                    raise _Broken("formula value")
        elif kind == 0x00E5:  # MERGEDCELLS: calamine reads as many as the count says
            if length < 2 or length < 2 + 8 * _U16.unpack_from(stream, start)[0]:
                raise _Broken("merged cells")
            continue
        else:
            # BLANK and MULBLANK (formatting alone) are among these: calamine keeps no cell
            # for them, so a formatted sheet is measured by its values, as an .xlsx is.
            continue
        if row > bottom:
            bottom = row
        if col + cells - 1 > right:
            right = col + cells - 1
        if content:
            rows.add(row)
    scan.bottom, scan.right, scan.nonempty_rows = bottom, right, len(rows)
    text[0] += chars
    return scan


def _sheet_name(record: bytes, biff8: bool) -> str:
    """A sheet's name for the messages given before calamine reads the file."""
    if not record:
        return ""
    count, text = record[0], record[1:]
    if biff8 and text:
        wide, text = text[0] & 1, text[1:]
        if wide:
            return text[: 2 * count].decode("utf-16-le", "replace")
    return text[:count].decode("latin-1")


def _check_dimensions(record: bytes) -> None:
    """calamine reserves room for the declared extent, computed as it computes it."""
    if len(record) == 10:
        first_row, last_row, first_col, last_col = struct.unpack_from("<4H", record)
    elif len(record) == 14:
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", record)
    else:
        raise _Broken("dimensions")
    if first_col > 0xFF or last_col < first_col:
        first_col = 0
    if last_row >= 1 and last_col >= 1:
        rows = (last_row - first_row) % 2**32
        columns = (last_col - first_col) % 2**32
        if rows > _GRID[0] or columns > _GRID[1]:
            raise _Broken("declared extent")


def _string_length(stream: bytes, start: int, end: int, header: int) -> int:
    """The characters calamine reads from a string with a 16-bit count (LABEL, STRING)."""
    if end - start < header:
        if end - start == 2 and _U16.unpack_from(stream, start)[0] == 0:
            return 0
        raise _Broken("string")
    (count,) = _U16.unpack_from(stream, start)
    available = end - start - header
    if header == 3 and stream[start + 2] & 1:
        available //= 2
    return min(count, available)


def _string_lengths(stream: bytes, start: int, end: int, continues) -> list[int]:
    """The length of each shared string, the SST walked as calamine's parse_sst walks it:
    a string may go on in the next CONTINUE record, which starts with its own flags byte."""
    if end - start < 8:
        raise _Broken("sst")
    pieces = [(start + 8, end), *continues]
    piece = 0
    position, limit = pieces[0]
    lengths = []

    def next_piece():
        nonlocal piece, position, limit
        if piece + 1 >= len(pieces):
            return False
        piece += 1
        position, limit = pieces[piece]
        return True

    def skip(count):
        nonlocal position
        while count > 0:
            if position == limit and not next_piece():
                raise _Broken("sst skip")
            step = min(count, limit - position)
            position += step
            count -= step

    while position < limit or next_piece():
        if position == limit:
            lengths.append(0)
            continue
        if limit - position < 3:
            raise _Broken("sst string")
        count, flags = struct.unpack_from("<HB", stream, position)
        position += 3
        runs = extra = 0
        if flags & 0x8:
            if limit - position < 2:
                raise _Broken("sst runs")
            runs = _U16.unpack_from(stream, position)[0]
            position += 2
        if flags & 0x4:
            if limit - position < 4:
                raise _Broken("sst extra")
            extra = struct.unpack_from("<i", stream, position)[0] % 2**64
            position += 4
        wide = flags & 1
        remaining = count
        while remaining > 0:
            step = min((limit - position) // 2 if wide else limit - position, remaining)
            position += step * 2 if wide else step
            remaining -= step
            if remaining > 0:
                if not next_piece() or position == limit:
                    raise _Broken("sst text")
                wide = stream[position] & 1
                position += 1
        lengths.append(count)
        skip(runs * 4)
        skip(extra)
    return lengths
