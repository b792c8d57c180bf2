"""The formats an upload may have: .xlsx, .xlsm, .ods and .xls read into the same sheets, told
apart by content, and every other file refused with a message saying what it is.

The .ods and .xls files are LibreOffice's (tests/office.py), saved from a workbook built here
with openpyxl, as a user saves a list; the hostile files are in test_hostile_formats.py.
"""

import datetime
import io
import zipfile

import openpyxl
import pytest
from django.utils import translation

from coordination.spreadsheets import Sheet, SpreadsheetError, read_workbook
from coordination.spreadsheets.calamine import _no_visible_sheet
from coordination.spreadsheets.errors import _encrypted, _unreadable
from coordination.spreadsheets.ods import _refuse_dtd, _token_too_long
from tests import office
from tests.raw_files import compound_file, ods_cell, ods_row, ods_table, raw_ods

LIMITS = {"max_bytes": 5 * 1024 * 1024, "max_rows": 1000, "max_unpacked_bytes": 100 * 2**20}
OFFICE_FORMATS = ["ods", "xls"]


def read(data: bytes, filename: str = "danh-sach.xlsx") -> list[Sheet]:
    return read_workbook(data, filename=filename, **LIMITS)


def refused(data: bytes, filename: str = "danh-sach.xlsx") -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        read(data, filename)
    return caught.value


def english(error: SpreadsheetError) -> str:
    with translation.override("en"):
        return str(error)


def vietnamese(error: SpreadsheetError) -> str:
    with translation.override("vi"):
        return str(error)


def office_list() -> bytes:
    """A list as a district keeps it: a merged title, a header under it, a unit merged down
    over its rows, text, leading zeros, numbers, dates, several lines, formulas (one whose
    result is an error), and a hidden sheet before the data."""
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Ghi chú"
    notes.append(["Không nhập trang này"])
    notes.sheet_state = "hidden"
    sheet = workbook.create_sheet("Danh sách")
    sheet.append(["DANH SÁCH NHIỆM VỤ NĂM 2024"])
    sheet.merge_cells("A1:F1")
    sheet.append([])
    sheet.append(["Đơn vị", "Số văn bản", "Năm", "Hạn xử lý", "Ghi chú", "Tỷ lệ"])
    sheet.append(["UBND huyện", "0012/QĐ-UBND", 2024, datetime.date(2024, 3, 5), "Dòng 1\nDòng 2"])
    sheet.append([None, "0045/BC-HĐND", 2025, datetime.datetime(2024, 12, 31, 8, 30), None])
    sheet.append([None, '=B4&"-A"', "=C4+1", None, "=1/0", 99.75])
    sheet.merge_cells("A4:A6")
    workbook.active = 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


EXPECTED_ROWS = [
    ["DANH SÁCH NHIỆM VỤ NĂM 2024", None, None, None, None, None],
    [None] * 6,
    ["Đơn vị", "Số văn bản", "Năm", "Hạn xử lý", "Ghi chú", "Tỷ lệ"],
    ["UBND huyện", "0012/QĐ-UBND", 2024, datetime.date(2024, 3, 5), "Dòng 1\nDòng 2", None],
    [None, "0045/BC-HĐND", 2025, datetime.datetime(2024, 12, 31, 8, 30), None, None],
    [None, "0012/QĐ-UBND-A", 2025, None, None, 99.75],
]


@pytest.fixture(scope="module")
def saved(libreoffice) -> dict[str, bytes]:
    """The list saved by LibreOffice in each format (its .xlsx too: formulas computed)."""
    data = office_list()
    return {fmt: office.convert(data, fmt) for fmt in ("xlsx", *OFFICE_FORMATS)}


# Real files ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", *OFFICE_FORMATS])
def test_a_list_saved_by_libreoffice_reads_the_same_in_every_format(saved, fmt):
    """The visible sheet only, every value typed as in the .xlsx, the merged title and unit
    ranges (0-based, inclusive) and the formula whose result is an error, in each format."""
    (sheet,) = read(saved[fmt], f"danh-sach.{fmt}")
    assert sheet.name == "Danh sách"
    assert sheet.rows == EXPECTED_ROWS
    assert sorted(sheet.merged) == [(0, 0, 0, 5), (3, 0, 5, 0)]
    assert sheet.formula_without_value == {(5, 4)}


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_the_format_is_told_from_the_content_whatever_the_name(saved, fmt):
    """A list saved as .ods or .xls and renamed (or named .csv by mistake) is still read."""
    for name in ("danh-sach.xlsx", "danh-sach.csv", "danh-sach"):
        assert read(saved[fmt], name)[0].rows == EXPECTED_ROWS


def test_an_xls_saved_from_a_csv_by_libreoffice_is_read(libreoffice):
    """LibreOffice opening a CSV file and saving it as .xls: text and numbers as typed."""
    data = "Họ tên,Năm\nNguyễn Văn An,2024\nTrần Thị Bình,2025\n".encode()
    (sheet,) = read(office.convert(data, "xls"), "ds.xls")
    assert sheet.rows == [["Họ tên", "Năm"], ["Nguyễn Văn An", 2024], ["Trần Thị Bình", 2025]]


def test_a_macro_enabled_workbook_is_read_and_its_macros_never_run():
    """An .xlsm: the values are read; its VBA project is only an ignored zip member."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["Họ tên"])
    workbook.active.append(["Nguyễn Văn An"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source, target = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "[Content_Types].xml":
                content = content.replace(
                    b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
                )
            archive.writestr(member, content)
        archive.writestr("xl/vbaProject.bin", compound_file({"VBA": b"Sub Auto_Open()" * 400}))
    data = target.getvalue()
    assert read(data, "danh-sach.xlsm")[0].rows == [["Họ tên"], ["Nguyễn Văn An"]]
    # Damaged, it is named as what it is.
    error = refused(data[:-200], "danh-sach.xlsm")
    assert error.code == "bad_xlsm" and "(.xlsm)" in english(error)


# Other files -----------------------------------------------------------------------------


def _zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        (_zip({"xl/workbook.bin": b"\0" * 100}), "xlsb", "(.xlsb)"),
        (
            compound_file({"EncryptionInfo": b"\0" * 64, "EncryptedPackage": b"\0" * 64}),
            "encrypted",
            "password",
        ),
        (compound_file({"WordDocument": b"\0" * 64}), "other_document", "Word document (.doc)"),
        (
            compound_file({"PowerPoint Document": b"\0"}),
            "other_document",
            "PowerPoint presentation (.ppt)",
        ),
        (_zip({"word/document.xml": "<w/>"}), "other_document", "Word document (.docx)"),
        (
            _zip({"ppt/presentation.xml": "<p/>"}),
            "other_document",
            "PowerPoint presentation (.pptx)",
        ),
        (
            _zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}),
            "other_document",
            "LibreOffice Writer document (.odt)",
        ),
        (
            b'<?xml version="1.0"?><office:document office:mimetype='
            b'"application/vnd.oasis.opendocument.spreadsheet"/>',
            "fods",
            "(.fods)",
        ),
        (compound_file({"Other": b"\0"}), "not_spreadsheet", "(.ods)"),
        (_zip({"notes.txt": "x"}), "not_spreadsheet", "(.ods)"),
    ],
    ids=["xlsb", "encrypted", "doc", "ppt", "docx", "pptx", "odt", "fods", "ole", "zip"],
)
def test_other_files_are_refused_saying_what_they_are(data, code, named):
    """Whatever its name, a file that is no spreadsheet the importer reads is refused with a
    message naming what it is, or listing what can be imported."""
    error = refused(data, "danh-sach.dat")
    assert error.code == code
    assert named in english(error)


@pytest.mark.parametrize(
    ("data", "name", "code", "named"),
    [
        (
            b"PK\x03\x04" + bytes(100),
            "danh-sach.ods",
            "bad_ods",
            "LibreOffice Calc spreadsheet (.ods)",
        ),
        (b"PK\x03\x04" + bytes(100), "danh-sach.xlsx", "bad_xlsx", "(.xlsx)"),
        (b"PK\x03\x04" + bytes(100), "danh-sach.xlsm", "bad_xlsm", "(.xlsm)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "cu.xls", "bad_xls", "(.xls)"),
        (
            raw_ods(content="<office:document-content><table:table"),
            "danh-sach.xlsx",
            "bad_ods",
            "(.ods)",
        ),
    ],
    ids=["zip-named-ods", "zip-named-xlsx", "zip-named-xlsm", "ole", "broken-ods"],
)
def test_damaged_files_are_refused_naming_the_format_found(data, name, code, named):
    """A file damaged past recognition is named by its extension; one recognised by its
    content (an .ods named .xlsx) by its content."""
    error = refused(data, name)
    assert error.code == code
    assert named in english(error)


def test_messages_name_the_format_in_vietnamese():
    """Each format's refusal names it in Vietnamese too."""
    assert "LibreOffice Calc (.ods)" in vietnamese(_unreadable("ods"))
    assert "Excel 97–2003 (.xls)" in vietnamese(_unreadable("xls"))
    assert "(.xlsm)" in vietnamese(_unreadable("xlsm"))
    assert vietnamese(_unreadable("ods")).startswith("Không đọc được tệp")


def test_no_message_about_an_ods_tells_a_libreoffice_user_to_save_from_excel():
    """Every refusal particular to .ods speaks of LibreOffice Calc, never of Excel."""
    for error in (
        _unreadable("ods"),
        _encrypted("ods"),
        _no_visible_sheet("ods"),
        _token_too_long(2**20),
        refused(
            raw_ods(ods_table(ods_row(ods_cell("x"))), prolog='<!DOCTYPE x [<!ENTITY a "b">]>')
        ),
    ):
        for text in (english(error), vietnamese(error)):
            assert "LibreOffice Calc" in text and "Excel" not in text, text
    with pytest.raises(SpreadsheetError) as caught:
        _refuse_dtd()
    assert "Excel" not in english(caught.value)


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_a_table_away_from_a1_with_identical_rows_keeps_every_cell_in_its_place(libreoffice, fmt):
    """LibreOffice writes identical rows once, repeated, and empty rows as one repeated row:
    read back, each cell is where it was, as in the .xlsx."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["C5"], sheet["D5"] = "Họ tên", "Năm"
    for row in (6, 7, 8):
        sheet[f"C{row}"], sheet[f"D{row}"] = "Giống nhau", 1
    for row in (12, 13):
        sheet[f"C{row}"], sheet[f"D{row}"] = "Khác", row
    sheet["E20"] = "cuối"
    buffer = io.BytesIO()
    workbook.save(buffer)
    expected = read(buffer.getvalue())[0].rows
    assert expected[19][4] == "cuối" and expected[7][2:4] == ["Giống nhau", 1]
    assert read(office.convert(buffer.getvalue(), fmt), f"ds.{fmt}")[0].rows == expected


def test_the_office_helper_says_libreoffice_is_missing_instead_of_skipping(monkeypatch):
    """Without LibreOffice the helper (and the `libreoffice` fixture) fails with the package to
    install, so that the .ods and .xls tests never pass by not running."""
    monkeypatch.setattr(office.shutil, "which", lambda name: None)
    with pytest.raises(office.OfficeMissing, match="libreoffice-calc-nogui"):
        office.convert("Họ tên\n".encode(), "ods")
