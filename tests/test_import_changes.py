"""An update says what it changes: each field, from its value now to the file's, in the
admin's preview and on the command line, before anything is written (issue 13, point 5)."""

import io
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination import exporting
from coordination.choices import TaskStatus
from coordination.importing import UNCHANGED, UPDATED, import_records
from coordination.importing import changes as changes_module
from coordination.models import Agreement, FollowUp, Task
from tests.factories import (
    days,
    db_state,
    make_agreement,
    make_followup,
    make_superuser,
    make_task,
    make_unit,
)


def exported(kind: str, queryset) -> openpyxl.Workbook:
    stream = io.BytesIO()
    exporting.write_export(kind, queryset, stream, "xlsx")
    return openpyxl.load_workbook(io.BytesIO(stream.getvalue()))


def edited(workbook, edits: dict[tuple[int, str], object]) -> bytes:
    """The workbook with cells set by (sheet row, header)."""
    sheet = workbook.active
    headers = [cell.value for cell in sheet[1]]
    for (row, header), value in edits.items():
        sheet.cell(row, headers.index(header) + 1).value = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def changes_of(report) -> dict[int, list[tuple[str, str, str]]]:
    return {
        outcome.row: [(c.column, c.old, c.new) for c in outcome.changes]
        for outcome in report.outcomes
        if outcome.changes
    }


@pytest.fixture
def town(db):
    committee = make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân")
    farmers = make_unit(full_name="Hội Nông dân huyện Hàm Tân")
    women = make_unit(full_name="Hội Liên hiệp Phụ nữ huyện Hàm Tân")
    agreement = make_agreement(number="01/QCPH", parties=[committee])
    task = make_task(
        agreement=agreement,
        year=2026,
        content="Tuyên truyền bầu cử",
        lead_unit=committee,
        coordinating_units=[farmers],
        due_date=days(30),
        status=TaskStatus.IN_PROGRESS,
        progress=40,
        result="Đã họp hai lần",
    )
    return {
        "committee": committee,
        "farmers": farmers,
        "women": women,
        "agreement": agreement,
        "task": task,
        "admin": make_superuser(),
    }


def test_each_changed_field_of_an_updated_row_is_listed_old_to_new(town):
    task = town["task"]
    data = edited(
        exported("tasks", Task.objects.all()),
        {
            (2, "Đơn vị chủ trì"): "Hội Nông dân huyện Hàm Tân",
            (
                2,
                "Đơn vị phối hợp",
            ): "Hội Liên hiệp Phụ nữ huyện Hàm Tân; Hội Nông dân huyện Hàm Tân",
            (2, "Tiến độ (%)"): 70,
            (2, "Trạng thái"): "Đã hoàn thành",
            (2, "Ngày hoàn thành"): task.due_date,
            (2, "Kết quả"): None,
        },
    )
    before = db_state()
    report = import_records(
        kind="tasks", data=data, file_name="t.xlsx", user=town["admin"], dry_run=True
    )
    assert report.summary_line() == "new=0 updated=1 unchanged=0 errors=0"
    assert changes_of(report) == {
        2: [
            ("Đơn vị chủ trì", "Ủy ban nhân dân huyện Hàm Tân", "Hội Nông dân huyện Hàm Tân"),
            (
                "Đơn vị phối hợp",
                "Hội Nông dân huyện Hàm Tân",
                "Hội Liên hiệp Phụ nữ huyện Hàm Tân; Hội Nông dân huyện Hàm Tân",
            ),
            ("Trạng thái", "Đang thực hiện", "Đã hoàn thành"),
            ("Tiến độ (%)", "40", "70"),
            ("Ngày hoàn thành", "", task.due_date.strftime("%d/%m/%Y")),
            ("Kết quả", "Đã họp hai lần", ""),
        ]
    }
    assert db_state() == before


def test_an_agreements_parties_and_an_items_number_reference_show_as_people_read_them(town):
    agreement = town["agreement"]
    data = edited(
        exported("agreements", Agreement.objects.all()),
        {(2, "Đơn vị chủ trì"): "Hội Nông dân huyện Hàm Tân"},
    )
    report = import_records(kind="agreements", data=data, file_name="a.xlsx", dry_run=True)
    assert changes_of(report) == {
        2: [
            (
                "Đơn vị chủ trì",
                "Ủy ban nhân dân huyện Hàm Tân",
                "Hội Nông dân huyện Hàm Tân",
            )
        ]
    }
    old = make_followup(responsible_unit=town["committee"], year=2025, agreement=agreement)
    item = make_followup(responsible_unit=town["committee"], year=2026, agreement=agreement)
    data = edited(
        exported("followups", FollowUp.objects.filter(pk=item.pk)),
        {(2, "Chuyển tiếp từ mã"): old.pk},
    )
    report = import_records(kind="followups", data=data, file_name="f.xlsx", dry_run=True)
    assert changes_of(report) == {2: [("Chuyển tiếp từ mã", "", str(old.pk))]}


def test_new_and_unchanged_rows_list_no_change(town):
    workbook = exported("tasks", Task.objects.all())
    sheet = workbook.active
    sheet.append([None, "01/QCPH", 2026, "Việc mới", "Ủy ban nhân dân huyện Hàm Tân"])
    out = io.BytesIO()
    workbook.save(out)
    report = import_records(kind="tasks", data=out.getvalue(), file_name="t.xlsx", dry_run=True)
    assert [o.status for o in report.outcomes] == [UNCHANGED, "new"]
    assert changes_of(report) == {}


def test_the_admin_preview_shows_what_the_update_changes_and_writes_nothing(town, client):
    data = edited(
        exported("tasks", Task.objects.all()),
        {(2, "Đơn vị chủ trì"): "Hội Nông dân huyện Hàm Tân", (2, "Tiến độ (%)"): 70},
    )
    client.force_login(town["admin"])
    before = db_state()
    upload = io.BytesIO(data)
    upload.name = "nhiem-vu.xlsx"
    response = client.post(
        reverse("admin:coordination_task_import"), {"import_file": upload}, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Những gì các dòng cập nhật sẽ thay đổi" in html
    assert 'href="#changes"' in html
    table = html[html.index('class="import-changes"') :]
    table = table[: table.index("</table>")]
    cells = [re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", table)]
    assert cells == [
        "2",
        "Đơn vị chủ trì",
        "Ủy ban nhân dân huyện Hàm Tân",
        "Hội Nông dân huyện Hàm Tân",
        "2",
        "Tiến độ (%)",
        "40",
        "70",
    ]
    assert db_state() == before


def test_the_command_line_dry_run_prints_one_line_per_changed_field(town, tmp_path, capsys):
    path = tmp_path / "nhiem-vu.xlsx"
    path.write_bytes(
        edited(exported("tasks", Task.objects.all()), {(2, "Kết quả"): "Đã họp ba lần"})
    )
    before = db_state()
    call_command("import_records", "tasks", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "dòng 2, Kết quả: Đã họp hai lần → Đã họp ba lần" in out.splitlines()
    assert db_state() == before
    path.write_bytes(edited(exported("tasks", Task.objects.all()), {(2, "Kết quả"): None}))
    call_command("import_records", "tasks", str(path), "--dry-run")
    assert "dòng 2, Kết quả: Đã họp hai lần → (trống)" in capsys.readouterr().out.splitlines()


def test_describing_changes_costs_the_same_queries_for_3_and_30_updated_rows(town):
    units = [town["committee"], town["farmers"], town["women"]]

    def run(count):
        Task.objects.exclude(pk=town["task"].pk).delete()
        for index in range(count - 1):
            make_task(
                agreement=town["agreement"],
                year=2026,
                content=f"Việc {index}",
                lead_unit=units[index % 3],
                coordinating_units=units[:2],
            )
        workbook = exported("tasks", Task.objects.all())
        edits = {}
        for row in range(2, count + 2):
            edits[(row, "Đơn vị chủ trì")] = "Hội Liên hiệp Phụ nữ huyện Hàm Tân"
            edits[(row, "Đơn vị phối hợp")] = "Hội Liên hiệp Phụ nữ huyện Hàm Tân"
        data = edited(workbook, edits)
        with CaptureQueriesContext(connection) as queries:
            report = import_records(kind="tasks", data=data, file_name="t.xlsx", dry_run=True)
        assert sum(o.status == UPDATED for o in report.outcomes) == count
        assert all(o.changes for o in report.outcomes)
        return len(queries)

    assert run(3) == run(30)


def test_only_the_first_updated_rows_are_described(town, monkeypatch):
    monkeypatch.setattr(changes_module, "CHANGES_LISTED", 2)
    for index in range(3):
        make_task(agreement=town["agreement"], year=2026, content=f"Việc {index}", progress=0)
    workbook = exported("tasks", Task.objects.order_by("pk"))
    data = edited(workbook, {(row, "Tiến độ (%)"): 90 for row in range(2, 6)})
    report = import_records(kind="tasks", data=data, file_name="t.xlsx", dry_run=True)
    assert sum(o.status == UPDATED for o in report.outcomes) == 4
    assert len(changes_of(report)) == 2
