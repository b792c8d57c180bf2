"""The project's own exports dressed as an office keeps them go back in as the same records.

An office takes an export and makes it its list: a letterhead and a title merged across
above it, a numbering column (STT), a section row, runs of equal cells (a unit, a year, a
status) merged down, and the recipients and signature block under it. Imported again, every
record of every kind is unchanged and nothing is written; only the end of the list is said.
"""

import io

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from coordination import kinds
from tests.factories import db_state
from tests.test_resources import KINDS, export, problems, run

pytestmark = pytest.mark.django_db

#: Columns an office never merges: one value per record.
NEVER_MERGED = {"Mã", "Phiên bản"}


def dress_as_office_list(data: bytes) -> bytes:
    """The exported workbook laid out as a district office lays out its list."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    sheet.insert_cols(1)
    sheet.cell(row=1, column=1, value="STT")
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=1, value=row - 1)
    header = [cell.value for cell in sheet[1]]
    width = len(header)
    # A section row under the header, the letterhead and the title above it.
    sheet.insert_rows(2)
    sheet.cell(row=2, column=1, value="I. KHỐI CHÍNH QUYỀN")
    sheet.insert_rows(1, amount=4)
    sheet.cell(row=1, column=1, value="ỦY BAN NHÂN DÂN HUYỆN HÀM TÂN")
    sheet.cell(row=1, column=max(width - 2, 2), value="CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    sheet.cell(row=3, column=1, value="DANH SÁCH THEO DÕI NĂM 2024")
    sheet.merge_cells(start_row=3, start_column=1, end_row=3, end_column=width)
    first, last = 7, sheet.max_row
    # Runs of equal values merged down, as a unit or a year over its rows.
    for col, label in enumerate(header, start=1):
        if col == 1 or label in NEVER_MERGED:
            continue
        values = [sheet.cell(row=row, column=col).value for row in range(first, last + 1)]
        start = 0
        for index in range(1, len(values) + 1):
            if index == len(values) or values[index] != values[start]:
                if index - start > 1 and values[start] is not None:
                    letter = get_column_letter(col)
                    sheet.merge_cells(f"{letter}{first + start}:{letter}{first + index - 1}")
                start = index
    column = max(width - 1, 2)
    block = [
        (last + 2, 1, "Nơi nhận:"),
        (last + 2, column, "TM. ỦY BAN NHÂN DÂN"),
        (last + 3, 1, "- Như trên;"),
        (last + 3, column, "KT. CHỦ TỊCH"),
        (last + 4, 1, "- Lưu: VT."),
        (last + 4, column, "PHÓ CHỦ TỊCH"),
        (last + 6, column, "(Đã ký)"),
        (last + 8, column, "Nguyễn Văn Bình"),
    ]
    for row, col, value in block:
        sheet.cell(row=row, column=col, value=value)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


@pytest.mark.parametrize("kind", KINDS)
def test_an_export_kept_as_an_office_list_reimports_unchanged(spreadsheet_world, kind):
    data = dress_as_office_list(export(kind))
    before = db_state()
    report = run(kind, data=data, file_name=f"{kind}.xlsx", dry_run=False)
    total = kinds.get(kind).resource._meta.model.objects.count()
    assert report.file_errors == [] and problems(report) == []
    assert report.summary_line() == f"new=0 updated=0 unchanged={total} errors=0"
    assert len(report.warnings) == 1 and "TM." not in report.warnings[0]
    assert db_state() == before


def test_the_dressed_lists_do_merge_cells(spreadsheet_world):
    """The sweep above means something: most kinds' lists get cells merged down."""
    merged = {}
    for kind in KINDS:
        sheet = openpyxl.load_workbook(io.BytesIO(dress_as_office_list(export(kind)))).active
        merged[kind] = len(sheet.merged_cells.ranges) - 1  # the title's
    assert sum(1 for count in merged.values() if count > 0) >= 5, merged


def typed_in_a_legacy_font(data: bytes, encode) -> bytes:
    """The whole sheet, header included, as typed with a .VnTime (TCVN3) or VNI font."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    for row in workbook.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.value = encode(cell.value)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


@pytest.mark.parametrize("encoding", ["TCVN3", "VNI"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_export_typed_in_a_legacy_font_reimports_unchanged(world, kind, encoding):
    """TCVN3 has no toned capitals (“Ủy” comes back “ủy”): a text differing only in case
    is not a change. Codes (“01/CTPH-ĐH”), yes/no and choice cells convert with the sheet."""
    from tests.test_legacy_text import tcvn3_encode, vni_encode

    encode = tcvn3_encode if encoding == "TCVN3" else vni_encode
    world.agreement.number = "01/QCPH-ĐH-HĐND"
    world.agreement.save()
    data = typed_in_a_legacy_font(dress_as_office_list(export(kind)), encode)
    before = db_state()
    report = run(kind, data=data, file_name=f"{kind}.xlsx", dry_run=False)
    total = kinds.get(kind).resource._meta.model.objects.count()
    assert report.file_errors == [] and problems(report) == []
    assert report.summary_line() == f"new=0 updated=0 unchanged={total} errors=0"
    assert db_state() == before
