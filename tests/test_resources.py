"""The import engine and the resources: every kind round-trips, and every bad input is refused.

These tests call `coordination.importing.import_records` and `coordination.exporting` the way
the admin and the commands do, with real .xlsx (openpyxl) and CSV files built in the test.
The file layer alone (`coordination.spreadsheets`) and the legacy-text converter are covered
by test_spreadsheets.py and test_legacy_text.py; here each case also proves what reached the
database: `db_state()` before and after, wherever a test claims nothing changed.
"""

import csv
import datetime
import io
import math
import unicodedata
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.db import DatabaseError, connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from coordination import exporting, kinds
from coordination.choices import FollowUpKind, TaskStatus, UnitKind, UnitLevel
from coordination.importing import import_records
from coordination.models import (
    Agreement,
    AgreementParty,
    FollowUp,
    Indicator,
    Meeting,
    Person,
    Signatory,
    Task,
    Unit,
    UnitMember,
)
from coordination.models.base import RecordQuerySet
from coordination.text import clean_text
from tests.factories import (
    csv_bytes,
    db_state,
    make_agreement,
    make_followup,
    make_indicator,
    make_meeting,
    make_member,
    make_person,
    make_signatory,
    make_task,
    make_unit,
    make_user,
    xlsx_bytes,
    xlsx_values,
)

pytestmark = pytest.mark.django_db

KINDS = kinds.names()
TASK_HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý", "Trạng thái"]
# The record number column and the follow-up links to last year's and to a repeated item's
# record number: this database's ids, so they cannot travel to another database; nor can the
# thread the system computes from those links.
ID_HEADERS = {
    "Mã",
    "Chuyển tiếp từ mã",
    "Nêu lại từ mã",
    "Phiên bản",
    "Năm nêu lần đầu",
    "Số lần chuyển năm sau",
    "Số lần nêu",
}


# Helpers ---------------------------------------------------------------------------------


def vi(message: str, /, **params) -> str:
    """`message` as the Vietnamese catalogue gives it, with `params` filled in."""
    with translation.override("vi"):
        text = gettext(message)
    return text % params if params else text


def vi_prefix(message: str) -> str:
    """The Vietnamese text of `message` up to its first placeholder."""
    return vi(message).split("%(")[0]


def run(kind, rows=None, *, data=None, file_name="danh-sach.xlsx", dry_run=True, user=None):
    if data is None:
        data = csv_bytes(rows) if file_name.endswith(".csv") else xlsx_bytes(rows)
    return import_records(kind=kind, data=data, file_name=file_name, user=user, dry_run=dry_run)


def problems(report) -> list[tuple]:
    return [(p.row, p.column, p.value, p.message) for p in report.problems]


def export(kind: str, file_format: str = "xlsx", queryset=None) -> bytes:
    model = kinds.get(kind).resource._meta.model
    stream = io.BytesIO()
    exporting.write_export(
        kind, model.objects.all() if queryset is None else queryset, stream, file_format
    )
    return stream.getvalue()


def file_rows(data: bytes, file_format: str) -> list[list]:
    if file_format == "xlsx":
        return xlsx_values(data)
    text = data.decode("utf-8-sig")
    return [[cell or None for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]


def without_columns(rows: list[list], headers: set[str]) -> list[list]:
    keep = [index for index, name in enumerate(rows[0]) if name not in headers]
    return [[row[index] for index in keep] for row in rows]


def blank_columns(data: bytes, file_format: str, headers: set[str]) -> bytes:
    """The file with the cells of the `headers` columns emptied, edited as a user would."""
    if file_format == "xlsx":
        workbook = openpyxl.load_workbook(io.BytesIO(data))
        sheet = workbook.active
        names = [cell.value for cell in sheet[1]]
        for index, name in enumerate(names, start=1):
            if name in headers:
                for row in range(2, sheet.max_row + 1):
                    sheet.cell(row=row, column=index).value = None
        stream = io.BytesIO()
        workbook.save(stream)
        return stream.getvalue()
    rows = file_rows(data, "csv")
    blank = {index for index, name in enumerate(rows[0]) if name in headers}
    edited = [rows[0]] + [
        [None if index in blank else cell for index, cell in enumerate(row)] for row in rows[1:]
    ]
    return csv_bytes(edited)


def task_row(world, content, *, unit=None, due="31/12/2024", status="Đang thực hiện"):
    return [world.agreement.number, 2024, content, unit or world.committee.full_name, due, status]


def own_row(world, **options):
    """A row naming `world.task` by its agreement, year and content (its natural key)."""
    return task_row(world, world.task.content, due=world.task.due_date, **options)


def wipe_records():
    """Delete every coordination record, links first (they protect what they point at)."""
    FollowUp.objects.update(carried_over_from=None)
    for model in (FollowUp, Task, Indicator, Signatory, Meeting, AgreementParty):
        model.objects.all().delete()
    Agreement.objects.update(parent=None, supersedes=None)
    Agreement.objects.all().delete()
    Person.objects.all().delete()
    UnitMember.objects.all().delete()
    Unit.objects.update(parent=None, successor=None)
    Unit.objects.all().delete()


# Round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
@pytest.mark.parametrize("kind", KINDS)
def test_exported_file_reimports_with_nothing_changed(spreadsheet_world, kind, file_format):
    """Export, then import the file as it is: every row unchanged, not one byte written."""
    data = export(kind, file_format)
    before = db_state()
    report = run(kind, data=data, file_name=f"{kind}.{file_format}", dry_run=False)
    total = kinds.get(kind).resource._meta.model.objects.count()
    assert total >= 1
    assert report.file_errors == [] and problems(report) == []
    assert report.warnings == []
    assert report.summary_line() == f"new=0 updated=0 unchanged={total} errors=0"
    assert db_state() == before


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_every_kind_round_trips_through_an_empty_database(spreadsheet_world, file_format):
    """Export all eight kinds, empty the database, import them back in order: the new export
    is the old one, cell for cell (leading zeros, formulas-looking text, decimals, dates, NFC
    text, parents defined further down, parties and every list), ids apart."""
    exported = {kind: export(kind, file_format) for kind in KINDS}
    wipe_records()
    for kind in KINDS:
        data = blank_columns(exported[kind], file_format, ID_HEADERS)
        report = run(kind, data=data, file_name=f"{kind}.{file_format}", dry_run=False)
        assert report.file_errors == [] and problems(report) == [], kind
        assert report.written
        assert report.count_new == len(file_rows(exported[kind], file_format)) - 1
    for kind in KINDS:
        again = without_columns(file_rows(export(kind, file_format), file_format), ID_HEADERS)
        assert again == without_columns(file_rows(exported[kind], file_format), ID_HEADERS), kind


def test_export_edit_in_excel_and_reimport_changes_only_the_edited_cells(spreadsheet_world):
    """The round trip unit staff do: export, edit two cells in Excel, import the file back."""
    task = spreadsheet_world.task
    workbook = openpyxl.load_workbook(io.BytesIO(export("tasks")))
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == task.pk)
    sheet.cell(row, header.index("Tiến độ (%)") + 1).value = 75
    sheet.cell(row, header.index("Kết quả") + 1).value = "Đã tổ chức 3/4 hội nghị"
    stream = io.BytesIO()
    workbook.save(stream)
    edited = stream.getvalue()
    before = db_state()

    report = run("tasks", data=edited, dry_run=False)

    assert report.summary_line() == f"new=0 updated=1 unchanged={Task.objects.count() - 1} errors=0"
    task.refresh_from_db()
    assert (task.progress, task.result) == (75, "Đã tổ chức 3/4 hội nghị")
    after = db_state()
    # The task and its history (one entry recording the edit, with its coordinating units).
    assert task.coordinating_units.exists()
    assert {label for label in before if before[label] != after[label]} == {
        "coordination.Task",
        "coordination.HistoricalTask",
        "coordination.HistoricalTask_coordinating_units",
    }
    again, sent = xlsx_values(export("tasks")), xlsx_values(edited)
    version = {"Phiên bản"}
    assert without_columns(again, version) == without_columns(sent, version)
    # Only the edited record has a new version.
    assert [a[-1] == b[-1] for a, b in zip(again[1:], sent[1:], strict=True)] == [
        line[0] != task.pk for line in sent[1:]
    ]
    assert again[row - 1][-1] == task.updated_at.isoformat()


def test_exported_headers_are_the_import_headers_in_vietnamese(world):
    """The export's header row is each column's Vietnamese header, as the import reads it."""
    for kind in KINDS:
        with translation.override("vi"):
            expected = [str(column.column_name) for column in kinds.get(kind).resource.columns()]
        assert xlsx_values(export(kind))[0] == expected
    assert xlsx_values(export("tasks"))[0][:5] == [
        "Mã",
        "Văn bản phối hợp",
        "Năm",
        "Nội dung",
        "Đơn vị chủ trì",
    ]


# Headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Hạn xử lý",
        "HẠN XỬ LÝ",
        "han xu ly",
        "Han  xu-ly:",
        " Hạn\nxử lý ",
        "Thời hạn",
        "Hạn hoàn thành",
        "THOI HAN",
    ],
)
def test_due_date_header_is_recognised_however_it_is_typed(world, header):
    """Headers compare without case, diacritics, spacing or punctuation; aliases work too."""
    rows = [[*TASK_HEADER[:4], header], task_row(world, "Nhiệm vụ có hạn")[:5]]
    report = run("tasks", rows, dry_run=False)
    assert report.written, problems(report)
    assert report.warnings == []
    assert Task.objects.get(content="Nhiệm vụ có hạn").due_date == datetime.date(2024, 12, 31)


def test_headers_typed_without_diacritics_are_recognised(world):
    rows = [
        ["VAN BAN PHOI HOP", "nam", "noi dung", "don vi chu tri", "tinh trang"],
        [*task_row(world, "Nhiệm vụ gõ không dấu")[:4], "da huy"],
    ]
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == [] and report.written
    assert Task.objects.get(content="Nhiệm vụ gõ không dấu").status == TaskStatus.CANCELLED


def test_title_rows_stt_blank_and_section_rows_are_skipped(world):
    """A banner, a title and a date line above the headers, an STT column, blank rows, rows
    with only an STT, and section rows are not data; row numbers stay Excel's."""
    rows = [
        ["ỦY BAN NHÂN DÂN HUYỆN HÀM TÂN", None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
        [None, None, None, "Độc lập - Tự do - Hạnh phúc"],
        ["DANH SÁCH NHIỆM VỤ PHỐI HỢP NĂM 2024"],
        ["Hàm Tân, ngày 05 tháng 01 năm 2024"],
        [],
        ["STT", *TASK_HEADER],
        ["I. Khối chính quyền"],
        [1, *task_row(world, "Nhiệm vụ của UBND")],
        [],
        [None, "II. Khối Mặt trận và các đoàn thể"],
        [2, *task_row(world, "Nhiệm vụ của Mặt trận", unit="UBMTTQVN huyện")],
        [3],
        [None, None, None, None, None, None, None],
    ]
    before = Task.objects.count()
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == [] and report.file_errors == []
    assert report.warnings == []  # the STT column is expected, not an unknown column
    assert report.header_row == 5
    assert [(o.row, o.status) for o in report.outcomes] == [(8, "new"), (11, "new")]
    assert Task.objects.count() == before + 2
    assert Task.objects.get(content="Nhiệm vụ của Mặt trận").lead_unit == world.front


def test_error_rows_are_numbered_as_excel_shows_them(world):
    rows = [
        ["DANH SÁCH NHIỆM VỤ"],
        [],
        TASK_HEADER,
        task_row(world, "Đúng"),
        [],
        task_row(world, "Sai ngày", due="32/12/2024"),
    ]
    report = run("tasks", rows)
    assert problems(report) == [
        (
            6,
            "Hạn xử lý",
            "32/12/2024",
            vi("%(value)s is not a real date (day/month/year).", value="32/12/2024"),
        )
    ]


def test_missing_required_column_is_one_error_naming_it(world):
    rows = [TASK_HEADER[:3] + TASK_HEADER[4:], [world.agreement.number, 2024, "Thiếu đơn vị"]]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert report.file_errors == [
        vi("Missing required columns: %(headers)s.", headers="“Đơn vị chủ trì”")
    ]
    assert report.outcomes == [] and not report.written
    assert db_state() == before


def test_misspelt_required_header_is_the_missing_column_error_naming_the_right_header(world):
    """A required header with a typo ("Đơn vị chủ trìx") is not guessed at: the file is
    refused with the one "missing column" error naming the header expected, the misspelt
    column is reported as not used, and nothing is written."""
    rows = [
        [*TASK_HEADER[:3], "Đơn vị chủ trìx", *TASK_HEADER[4:]],
        task_row(world, "Tiêu đề gõ sai"),
    ]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert report.file_errors == [
        vi("Missing required columns: %(headers)s.", headers="“Đơn vị chủ trì”")
    ]
    assert report.warnings == [
        vi(
            "These columns are not used and were ignored: %(headers)s.",
            headers="“Đơn vị chủ trìx”",
        )
    ]
    assert report.outcomes == [] and not report.written
    assert db_state() == before


def test_merged_title_row_above_the_header_is_skipped(world):
    """A title merged across the columns above the header (as offices format their lists)
    is not data: the header below it is found and the rows import, numbered as Excel shows
    them."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["DANH SÁCH NHIỆM VỤ PHỐI HỢP NĂM 2024"])
    sheet.merge_cells("A1:F1")
    sheet.append(TASK_HEADER)
    sheet.append(task_row(world, "Nhiệm vụ dưới tiêu đề gộp ô"))
    sheet.append(task_row(world, "Nhiệm vụ thứ hai", unit="UBMTTQVN huyện"))
    stream = io.BytesIO()
    workbook.save(stream)
    before = Task.objects.count()
    report = run("tasks", data=stream.getvalue(), dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert report.warnings == []
    assert report.header_row == 1
    assert [(o.row, o.status) for o in report.outcomes] == [(3, "new"), (4, "new")]
    assert report.written
    assert Task.objects.count() == before + 2
    assert Task.objects.get(content="Nhiệm vụ thứ hai").lead_unit == world.front


def test_a_column_given_twice_is_an_error(world):
    rows = [[*TASK_HEADER, "Thời hạn"], [*task_row(world, "Hai cột hạn"), "30/06/2024"]]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert len(report.file_errors) == 1
    assert report.file_errors[0] == vi(
        "The column “%(header)s” appears more than once (columns %(letters)s).",
        header="Hạn xử lý",
        letters="E, G",
    )
    assert db_state() == before


def test_unknown_columns_are_ignored_with_a_warning(world):
    rows = [[*TASK_HEADER, "Ghi chú nội bộ"], [*task_row(world, "Có cột lạ"), "không nhập"]]
    report = run("tasks", rows, dry_run=False)
    assert report.written
    assert report.warnings == [
        vi(
            "These columns are not used and were ignored: %(headers)s.",
            headers="“Ghi chú nội bộ”",
        )
    ]


def test_sheet_without_headers_is_refused(world):
    before = db_state()
    report = run("tasks", [["a", "b"], [1, 2]], dry_run=False)
    assert len(report.file_errors) == 1
    assert report.file_errors[0].startswith(
        vi_prefix(
            "No header row found. The first rows of the sheet must include the column headers: "
            "%(headers)s. Download the template to see them."
        )
    )
    assert db_state() == before


def test_headers_without_rows_are_refused(world):
    before = db_state()
    report = run("tasks", [TASK_HEADER, [], []], dry_run=False)
    assert report.file_errors == [vi("The sheet has a header row but no data rows.")]
    assert not report.written and db_state() == before


def test_the_data_sheet_is_found_behind_an_instructions_sheet(world):
    sheets = {
        "Hướng dẫn": [["Điền danh sách ở trang bên"], ["Không sửa dòng tiêu đề"]],
        "Nhiệm vụ": [TASK_HEADER, task_row(world, "Ở trang thứ hai")],
    }
    report = run("tasks", data=xlsx_bytes(None, sheets=sheets), dry_run=False)
    assert report.written and report.sheet_name == "Nhiệm vụ"
    assert Task.objects.filter(content="Ở trang thứ hai").exists()


# Natural keys, record numbers and duplicates --------------------------------------------


def test_reimporting_the_same_file_creates_no_duplicates(world):
    rows = [TASK_HEADER, task_row(world, "Nhiệm vụ 1"), task_row(world, "Nhiệm vụ 2")]
    first = run("tasks", rows, dry_run=False)
    assert first.summary_line() == "new=2 updated=0 unchanged=0 errors=0"
    state = db_state()
    second = run("tasks", rows, dry_run=False)
    assert second.summary_line() == "new=0 updated=0 unchanged=2 errors=0"
    assert db_state() == state


def test_a_row_matching_the_natural_key_updates_that_record(world):
    """Agreement, year and content name a task: a new status updates it, no second task."""
    run("tasks", [TASK_HEADER, task_row(world, "Tuyên truyền")], dry_run=False)
    count = Task.objects.count()
    rows = [TASK_HEADER, task_row(world, "Tuyên truyền", status="Chưa thực hiện")]
    report = run("tasks", rows, dry_run=False)
    assert report.summary_line() == "new=0 updated=1 unchanged=0 errors=0"
    assert Task.objects.count() == count
    assert Task.objects.get(content="Tuyên truyền").status == TaskStatus.NOT_STARTED


def test_agreement_number_is_its_key_ignoring_case_and_spaces(world):
    rows = [
        ["Số, ký hiệu", "Trích yếu", "Loại", "Năm bắt đầu", "Năm kết thúc"],
        [" 01 / qcph-ubnd-mttq ", world.agreement.title, "Quy chế phối hợp", 2021, 2026],
    ]
    count = Agreement.objects.count()
    report = run("agreements", rows, dry_run=False)
    assert [o.status for o in report.outcomes] == ["updated"]
    assert Agreement.objects.count() == count


def test_record_number_column_updates_the_record_it_names_even_its_key(world):
    rows = [
        ["Mã", *TASK_HEADER],
        [world.task.pk, *task_row(world, "Nội dung đã sửa", due=world.task.due_date)],
    ]
    count = Task.objects.count()
    report = run("tasks", rows, dry_run=False)
    assert report.summary_line() == "new=0 updated=1 unchanged=0 errors=0"
    assert Task.objects.count() == count
    world.task.refresh_from_db()
    assert world.task.content == "Nội dung đã sửa"


def test_unknown_record_number_is_a_row_error(world):
    rows = [["Mã", *TASK_HEADER], [987654, *task_row(world, "Không có")]]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == [
        (2, "Mã", "987654", vi("No record has the number %(id)s.", id=987654))
    ]
    assert db_state() == before


def test_duplicate_rows_in_one_file_are_an_error_naming_both_rows(world):
    rows = [
        TASK_HEADER,
        task_row(world, "Nhiệm vụ A"),
        task_row(world, "Nhiệm vụ B"),
        task_row(world, "nhiệm vụ a", status="Chưa thực hiện"),
    ]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    key = "Văn bản phối hợp, Năm, Nội dung"
    assert problems(report) == [
        (
            4,
            "",
            "",
            vi(
                "Rows %(first)d and %(second)d describe the same record (%(key)s).",
                first=2,
                second=4,
                key=key,
            ),
        )
    ]
    assert [o.status for o in report.outcomes] == ["new", "new", "error"]
    assert not report.written and db_state() == before


def test_two_rows_with_the_same_record_number_are_duplicates(world):
    rows = [
        ["Mã", *TASK_HEADER],
        [world.task.pk, *task_row(world, "Sửa lần một", due=world.task.due_date)],
        [world.task.pk, *task_row(world, "Sửa lần hai", due=world.task.due_date)],
    ]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert [p.row for p in report.problems] == [3]
    assert "2" in report.problems[0].message and "3" in report.problems[0].message
    assert db_state() == before


def test_nfd_text_matches_the_nfc_record_and_is_stored_nfc(world):
    """A name typed in decomposed Unicode (macOS, some web forms) is the same person."""
    nfd = unicodedata.normalize("NFD", "  Hà Lê\u00a0Thanh  Chung\u200b ")
    assert nfd != "Hà Lê Thanh Chung"
    rows = [
        ["Họ và tên", "Chức vụ hiện tại", "Đơn vị"],
        [nfd, unicodedata.normalize("NFD", "Chủ tịch UBND huyện"), world.committee.full_name],
        [unicodedata.normalize("NFD", "Nguyễn Văn Ánh"), "Chuyên viên", "UBND huyện"],
    ]
    count = Person.objects.count()
    report = run("people", rows, dry_run=False)
    assert [o.status for o in report.outcomes] == ["unchanged", "new"]
    assert Person.objects.count() == count + 1
    stored = Person.objects.get(position="Chuyên viên").full_name
    assert stored == "Nguyễn Văn Ánh" == unicodedata.normalize("NFC", stored)


# References ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Ủy ban nhân dân huyện Hàm Tân",
        "uy ban nhan dan huyen ham tan",
        "ỦY BAN NHÂN DÂN   HUYỆN HÀM TÂN",
        "UBND huyện",
        "UBND huyện Hàm Tân",
        "ubnd huyen ham tan",
        unicodedata.normalize("NFD", "Ủy ban nhân dân huyện Hàm Tân"),
    ],
)
def test_unit_is_found_by_full_or_short_name(world, name):
    report = run("tasks", [TASK_HEADER, task_row(world, "Tìm đơn vị", unit=name)], dry_run=False)
    assert problems(report) == []
    assert Task.objects.get(content="Tìm đơn vị").lead_unit == world.committee


def test_unknown_unit_names_the_value_and_suggests_the_closest_names(world):
    typo = "Ủy ban nhân dân huyện Hàm Tâm"
    before = db_state()
    report = run("tasks", [TASK_HEADER, task_row(world, "Sai tên", unit=typo)], dry_run=False)
    [(row, column, value, message)] = problems(report)
    assert (row, column, value) == (2, "Đơn vị chủ trì", typo)
    assert message.startswith(vi("Unknown unit “%(value)s”.", value=typo))
    assert vi_prefix("Did you mean: %(names)s?") + world.committee.full_name in message
    assert db_state() == before


def test_unknown_unit_far_from_every_name_gets_no_suggestion(world):
    report = run("tasks", [TASK_HEADER, task_row(world, "Lạ", unit="Sở Ngoại vụ tỉnh Đắk Lắk")])
    assert [p.message for p in report.problems] == [
        vi("Unknown unit “%(value)s”.", value="Sở Ngoại vụ tỉnh Đắk Lắk")
    ]


def test_repeated_person_name_is_told_apart_by_the_row_unit(world):
    """Two cadres called Nguyễn Văn An: the signatory row's unit says which one signed."""
    ours = make_person(full_name="Nguyễn Văn An", unit=world.committee)
    theirs = make_person(full_name="Nguyễn Văn An", unit=world.front)
    rows = [
        ["Văn bản phối hợp", "Cán bộ", "Ký thay mặt đơn vị", "Chức vụ khi ký"],
        [world.agreement.number, "nguyen van an", "UBMTTQVN huyện", "Phó Chủ tịch"],
    ]
    report = run("signatories", rows, dry_run=False)
    assert problems(report) == []
    signatory = Signatory.objects.get(position="Phó Chủ tịch")
    assert signatory.person == theirs != ours


def test_repeated_person_name_is_told_apart_by_the_tasks_lead_unit(world):
    """A task names its lead unit, not a "unit": the lead unit says whose cadre is meant (an
    exported task list, in a province where names repeat, comes back whole)."""
    ours = make_person(full_name="Nguyễn Văn An", unit=world.committee)
    make_person(full_name="Nguyễn Văn An", unit=world.front)
    rows = [[*TASK_HEADER, "Cán bộ thực hiện"], [*task_row(world, "Ai làm?"), "Nguyễn Văn An"]]
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == []
    assert Task.objects.get(content="Ai làm?").assignee == ours


def test_repeated_person_name_is_told_apart_by_a_coordinating_unit(world):
    """Neither cadre works in the lead unit: the coordinating unit named decides."""
    farmers = make_unit(full_name="Hội Nông dân huyện Hàm Tân")
    women = make_unit(full_name="Hội Liên hiệp Phụ nữ huyện Hàm Tân")
    theirs = make_person(full_name="Nguyễn Văn An", unit=farmers)
    make_person(full_name="Nguyễn Văn An", unit=women)
    header = [*TASK_HEADER, "Đơn vị phối hợp", "Cán bộ thực hiện"]
    row = [*task_row(world, "Ai phối hợp?"), farmers.full_name, "Nguyễn Văn An"]
    report = run("tasks", [header, row], dry_run=False)
    assert problems(report) == []
    assert Task.objects.get(content="Ai phối hợp?").assignee == theirs


def test_repeated_person_name_without_a_unit_to_decide_is_an_error(world):
    """Both cadres work in units the row does not name: nothing decides, the row is refused."""
    make_person(full_name="Nguyễn Văn An", unit=make_unit(full_name="Hội Nông dân huyện Hàm Tân"))
    make_person(
        full_name="Nguyễn Văn An", unit=make_unit(full_name="Hội Liên hiệp Phụ nữ huyện Hàm Tân")
    )
    rows = [[*TASK_HEADER, "Cán bộ thực hiện"], [*task_row(world, "Ai làm?"), "Nguyễn Văn An"]]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    [(row, column, value, message)] = problems(report)
    assert (row, column, value) == (2, "Cán bộ thực hiện", "Nguyễn Văn An")
    assert message.startswith(
        vi_prefix("“%(value)s” matches several records: %(matches)s. Use the full name.")
    )
    assert db_state() == before


def test_unknown_agreement_number_is_a_row_error(world):
    row = task_row(world, "Văn bản lạ")
    row[0] = "99/KH-XYZ"
    report = run("tasks", [TASK_HEADER, row])
    assert [(p.column, p.value) for p in report.problems] == [("Văn bản phối hợp", "99/KH-XYZ")]
    assert report.problems[0].message.startswith(
        vi("Unknown agreement number “%(value)s”.", value="99/KH-XYZ")
    )


@pytest.mark.parametrize(
    "typed",
    ["Đang thực hiện", "đang thực hiện", "DANG THUC HIEN", " dang  thuc hien ", "in_progress"],
)
def test_choice_accepts_the_label_without_diacritics_or_the_code(world, typed):
    report = run("tasks", [TASK_HEADER, task_row(world, "Trạng thái", status=typed)], dry_run=False)
    assert problems(report) == []
    assert Task.objects.get(content="Trạng thái").status == TaskStatus.IN_PROGRESS


def test_unknown_choice_lists_the_allowed_labels(world):
    report = run("tasks", [TASK_HEADER, task_row(world, "Lạ", status="Sắp xong")])
    with translation.override("vi"):
        allowed = ", ".join(str(choice.label) for choice in TaskStatus)
    assert problems(report) == [
        (
            2,
            "Trạng thái",
            "Sắp xong",
            vi("%(value)s is not one of: %(allowed)s.", value="Sắp xong", allowed=allowed),
        )
    ]


def test_parent_unit_defined_further_down_the_same_file(db):
    rows = [
        ["Tên đầy đủ", "Loại", "Cấp", "Địa bàn", "Đơn vị cấp trên"],
        [
            "Hội Nông dân xã Tân Hà",
            "Tổ chức chính trị - xã hội",
            "Xã",
            "xã Tân Hà",
            "UBND xã Tân Hà",
        ],
        ["UBND xã Tân Hà", "Ủy ban nhân dân", "Xã", "xã Tân Hà", None],
    ]
    report = run("units", rows, dry_run=False)
    assert problems(report) == [] and report.written
    farmers = Unit.objects.get(full_name="Hội Nông dân xã Tân Hà")
    assert farmers.parent == Unit.objects.get(full_name="UBND xã Tân Hà")
    assert (farmers.kind, farmers.level) == (UnitKind.SOCIO_POLITICAL, UnitLevel.COMMUNE)


# Values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        datetime.date(2024, 3, 5),
        datetime.datetime(2024, 3, 5, 0, 0),
        45356,
        45356.0,
        "45356",
        "05/03/2024",
        "5/3/2024",
        "05-03-2024",
        "05.03.2024",
        "2024-03-05",
        " 05/03/2024 ",
    ],
    ids=repr,
)
def test_dates_in_every_accepted_form(world, cell):
    report = run("tasks", [TASK_HEADER, task_row(world, "Ngày", due=cell)], dry_run=False)
    assert problems(report) == []
    assert Task.objects.get(content="Ngày").due_date == datetime.date(2024, 3, 5)


@pytest.mark.parametrize(
    "cell", ["05/03/2024", "5/3/2024", "05-03-2024", "05.03.2024", "2024-03-05"]
)
def test_dates_typed_in_csv(world, cell):
    rows = [TASK_HEADER, task_row(world, "Ngày CSV", due=cell)]
    report = run("tasks", rows, file_name="nhiem-vu.csv", dry_run=False)
    assert problems(report) == []
    assert Task.objects.get(content="Ngày CSV").due_date == datetime.date(2024, 3, 5)


@pytest.mark.parametrize(
    "cell",
    [
        "31/02/2024",
        "29/02/2023",
        "13/13/2024",
        "5/3/24",
        "2024/03/05",
        "ngày 5 tháng 3",
        60,
        0,
        45356.5,
        -1,
    ],
    ids=repr,
)
def test_impossible_or_ambiguous_dates_are_errors_never_guesses(world, cell):
    rows = [TASK_HEADER, task_row(world, "Ngày sai", due=cell), task_row(world, "Đúng")]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert [(p.row, p.column) for p in report.problems] == [(2, "Hạn xử lý")]
    assert report.problems[0].value == str(cell).strip()
    assert not report.written and db_state() == before


def test_impossible_date_message_is_vietnamese(world):
    report = run("tasks", [TASK_HEADER, task_row(world, "Ngày sai", due="31/02/2024")])
    assert report.problems[0].message == vi(
        "%(value)s is not a real date (day/month/year).", value="31/02/2024"
    )


def test_document_numbers_keep_their_leading_zeros(db):
    header = ["Số, ký hiệu", "Trích yếu", "Loại", "Năm bắt đầu", "Năm kết thúc"]
    rows = [header, ["0012/QĐ-UBND", "Kế hoạch", "Kế hoạch phối hợp", 2024, 2024]]
    assert run("agreements", rows, dry_run=False).written
    csv_rows = [header, ["0007", "Chương trình", "Chương trình phối hợp", "2024", "2024"]]
    assert run("agreements", csv_rows, file_name="van-ban.csv", dry_run=False).written
    assert set(Agreement.objects.values_list("number", flat=True)) == {"0012/QĐ-UBND", "0007"}


def test_document_number_typed_as_a_number_is_refused(db):
    rows = [
        ["Số, ký hiệu", "Trích yếu", "Loại", "Năm bắt đầu", "Năm kết thúc"],
        [12, "Kế hoạch", "Kế hoạch phối hợp", 2024, 2024],
    ]
    report = run("agreements", rows, dry_run=False)
    assert problems(report) == [
        (
            2,
            "Số, ký hiệu",
            "12",
            vi(
                "A number here loses its leading zeros: format the cell as Text "
                "and type the code again."
            ),
        )
    ]
    assert Agreement.objects.count() == 0


def test_numbers_years_decimals_and_yes_no(world):
    rows = [
        ["Văn bản phối hợp", "Năm", "Đơn vị", "Tên chỉ tiêu", "Mức chỉ tiêu", "Kết quả thực hiện"],
        [world.agreement.number, "2024", "UBND huyện", "Tỷ lệ đúng hẹn", "99,7", "99.75%"],
        [world.agreement.number, 2024.0, "UBND huyện", "Số mô hình", 253, 260.5],
    ]
    report = run("indicators", rows, dry_run=False)
    assert problems(report) == []
    on_time = Indicator.objects.get(name="Tỷ lệ đúng hẹn")
    assert (on_time.year, on_time.target, on_time.actual) == (
        2024,
        Decimal("99.7"),
        Decimal("99.75"),
    )
    models = Indicator.objects.get(name="Số mô hình")
    assert (models.target, models.actual) == (Decimal("253"), Decimal("260.5"))
    rows = [["Họ và tên", "Đơn vị", "Kích hoạt"], ["Trần Văn Bình", "UBND huyện", "Không"]]
    assert run("people", rows, dry_run=False).written
    assert Person.objects.get(full_name="Trần Văn Bình").is_active is False


def test_bad_numbers_are_row_errors(world):
    rows = [
        ["Văn bản phối hợp", "Năm", "Đơn vị", "Tên chỉ tiêu", "Mức chỉ tiêu"],
        [world.agreement.number, "hai nghìn", "UBND huyện", "A", "98"],
        [world.agreement.number, 2024, "UBND huyện", "B", "chín mươi"],
        [world.agreement.number, 1900, "UBND huyện", "C", "98"],
    ]
    before = db_state()
    report = run("indicators", rows, dry_run=False)
    assert [(p.row, p.column) for p in report.problems] == [
        (2, "Năm"),
        (3, "Mức chỉ tiêu"),
        (4, "Năm"),
    ]
    assert db_state() == before


def test_text_is_nfc_trimmed_and_single_spaced(world):
    content = unicodedata.normalize("NFD", "  Tuyên   truyền\u00a0về\u200b nông thôn mới \t")
    report = run("tasks", [TASK_HEADER, task_row(world, content)], dry_run=False)
    assert problems(report) == []
    assert Task.objects.filter(content="Tuyên truyền về nông thôn mới").exists()


def excel_escaped(text: str) -> str:
    """`text` as Excel writes it in a sheet's XML: control characters as _xHHHH_ escapes."""
    return "".join(
        f"_x{ord(char):04X}_" if ord(char) < 0x20 and char not in "\t\n\r" else char
        for char in text
    )


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_control_and_invisible_characters_in_a_cell_are_stripped_and_export_works(
    world, file_format
):
    """A cell holding NUL, vertical tab, zero-width spaces and no-break spaces (pasted from
    Word or a web page) imports without an error, is stored as clean_text gives it, and the
    task exports again afterwards."""
    content = "\x00Tuyên\x00 truyền\x0b mới\u200b\u00a0về\ufeff nông\u00a0thôn\u200d"
    result = "Đã tổ chức\x0b\x00\n\u200b\n\n\n2\u00a0hội nghị\x07"
    rows = [[*TASK_HEADER, "Kết quả"], [*task_row(world, content), result]]
    if file_format == "xlsx":
        # openpyxl refuses these characters; Excel stores them escaped, and calamine reads
        # the escapes back as the characters.
        data = xlsx_bytes(
            [
                [excel_escaped(cell) if isinstance(cell, str) else cell for cell in row]
                for row in rows
            ]
        )
    else:
        data = csv_bytes(rows)
    before = Task.objects.count()
    report = run("tasks", data=data, file_name=f"danh-sach.{file_format}", dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert report.written and Task.objects.count() == before + 1
    task = Task.objects.latest("pk")
    # Word's manual line break (vertical tab) is a line break in this multi-line text.
    assert task.content == clean_text(content, multiline=True) == "Tuyên truyền\nmới về nông thôn"
    assert task.result == clean_text(result, multiline=True) == "Đã tổ chức\n\n2 hội nghị"
    exported = xlsx_values(export("tasks", queryset=Task.objects.filter(pk=task.pk)))
    assert exported[1][exported[0].index("Nội dung")] == task.content
    assert exported[1][exported[0].index("Kết quả")] == task.result


@pytest.mark.parametrize(
    ("legacy", "encoding"),
    [
        ("Tuyªn truyÒn vËn ®éng nh©n d©n", "TCVN3"),
        ("Tuyeân truyeàn vaän ñoäng nhaân daân", "VNI"),
    ],
)
def test_legacy_text_is_converted_with_a_note_on_the_row(world, legacy, encoding):
    report = run("tasks", [TASK_HEADER, task_row(world, legacy)], dry_run=False)
    assert problems(report) == [] and report.written
    assert report.outcomes[0].notes == [
        vi("Text in the legacy %(encoding)s encoding was converted to Unicode.", encoding=encoding)
    ]
    assert Task.objects.filter(content="Tuyên truyền vận động nhân dân").exists()


def test_unit_name_typed_in_tcvn3_is_found(world):
    """A whole sheet typed with a .VnTime font: the unit column is legacy text as well."""
    legacy_unit = "Uû ban nh©n d©n huyÖn Hµm T©n"
    rows = [TASK_HEADER, task_row(world, "Tuyªn truyÒn vËn ®éng nh©n d©n", unit=legacy_unit)]
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == []
    assert Task.objects.get(content="Tuyên truyền vận động nhân dân").lead_unit == world.committee


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


def _csv_text(world, delimiter=","):
    rows = [TASK_HEADER, task_row(world, "Tuyên truyền, vận động nhân dân", unit="UBND huyện")]
    return csv_bytes(rows, encoding="utf-8", delimiter=delimiter).decode("utf-8")


@pytest.mark.parametrize("form", ["utf-8-bom", "utf-8", "cp1258", "semicolon", "cp1258-semicolon"])
def test_csv_in_every_accepted_encoding_and_separator(world, form):
    text = _csv_text(world, ";" if "semicolon" in form else ",")
    data = {
        "utf-8-bom": lambda: b"\xef\xbb\xbf" + text.encode("utf-8"),
        "utf-8": lambda: text.encode("utf-8"),
        "semicolon": lambda: text.encode("utf-8"),
        "cp1258": lambda: cp1258(text),
        "cp1258-semicolon": lambda: cp1258(text),
    }[form]()
    report = run("tasks", data=data, file_name="nhiem-vu.csv", dry_run=False)
    assert report.file_errors == [] and problems(report) == [], form
    task = Task.objects.get(content="Tuyên truyền, vận động nhân dân")
    assert unicodedata.is_normalized("NFC", task.content)
    assert task.lead_unit == world.committee


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            "utf-16",
            "The file is saved as Unicode (UTF-16) text. In Excel use Save As → “CSV UTF-8 "
            "(Comma delimited)”.",
        ),
        (
            "tabs",
            "The file is separated by tabs (tab-delimited text). In Excel use Save As → "
            "“CSV UTF-8 (Comma delimited)”.",
        ),
    ],
)
def test_csv_in_other_encodings_or_separators_is_a_clear_error(world, form, message):
    text = _csv_text(world, "\t" if form == "tabs" else ",")
    data = text.encode("utf-16") if form == "utf-16" else text.encode("utf-8")
    before = db_state()
    report = run("tasks", data=data, file_name="nhiem-vu.csv", dry_run=False)
    assert report.file_errors == [vi(message)]
    assert db_state() == before


# Bad files and limits --------------------------------------------------------------------

NOT_A_SPREADSHEET = (
    "The file is not a spreadsheet that can be imported: Excel workbooks (.xlsx, .xlsm, .xls), "
    "LibreOffice Calc spreadsheets (.ods) and CSV files can. Open it in Excel or LibreOffice "
    "Calc and save it as “Excel Workbook (.xlsx)” or “CSV UTF-8 (Comma delimited)”."
)


@pytest.mark.parametrize(
    ("data", "file_name", "message"),
    [
        (
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" * 20,
            "nhiem-vu.xlsx",
            NOT_A_SPREADSHEET,
        ),
        (b"\x89PNG\r\n\x1a\n" + bytes(300), "nhiem-vu.csv", NOT_A_SPREADSHEET),
        (b"", "nhiem-vu.xlsx", "The file is empty (0 bytes). Choose the file again and upload it."),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
            "nhiem-vu.xls",
            "The file could not be read as an Excel 97–2003 workbook (.xls). Open it in Excel "
            "or LibreOffice Calc and save it as “Excel Workbook (.xlsx)”.",
        ),
        (
            b"PK\x03\x04" + bytes(400),
            "nhiem-vu.xlsx",
            "The file could not be read as an Excel workbook (.xlsx). Save it again from Excel "
            "as “Excel Workbook (.xlsx)”.",
        ),
    ],
    ids=["pdf", "png", "empty", "xls", "broken-zip"],
)
def test_files_that_are_not_spreadsheets_are_refused(world, data, file_name, message):
    before = db_state()
    report = run("tasks", data=data, file_name=file_name, dry_run=False)
    assert report.file_errors == [vi(message)]
    assert report.outcomes == [] and not report.written
    assert db_state() == before


def test_size_and_row_limits_default_to_the_issue_values():
    from django.conf import settings as live

    assert live.IMPORT_MAX_BYTES == 10 * 1024 * 1024
    assert live.IMPORT_MAX_ROWS == 100_000


def test_file_over_the_size_setting_is_refused(world, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    row_bytes = len(csv_bytes([task_row(world, "Nhiệm vụ phối hợp số 10000")]))
    count = int(1.05 * 1024 * 1024 / row_bytes)
    data = csv_bytes(
        [TASK_HEADER, *[task_row(world, f"Nhiệm vụ phối hợp số {10000 + i}") for i in range(count)]]
    )
    assert 1024 * 1024 < len(data) <= 1.2 * 1024 * 1024
    before = db_state()
    report = run("tasks", data=data, file_name="nhiem-vu.csv", dry_run=False)
    size = str(math.ceil(len(data) / 1024 / 1024 * 10) / 10).replace(".", ",")
    assert report.file_errors == [
        vi(
            "File too large: %(size)s MB (limit %(limit)s MB). Split the list into several files.",
            size=size,
            limit="1",
        )
    ]
    assert db_state() == before


@pytest.mark.parametrize("file_name", ["nhiem-vu.xlsx", "nhiem-vu.csv"])
def test_file_over_the_row_setting_is_refused(world, settings, file_name):
    """The limit counts data rows: 6 rows under a header are refused at 5, accepted at 6."""
    settings.IMPORT_MAX_ROWS = 5
    rows = [TASK_HEADER, *[task_row(world, f"Nhiệm vụ {i}") for i in range(6)]]
    before = db_state()
    report = run("tasks", rows, file_name=file_name, dry_run=False)
    sheet = "Dữ liệu" if file_name.endswith(".xlsx") else file_name
    assert report.file_errors == [
        vi(
            "Too many rows in sheet “%(sheet)s”: %(count)s (limit %(limit)s). Split the list "
            "into several files.",
            sheet=sheet,
            count="6",
            limit="5",
        )
    ]
    assert db_state() == before
    settings.IMPORT_MAX_ROWS = 6
    assert run("tasks", rows, file_name=file_name, dry_run=False).written


def test_file_too_large_when_decompressed_is_refused(world, settings):
    # Excel cells hold at most 32,767 characters: twenty of them unpack to 600 kB and
    # compress to almost nothing.
    filler = [[None] * 7 + ["x" * 30_000] for _ in range(20)]
    data = xlsx_bytes([TASK_HEADER, task_row(world, "Nhỏ"), *filler])
    assert len(data) < 100_000
    settings.IMPORT_MAX_UNPACKED_BYTES = 300_000
    before = db_state()
    report = run("tasks", data=data, dry_run=False)
    assert len(report.file_errors) == 1
    assert report.file_errors[0].startswith(
        vi_prefix(
            "The file is too large when decompressed (over %(limit)s MB). Delete unused sheets, "
            "pictures and formatting, or split the list into several files."
        )
    )
    assert db_state() == before


def test_xml_parsing_is_protected_by_defusedxml():
    import defusedxml  # noqa: F401
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True


def test_formula_without_a_computed_value_is_a_row_error(world):
    """openpyxl saves formulas without their result: the import cannot know the value."""
    rows = [TASK_HEADER, task_row(world, "=A1&B1"), task_row(world, "Bình thường")]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == [
        (
            2,
            "Nội dung",
            "",
            vi(
                "The cell holds a formula without a computed value: open the file in Excel, "
                "save it, and upload it again."
            ),
        )
    ]
    assert db_state() == before


def test_formula_text_is_stored_as_text_and_never_run(world):
    """Typed text that looks like a formula is kept as text; an escaped one loses its "'"."""
    rows = [
        TASK_HEADER,
        task_row(world, '=HYPERLINK("http://evil","x")'),
        task_row(world, "'=SUM(1+1)"),
        task_row(world, "- Tuyên truyền"),
    ]
    report = run("tasks", rows, file_name="nhiem-vu.csv", dry_run=False)
    assert problems(report) == []
    stored = set(Task.objects.values_list("content", flat=True))
    assert {'=HYPERLINK("http://evil","x")', "=SUM(1+1)", "- Tuyên truyền"} <= stored


# All or nothing --------------------------------------------------------------------------


def test_preview_reports_new_updated_unchanged_and_error_and_writes_nothing(world):
    same = make_task(
        agreement=world.agreement, year=2024, content="Giữ nguyên", lead_unit=world.committee
    )
    rows = [
        ["Mã", *TASK_HEADER],
        [None, *task_row(world, "Mới")],
        [
            world.task.pk,
            *own_row(world, status="Chưa thực hiện"),
        ],
        [
            same.pk,
            world.agreement.number,
            2024,
            "Giữ nguyên",
            world.committee.full_name,
            None,
            "Chưa thực hiện",
        ],
        [None, *task_row(world, "Lỗi", unit="Không có đơn vị này")],
    ]
    before = db_state()
    report = run("tasks", rows, dry_run=True)
    assert [(o.row, o.status) for o in report.outcomes] == [
        (2, "new"),
        (3, "updated"),
        (4, "unchanged"),
        (5, "error"),
    ]
    assert [o.status_label for o in report.outcomes] == [
        vi("New"),
        vi("Updated"),
        vi("Unchanged"),
        vi("Error"),
    ]
    assert report.outcomes[0].label == "Mới"
    assert report.summary_line() == "new=1 updated=1 unchanged=1 errors=1"
    assert not report.written
    assert db_state() == before


def test_clean_preview_writes_nothing_either(world):
    before = db_state()
    report = run("tasks", [TASK_HEADER, task_row(world, "Chỉ xem trước")], dry_run=True)
    assert report.summary_line() == "new=1 updated=0 unchanged=0 errors=0"
    assert not report.written and db_state() == before


def test_one_bad_row_means_nothing_is_written(world, superuser):
    rows = [
        ["Mã", *TASK_HEADER],
        [None, *task_row(world, "Mới 1")],
        [None, *task_row(world, "Mới 2")],
        [
            world.task.pk,
            *own_row(world, status="Chưa thực hiện"),
        ],
        [None, *task_row(world, "Sai", due="31/02/2024")],
    ]
    before = db_state()
    report = run("tasks", rows, dry_run=False, user=superuser)
    assert report.summary_line() == "new=2 updated=1 unchanged=0 errors=1"
    assert not report.written
    assert db_state() == before


def test_a_row_breaking_a_model_rule_is_an_error_not_a_crash(world):
    """A done task without completion date, a due date before the start: the model's rules."""
    rows = [
        [*TASK_HEADER, "Ngày bắt đầu"],
        [*task_row(world, "Xong mà không có ngày", status="Đã hoàn thành"), None],
        [*task_row(world, "Hạn trước ngày bắt đầu", due="01/01/2024"), "01/02/2024"],
        [world.agreement.number, 2030, "Ngoài thời hạn văn bản", "UBND huyện", None, None, None],
    ]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert [(p.row, p.column) for p in report.problems] == [
        (2, "Ngày hoàn thành"),
        (3, "Hạn xử lý"),
        (4, "Năm"),
    ]
    assert report.problems[0].message == vi("A done task needs its completion date.")
    assert db_state() == before


def test_data_changed_between_preview_and_confirm_writes_nothing(db):
    """The preview is clean; meanwhile someone adds a unit with the same short name; the
    confirmation re-checks everything and writes none of the file."""
    rows = [
        ["Tên đầy đủ", "Tên viết tắt", "Loại", "Cấp", "Địa bàn"],
        [
            "Hội Nông dân huyện Hàm Tân",
            "Hội ND huyện",
            "Tổ chức chính trị - xã hội",
            "Huyện",
            "huyện Hàm Tân",
        ],
        [
            "Hội Cựu chiến binh huyện Hàm Tân",
            "Hội CCB huyện",
            "Tổ chức chính trị - xã hội",
            "Huyện",
            "huyện Hàm Tân",
        ],
    ]
    data = xlsx_bytes(rows)
    preview = run("units", data=data)
    assert preview.summary_line() == "new=2 updated=0 unchanged=0 errors=0"

    make_unit(
        full_name="Hội Nông dân Việt Nam huyện Hàm Tân",
        short_name="hội nd huyện",
        locality="Huyện Hàm Tân",
    )
    before = db_state()
    report = run("units", data=data, dry_run=False)

    assert not report.written
    assert problems(report) == [
        (2, "Tên viết tắt", "", vi("A unit with this short name already exists in this locality."))
    ]
    assert db_state() == before
    assert not Unit.objects.filter(full_name="Hội Cựu chiến binh huyện Hàm Tân").exists()


def _patch_links(monkeypatch, calls):
    through = Task.coordinating_units.through
    original = QuerySet.bulk_create

    def bulk_create(self, objs, *args, **kwargs):
        if self.model is through:
            calls.append("links")
            raise DatabaseError("disk I/O error")
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", bulk_create)


def _patch_updates(monkeypatch, calls):
    original = RecordQuerySet.bulk_update

    def bulk_update(self, objs, fields, *args, **kwargs):
        if self.model is Task:
            calls.append("updates")
            raise DatabaseError("deadlock detected")
        return original(self, objs, fields, *args, **kwargs)

    monkeypatch.setattr(RecordQuerySet, "bulk_update", bulk_update)


def _patch_log(monkeypatch, calls):
    def log_actions(*args, **kwargs):
        calls.append("log")
        raise DatabaseError("connection lost")

    monkeypatch.setattr(LogEntry.objects, "log_actions", log_actions)


@pytest.mark.parametrize(
    "patch", [_patch_links, _patch_updates, _patch_log], ids=["links", "updates", "log"]
)
def test_crash_in_the_middle_of_the_write_leaves_the_database_unchanged(
    world, superuser, monkeypatch, patch
):
    """New tasks are already inserted when the link table, the update or the admin log
    fails: the whole import rolls back and says so."""
    rows = [
        ["Mã", *TASK_HEADER, "Đơn vị phối hợp"],
        [None, *task_row(world, "Mới 1"), "UBMTTQVN huyện"],
        [None, *task_row(world, "Mới 2"), "UBMTTQVN huyện"],
        [
            world.task.pk,
            *own_row(world, status="Chưa thực hiện"),
            "UBND huyện",
        ],
    ]
    calls = []
    patch(monkeypatch, calls)
    before = db_state()
    report = run("tasks", rows, dry_run=False, user=superuser)
    assert calls, "the injected failure never ran"
    assert not report.written
    assert report.file_errors == [
        vi(
            "The database refused the import (the data may have been changed by someone else "
            "meanwhile). Nothing was written; check the file and try again."
        )
    ]
    assert db_state() == before


# Unit scoping ----------------------------------------------------------------------------


@pytest.fixture
def staff_a(world):
    user = make_user()
    make_member(user, world.committee)
    return user


def test_unit_staff_import_rows_of_their_own_unit(world, staff_a):
    report = run("tasks", [TASK_HEADER, task_row(world, "Của UBND")], user=staff_a, dry_run=False)
    assert report.written and problems(report) == []


def test_unit_staff_cannot_import_a_row_for_another_unit(world, staff_a):
    rows = [
        TASK_HEADER,
        task_row(world, "Của UBND"),
        task_row(world, "Của Mặt trận", unit="UBMTTQVN huyện"),
    ]
    before = db_state()
    report = run("tasks", rows, user=staff_a, dry_run=False)
    assert problems(report) == [
        (3, "Đơn vị chủ trì", "", vi("You may only import records of your own units."))
    ]
    assert db_state() == before


def test_unit_staff_cannot_take_over_another_unit_record_by_its_number(world, staff_a):
    """The follow-up item belongs to the Front: naming its number to move it is refused,
    as if no record had that number (the importer's units cannot see the item)."""
    followup = world.followup
    rows = [
        ["Mã", "Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"],
        [followup.pk, "Tồn tại – hạn chế", 2024, "Đã chuyển", world.committee.full_name],
    ]
    before = db_state()
    report = run("followups", rows, user=staff_a, dry_run=False)
    assert [p.message for p in report.problems] == [
        vi("No record has the number %(id)s.", id=followup.pk)
    ]
    assert db_state() == before


def test_unit_staff_cannot_change_another_unit_record_named_by_its_natural_key(world, staff_a):
    """Without a record number, the row's year, unit, kind and content name the Front's
    follow-up item: changing its status that way is refused the same, and nothing changes."""
    followup = world.followup
    with translation.override("vi"):
        kind = str(followup.get_kind_display())
    rows = [
        ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Trạng thái"],
        [
            kind,
            followup.year,
            followup.content,
            followup.responsible_unit.full_name,
            "in_progress",
        ],
    ]
    # The row does name the existing item (for someone allowed, it is an update).
    assert run("followups", rows).summary_line() == "new=0 updated=1 unchanged=0 errors=0"
    before = db_state()
    report = run("followups", rows, user=staff_a, dry_run=False)
    assert [p.message for p in report.problems] == [
        vi("You may only import records of your own units.")
    ]
    assert not report.written
    assert db_state() == before


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_a_control_character_stored_around_the_models_still_exports(world, file_format):
    """A vertical tab that reached the database without the models' clean-up (raw SQL, an old
    backup) cannot be written in an .xlsx: the export replaces it and succeeds; the CSV
    keeps the text as stored."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Task._meta.db_table} SET content = %s WHERE id = %s",
            ["Tuyên truyền\x0bmới", world.task.pk],
        )
    rows = (
        xlsx_values(export("tasks"))
        if file_format == "xlsx"
        else list(csv.reader(io.StringIO(export("tasks", "csv").decode("utf-8-sig"))))
    )
    content = rows[0].index("Nội dung")
    [line] = [line for line in rows[1:] if str(line[0]) == str(world.task.pk)]
    expected = "Tuyên truyền\ufffdmới" if file_format == "xlsx" else "Tuyên truyền\x0bmới"
    assert line[content] == expected


def test_unit_staff_cannot_import_units_or_people_of_other_units(world, staff_a):
    before = db_state()
    people = [["Họ và tên", "Đơn vị"], ["Lê Văn Tám", "UBMTTQVN huyện"]]
    assert [p.row for p in run("people", people, user=staff_a, dry_run=False).problems] == [2]
    units = [["Tên đầy đủ", "Loại", "Cấp", "Địa bàn"], ["Đơn vị mới", "Khác", "Xã", "xã Tân Hà"]]
    assert [p.row for p in run("units", units, user=staff_a, dry_run=False).problems] == [2]
    assert db_state() == before


@pytest.mark.parametrize("who", ["superuser", "manage_all_units"])
def test_superusers_and_managers_of_all_units_are_not_restricted(world, who):
    if who == "superuser":
        user = make_user(is_superuser=True)
    else:
        user = make_user(permissions=["coordination.manage_all_units"])
    rows = [TASK_HEADER, task_row(world, "Của Mặt trận", unit="UBMTTQVN huyện")]
    report = run("tasks", rows, user=user, dry_run=False)
    assert report.written and problems(report) == []


def test_imports_by_a_user_are_in_the_admin_log(world, staff_a):
    rows = [
        ["Mã", *TASK_HEADER],
        [None, *task_row(world, "Mới")],
        [world.task.pk, *own_row(world, status="Chưa thực hiện")],
    ]
    report = run("tasks", rows, user=staff_a, dry_run=False)
    assert report.summary_line() == "new=1 updated=1 unchanged=0 errors=0"
    entries = LogEntry.objects.filter(user=staff_a)
    assert sorted(entry.action_flag for entry in entries) == [1, 2]


# Query counts ----------------------------------------------------------------------------


def _task_file(world, n: int, tag: str, status="Đang thực hiện") -> bytes:
    rows = [[*TASK_HEADER, "Đơn vị phối hợp", "Cán bộ thực hiện"]]
    for i in range(n):
        rows.append(
            [
                *task_row(world, f"{tag} nhiệm vụ số {i}", status=status),
                "UBMTTQVN huyện; Hội LHPN huyện",
                "Hà Lê Thanh Chung",
            ]
        )
    return xlsx_bytes(rows)


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as context:
        callable_()
    return len(context.captured_queries)


@pytest.mark.parametrize("step", ["preview", "create", "update"])
def test_import_queries_do_not_grow_with_rows(spreadsheet_world, superuser, step):
    world = spreadsheet_world
    run("tasks", data=_task_file(world, 1, "warm-up"), dry_run=False, user=superuser)
    counts = []
    for n in (20, 200):
        data = _task_file(world, n, f"lô {n}")
        if step == "update":
            assert run("tasks", data=data, dry_run=False, user=superuser).count_new == n
            data = _task_file(world, n, f"lô {n}", status="Chưa thực hiện")

        def work(data=data, n=n):
            report = run("tasks", data=data, dry_run=step == "preview", user=superuser)
            assert problems(report) == []
            expected = {"preview": "new", "create": "new", "update": "updated"}[step]
            assert report.count(expected) == n

        counts.append(_queries(work))
    assert counts[0] == counts[1]


def _populate(kind: str, world, n: int):
    """`n` more records of `kind`, every relation and list filled."""
    for _ in range(n):
        if kind == "units":
            make_unit(parent=world.committee, short_name="")
        elif kind == "people":
            make_person(unit=world.front)
        elif kind == "agreements":
            make_agreement(parent=world.agreement, parties=[world.committee, world.front])
        elif kind == "signatories":
            make_signatory(agreement=world.agreement, person=make_person(unit=world.front))
        elif kind == "meetings":
            meeting = make_meeting()
            meeting.agreements.add(world.agreement)
            meeting.co_chairs.add(world.chair, world.front_chair)
            meeting.attending_units.add(world.committee, world.front)
        elif kind == "tasks":
            make_task(
                agreement=world.agreement,
                lead_unit=world.committee,
                coordinating_units=[world.front],
                assignee=world.chair,
                meeting=world.meeting,
            )
        elif kind == "followups":
            make_followup(
                kind=FollowUpKind.CONCLUSION,
                responsible_unit=world.front,
                agreement=world.agreement,
                meeting=world.meeting,
            )
        elif kind == "indicators":
            make_indicator(agreement=world.agreement, unit=world.committee, year=2024)


@pytest.mark.parametrize("kind", KINDS)
def test_export_queries_do_not_grow_with_rows(world, kind, monkeypatch):
    # Chunks of 7 records: a query per chunk (of the records or of their related names)
    # would show as growth between 20 and 200 rows.
    monkeypatch.setattr(exporting, "CHUNK", 7)
    counts = []
    for total in (20, 200):
        model = kinds.get(kind).resource._meta.model
        _populate(kind, world, total - model.objects.count())
        assert model.objects.count() == total
        for file_format in ("xlsx", "csv"):
            counts.append(_queries(lambda file_format=file_format: export(kind, file_format)))
    assert counts[0] == counts[2] and counts[1] == counts[3]


# Rules the preview must see, not only the database ---------------------------------------

FOLLOWUP_HEADER = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Chuyển tiếp từ mã"]


def test_item_already_carried_over_cannot_be_carried_over_again(spreadsheet_world):
    """Each item is carried over at most once (one-to-one): the preview says so, rather
    than a clean preview and a refusal by the database at the confirmation."""
    world = spreadsheet_world
    rows = [
        FOLLOWUP_HEADER,
        ["Kiến nghị cử tri", 2025, "Chuyển tiếp lần hai", "UBND huyện", world.first.pk],
    ]
    preview = run("followups", rows)
    assert [(p.row, p.column) for p in preview.problems] == [(2, "Chuyển tiếp từ mã")]
    before = db_state()
    assert not run("followups", rows, dry_run=False).written
    assert db_state() == before


def test_two_rows_carrying_over_the_same_item_are_an_error(spreadsheet_world):
    world = spreadsheet_world
    source = make_followup(year=2024, responsible_unit=world.committee)
    rows = [
        FOLLOWUP_HEADER,
        ["Tồn tại – hạn chế", 2025, "Tiếp tục lần một", "UBND huyện", source.pk],
        ["Tồn tại – hạn chế", 2025, "Tiếp tục lần hai", "UBND huyện", source.pk],
    ]
    preview = run("followups", rows)
    assert [p.row for p in preview.problems] == [3]
    assert "2" in preview.problems[0].message


def test_unit_name_alone_in_tcvn3_is_converted_with_a_note(world):
    """Only the unit column is legacy text: the row still says what was converted."""
    rows = [TASK_HEADER, task_row(world, "Nội dung Unicode", unit="Uû ban nh©n d©n huyÖn Hµm T©n")]
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == []
    assert report.outcomes[0].notes == [
        vi("Text in the legacy %(encoding)s encoding was converted to Unicode.", encoding="TCVN3")
    ]


def test_list_of_unit_names_in_tcvn3_is_converted(world):
    front_tcvn3 = "Uû ban MÆt trËn Tæ quèc ViÖt Nam huyÖn Hµm T©n"
    rows = [
        [*TASK_HEADER, "Đơn vị phối hợp"],
        [*task_row(world, "Tuyªn truyÒn vËn ®éng"), front_tcvn3],
    ]
    report = run("tasks", rows, dry_run=False)
    assert problems(report) == []
    task = Task.objects.get(content="Tuyên truyền vận động")
    assert list(task.coordinating_units.all()) == [world.front]


@pytest.mark.parametrize("header", ["Mã", "ID", "Mã số", "ma ban ghi"])
def test_record_number_column_aliases(world, header):
    rows = [[header, *TASK_HEADER], [world.task.pk, *own_row(world, status="Chưa thực hiện")]]
    report = run("tasks", rows, dry_run=False)
    assert report.summary_line() == "new=0 updated=1 unchanged=0 errors=0"


def _rows_for_unit(kind, world, unit, n):
    """A minimal row of `kind` that belongs to `unit` (new records, except for units)."""
    name = unit.full_name
    return {
        # An existing unit, changed: an unchanged row writes nothing and needs no scope.
        "units": [
            ["Tên đầy đủ", "Tên viết tắt", "Loại", "Cấp", "Địa bàn"],
            [unit.full_name, f"ĐV {n}", str(unit.get_kind_display()), "Huyện", unit.locality],
        ],
        "people": [["Họ và tên", "Đơn vị"], [f"Cán bộ {n}", name]],
        "agreements": [
            ["Số, ký hiệu", "Trích yếu", "Loại", "Năm bắt đầu", "Năm kết thúc", "Đơn vị chủ trì"],
            [f"{n}/KH", "Kế hoạch", "Kế hoạch phối hợp", 2024, 2024, name],
        ],
        "signatories": [
            ["Văn bản phối hợp", "Cán bộ", "Ký thay mặt đơn vị"],
            [world.agreement.number, world.union_chair.full_name, name],
        ],
        "meetings": [
            ["Trích yếu", "Loại", "Ngày tổ chức", "Đơn vị dự"],
            [f"Hội nghị {n}", "Sơ kết", "01/07/2024", name],
        ],
        "tasks": [TASK_HEADER, task_row(world, f"Việc {n}", unit=name)],
        "followups": [
            ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"],
            ["Kết luận", 2024, f"Kết luận {n}", name],
        ],
        "indicators": [
            ["Văn bản phối hợp", "Năm", "Đơn vị", "Tên chỉ tiêu", "Mức chỉ tiêu"],
            [world.agreement.number, 2024, name, f"Chỉ tiêu {n}", 90],
        ],
    }[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_unit_staff_scope_holds_for_every_kind(spreadsheet_world, kind):
    """staff of the People's Committee: a row of their unit passes, a row of the Front is
    refused, whatever the kind of record."""
    world = spreadsheet_world
    user = make_user()
    make_member(user, world.committee)
    with translation.override("vi"):
        own = run(kind, _rows_for_unit(kind, world, world.committee, 1), user=user)
        other_rows = _rows_for_unit(kind, world, world.front, 2)
    assert problems(own) == [], kind
    before = db_state()
    other = run(kind, other_rows, user=user, dry_run=False)
    assert [(p.row, p.message) for p in other.problems] == [
        (2, vi("You may only import records of your own units."))
    ]
    assert db_state() == before
