"""The file layer of imports and exports: hostile uploads are refused cleanly, exports are safe."""

import csv
import datetime
import io
import random
import struct
import time
import tracemalloc
import unicodedata
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone, translation
from openpyxl.styles import Font

from coordination.spreadsheets import (
    Sheet,
    SpreadsheetError,
    annotate_errors,
    dump_sheets,
    escape_formula,
    load_sheets,
    read_workbook,
    unescape_formula,
    write_csv,
    write_xlsx,
)
from tests.factories import run_in_child

LIMITS = {"max_bytes": 5 * 1024 * 1024, "max_rows": 1000, "max_unpacked_bytes": 100 * 1024 * 1024}
RELIABILITY_FORMULAS = [
    "=SUM(1+1)",
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    '=HYPERLINK("http://evil","x")',
]
BILLION_LAUGHS_DTD = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
TRIGGERS = {"=", "+", "-", "@", "\t", "\r"}


# Building files -------------------------------------------------------------------------


def read(data, *, filename="danh-sach.xlsx", **limits):
    return read_workbook(data, filename=filename, **{**LIMITS, **limits})


def refused(data, *, filename="danh-sach.xlsx", **limits) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        read(data, filename=filename, **limits)
    return caught.value


def workbook_bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_of(rows, title="Dữ liệu") -> bytes:
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = title
    for row in rows:
        worksheet.append(row)
    return workbook_bytes(workbook)


def raw_xlsx(sheet_data: str, *, shared_strings: str | None = None, prolog: str = "") -> bytes:
    """A minimal workbook whose sheet1.xml holds `sheet_data` inside <sheetData>."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    members = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
            f'Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rels}"><sheets>'
            '<sheet name="Dữ liệu" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{package}">'
            f'<Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rels}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/sharedStrings.xml": shared_strings
        or f'<sst xmlns="{main}" count="1" uniqueCount="1"><si><t>Họ tên</t></si></sst>',
        "xl/worksheets/sheet1.xml": (
            f'{prolog}<worksheet xmlns="{main}"><sheetData>{sheet_data}</sheetData></worksheet>'
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def replace_member(data: bytes, name: str, transform) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == name:
                content = transform(content)
            target.writestr(member, content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def cp1258(text: str) -> bytes:
    """Encode like Vietnamese Windows: base letters plus combining tone marks."""
    encoded = b""
    for char in text:
        try:
            encoded += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tone = next(mark for mark in decomposed if mark in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", decomposed.replace(tone, ""))
            encoded += base.encode("cp1258") + tone.encode("cp1258")
    return encoded


# Wrong files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 20,
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        random.Random(18).randbytes(20_000),
        b"<html><body><table><tr><td>1</td></tr></table></body></html>",
    ],
    ids=["pdf", "png", "random", "html"],
)
def test_files_that_are_not_spreadsheets_are_refused_by_content_not_name(data):
    """A PDF, an image, random bytes or a web page named .xlsx get a plain instruction."""
    error = refused(data, filename="danh-sach.xlsx")
    assert error.code == "not_spreadsheet"
    with translation.override("en"):
        assert "Excel Workbook (.xlsx)" in str(error)
        assert "Traceback" not in str(error) and "Error" not in str(error)


def test_empty_file_is_refused():
    """A 0-byte upload is refused with its own message."""
    assert refused(b"").code == "empty"


def test_damaged_ole_file_is_refused_as_an_unreadable_xls():
    """An OLE header over garbage: the only OLE spreadsheet is an .xls, and the message says
    it could not be read as one (.xls files themselves are read: test_formats.py)."""
    error = refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), filename="cu.xls")
    assert error.code == "bad_xls"
    with translation.override("en"):
        assert "Excel 97–2003 workbook (.xls)" in str(error)


def test_file_over_the_size_limit_is_refused_before_parsing():
    """The size check comes first: these bytes would otherwise be refused as garbage."""
    error = refused(b"\x00" * (2 * 1024 * 1024 + 1), max_bytes=2 * 1024 * 1024)
    assert error.code == "too_large"
    with translation.override("en"):
        assert str(error).startswith("File too large: 2.1 MB (limit 2 MB)")


def test_size_message_rounds_up_so_the_file_looks_over_the_limit():
    """One byte over 10 MB shows as 10.1 MB, in Vietnamese number format."""
    error = refused(b"a" * (10 * 1024 * 1024 + 1), max_bytes=10 * 1024 * 1024)
    with translation.override("vi"):
        assert "10,1" in str(error)


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + bytes(100),
        b"PK\x05\x06" + bytes(18),
    ],
    ids=["damaged", "empty-zip"],
)
def test_damaged_zip_is_refused_as_not_a_workbook(data):
    """A file that starts like a zip but is not one."""
    assert refused(data).code == "bad_xlsx"


def test_zip_that_is_not_a_workbook_is_refused():
    """A Word document is not read as a workbook, and the message says what it is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    error = refused(buffer.getvalue())
    assert error.code == "other_document"
    with translation.override("en"):
        assert "Word document (.docx)" in str(error)


def test_error_message_is_lazy_and_str_gives_it():
    """`message` follows the active language; str() of the exception is the message."""
    error = refused(b"")
    with translation.override("en"):
        assert str(error) == str(error.message)
        assert "empty" in str(error)


# XLSX: sheets ---------------------------------------------------------------------------


def test_hidden_active_sheet_is_skipped_and_the_visible_data_sheet_is_read():
    """An instructions sheet that is hidden and active does not hide the data."""
    workbook = openpyxl.Workbook()
    instructions = workbook.active
    instructions.title = "Hướng dẫn"
    instructions["A1"] = "Điền danh sách ở trang sau"
    data = workbook.create_sheet("Danh sách")
    data.append(["Họ tên"])
    data.append(["Nguyễn Văn A"])
    secret = workbook.create_sheet("Tham số")
    secret["A1"] = "x"
    secret.sheet_state = "veryHidden"
    instructions.sheet_state = "hidden"
    workbook.active = 0

    sheets = read(workbook_bytes(workbook))

    assert [sheet.name for sheet in sheets] == ["Danh sách"]
    assert sheets[0].rows == [["Họ tên"], ["Nguyễn Văn A"]]


def test_visible_sheets_come_in_workbook_order():
    """The engine can pick the data sheet by name; instructions stay first if they are first."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "Hướng dẫn"
    workbook.active["A1"] = "Đọc kỹ"
    workbook.create_sheet("Danh sách")["A1"] = "Họ tên"
    assert [sheet.name for sheet in read(workbook_bytes(workbook))] == ["Hướng dẫn", "Danh sách"]


def test_workbook_with_every_sheet_hidden_is_refused():
    """openpyxl will not save such a file, so the test hides the sheet in workbook.xml."""
    data = replace_member(
        sheet_of([["Họ tên"]]),
        "xl/workbook.xml",
        lambda xml: xml.replace(b'state="visible"', b'state="hidden"'),
    )
    error = refused(data)
    assert error.code == "no_visible_sheet"
    with translation.override("en"):
        assert "Unhide" in str(error)


def test_title_blank_and_header_rows_are_returned_from_the_top():
    """Row indexes are the sheet's: the engine finds the header, not this layer."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet["A1"] = "DANH SÁCH CÁN BỘ NĂM 2024"
    worksheet.merge_cells("A1:C1")
    worksheet["A3"], worksheet["B3"], worksheet["C3"] = "STT", "Họ tên", "Số văn bản"
    worksheet.append([1, "Nguyễn Văn A", "0012/QĐ-UBND"])
    worksheet.append([])
    worksheet.append([])

    (sheet,) = read(workbook_bytes(workbook))

    assert sheet.rows == [
        ["DANH SÁCH CÁN BỘ NĂM 2024", None, None],
        [None, None, None],
        ["STT", "Họ tên", "Số văn bản"],
        [1, "Nguyễn Văn A", "0012/QĐ-UBND"],
    ]
    assert sheet.merged == [(0, 0, 0, 2)]


def test_rows_start_at_column_a_even_when_the_table_does_not():
    """Column indexes are the sheet's too, and every row has the same width."""
    workbook = openpyxl.Workbook()
    workbook.active["C2"] = "Họ tên"
    workbook.active["D4"] = "Nguyễn Văn A"
    (sheet,) = read(workbook_bytes(workbook))
    assert sheet.rows == [
        [None, None, None, None],
        [None, None, "Họ tên", None],
        [None, None, None, None],
        [None, None, None, "Nguyễn Văn A"],
    ]


def test_cell_values_keep_their_type():
    """Dates stay dates, date-like text stays text, numbers stay numbers, empty is None."""
    rows = [
        [
            datetime.date(2024, 3, 5),
            datetime.datetime(2024, 3, 5, 14, 30),
            "05/03/2024",
            45356,
            "0012/QĐ-UBND",
            5.0,
            1.5,
            -3,
            True,
            None,
            "=A1",
        ],
    ]
    (sheet,) = read(sheet_of(rows))
    (values,) = sheet.rows
    assert values[0] == datetime.date(2024, 3, 5) and type(values[0]) is datetime.date
    assert values[1] == datetime.datetime(2024, 3, 5, 14, 30)
    assert values[2] == "05/03/2024"
    assert values[3] == 45356 and type(values[3]) is int
    assert values[4] == "0012/QĐ-UBND"
    assert values[5] == 5 and type(values[5]) is int
    assert values[6] == 1.5
    assert values[7] == -3 and type(values[7]) is int
    assert values[8] is True
    assert values[9] is None
    assert values[10] is None  # a formula without a cached value ...
    assert (0, 10) in sheet.formula_without_value  # ... is reported, not silently blank


def test_empty_text_cells_are_none_not_empty_strings():
    """calamine gives "" for an empty inline string; the engine sees None."""
    (sheet,) = read(
        raw_xlsx(
            '<row r="1"><c r="A1" t="inlineStr"><is><t></t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>x</t></is></c></row>'
        )
    )
    assert sheet.rows == [[None, "x"]]


def test_merged_ranges_are_reported_zero_based_and_inclusive():
    """A unit cell merged down three rows is (first_row, first_col, last_row, last_col)."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.append(["Đơn vị", "Họ tên"])
    for name in ("A", "B", "C"):
        worksheet.append(["Phòng Nội vụ", name])
    worksheet.merge_cells("A2:A4")
    (sheet,) = read(workbook_bytes(workbook))
    assert sheet.merged == [(1, 0, 3, 0)]
    assert [row[0] for row in sheet.rows] == ["Đơn vị", "Phòng Nội vụ", None, None]


def test_formula_with_a_cached_value_gives_the_value_and_without_one_is_reported():
    """Excel saves the result next to the formula; openpyxl-made files do not."""
    data = raw_xlsx(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>b</t></is></c>'
        '<c r="C1" t="str"><f>A1&amp;B1</f><v>ab</v></c>'
        '<c r="D1"><f>1+1</f><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c>'
        '<c r="C2"><f>A2&amp;B2</f></c>'
        '<c r="D2"><f>1+1</f><v/></c>'
        '<c r="E2" t="e"><f>#REF!+1</f><v>#REF!</v></c>'
        '<c r="F2" t="str"><f>""</f><v></v></c></row>'
    )
    (sheet,) = read(data)
    assert sheet.rows[0] == ["a", "b", "ab", 2, None]
    assert sheet.rows[1] == ["x", None, None, None, None]
    # C2 has no <v>, D2 an empty one, E2 an error; F2 is a formula whose result is "".
    assert sheet.formula_without_value == {(1, 2), (1, 3), (1, 4)}


def test_formulas_in_conditional_formats_are_not_taken_for_cells():
    """<xm:f> after sheetData belongs to the format, not to the last cell."""
    data = replace_member(
        raw_xlsx('<row r="1"><c r="A1" s="1"/></row>'),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(
            b"</sheetData>",
            b"</sheetData><extLst><ext><x14:conditionalFormattings "
            b'xmlns:x14="urn:x14" xmlns:xm="urn:xm"><x14:conditionalFormatting>'
            b"<xm:f>Sheet2!$A$1</xm:f></x14:conditionalFormatting>"
            b"</x14:conditionalFormattings></ext></extLst>",
        ),
    )
    (sheet,) = read(data)
    assert sheet.formula_without_value == set()


# XLSX: hostile files --------------------------------------------------------------------


@pytest.mark.parametrize("member", ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"])
def test_billion_laughs_is_refused_fast_with_bounded_memory(member):
    """A DTD is never needed in a workbook: refused before any entity is expanded."""
    if member == "xl/sharedStrings.xml":
        data = raw_xlsx(
            '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
            shared_strings=BILLION_LAUGHS_DTD + "<sst><si><t>&lol9;</t></si></sst>",
        )
    else:
        data = raw_xlsx(
            '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>',
            prolog=BILLION_LAUGHS_DTD,
        )
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = refused(data)
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.code == "xml_dtd"
    assert elapsed < 2
    assert peak < 50 * 1024 * 1024
    assert openpyxl.xml.DEFUSEDXML  # annotate_errors loads with openpyxl


def _zeros_member(archive: zipfile.ZipFile, name: str, megabytes: int, **options) -> None:
    block = bytes(1024 * 1024)
    with archive.open(name, "w", **options) as member:
        for _ in range(megabytes):
            member.write(block)


def _zero_sheet_bomb(megabytes: int = 300, **options) -> bytes:
    """A valid one-cell workbook whose sheet1.xml is replaced by `megabytes` MB of zeros."""
    valid = sheet_of([["Họ tên"]])
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(valid)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(member, source.read(member))
        _zeros_member(archive, "xl/worksheets/sheet1.xml", megabytes, **options)
    return buffer.getvalue()


def test_zip_bomb_over_the_unpacked_limit_is_refused_from_the_directory():
    """A sheet1.xml of 300 MB of zeros (about 300 KB compressed) is never inflated."""
    data = _zero_sheet_bomb(force_zip64=True)
    assert len(data) < 1024 * 1024

    started = time.perf_counter()
    error = refused(data, max_unpacked_bytes=100 * 1024 * 1024)

    assert error.code == "zip_bomb"
    assert time.perf_counter() - started < 1
    with translation.override("en"):
        assert "too large when decompressed" in str(error)


# The reader runs in a child process, tests/scripts/memory_probe.py (which says why).
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
@pytest.mark.parametrize(
    ("lie", "code"),
    [(False, "zip_bomb"), (True, "bad_xlsx")],
    ids=["declared-in-the-directory", "understated-in-the-directory"],
)
def test_zip_bomb_is_refused_with_bounded_memory(tmp_path, lie, code):
    """A workbook under 1 MB whose sheet inflates to 300 MB is refused while the process
    grows by less than 50 MB: whether the zip directory admits the 300 MB (refused from the
    directory) or claims 1,000 bytes (refused as soon as inflating passes the claim)."""
    if lie:
        bomb = _lie_about_size(_zero_sheet_bomb(), "xl/worksheets/sheet1.xml", 1000)
    else:
        bomb = _zero_sheet_bomb(force_zip64=True)
    assert len(bomb) < 1024 * 1024
    (tmp_path / "valid.xlsx").write_bytes(sheet_of([["Họ tên"], ["Nguyễn Văn An"]]))
    (tmp_path / "bomb.xlsx").write_bytes(bomb)
    outcome = run_in_child(
        "memory_probe", tmp_path / "valid.xlsx", tmp_path / "bomb.xlsx", workdir=tmp_path
    )
    assert outcome["code"] == code
    assert outcome["growth_kb"] < 50 * 1024


def test_member_with_an_impossible_compression_ratio_is_refused():
    """20 MB of zeros inflating 1000 times over is refused even under the unpacked limit."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        _zeros_member(archive, "xl/media/image1.png", 20)
    assert refused(buffer.getvalue(), max_unpacked_bytes=10**9).code == "zip_bomb"


def _lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size of `name` in its local header and directory entry."""
    patched = bytearray(data)
    encoded = name.encode()
    local = data.index(b"PK\x03\x04")
    while data[local + 30 : local + 30 + len(encoded)] != encoded:
        local = data.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", patched, local + 22, size)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(encoded)] != encoded:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


def test_member_that_inflates_beyond_its_declared_size_is_refused():
    """A directory that understates a member's size does not get it past the checks."""
    bomb_sheet = b"<worksheet><sheetData/></worksheet>" + b" " * (20 * 1024 * 1024)
    data = replace_member(sheet_of([["Họ tên"]]), "xl/worksheets/sheet1.xml", lambda _: bomb_sheet)
    lying = _lie_about_size(data, "xl/worksheets/sheet1.xml", 1000)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("xl/worksheets/sheet1.xml").file_size == 1000
    started = time.perf_counter()
    assert refused(lying).code == "bad_xlsx"
    assert time.perf_counter() - started < 1


def test_duplicate_member_names_are_refused():
    """zipfile and calamine could read different copies of the same sheet."""
    data = sheet_of([["Họ tên"]])
    buffer = io.BytesIO(data)
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(buffer, "a") as archive,
    ):
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    assert refused(buffer.getvalue()).code == "bad_xlsx"


def _add_member(data: bytes, name: str, content: str) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name",
    ["xl/worksheets\\sheet1.xml", "xl/../xl/worksheets/sheet1.xml", "xl//worksheets/x.xml"],
    ids=["backslash", "dot-dot", "empty-segment"],
)
def test_member_names_a_zip_reader_could_resolve_differently_are_refused(name):
    """calamine's zip reader turns a backslash into a slash: it could read an unchecked copy."""
    data = _add_member(sheet_of([["Họ tên"]]), name, "<worksheet/>")
    assert refused(data).code == "bad_xlsx"


def test_two_sheets_with_the_same_name_are_refused():
    """calamine would read one of them by name; the checks must have seen that one."""
    data = replace_member(
        raw_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
        "xl/workbook.xml",
        lambda xml: xml.replace(
            b"</sheets>",
            b'<sheet name="D\xe1\xbb\xaf li\xe1\xbb\x87u" sheetId="2" r:id="rId1"/></sheets>',
        ),
    )
    assert refused(data).code == "bad_xlsx"


def test_absolute_relationship_target_is_followed_like_calamine_does():
    """Some generators write "/xl/worksheets/sheet1.xml"; it is read and checked."""
    data = replace_member(
        raw_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
        "xl/_rels/workbook.xml.rels",
        lambda xml: xml.replace(b'Target="worksheets/', b'Target="/xl/worksheets/'),
    )
    assert read(data)[0].rows == [["Họ tên"]]


@pytest.mark.parametrize("ref", ["$A$1", "R1C1", "A1 ", "1"])
def test_cell_addresses_calamine_would_refuse_are_refused(ref):
    """A cell address read differently here and in calamine could dodge the extent check."""
    data = raw_xlsx(f'<row r="1"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>')
    assert refused(data).code == "bad_xlsx"


def test_cell_addresses_are_read_the_way_calamine_reads_them():
    """Lower case and leading zeros are accepted by calamine, so they count here too."""

    def data(far_ref):
        return raw_xlsx(
            '<row r="1"><c r="a1" t="inlineStr"><is><t>x</t></is></c>'
            '<c r="B0001" t="inlineStr"><is><t>y</t></is></c></row>'
            f'<row r="2"><c r="{far_ref}"><v>1</v></c></row>'
        )

    assert refused(data("A0001048576")).code == "sheet_too_large"
    assert read(data("A0002"))[0].rows == [["x", "y"], [1, None]]


@pytest.mark.parametrize(
    "far_cell",
    [
        '<c r="XFD1048576"><v>1</v></c>',
        '<c r="A1048576" t="inlineStr"><is><t>ghi chú</t></is></c>',
        '<c r="XFD1048576"><foo/><v>1</v></c>',
    ],
    ids=["corner", "note-far-down", "value-after-unknown-element"],
)
def test_content_far_outside_the_list_is_refused_before_calamine_allocates(far_cell):
    """calamine would allocate A1 to the far cell (550 GB for XFD1048576) and abort."""
    data = raw_xlsx(
        f'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576">{far_cell}</row>'
    )
    error = refused(data)
    assert error.code == "sheet_too_large"
    with translation.override("en"):
        assert "1,048,576" in str(error) or "1.048.576" in str(error)


def test_too_many_rows_names_the_count_and_the_limit():
    """The limit counts non-empty rows only."""
    rows = [["Họ tên"], *([f"Người {i}"] for i in range(30)), [], []]
    error = refused(sheet_of(rows), max_rows=20)
    assert error.code == "too_many_rows"
    with translation.override("en"):
        assert "31" in str(error) and "20" in str(error)
    assert len(read(sheet_of(rows), max_rows=31)[0].rows) == 31


@pytest.mark.parametrize("formatted", [False, True], ids=["value-none", "formatted-blank"])
def test_sheet_padded_to_row_1048576_is_read_quickly_with_the_right_rows(formatted):
    """Blank cells at the bottom of the sheet cost nothing and are not rows."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.append(["Họ tên", "Năm"])
    worksheet.append(["Nguyễn Văn A", 2024])
    cell = worksheet.cell(row=1048576, column=1, value=None)
    if formatted:
        cell.font = Font(bold=True)
        worksheet.cell(row=1048576, column=16384).font = Font(italic=True)
    started = time.perf_counter()
    (sheet,) = read(workbook_bytes(workbook), max_rows=5)
    assert time.perf_counter() - started < 1
    assert sheet.rows == [["Họ tên", "Năm"], ["Nguyễn Văn A", 2024]]


def test_many_formatted_blank_rows_are_accepted():
    """A sheet whose 200,000 rows are formatted but empty has only its real rows."""
    padding = "".join(f'<row r="{i}" s="1"><c r="A{i}" s="1"/></row>' for i in range(3, 200_001))
    data = raw_xlsx(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Nguyễn Văn A</t></is></c></row>' + padding
    )
    (sheet,) = read(data, max_rows=5)
    assert sheet.rows == [["Họ tên"], ["Nguyễn Văn A"]]


# CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b""], ids=["bom", "no-bom"])
def test_utf8_csv_is_read_and_the_bom_is_not_part_of_the_first_header(bom):
    """Excel's "CSV UTF-8" writes a BOM; other tools do not."""
    data = bom + "Họ tên,Số văn bản\r\nNguyễn Văn A,0012/QĐ-UBND\r\n".encode()
    (sheet,) = read(data, filename="C:\\Users\\van thu\\danh sách.csv")
    assert sheet.rows == [["Họ tên", "Số văn bản"], ["Nguyễn Văn A", "0012/QĐ-UBND"]]
    assert "\ufeff" not in sheet.rows[0][0]
    assert sheet.name == "danh sách.csv"
    assert sheet.merged == [] and sheet.formula_without_value == set()


def test_windows_1258_csv_is_decoded_to_nfc():
    """Vietnamese Windows CSV stores tone marks as combining characters."""
    data = cp1258("Họ tên,Quê quán\r\nNguyễn Văn Hòa,Quận 3\r\n")
    assert b"Nguy" in data and "Nguyễn".encode() not in data
    (sheet,) = read(data, filename="ds.csv")
    assert sheet.rows[1] == ["Nguyễn Văn Hòa", "Quận 3"]
    assert all(unicodedata.is_normalized("NFC", cell) for row in sheet.rows for cell in row)


@pytest.mark.parametrize(
    "data",
    [
        "Họ tên,Năm\r\nA,2024\r\n".encode("utf-16"),
        "Họ tên,Năm\r\nA,2024\r\n".encode("utf-16-be"),
        "Họ tên,Năm\r\nA,2024\r\n".encode("utf-16-le"),
    ],
    ids=["bom", "big-endian-no-bom", "little-endian-no-bom"],
)
def test_utf16_csv_is_refused_with_the_save_as_instruction(data):
    """Excel's "Unicode Text" is UTF-16; the message names the right format."""
    error = refused(data, filename="ds.csv")
    assert error.code == "utf16"
    with translation.override("en"):
        assert "CSV UTF-8" in str(error)


def test_semicolon_delimiter_is_detected():
    """Excel with a European list separator writes semicolons; commas stay in the text."""
    data = 'Họ tên;Địa chỉ;Năm\r\nNguyễn Văn A;Phường 1, Quận 3;2024\r\nB;"x;y";\r\n'.encode()
    (sheet,) = read(data, filename="ds.csv")
    assert sheet.rows == [
        ["Họ tên", "Địa chỉ", "Năm"],
        ["Nguyễn Văn A", "Phường 1, Quận 3", "2024"],
        ["B", "x;y", None],
    ]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"Ho ten\tNam\r\nA\t2024\r\nB\t2025\r\n", "tab_delimited"),
        (b"Ho ten|Nam\r\nA|2024\r\nB|2025\r\n", "unknown_delimiter"),
    ],
    ids=["tab", "pipe"],
)
def test_other_delimiters_are_refused(data, code):
    """Tab-separated text and other separators get a "save as CSV UTF-8" message."""
    assert refused(data, filename="ds.csv").code == code


def test_single_column_csv_is_read():
    """A list of names has no separator at all."""
    (sheet,) = read("Họ tên\nNguyễn Văn A\n".encode(), filename="ds.csv")
    assert sheet.rows == [["Họ tên"], ["Nguyễn Văn A"]]


def test_quoted_newlines_and_mixed_line_endings_give_the_right_rows():
    """A multi-line cell stays one cell; \\r\\n, \\n and \\r all end a row."""
    data = b'Ten,Ghi chu\r\nA,"dong 1\r\ndong 2"\nB,"x\ny"\rC,z\r\n'
    (sheet,) = read(data, filename="ds.csv")
    assert sheet.rows == [
        ["Ten", "Ghi chu"],
        ["A", "dong 1\r\ndong 2"],
        ["B", "x\ny"],
        ["C", "z"],
    ]


def test_csv_cells_are_text_with_empty_as_none_and_trailing_blank_rows_dropped():
    """No type conversion: leading zeros and dates stay as typed; short rows are padded."""
    data = b"So,Ngay,Ghi chu\r\n0012,05/03/2024,\r\n,,\r\n45356\r\n\r\n,,,\r\n\r\n"
    (sheet,) = read(data, filename="ds.csv")
    assert sheet.rows == [
        ["So", "Ngay", "Ghi chu"],
        ["0012", "05/03/2024", None],
        [None, None, None],
        ["45356", None, None],
    ]


def test_csv_control_characters_are_left_for_the_engine():
    """NUL and vertical tab inside cells do not crash the reader."""
    (sheet,) = read(b"a,b\r\nx\x00y,z\x0b\r\n", filename="ds.csv")
    assert sheet.rows == [["a", "b"], ["x\x00y", "z\x0b"]]


def test_csv_with_an_unclosed_quote_is_refused_with_the_line():
    """An open quote would otherwise swallow every following row into one cell."""
    error = refused(b'Ten,Ghi chu\r\nA,ok\r\nB,"chua dong\r\nC,x\r\n', filename="ds.csv")
    assert error.code == "malformed_csv"


def test_csv_with_too_many_rows_names_the_count():
    """The count is the real one, not where reading stopped."""
    data = ("Ten\r\n" + "".join(f"Nguoi {i}\r\n" for i in range(50))).encode()
    error = refused(data, filename="ds.csv", max_rows=20)
    assert error.code == "too_many_rows"
    with translation.override("en"):
        assert "51" in str(error)


def test_csv_with_a_stray_row_far_below_is_refused():
    """A million blank lines before one cell would be a million rows in memory."""
    data = b"Ten\r\nA\r\n" + b"\r\n" * 500_000 + b"B\r\n"
    assert refused(data, filename="ds.csv", max_rows=100).code == "sheet_too_large"


# Formula escaping -----------------------------------------------------------------------


@pytest.mark.parametrize("value", RELIABILITY_FORMULAS)
def test_escape_prefixes_an_apostrophe_and_unescape_removes_it(value):
    """The OWASP defence, undone on re-import so that an export round-trips."""
    escaped = escape_formula(value)
    assert escaped == "'" + value
    assert unescape_formula(escaped) == value


@pytest.mark.parametrize(
    "value",
    ["Nguyễn Văn A", "0012/QĐ-UBND", "", " =1", "'", "'abc", "a=b", "'=1", "''+1", "5-3", "\nx"],
)
def test_escape_round_trips_every_other_text(value):
    """Text that already starts with apostrophes before a trigger keeps them on a round trip."""
    escaped = escape_formula(value)
    assert escaped[:1] not in TRIGGERS
    assert unescape_formula(escaped) == value


@pytest.mark.parametrize("value", [None, 5, -2, 1.5, Decimal("-3"), datetime.date(2024, 1, 1)])
def test_escape_leaves_values_that_are_not_text_alone(value):
    """A negative number is a number, not a formula."""
    assert escape_formula(value) == value
    assert unescape_formula(value) == value


# Writing XLSX ---------------------------------------------------------------------------


def _written(sheets, **options) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    write_xlsx(buffer, sheets=sheets, **options)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer)


def test_write_xlsx_escapes_formulas_and_keeps_types():
    """Text is never a formula; numbers, dates and empty cells keep their type."""
    header = ["Văn bản", "Số", "Tiền", "Ngày", "Lúc", "Trống", "Lỗi ký tự"]
    rows = [
        [value, -5, Decimal("12.50"), datetime.date(2024, 3, 5), None, None, "a\x0bb"]
        for value in RELIABILITY_FORMULAS
    ]
    rows.append(["0012/QĐ-UBND", 7, 1.5, None, datetime.datetime(2024, 3, 5, 14, 30), None, ""])

    worksheet = _written([("Dữ liệu", header, rows)])["Dữ liệu"]

    cells = [cell for row in worksheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    for index, value in enumerate(RELIABILITY_FORMULAS, start=2):
        written = worksheet.cell(row=index, column=1).value
        # XML turns a carriage return into a line feed; the apostrophe still comes off.
        assert written.startswith("'")
        assert unescape_formula(written) == value.replace("\r", "\n")
        assert worksheet.cell(row=index, column=2).value == -5
        assert worksheet.cell(row=index, column=2).data_type == "n"
        assert worksheet.cell(row=index, column=3).value == 12.5
        date_cell = worksheet.cell(row=index, column=4)
        assert date_cell.value == datetime.datetime(2024, 3, 5)
        assert date_cell.is_date and date_cell.number_format == "DD/MM/YYYY"
        assert worksheet.cell(row=index, column=6).value is None
        assert worksheet.cell(row=index, column=7).value == "a\ufffdb"
    last = len(rows) + 1
    assert worksheet.cell(row=last, column=1).value == "0012/QĐ-UBND"
    assert worksheet.cell(row=last, column=4).value is None
    moment = worksheet.cell(row=last, column=5)
    assert moment.value == datetime.datetime(2024, 3, 5, 14, 30)
    assert moment.number_format == "DD/MM/YYYY HH:MM"
    assert worksheet.cell(row=last, column=7).value is None


def test_write_xlsx_writes_no_number_excel_would_refuse():
    """NaN and infinity become empty cells instead of a file Excel must repair."""
    worksheet = _written([("D", ["a", "b", "c"], [[float("nan"), float("inf"), Decimal("NaN")]])])
    assert [cell.value for cell in worksheet["D"][2]] == [None, None, None]


def test_write_xlsx_header_is_bold_frozen_filtered_and_sized():
    """The header row is bold and frozen, with an autofilter and readable column widths."""
    header = ["STT", "Họ và tên đầy đủ của người ký văn bản theo quyết định", "X" * 100]
    workbook = _written([("Danh sách", header, [[1, "A", "B"], [2, "C", "D"]])])
    worksheet = workbook["Danh sách"]
    assert all(cell.font.bold for cell in worksheet[1])
    assert worksheet.freeze_panes == "A2"
    assert worksheet.auto_filter.ref == "A1:C3"
    # XlsxWriter stores widths with its character padding (10 → 10.71): compare whole characters.
    widths = [int(worksheet.column_dimensions[letter].width) for letter in "ABC"]
    assert widths == [10, len(header[1]) + 2, 60]


def test_write_xlsx_takes_given_widths_and_several_sheets():
    """Widths per sheet title; sheet titles Excel would refuse are made acceptable."""
    workbook = _written(
        [
            ("Đơn vị", ["Tên"], [["A"]]),
            ("Năm 2024/2025: [tổng hợp]?", ["Tên"], iter([["B"]])),
        ],
        column_widths={"Đơn vị": [42]},
    )
    assert workbook.sheetnames == ["Đơn vị", "Năm 2024-2025- -tổng hợp--"]
    assert int(workbook["Đơn vị"].column_dimensions["A"].width) == 42
    assert workbook.worksheets[1]["A2"].value == "B"


def test_write_xlsx_shows_aware_datetimes_in_local_time():
    """Excel has no time zones; staff expect Vietnam time."""
    moment = datetime.datetime(2024, 3, 5, 7, 30, tzinfo=datetime.UTC)
    worksheet = _written([("D", ["Lúc"], [[moment]])])["D"]
    assert worksheet["A2"].value == timezone.localtime(moment).replace(tzinfo=None)


def test_write_xlsx_streams_rows_without_holding_them():
    """Memory does not grow with the number of rows (100,000 rows measured separately)."""

    def rows(count):
        for index in range(count):
            yield [f"Nguyễn Văn {index}", index, datetime.date(2024, 1, 1), f"=A{index}"]

    def peak(count):
        tracemalloc.start()
        try:
            write_xlsx(io.BytesIO(), sheets=[("D", ["a", "b", "c", "d"], rows(count))])
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(500), peak(4000)
    assert large < small + 2 * 1024 * 1024


# Writing CSV ----------------------------------------------------------------------------


def test_write_csv_is_excel_friendly_and_escaped():
    """BOM, commas, CRLF, dd/mm/yyyy, no exponent, and no field starting with a trigger."""
    stream = io.StringIO(newline="")
    write_csv(
        stream,
        header=["Văn bản", "Số", "Ngày", "Lúc", "Tiền", "Trống"],
        rows=[
            *[
                [value, -5, datetime.date(2024, 3, 5), None, Decimal("1E+2"), None]
                for value in RELIABILITY_FORMULAS
            ],
            ["Nguyễn, Văn A", 0, None, datetime.datetime(2024, 3, 5, 14, 30), 1.5, ""],
        ],
    )
    output = stream.getvalue()
    assert output.startswith("\ufeffVăn bản,Số,Ngày,Lúc,Tiền,Trống\r\n")
    records = list(csv.reader(io.StringIO(output[1:], newline="")))
    for record in records:
        for field in record[:1] + record[2:]:
            assert field[:1] not in TRIGGERS
    data = records[1 : len(RELIABILITY_FORMULAS) + 1]
    assert [unescape_formula(record[0]) for record in data] == RELIABILITY_FORMULAS
    assert data[0][1:] == ["-5", "05/03/2024", "", "100", ""]
    assert records[-1] == ["Nguyễn, Văn A", "0", "", "05/03/2024 14:30", "1.5", ""]


def test_write_csv_accepts_a_binary_stream():
    """A file opened in binary mode gets UTF-8 bytes with the BOM."""
    stream = io.BytesIO()
    write_csv(stream, header=["Họ tên"], rows=[["Nguyễn Văn A"]])
    assert stream.getvalue() == "\ufeffHọ tên\r\nNguyễn Văn A\r\n".encode()


def test_exported_csv_reads_back_unchanged():
    """Export, then read with the import reader and unescape: the same text."""
    values = ["Nguyễn Văn A", "0012/QĐ-UBND", "-2+3", "'=1", "dòng 1\ndòng 2"]
    stream = io.BytesIO()
    write_csv(stream, header=["Giá trị"], rows=[[value] for value in values])
    (sheet,) = read(stream.getvalue(), filename="xuat.csv")
    assert [unescape_formula(row[0]) for row in sheet.rows[1:]] == values


# Returning the file with its errors -----------------------------------------------------


def _layout() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Hướng dẫn"
    worksheet = workbook.create_sheet("Danh sách")
    worksheet["A1"] = "DANH SÁCH"
    worksheet.merge_cells("A1:F1")
    worksheet.append([])
    worksheet.append(["STT", "Họ tên", "Ngày ký"])
    worksheet.append([1, "Nguyễn Văn A", datetime.date(2024, 3, 5)])
    worksheet.append([2, None, "31/02/2024"])
    worksheet.append([3, "=B4", datetime.date(2024, 3, 6)])
    worksheet["B4"].font = Font(italic=True)
    return workbook_bytes(workbook)


def test_annotate_xlsx_adds_an_error_column_after_the_header_and_keeps_the_rest():
    """Staff fix the rows in place and upload the same file again."""
    data = _layout()
    errors = {4: "Dòng 5: cột Họ tên trống.", 5: "=Dòng 6: công thức"}

    annotated, extension = annotate_errors(
        data,
        filename="ds.xlsx",
        sheet_name="Danh sách",
        header_row=2,
        errors=errors,
        error_header="Lỗi",
    )

    assert extension == "xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(annotated))
    assert workbook.sheetnames == ["Hướng dẫn", "Danh sách"]
    worksheet = workbook["Danh sách"]
    assert worksheet["D3"].value == "Lỗi" and worksheet["D3"].font.bold
    assert worksheet["D4"].value is None
    assert worksheet["D5"].value == "Dòng 5: cột Họ tên trống."
    assert worksheet["D5"].fill.fgColor.rgb.endswith("FFC7CE")
    assert worksheet["D5"].alignment.wrap_text
    assert worksheet["D6"].value == "'=Dòng 6: công thức"
    assert worksheet["D6"].data_type == "s"
    assert worksheet["B6"].value == "=B4"  # the user's own formula is kept
    assert worksheet["B4"].font.italic
    assert "A1:F1" in {str(cell_range) for cell_range in worksheet.merged_cells.ranges}
    (_instructions, sheet) = read(annotated)
    assert sheet.rows[3][:3] == [1, "Nguyễn Văn A", datetime.date(2024, 3, 5)]


def test_annotating_again_reuses_the_error_column_and_clears_old_errors():
    """A second failed upload does not grow a second "Lỗi" column."""
    first, _ = annotate_errors(
        _layout(),
        filename="ds.xlsx",
        sheet_name="Danh sách",
        header_row=2,
        errors={3: "cũ", 4: "cũ"},
        error_header="Lỗi",
    )
    second, _ = annotate_errors(
        first,
        filename="ds.xlsx",
        sheet_name="Danh sách",
        header_row=2,
        errors={4: "mới"},
        error_header="Lỗi",
    )
    worksheet = openpyxl.load_workbook(io.BytesIO(second))["Danh sách"]
    assert [worksheet.cell(row=3, column=col).value for col in range(1, 6)] == [
        "STT",
        "Họ tên",
        "Ngày ký",
        "Lỗi",
        None,
    ]
    assert worksheet["D4"].value is None and worksheet["D4"].fill.fill_type is None
    assert worksheet["D5"].value == "mới"


def test_annotate_skips_columns_used_below_the_header_and_merged_cells():
    """Notes typed right of the table and merged blocks are not overwritten."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.append(["Tên", "Năm"])
    worksheet.append(["A", 2024, "ghi chú"])
    worksheet.append(["B", 2025])
    worksheet.merge_cells("D2:D3")
    annotated, _ = annotate_errors(
        workbook_bytes(workbook),
        filename="ds.xlsx",
        sheet_name="Sheet",
        header_row=0,
        errors={2: "sai năm"},
        error_header="Lỗi",
    )
    result = openpyxl.load_workbook(io.BytesIO(annotated)).active
    assert result["E1"].value == "Lỗi" and result["E3"].value == "sai năm"
    assert result["C2"].value == "ghi chú"


def test_annotate_unknown_sheet_is_refused():
    """The engine passes the name of the sheet it read."""
    with pytest.raises(SpreadsheetError) as caught:
        annotate_errors(
            _layout(),
            filename="ds.xlsx",
            sheet_name="Không có",
            header_row=0,
            errors={},
            error_header="Lỗi",
        )
    assert caught.value.code == "sheet_not_found"


def test_annotate_csv_keeps_rows_and_delimiter_and_adds_the_column():
    """The CSV comes back as UTF-8 with BOM, with its own separator and escaped cells."""
    data = cp1258("DANH SÁCH;;\r\n;;\r\nHọ tên;Năm;\r\nNguyễn Văn Hòa;2024\r\n=1+1;x\r\n")

    annotated, extension = annotate_errors(
        data,
        filename="ds.csv",
        sheet_name="ds.csv",
        header_row=2,
        errors={4: "Dòng 5: năm không hợp lệ"},
        error_header="Lỗi",
    )

    assert extension == "csv"
    assert annotated.startswith(b"\xef\xbb\xbf")
    assert annotated.decode("utf-8-sig").split("\r\n") == [
        "DANH SÁCH;;",
        ";;",
        "Họ tên;Năm;Lỗi",
        "Nguyễn Văn Hòa;2024;",
        "'=1+1;x;Dòng 5: năm không hợp lệ",
        "",
    ]
    (sheet,) = read(annotated, filename="ds.csv")
    assert sheet.rows[2] == ["Họ tên", "Năm", "Lỗi"]


def test_sheet_is_a_plain_dataclass():
    """The engine may build one in its own tests."""
    sheet = Sheet(name="x", rows=[["a"]])
    assert sheet.merged == [] and sheet.formula_without_value == set()


def test_kept_sheets_read_back_exactly():
    """What the preview keeps beside an upload reads back as the reader gave it: every cell
    type, merged ranges and formulas without a value."""
    sheets = [
        Sheet(
            name="Danh sách",
            rows=[
                ["STT", "Nội dung", "Hạn", "Số", "Tỷ lệ", "Xong", None],
                [1, 'Sửa đường “liên xã” {"d": 1}', datetime.date(2024, 12, 31), "007", 0.1, True],
                [],
                [2, "x", datetime.datetime(2024, 1, 2, 3, 4, 5), None, -1.5e300, False, "=A1"],
            ],
            merged=[(0, 0, 0, 2)],
            formula_without_value={(3, 6)},
        ),
        Sheet(name="Trống", rows=[]),
    ]
    assert load_sheets(dump_sheets(sheets)) == sheets
