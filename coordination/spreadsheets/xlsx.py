"""Reading an .xlsx: the zip and XML checks first, then python-calamine's cell values."""

import datetime
import io
import xml.parsers.expat
import zipfile

from django.utils.translation import gettext_lazy as _

from coordination.spreadsheets.errors import (
    MAX_COLUMNS,
    _bad_xlsx,
    _error,
    _row_span_limit,
    _sheet_too_large,
    _zip_bomb,
    too_many_rows,
)
from coordination.spreadsheets.sheets import Sheet, _pad
from coordination.spreadsheets.xmlscan import (
    _new_parser,
    _refuse_dtd,
    _SheetScan,
    _Skip,
    _TokenCheck,
    _XmlFeed,
)
from coordination.spreadsheets.zipsafety import _inflate, _open_zip


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
