"""Hand-made .ods and .xls files, byte by byte, for the hostile cases no office writes.

`raw_ods` wraps table XML in the smallest spreadsheet calamine opens; `raw_xls` writes BIFF8
records into a compound file (`compound_file`), and `biff` and the record helpers make the
records. Real files come from LibreOffice (tests/office.py).
"""

import io
import struct
import zipfile

ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'
)
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_MIMETYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods_cell(value=None, *, repeat=1, attrs: str = "") -> str:
    """A table cell: text, a number or empty, with more attributes written as in XML."""
    attrs = f" {attrs}" if attrs else ""
    if repeat != 1:
        attrs += f' table:number-columns-repeated="{repeat}"'
    if value is None:
        return f"<table:table-cell{attrs}/>"
    if isinstance(value, str):
        return (
            f'<table:table-cell office:value-type="string"{attrs}><text:p>{value}</text:p>'
            "</table:table-cell>"
        )
    return f'<table:table-cell office:value-type="float" office:value="{value}"{attrs}/>'


def ods_row(*cells: str, repeat: int = 1) -> str:
    attrs = f' table:number-rows-repeated="{repeat}"' if repeat != 1 else ""
    return f"<table:table-row{attrs}>{''.join(cells)}</table:table-row>"


def ods_table(*rows: str, name: str = "Dữ liệu", style: str = "") -> str:
    style_attr = f' table:style-name="{style}"' if style else ""
    return f'<table:table table:name="{name}"{style_attr}>{"".join(rows)}</table:table>'


def raw_ods(
    *tables: str,
    styles: str = "",
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>',
    manifest: str = MANIFEST,
    content: str | None = None,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A spreadsheet whose content.xml holds `tables` (or is `content`), as LibreOffice lays
    out the zip: the mimetype first and stored."""
    if content is None:
        content = (
            f"{prolog}<office:document-content {_NAMESPACES}>"
            f"<office:automatic-styles>{styles}</office:automatic-styles>"
            f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet>"
            "</office:body></office:document-content>"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", ODS_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def hidden_table_style(name: str = "ta2") -> str:
    return (
        f'<style:style style:name="{name}" style:family="table">'
        '<style:table-properties table:display="false"/></style:style>'
    )


# .xls ------------------------------------------------------------------------------------

_ENDOFCHAIN, _FREESECT, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def bof(worksheet: bool) -> bytes:
    return record(0x0809, struct.pack("<HHHHII", 0x0600, 0x10 if worksheet else 0x05, 0, 0, 0, 6))


EOF_RECORD = record(0x000A)


def dimensions(first_row: int, last_row: int, first_col: int, last_col: int) -> bytes:
    """DIMENSIONS, last row and column exclusive, as BIFF8 writes them."""
    return record(0x0200, struct.pack("<IIHHH", first_row, last_row, first_col, last_col, 0))


def label(row: int, col: int, text: str) -> bytes:
    encoded = text.encode("utf-16-le")
    return record(0x0204, struct.pack("<HHHHB", row, col, 15, len(text), 1) + encoded)


def number(row: int, col: int, value: float) -> bytes:
    return record(0x0203, struct.pack("<HHHd", row, col, 15, value))


def label_sst(row: int, col: int, index: int) -> bytes:
    return record(0x00FD, struct.pack("<HHHI", row, col, 15, index))


def sst(*strings: str) -> bytes:
    body = struct.pack("<II", len(strings), len(strings))
    for text in strings:
        body += struct.pack("<HB", len(text), 1) + text.encode("utf-16-le")
    return record(0x00FC, body)


def merged_cells(*ranges: tuple[int, int, int, int]) -> bytes:
    """(top, left, bottom, right), 0-based and inclusive."""
    body = struct.pack("<H", len(ranges))
    for top, left, bottom, right in ranges:
        body += struct.pack("<HHHH", top, bottom, left, right)
    return record(0x00E5, body)


def biff(
    sheets: list[list[bytes]],
    *,
    names: list[str] | None = None,
    hidden: set[int] = frozenset(),
    globals_records: list[bytes] = (),
) -> bytes:
    """A BIFF8 workbook stream: the globals (with `globals_records`, e.g. an SST) and one
    substream per sheet, each list of records between its BOF and EOF."""
    names = names or [f"Sheet{index + 1}" for index in range(len(sheets))]

    def boundsheet(position: int, index: int) -> bytes:
        name = names[index].encode("utf-16-le")
        state = 1 if index in hidden else 0
        return record(
            0x0085, struct.pack("<IBBBB", position, state, 0, len(names[index]), 1) + name
        )

    head = bof(False) + record(0x0042, struct.pack("<H", 1200)) + b"".join(globals_records)
    bodies = [bof(True) + b"".join(records) + EOF_RECORD for records in sheets]
    size = len(head) + sum(len(boundsheet(0, i)) for i in range(len(sheets))) + len(EOF_RECORD)
    positions = []
    for body in bodies:
        positions.append(size)
        size += len(body)
    bound = b"".join(boundsheet(position, i) for i, position in enumerate(positions))
    return head + bound + EOF_RECORD + b"".join(bodies)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE compound file (512-byte sectors, no mini stream) holding `streams`, each
    padded to 4,096 bytes at least so that it lives in ordinary sectors."""
    sectors: list[bytes] = []
    entries = [("Root Entry", 5, _ENDOFCHAIN, 0)]
    chains: list[tuple[int, int]] = []
    for name, data in streams.items():
        size = max(len(data), 4096)
        padded = data.ljust(-(-size // 512) * 512, b"\0")
        first = len(sectors)
        sectors += [padded[offset : offset + 512] for offset in range(0, len(padded), 512)]
        chains.append((first, len(padded) // 512))
        entries.append((name, 2, first, size))
    directory = b""
    for index, (name, kind, start, size) in enumerate(entries):
        encoded = (name + "\0").encode("utf-16-le")
        child = 1 if index == 0 and len(entries) > 1 else _NOSTREAM
        right = index + 1 if 0 < index < len(entries) - 1 else _NOSTREAM
        directory += (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", _NOSTREAM, right, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<IIHH", start, size, 0, 0)
        )
    directory = directory.ljust(-(-len(directory) // 512) * 512, b"\0")
    directory_start = len(sectors)
    sectors += [directory[offset : offset + 512] for offset in range(0, len(directory), 512)]
    # The FAT comes last; it must also mark its own sectors.
    fat_count = 1
    while (len(sectors) + fat_count) > 128 * fat_count:
        fat_count += 1
    fat_start = len(sectors)
    fat = [_FREESECT] * (128 * fat_count)
    for first, count in chains:
        for sector in range(first, first + count):
            fat[sector] = sector + 1 if sector < first + count - 1 else _ENDOFCHAIN
    directory_sectors = len(directory) // 512
    for sector in range(directory_start, directory_start + directory_sectors):
        last = sector == directory_start + directory_sectors - 1
        fat[sector] = _ENDOFCHAIN if last else sector + 1
    for sector in range(fat_start, fat_start + fat_count):
        fat[sector] = _FATSECT
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    sectors += [fat_bytes[offset : offset + 512] for offset in range(0, len(fat_bytes), 512)]
    difat = list(range(fat_start, fat_start + fat_count)) + [_FREESECT] * (109 - fat_count)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<9I", 0, fat_count, directory_start, 0, 4096, _ENDOFCHAIN, 0, _ENDOFCHAIN, 0)
        + struct.pack("<109I", *difat)
    )
    return header + b"".join(sectors)


def raw_xls(sheets: list[list[bytes]], **options) -> bytes:
    """An .xls holding the BIFF8 `sheets` (see `biff`)."""
    return compound_file({"Workbook": biff(sheets, **options)})
