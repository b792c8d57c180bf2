"""Office sheets as offices lay them out (issue 13, points 2 and 3): merged cells, titles and
multi-row headers, section rows, the recipients and signature block under the list, legacy
text in the header, and values under no header (refused, never dropped).

Each workbook is built here with openpyxl the way a district office lays its list out; the
import runs as unit staff would run it and the database is compared before and after.
"""

import io

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from coordination.models import Task
from tests.factories import db_state, make_followup, make_superuser
from tests.test_legacy_text import tcvn3_encode, vni_encode
from tests.test_resources import problems, run, vi

pytestmark = pytest.mark.django_db


def vi_plural(singular: str, plural: str, count: int, **params) -> str:
    with translation.override("vi"):
        return ngettext(singular, plural, count) % {"count": count, **params}


def workbook_bytes(build) -> bytes:
    workbook = openpyxl.Workbook()
    build(workbook.active)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def put(sheet, row: int, values: list) -> None:
    for col, value in enumerate(values, start=1):
        if value is not None:
            sheet.cell(row=row, column=col, value=value)


def office_task_list(world, *, encode=lambda text: text, signature=True):
    """A district's task list: letterhead and title merged across, a two-row header (the
    unit label merged across “Chủ trì” and “Phối hợp”, the others merged down), a section
    row, the lead unit and the year merged down over their rows, and the recipients and
    signature block under the list."""
    agreement = world.agreement.number
    committee, front = world.committee.full_name, world.front.full_name

    def build(sheet):
        put(sheet, 1, [encode("ỦY BAN NHÂN DÂN"), None, None, None, encode("CỘNG HÒA XÃ HỘI")])
        put(sheet, 2, [encode("HUYỆN HÀM TÂN")])
        put(sheet, 4, [encode("DANH SÁCH NHIỆM VỤ PHỐI HỢP NĂM 2024")])
        sheet.merge_cells("A4:H4")
        put(sheet, 6, [encode(label) for label in ("STT", "Văn bản phối hợp", "Năm", "Nội dung")])
        put(sheet, 6, [None] * 4 + [encode("Đơn vị"), None, encode("Hạn"), encode("Trạng thái")])
        put(sheet, 7, [None] * 4 + [encode("Chủ trì"), encode("Phối hợp"), encode("xử lý")])
        for col in "ABCDH":
            sheet.merge_cells(f"{col}6:{col}7")
        sheet.merge_cells("E6:F6")
        put(sheet, 8, [encode("I. NHIỆM VỤ CHUNG")])
        put(sheet, 9, [1, agreement, 2024, encode("Tuyên truyền vận động nhân dân"), committee])
        put(sheet, 9, [None] * 5 + [front, "31/12/2024", encode("Đang thực hiện")])
        put(sheet, 10, [2, agreement, None, encode("Giám sát đầu tư công"), None, None])
        put(sheet, 10, [None] * 6 + ["30/06/2024", encode("Đang thực hiện")])
        put(sheet, 11, [3, agreement, None, encode("Tiếp xúc cử tri"), None, front])
        put(sheet, 11, [None] * 6 + ["30/09/2024", encode("Chưa thực hiện")])
        sheet.merge_cells("C9:C11")
        sheet.merge_cells("E9:E11")
        put(sheet, 12, [encode("Khối Mặt trận và các đoàn thể")])
        sheet.merge_cells("A12:H12")
        put(sheet, 13, [4, agreement, 2024, encode("Phản biện xã hội"), front, None])
        put(sheet, 13, [None] * 6 + ["15/11/2024", encode("Đang thực hiện")])
        if signature:
            put(sheet, 15, [None] * 5 + [encode("Hàm Tân, ngày 10 tháng 12 năm 2024")])
            put(sheet, 16, [encode("Nơi nhận:")] + [None] * 4 + [encode("TM. ỦY BAN NHÂN DÂN")])
            put(sheet, 17, [encode("- Như trên;")] + [None] * 4 + [encode("KT. CHỦ TỊCH")])
            put(sheet, 18, [encode("- Lưu: VT.")] + [None] * 4 + [encode("PHÓ CHỦ TỊCH")])
            put(sheet, 19, [None] * 5 + [encode("(Đã ký)")])
            put(sheet, 21, [None] * 5 + [encode("Nguyễn Văn Bình")])

    return workbook_bytes(build)


def imported(world, report=None) -> dict:
    """The tasks the import wrote (all but the world's own), after a report without errors."""
    if report is not None:
        assert report.file_errors == [], report.file_errors
        assert problems(report) == []
    found = Task.objects.exclude(pk=world.task.pk).select_related("lead_unit")
    return {
        task.content: (
            task.lead_unit.full_name,
            task.year,
            task.due_date.strftime("%d/%m/%Y"),
            [unit.full_name for unit in task.coordinating_units.all()],
        )
        for task in found
    }


def expected(world) -> dict:
    committee, front = world.committee.full_name, world.front.full_name
    return {
        "Tuyên truyền vận động nhân dân": (committee, 2024, "31/12/2024", [front]),
        "Giám sát đầu tư công": (committee, 2024, "30/06/2024", []),
        "Tiếp xúc cử tri": (committee, 2024, "30/09/2024", [front]),
        "Phản biện xã hội": (front, 2024, "15/11/2024", []),
    }


def test_an_office_list_goes_in_as_laid_out(world):
    report = run("tasks", data=office_task_list(world), dry_run=False)
    assert report.header_row == 6  # the lower header row, 0-based
    assert imported(world, report) == expected(world)
    assert report.warnings == [
        vi_plural(
            "The list ends at row %(row)d, where the recipients and signature block begins; "
            "the %(count)d row from there on was not read.",
            "The list ends at row %(row)d, where the recipients and signature block begins; "
            "the %(count)d rows from there on were not read.",
            6,
            row=15,
        )
    ]


@pytest.mark.parametrize("encode", [tcvn3_encode, vni_encode], ids=["TCVN3", "VNI"])
def test_a_list_typed_in_a_legacy_font_header_included(world, encode):
    report = run("tasks", data=office_task_list(world, encode=encode), dry_run=False)
    assert report.header_row == 6
    assert imported(world, report) == expected(world)


def test_a_unit_merged_down_fills_every_row_of_the_merge(world):
    def build(sheet):
        sheet.append(["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý"])
        for content in ("Việc 1", "Việc 2", "Việc 3"):
            sheet.append([world.agreement.number, 2024, content, world.front.full_name, None])
        sheet.merge_cells("D2:D4")
        sheet.merge_cells("E2:E4")
        sheet["E2"] = "31/12/2024"

    report = run("tasks", data=workbook_bytes(build), dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    tasks = Task.objects.filter(content__startswith="Việc ").select_related("lead_unit")
    assert {(t.content, t.lead_unit, t.due_date.day) for t in tasks} == {
        (content, world.front, 31) for content in ("Việc 1", "Việc 2", "Việc 3")
    }


def test_a_label_merged_across_heads_its_sub_labels(world):
    """“Hạn” merged over nothing but “xử lý” below: the column is named by both together."""

    def build(sheet):
        put(sheet, 1, ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn"])
        put(sheet, 2, [None, None, None, None, "xử lý"])
        put(sheet, 3, [world.agreement.number, 2024, "Việc A", world.committee.full_name])
        sheet.cell(row=3, column=5, value="01/02/2024")
        for col in "ABCD":
            sheet.merge_cells(f"{col}1:{col}2")

    report = run("tasks", data=workbook_bytes(build), dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert Task.objects.get(content="Việc A").due_date.isoformat() == "2024-02-01"


def test_a_long_run_of_empty_rows_ends_the_list(world):
    def build(sheet):
        sheet.append(["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì"])
        sheet.append([world.agreement.number, 2024, "Việc B", world.committee.full_name])
        sheet.cell(row=3 + 12, column=1, value="Ghi chú: số liệu tính đến 30/11")
        sheet.cell(row=3 + 13, column=3, value="Người tổng hợp: Trần Thị C")

    report = run("tasks", data=workbook_bytes(build), dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert Task.objects.filter(content="Việc B").exists()
    assert report.warnings == [
        vi_plural(
            "The list ends at row %(row)d, before %(empty)d or more empty rows; the %(count)d "
            "row with content below them was not read.",
            "The list ends at row %(row)d, before %(empty)d or more empty rows; the %(count)d "
            "rows with content below them were not read.",
            2,
            row=3,
            empty=10,
        )
    ]


def test_a_few_empty_rows_inside_the_list_do_not_end_it(world):
    def build(sheet):
        sheet.append(["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì"])
        sheet.append([world.agreement.number, 2024, "Việc C", world.committee.full_name])
        sheet.cell(row=3 + 5, column=1, value=world.agreement.number)
        for col, value in enumerate([2024, "Việc D", world.front.full_name], start=2):
            sheet.cell(row=3 + 5, column=col, value=value)

    report = run("tasks", data=workbook_bytes(build), dry_run=False)
    assert report.warnings == [] and problems(report) == []
    assert Task.objects.filter(content__in=["Việc C", "Việc D"]).count() == 2


def test_a_data_row_that_mentions_a_chairman_is_still_data(world):
    """Only a signature block's own words end the list, not a position in a data row."""
    rows = [
        ["Họ và tên", "Chức vụ", "Đơn vị"],
        ["Lê Văn Định", "Chủ tịch", world.committee.full_name],
        ["Trần Thị Mai", "KT. Chủ tịch, Phó Chủ tịch thường trực", world.front.full_name],
    ]
    report = run("people", rows, dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert report.summary_line().startswith("new=2 ")


def test_values_under_no_header_are_refused_naming_the_column(world):
    """The two-row header of a follow-up list lost its sub-header row: the result label is
    merged across the status, result and date columns. Their values must not be dropped."""
    make_followup(responsible_unit=world.committee, content="Giữ nguyên", year=2024)

    def build(sheet):
        put(sheet, 1, ["Loại", "Năm", "Nội dung", "Đơn vị", "Kết quả thực hiện"])
        sheet.merge_cells("E1:G1")
        put(sheet, 2, ["Kiến nghị", 2024, "Sửa đường liên xã", world.committee.full_name])
        put(sheet, 2, [None] * 4 + ["Đã giải quyết", "Đã sửa xong", "12/08/2024"])
        put(sheet, 3, ["Kiến nghị", 2024, "Lắp đèn đường", world.committee.full_name])
        put(sheet, 3, [None] * 5 + ["Đang làm"])

    before = db_state()
    report = run("followups", data=workbook_bytes(build), dry_run=False)
    assert report.file_errors == [
        vi(
            "Column %(letter)s holds values (rows %(rows)s) but has no header, so they would "
            "be lost. Give the column its header (as in the template), or delete the column, "
            "and upload the file again.",
            letter=letter,
            rows=rows,
        )
        for letter, rows in (("F", "2, 3"), ("G", "2"))
    ]
    assert not report.written
    assert db_state() == before


def test_a_stray_value_right_of_the_list_is_refused(world):
    rows = [
        ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", None],
        [world.agreement.number, 2024, "Việc E", world.committee.full_name, "xem lại"],
    ]
    before = db_state()
    report = run("tasks", rows, dry_run=False)
    assert len(report.file_errors) == 1 and "E" in report.file_errors[0]
    assert db_state() == before


def test_unknown_headers_stay_a_warning(world):
    rows = [
        ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Ghi chú riêng"],
        [world.agreement.number, 2024, "Việc F", world.committee.full_name, "nội bộ"],
    ]
    report = run("tasks", rows, dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert report.warnings == [
        vi("These columns are not used and were ignored: %(headers)s.", headers="“Ghi chú riêng”")
    ]
    assert Task.objects.filter(content="Việc F").exists()


def test_overlapping_merges_are_bounded(world):
    """A forged file whose merges cover the sheet many times over fills each cell at most
    once over, and the import answers."""

    def build(sheet):
        sheet.append(["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì"])
        for n in range(200):
            sheet.append([world.agreement.number, 2024, f"Việc {n}", world.committee.full_name])

    data = workbook_bytes(build)
    from coordination.importing.layout import fill_merges
    from coordination.spreadsheets import Sheet

    rows = [[1, 2, 3, 4] for _ in range(200)]
    sheet = Sheet(name="x", rows=rows, merged=[(0, 0, 10**6, 10**4)] * 10**5)
    filled = fill_merges(sheet)
    assert len(filled) == 200 and all(row[:4] == [1, 1, 1, 1] for row in filled)
    assert rows[5] == [1, 2, 3, 4]  # the sheet's own cells are kept
    report = run("tasks", data=data)
    assert report.summary_line() == "new=200 updated=0 unchanged=0 errors=0"


def test_the_admin_preview_warns_where_the_list_ends_and_imports_it(client, world, upload_dir):
    client.force_login(make_superuser())
    upload = io.BytesIO(office_task_list(world))
    upload.name = "danh-sach-nhiem-vu.xlsx"
    response = client.post(reverse("admin:coordination_task_import"), {"import_file": upload})
    assert response.status_code == 200
    assert response.context["report"].warnings == [
        vi_plural(
            "The list ends at row %(row)d, where the recipients and signature block begins; "
            "the %(count)d row from there on was not read.",
            "The list ends at row %(row)d, where the recipients and signature block begins; "
            "the %(count)d rows from there on were not read.",
            6,
            row=15,
        )
    ]
    assert "khối nơi nhận, chữ ký" in response.content.decode()
    token = response.context["token"]
    response = client.post(reverse("admin:coordination_task_process_import"), {"token": token})
    assert response.status_code == 302
    assert imported(world) == expected(world)


def test_the_command_line_says_where_the_list_ends(world, tmp_path, capsys):
    path = tmp_path / "danh-sach.xlsx"
    path.write_bytes(office_task_list(world))
    call_command("import_records", "tasks", str(path))
    captured = capsys.readouterr()
    assert "dòng 15" in captured.err and "nơi nhận" in captured.err
    assert captured.out.strip().endswith("new=4 updated=0 unchanged=0 errors=0")
    assert imported(world) == expected(world)


@pytest.mark.parametrize(
    ("written", "status"),
    [("Hoàn thành", "done"), ("đã xong", "done"), ("Đang triển khai", "in_progress")],
)
def test_statuses_as_offices_write_them(world, written, status):
    rows = [
        ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Trạng thái", "Ngày hoàn thành"],
        [world.agreement.number, 2024, "Việc G", world.committee.full_name, written],
    ]
    rows[1].append("02/03/2024" if status == "done" else None)
    report = run("tasks", rows, dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert Task.objects.get(content="Việc G").status == status


def test_a_total_row_is_not_a_record(world):
    rows = [
        ["STT", "Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì"],
        [1, world.agreement.number, 2024, "Việc H", world.committee.full_name],
        [2, world.agreement.number, 2024, "Tổng số hộ nghèo giảm 2%", world.committee.full_name],
        [None, "Tổng cộng", None, 2],
        ["Cộng:", None, None, 2],
    ]
    report = run("tasks", rows, dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert report.summary_line() == "new=2 updated=0 unchanged=0 errors=0"


def test_an_empty_status_cell_means_the_default_or_the_current_status(world):
    """A status left empty: a new record gets the default, an existing one keeps its own;
    never a database error at the confirmation."""
    rows = [
        TASK_HEADER_WITH_STATUS,
        [world.agreement.number, 2024, "Việc I", world.committee.full_name, "31/12/2024", None],
        [world.agreement.number, 2024, world.task.content, world.committee.full_name, None, None],
    ]
    world.task.status = "in_progress"
    world.task.save()
    preview = run("tasks", rows)
    report = run("tasks", rows, dry_run=False)
    assert report.file_errors == [] and problems(report) == []
    assert report.summary_line() == preview.summary_line()
    assert report.written
    assert Task.objects.get(content="Việc I").status == "not_started"
    world.task.refresh_from_db()
    assert world.task.status == "in_progress"


TASK_HEADER_WITH_STATUS = [
    "Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý", "Trạng thái"
]  # fmt: skip
