"""Reading an .xlsx: the zip and XML checks first, then python-calamine's cell values."""

import io
import xml.parsers.expat
import zipfile

from coordination.spreadsheets.calamine import (
    _no_visible_sheet,
    calamine_sheet,
    refusing_failures,
)
from coordination.spreadsheets.errors import (
    MAX_COLUMNS,
    _bad_xlsx,
    _row_span_limit,
    _sheet_too_large,
    _zip_bomb,
    too_many_rows,
)
from coordination.spreadsheets.sheets import Sheet
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

    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    with refusing_failures(_bad_xlsx):
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    with workbook:
        visible = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet
        ]
        if not visible:
            raise _no_visible_sheet("xlsx")
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
        return [
            calamine_sheet(
                workbook,
                name,
                scans[paths[name]].formula_without_value,
                max_rows=max_rows,
                unreadable=_bad_xlsx,
            )
            for name in visible
        ]


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
