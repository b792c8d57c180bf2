""".ods and .xls files made to hurt the server: refused before python-calamine allocates,
with the message of the format found, fast, with bounded memory, and nothing written.

calamine reads every sheet of an .ods or .xls when it opens the file, expands an .ods's
repeated rows and columns, reserves what an .xls declares and follows its sector chains
without looking for loops. The files are written byte by byte (tests/raw_files.py). The
.xlsx cases are in test_spreadsheets.py and test_hostile_xml.py, but for the last section
here: .xlsx files in which calamine would read other members than the checks measured, or
copy one shared string into every cell.
"""

import io
import struct
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coordination.importing import import_records
from coordination.spreadsheets import SpreadsheetError, read_workbook
from tests.factories import db_state, run_in_child
from tests.raw_files import (
    EOF_RECORD,
    biff,
    bof,
    compound_file,
    dimensions,
    hidden_table_style,
    label,
    label_sst,
    merged_cells,
    number,
    ods_cell,
    ods_row,
    ods_table,
    raw_ods,
    raw_xls,
    record,
    sst,
)
from tests.test_spreadsheets import raw_xlsx

LIMITS = {"max_bytes": 5 * 1024 * 1024, "max_rows": 1000, "max_unpacked_bytes": 100 * 2**20}
HEADER = ods_row(ods_cell("Họ tên"), ods_cell("Năm"))
GOOD_SHEET = [dimensions(0, 2, 0, 2), label(0, 0, "Họ tên"), number(1, 1, 2024)]


def read(data: bytes, name: str = "danh-sach"):
    return read_workbook(data, filename=name, **LIMITS)


def refused(data: bytes, name: str = "danh-sach") -> SpreadsheetError:
    started = time.perf_counter()
    with pytest.raises(SpreadsheetError) as caught:
        read(data, name)
    assert time.perf_counter() - started < 2
    return caught.value


def ods_with(*rows: str, **options) -> bytes:
    return raw_ods(ods_table(HEADER, *rows), **options)


# .ods ------------------------------------------------------------------------------------

ODS_BOMBS = {
    # One number, repeated across the whole grid: 17 billion cells.
    "repeated-grid": ods_with(ods_row(ods_cell(1, repeat=16384), repeat=1_048_575)),
    # Repeated rows of many columns, each row element small.
    "repeated-rows": ods_with(ods_row(ods_cell(1, repeat=16384), repeat=2000)),
    "far-cell": ods_with(ods_row(ods_cell(), repeat=900_000), ods_row(ods_cell(1))),
    "far-column": ods_with(ods_row(ods_cell(repeat=20_000), ods_cell(1))),
    # A hidden sheet is read by calamine all the same.
    "hidden-sheet": raw_ods(
        ods_table(HEADER),
        ods_table(ods_row(ods_cell(1, repeat=5000), repeat=5000), name="Ẩn", style="ta2"),
        styles=hidden_table_style(),
    ),
}
ODS_TEXT_BOMBS = {
    "repeated-text": ods_with(ods_row(ods_cell("x" * 1000, repeat=10_000), repeat=10)),
    "spaces": ods_with(
        ods_row(
            '<table:table-cell office:value-type="string"><text:p><text:s text:c="4000000000"/>'
            "</text:p></table:table-cell>"
        )
    ),
}


@pytest.mark.parametrize("data", ODS_BOMBS.values(), ids=ODS_BOMBS.keys())
def test_ods_whose_repeats_reach_far_is_refused_before_calamine_expands_them(data):
    """Repeated rows and columns are counted, not expanded: a sheet reaching too far, or
    too many cells in all the sheets, is refused as too large."""
    assert refused(data).code == "sheet_too_large"


@pytest.mark.parametrize("data", ODS_TEXT_BOMBS.values(), ids=ODS_TEXT_BOMBS.keys())
def test_ods_whose_repeated_text_adds_up_to_gigabytes_is_refused(data):
    """calamine gives each repeated cell its own copy of the text, and writes a run of
    spaces out in full: the characters it would make are counted first."""
    assert refused(data).code == "too_much_text"


def test_ods_with_libreoffices_empty_block_to_the_edge_of_the_grid_is_read_quickly():
    """LibreOffice ends every sheet with empty rows and columns repeated to the grid's edge:
    they hold nothing, cost nothing and are no reason to refuse."""
    started = time.perf_counter()
    (sheet,) = read(
        ods_with(
            ods_row(ods_cell("Nguyễn Văn An"), ods_cell(2024), ods_cell(repeat=16382)),
            ods_row(ods_cell(repeat=16384), repeat=1_048_574),
        )
    )
    assert time.perf_counter() - started < 1
    assert sheet.rows == [["Họ tên", "Năm"], ["Nguyễn Văn An", 2024]]


def test_ods_repeated_rows_count_against_the_row_limit():
    """Rows repeated are rows: 1,001 repeated data rows exceed a limit of 1,000."""
    assert refused(ods_with(ods_row(ods_cell("x"), ods_cell(1), repeat=1001))).code == (
        "too_many_rows"
    )
    assert len(read(ods_with(ods_row(ods_cell("x"), ods_cell(1), repeat=999)))[0].rows) == 1000


def test_ods_merged_cells_repeated_far_below_the_list_are_not_spelt_out():
    """Merged ranges are reported where the list is, not for every repetition of an empty
    merged row down to the grid's edge."""
    merged = ods_cell("Đơn vị", attrs='table:number-columns-spanned="2"')
    (sheet,) = read(
        ods_with(
            ods_row(merged, "<table:covered-table-cell/>"),
            ods_row(
                ods_cell(attrs='table:number-columns-spanned="2"'),
                "<table:covered-table-cell/>",
                repeat=1_000_000,
            ),
        )
    )
    assert sheet.merged == [(1, 0, 1, 1)]


@pytest.mark.parametrize(
    "member",
    ["content.xml", "styles.xml"],
)
def test_ods_with_a_dtd_is_refused(member):
    """No XML member of an .ods may declare a DTD (entity expansion bombs)."""
    laughs = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY l0 "lol"><!ENTITY l1 "&l0;&l0;">]>'
    if member == "content.xml":
        data = ods_with(prolog=laughs)
    else:
        data = ods_with(extra={"styles.xml": laughs + "<office:document-styles/>"})
    error = refused(data)
    assert error.code == "xml_dtd" and "LibreOffice Calc" in str(error)


@pytest.mark.parametrize(
    "content",
    [
        "<office:document-content><table:table",
        '<table:table table:name="A"><table:table-row><table:table-cell>'
        "</table:table-row></table:table>",
        # A cell, row or table inside a cell: calamine would read it as part of the sheet.
        '<table:table table:name="A"><table:table-row><table:table-cell '
        'office:value-type="string"><table:table-cell/></table:table-cell>'
        "</table:table-row></table:table>",
        '<table:table table:name="A"><table:table table:name="B"/></table:table>',
        '<table:table table:name="A"><table:table-row table:number-rows-repeated="0">'
        "<table:table-cell/></table:table-row></table:table>",
        '<table:table table:name="A"><table:table-row><table:table-cell '
        'table:number-columns-repeated="1e9"/></table:table-row></table:table>',
        '<table:table table:name="A"/><table:table table:name="A"/>',
    ],
    ids=["truncated", "mismatched", "cell-in-cell", "table-in-table", "zero", "1e9", "twins"],
)
def test_broken_or_ambiguous_ods_content_is_refused_as_unreadable(content):
    data = raw_ods(
        content='<office:document-content xmlns:table="t" xmlns:office="o" '
        f'xmlns:text="x">{content}</office:document-content>'
        if not content.startswith("<office:")
        else content
    )
    error = refused(data)
    assert error.code == "bad_ods"


def test_ods_zip_bomb_is_refused_from_the_directory():
    """A content.xml of 300 MB of zeros (about 300 KB compressed) is never inflated."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(ods_with())) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for member in source.infolist():
            if member.filename != "content.xml":
                archive.writestr(member, source.read(member))
        with archive.open("content.xml", "w", force_zip64=True) as content:
            for _ in range(300):
                content.write(bytes(2**20))
    error = refused(buffer.getvalue())
    assert error.code == "zip_bomb"


def test_password_protected_ods_is_refused_saying_so():
    manifest = (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry>'
        "</manifest:manifest>"
    )
    error = refused(raw_ods(content="\x00\x01encrypted", manifest=manifest))
    assert error.code == "encrypted" and "(.ods)" in str(error)


def test_ods_that_also_looks_like_an_xlsx_is_refused():
    """calamine tries .xlsx first: a zip that is both is checked as neither."""
    buffer = io.BytesIO(ods_with())
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert refused(buffer.getvalue(), "danh-sach.ods").code == "bad_ods"


# .xls ------------------------------------------------------------------------------------


def _xls_with_fat_entry(sheet, sector: int, value: int) -> bytes:
    """The .xls with one FAT entry changed (the FAT is the last sector raw_xls writes)."""
    data = bytearray(raw_xls([sheet]))
    fat = len(data) - 512
    struct.pack_into("<I", data, fat + 4 * sector, value)
    return bytes(data)


XLS_BOMBS = {
    "far-cell": (raw_xls([[*GOOD_SHEET, number(65_535, 255, 1)]]), "sheet_too_large"),
    "hidden-sheet": (
        raw_xls([GOOD_SHEET, [number(r, 200, 1) for r in range(0, 30_000, 3)]], hidden={1}),
        "sheet_too_large",
    ),
    # calamine reserves room for the declared extent: beyond an .xls's grid it is forged.
    "declared-extent": (raw_xls([[dimensions(0, 2**31, 0, 256), *GOOD_SHEET[1:]]]), "bad_xls"),
    "declared-backwards": (raw_xls([[dimensions(9, 2, 0, 2), *GOOD_SHEET[1:]]]), "bad_xls"),
    # One long shared string named by every cell: each gets its own copy.
    "shared-string": (
        raw_xls(
            [[label_sst(row, col, 0) for row in range(1000) for col in range(20)]],
            globals_records=[sst("x" * 8000)],
        ),
        "too_much_text",
    ),
    # A loop in the directory's sector chain: calamine would read it forever.
    "directory-loop": (_xls_with_fat_entry(GOOD_SHEET, 8, 8), "bad_xls"),
    "stream-loop": (_xls_with_fat_entry(GOOD_SHEET, 3, 0), "bad_xls"),
    "truncated": (raw_xls([GOOD_SHEET])[:-700], "bad_xls"),
    "truncated-stream": (compound_file({"Workbook": biff([GOOD_SHEET])[:-12]}), "bad_xls"),
    "sheet-outside-stream": (
        compound_file(
            {
                "Workbook": bof(False)
                + record(0x0085, struct.pack("<IHBB", 10**6, 0, 1, 0) + b"A")
                + EOF_RECORD
            }
        ),
        "bad_xls",
    ),
    "merged-count": (raw_xls([[*GOOD_SHEET, record(0x00E5, struct.pack("<H", 50))]]), "bad_xls"),
    "password": (
        raw_xls([GOOD_SHEET], globals_records=[record(0x002F, struct.pack("<HHH", 1, 1, 1))]),
        "encrypted",
    ),
}


@pytest.mark.parametrize(("data", "code"), XLS_BOMBS.values(), ids=XLS_BOMBS.keys())
def test_hostile_xls_is_refused_before_calamine_reads_it(data, code):
    error = refused(data)
    assert error.code == code
    if code == "bad_xls":
        assert "Excel 97–2003" in str(error) or "(.xls)" in str(error)


def test_difat_loop_is_refused():
    """A DIFAT chain pointing back at itself: calamine's loop would grow without end."""
    data = bytearray(raw_xls([GOOD_SHEET]))
    struct.pack_into("<II", data, 68, 0, 1)  # the DIFAT starts at sector 0 ...
    struct.pack_into("<I", data, 512 + 508, 0)  # ... whose last entry points at sector 0
    assert refused(bytes(data)).code == "bad_xls"


def test_xls_merged_ranges_and_errors_are_reported():
    """Merged ranges as calamine reports them; a cell holding an error value (#N/A) is a
    formula without a value, as in an .xlsx."""
    error_cell = record(0x0205, struct.pack("<HHHBB", 1, 0, 15, 0x2A, 1))
    (sheet,) = read(raw_xls([[*GOOD_SHEET, error_cell, merged_cells((0, 0, 0, 1))]]))
    assert sheet.rows == [["Họ tên", None], [None, 2024]]
    assert sheet.merged == [(0, 0, 0, 1)]
    assert sheet.formula_without_value == {(1, 0)}


def test_xls_rows_with_content_count_against_the_row_limit():
    sheet = [label(0, 0, "Họ tên"), *[number(row, 0, row) for row in range(1, 1002)]]
    assert refused(raw_xls([sheet])).code == "too_many_rows"


# Bounded memory, nothing written ------------------------------------------------------------


@pytest.mark.parametrize(
    "bomb",
    [ODS_BOMBS["repeated-grid"], ODS_TEXT_BOMBS["spaces"], XLS_BOMBS["declared-extent"][0]],
    ids=["ods-grid", "ods-spaces", "xls-extent"],
)
def test_bombs_are_refused_with_bounded_memory(tmp_path, bomb):
    """In a child process, whose resident memory is its own: reading the bomb grows it by
    less than 50 MB (calamine would ask for gigabytes)."""
    (tmp_path / "valid.ods").write_bytes(ods_with())
    (tmp_path / "bomb").write_bytes(bomb)
    result = run_in_child(
        "memory_probe", tmp_path / "valid.ods", tmp_path / "bomb", workdir=tmp_path
    )
    assert result["code"] is not None
    assert result["growth_kb"] < 50 * 1024


HOSTILE_UPLOADS = {
    "ods-grid.ods": ODS_BOMBS["repeated-grid"],
    "ods-spaces.ods": ODS_TEXT_BOMBS["spaces"],
    "broken.ods": raw_ods(content="<office:document-content><table:table"),
    "far.xls": XLS_BOMBS["far-cell"][0],
    "loop.xls": XLS_BOMBS["directory-loop"][0],
    "password.xls": XLS_BOMBS["password"][0],
}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "data"), HOSTILE_UPLOADS.items(), ids=HOSTILE_UPLOADS.keys())
def test_hostile_uploads_write_nothing_in_the_importer_and_the_admin(
    superuser_client, world, upload_dir, name, data
):
    before = db_state()
    report = import_records(kind="tasks", data=data, file_name=name, dry_run=False)
    assert len(report.file_errors) == 1 and not report.written and report.outcomes == []

    response = superuser_client.post(
        reverse("admin:coordination_task_import"),
        {"import_file": SimpleUploadedFile(name, data)},
    )

    assert response.status_code == 200
    assert report.file_errors[0] in response.content.decode()
    assert response.context["token"] is None
    assert not upload_dir.exists() or not any(upload_dir.iterdir())
    assert db_state() == before


# .xlsx: what calamine reads is what was checked -------------------------------------------

FAR_SHEET = '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><row r="1048576">'
FAR_SHEET += '<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'


def _rezip(data: bytes, change) -> bytes:
    """The workbook with `change(name, content)` giving each member's new (name, content)
    pairs, written in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for member in source.infolist():
            for name, content in change(member.filename, source.read(member)):
                target.writestr(name, content)
    return buffer.getvalue()


def test_xlsx_whose_package_points_calamine_at_another_folder_is_refused():
    """calamine reads the workbook from the folder _rels/.rels names: a workbook kept in
    data/ beside a harmless one in xl/ would be read unchecked (and its far cell would make
    calamine ask for 550 GB)."""
    harmless = raw_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>')
    bomb = raw_xlsx(FAR_SHEET)
    bomb_members = zipfile.ZipFile(io.BytesIO(bomb))

    def change(name, content):
        if name == "_rels/.rels":
            content = content.replace(b'Target="xl/workbook.xml"', b'Target="/data/workbook.xml"')
        yield name, content
        if name.startswith("xl/"):
            yield "data/" + name[3:], bomb_members.read(name)

    assert refused(_rezip(harmless, change)).code == "bad_xlsx"


def test_xlsx_with_two_members_differing_only_in_case_is_refused():
    """calamine looks member names up without case: the checks could measure one and
    calamine read the other."""

    def change(name, content):
        yield name, content
        if name == "xl/worksheets/sheet1.xml":
            yield "XL/Worksheets/Sheet1.xml", raw_xlsx_member(FAR_SHEET)

    harmless = raw_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>')
    assert refused(_rezip(harmless, change)).code == "bad_xlsx"


def raw_xlsx_member(sheet_data: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(raw_xlsx(sheet_data))).read("xl/worksheets/sheet1.xml")


def test_xlsx_claiming_billions_of_shared_strings_is_refused():
    """calamine reserves room for as many shared strings as <sst uniqueCount> says, before
    reading one: a kilobyte file claiming 100 billion made it abort the whole process."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    data = raw_xlsx(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
        shared_strings=f'<sst xmlns="{main}" uniqueCount="100000000000"><si><t>x</t></si></sst>',
    )
    assert refused(data).code == "bad_xlsx"


def test_xlsx_naming_one_long_shared_string_from_every_cell_is_refused():
    """Each cell naming a shared string gets its own copy in calamine: 20,000 cells naming a
    string of 20,000 characters ask for 400 million characters from a 60 KB file."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    cells = "".join(
        f'<row r="{row}">'
        + "".join(f'<c r="{letter}{row}" t="s"><v>0</v></c>' for letter in "ABCDEFGHIJKLMNOPQRST")
        + "</row>"
        for row in range(1, 1001)
    )
    data = raw_xlsx(
        cells,
        shared_strings=f'<sst xmlns="{main}"><si><t>{"x" * 20_000}</t></si></sst>',
    )
    assert refused(data).code == "too_much_text"
    # The same cells naming a short string are an ordinary sheet.
    short = raw_xlsx(cells, shared_strings=f'<sst xmlns="{main}"><si><t>Có</t></si></sst>')
    assert read(short)[0].rows[999][19] == "Có"


def test_damaged_copies_of_libreoffice_files_are_read_or_refused_never_a_crash(
    tmp_path, libreoffice
):
    """Hundreds of randomly damaged copies of an .ods and an .xls saved by LibreOffice: each
    is read or refused with a message; none makes calamine abort, hang or panic through."""
    from tests import office
    from tests.factories import xlsx_bytes

    rows = [["Họ tên", "Năm", "Ngày"], *[[f"Người {i}", 2000 + i, "01/02/2024"] for i in range(30)]]
    folder = tmp_path / "files"
    folder.mkdir()
    for fmt in ("ods", "xls"):
        (folder / f"danh-sach.{fmt}").write_bytes(office.convert(xlsx_bytes(rows), fmt))
    outcomes = run_in_child("mutations", folder, 300, workdir=tmp_path)
    assert sum(outcomes.values()) == 600
    assert outcomes.get("bad_ods", 0) and outcomes.get("bad_xls", 0) and outcomes.get("read", 0)
