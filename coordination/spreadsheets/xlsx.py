"""Reading an .xlsx or .xlsm: the zip and XML checks first, then python-calamine's cell values.

The checks look at the members calamine will read, found as calamine finds them: the workbook's
folder from the package relationships (_rels/.rels), names compared without case (two names
differing only in case are refused by the zip checks). calamine gives every cell naming a
shared string its own copy, and reserves room for as many shared strings as the file says it
has: both are measured first.
"""

import io
import xml.parsers.expat
import zipfile

from coordination.spreadsheets.calamine import (
    _no_visible_sheet,
    calamine_sheet,
    refusing_failures,
)
from coordination.spreadsheets.errors import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_TEXT_CHARS,
    _bad_xlsx,
    _row_span_limit,
    _sheet_too_large,
    _too_much_text,
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
from coordination.spreadsheets.zipsafety import _inflate, _open_zip, inflate_members


def _read_xlsx(
    data: bytes,
    *,
    max_rows: int,
    max_unpacked_bytes: int,
    max_cells: int,
    check_every_member: bool = False,
) -> list[Sheet]:
    archive = _open_zip(data, max_unpacked_bytes)
    names = {name.lower(): name for name in archive.namelist()}
    _check_document_folder(data, archive, names)
    paths = _worksheet_paths(data, archive, names)
    shared = _shared_string_lengths(data, archive, names.get("xl/sharedstrings.xml"))
    scans = _inspect_members(data, archive, paths, max_unpacked_bytes, check_every_member, shared)

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
        cells = text = 0
        for name in visible:
            scan = scans.get(paths.get(name, ""))
            if scan is None:
                raise _bad_xlsx()
            if scan.nonempty_rows > max_rows:
                raise too_many_rows(name, scan.nonempty_rows, max_rows)
            text += scan.text
            if text > MAX_TEXT_CHARS:
                raise _too_much_text(MAX_TEXT_CHARS)
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


def _parse_member(
    data: bytes,
    archive: zipfile.ZipFile,
    name: str,
    start_element,
    end_element=None,
    character_data=None,
) -> None:
    """Stream one member (workbook.xml, its relationships) through expat; a missing member
    is an empty document, which expat refuses like any other broken one."""
    try:
        chunks = _inflate(data, archive.getinfo(name))
    except KeyError:
        chunks = iter(())
    parser = _new_parser()
    parser.StartElementHandler = start_element
    parser.EndElementHandler = end_element
    parser.CharacterDataHandler = character_data
    feed = _XmlFeed(parser)
    try:
        for chunk in chunks:
            feed.feed(chunk)
        feed.feed(b"", final=True)
    except xml.parsers.expat.ExpatError as exc:
        raise _bad_xlsx() from exc


def _local(name: str) -> str:
    return name[name.find(":") + 1 :]


def _check_document_folder(data: bytes, archive: zipfile.ZipFile, names: dict[str, str]) -> None:
    """calamine reads the workbook from the folder of the package's last officeDocument
    relationship; the checks read xl/, where every office puts it."""
    targets: list[str] = []

    def on_relationship(name, attrs):
        if _local(name) == "Relationship" and attrs.get("Type", "").endswith(
            "/relationships/officeDocument"
        ):
            targets.append(attrs.get("Target", ""))

    _parse_member(data, archive, names.get("_rels/.rels", "_rels/.rels"), on_relationship)
    if not targets:
        raise _bad_xlsx()
    folder = targets[-1][: targets[-1].rfind("/") + 1].removeprefix("/")
    if folder.lower() != "xl/":
        raise _bad_xlsx()


def _shared_string_lengths(data: bytes, archive: zipfile.ZipFile, member: str | None) -> list[int]:
    """The length of each shared string, read as calamine reads them (the text of its <t>
    elements but the phonetic ones), and the room it reserves for them checked."""
    lengths: list[int] = []
    if member is None:
        return lengths
    # in an <si>, in a phonetic run, in a <t>, past the end of the table
    state = [False, False, False, False]
    local_names: dict[str, str] = {}

    def local(name):
        kind = local_names.get(name)
        if kind is None:
            kind = local_names[name] = _local(name)
        return kind

    def start(name, attrs):
        kind = local(name)
        if kind == "t":
            state[2] = state[0] and not state[1] and not state[3]
        elif state[3]:
            return
        elif kind == "si":
            if state[0]:
                raise _bad_xlsx()  # calamine would end the string at the inner </si>
            state[0] = True
            lengths.append(0)
        elif kind == "rPh":
            state[1] = True
        elif kind == "sst":
            count = attrs.get("uniqueCount", "")
            if count.isascii() and count.isdigit() and int(count) > MAX_CELLS:
                raise _bad_xlsx()  # calamine would reserve room for that many strings

    def end(name):
        kind = local(name)
        if kind == "t":
            state[2] = False
        elif kind == "si":
            state[0] = False
        elif kind == "rPh":
            state[1] = False
        elif kind == "sst":
            state[3] = True

    def text(data):
        if state[2]:
            lengths[-1] += len(data)

    _parse_member(data, archive, member, start, end, text)
    return lengths


def _worksheet_paths(
    data: bytes, archive: zipfile.ZipFile, names: dict[str, str]
) -> dict[str, str]:
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
            path = target[1:] if target.startswith("/") else "xl/" + target
            targets[attrs.get("Id", "")] = names.get(path.lower(), path)

    _parse_member(data, archive, "xl/workbook.xml", on_sheet)
    _parse_member(data, archive, "xl/_rels/workbook.xml.rels", on_relationship)
    return {name: targets.get(rel_id, "") for name, rel_id in sheet_ids.items()}


def _inspect_members(
    data: bytes,
    archive: zipfile.ZipFile,
    paths: dict[str, str],
    max_unpacked_bytes: int,
    check_every_member: bool,
    shared: list[int],
) -> dict[str, _SheetScan]:
    """Inflate every member once: real sizes, no DTD anywhere, and a scan of each worksheet;
    with `check_every_member`, no over-long XML token in any member either."""
    worksheets = set(paths.values())
    scans: dict[str, _SheetScan] = {}
    for member, chunks in inflate_members(
        data,
        archive,
        max_unpacked_bytes,
        xml_suffixes=(".xml", ".rels", ".vml"),
        on_dtd=_refuse_dtd,
    ):
        if member.filename in worksheets:
            scan = _SheetScan(shared)
        else:
            scan = _TokenCheck() if check_every_member else _Skip()
        for chunk in chunks:
            scan.feed(chunk)
        scan.feed(b"", final=True)
        if isinstance(scan, _SheetScan):
            scans[member.filename] = scan
    return scans
