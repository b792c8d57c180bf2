"""Figures that add up: every status has its column in the reports, and the status columns of
each row add up to its total (on SQLite and on PostgreSQL alike)."""

import pytest
from django.contrib.auth.models import Group

from coordination.choices import FollowUpKind, FollowUpStatus, TaskStatus
from coordination.models import FollowUp, Task
from coordination.reports.counts import status_columns
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_task,
    make_unit,
    make_user,
    xlsx_values,
)

pytestmark = pytest.mark.django_db

AUDITOR_GROUP = "Kiểm tra – giám sát"


@pytest.fixture
def auditor_client(client):
    user = make_user()
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    client.force_login(user)
    return client


@pytest.fixture
def every_status():
    """Tasks and follow-up items of one unit and year in every status, some of them overdue."""
    unit = make_unit(full_name="Ủy ban nhân dân xã Tân Phúc")
    other = make_unit(full_name="Hội Nông dân huyện Hàm Tân")
    agreement = make_agreement(parties=[unit, other], start_year=2024, end_year=2026)
    tasks = [
        (TaskStatus.NOT_STARTED, {"due_date": days(-10)}),
        (TaskStatus.NOT_STARTED, {}),
        (TaskStatus.IN_PROGRESS, {"due_date": days(-40)}),
        (TaskStatus.DONE, {"due_date": days(-5), "completed_on": days(-6)}),
        (TaskStatus.DONE, {"due_date": days(-50), "completed_on": days(-20)}),
        (TaskStatus.CANCELLED, {"due_date": days(-100)}),
    ]
    for status, fields in tasks:
        make_task(lead_unit=unit, agreement=agreement, year=2025, status=status, **fields)
    followups = [
        (FollowUpKind.LIMITATION, FollowUpStatus.OPEN, {"due_date": days(-3)}),
        (FollowUpKind.LIMITATION, FollowUpStatus.IN_PROGRESS, {}),
        (FollowUpKind.VOTER_PETITION, FollowUpStatus.RESOLVED, {"resolved_on": days(-1)}),
        (FollowUpKind.VOTER_PETITION, FollowUpStatus.CARRIED_OVER, {"due_date": days(-200)}),
        (FollowUpKind.VOTER_PETITION, FollowUpStatus.CLOSED, {}),
        (FollowUpKind.COMPLAINT, FollowUpStatus.CLOSED, {"resolved_on": days(-9)}),
        (FollowUpKind.COMPLAINT, FollowUpStatus.OPEN, {"due_date": days(-95)}),
    ]
    for kind, status, fields in followups:
        make_followup(
            responsible_unit=unit,
            agreement=agreement,
            year=2025,
            kind=kind,
            status=status,
            **fields,
        )
    # Another unit's records: in the outstanding table's other rows.
    make_followup(
        responsible_unit=other, year=2025, status=FollowUpStatus.RESOLVED, resolved_on=days(-2)
    )
    make_task(lead_unit=other, agreement=agreement, year=2024, status=TaskStatus.CANCELLED)
    return {"unit": unit, "agreement": agreement}


def test_the_status_columns_are_the_models_statuses_in_order():
    assert [status for _key, status, _label in status_columns(Task)] == list(TaskStatus.values)
    assert [status for _key, status, _label in status_columns(FollowUp)] == list(
        FollowUpStatus.values
    )


@pytest.mark.parametrize("subject", ["unit", "agreement"])
def test_each_row_of_the_yearly_report_adds_up_to_its_total(auditor_client, every_status, subject):
    response = auditor_client.get(
        "/records/report/", {"year": 2025, subject: every_status[subject].pk}
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert report.tasks.statuses == [2, 1, 2, 1]  # not started, in progress, done, cancelled
    assert report.tasks.total == 6 and report.tasks.overdue == 2
    assert report.followups.statuses == [2, 1, 1, 1, 2]  # open … closed
    assert report.followups.total == 7 and report.followups.overdue == 2
    for row in [*report.task_rows, *report.followup_rows]:
        assert sum(row.statuses) == row.total, row.label
    assert sum(row.total for row in report.followup_kinds) == report.followups.total
    page = response.content.decode()
    for label in ("Chưa thực hiện", "Đã hủy", "Chuyển năm sau", "Đã đóng"):
        assert label in page


def test_each_row_of_the_yearly_workbook_adds_up_to_its_total(auditor_client, every_status):
    response = auditor_client.get(
        "/records/report/", {"year": 2025, "unit": every_status["unit"].pk, "format": "xlsx"}
    )
    rows = xlsx_values(b"".join(response.streaming_content))
    headers = [row for row in rows if row[:3] == ["STT", "Loại hồ sơ", "Tổng số"]]
    assert len(headers) == 2
    task_header, followup_header = headers
    assert task_header[3:9] == [
        "Chưa thực hiện",
        "Đang thực hiện",
        "Đã hoàn thành",
        "Đã hủy",
        "Quá hạn",
        "Tỷ lệ đúng hạn",
    ]
    assert followup_header[3:8] == [str(label) for _key, _status, label in status_columns(FollowUp)]
    # The group labels above the statuses and the derived figures.
    above = rows[rows.index(task_header) - 1]
    assert "Theo trạng thái (cộng lại bằng tổng số)" in above
    assert "Số liệu tính thêm (không cộng vào tổng số)" in above
    checked = 0
    for header in headers:
        width = 3 + len([label for label in header[3:] if label]) - 2
        start = rows.index(header) + 1
        for row in rows[start:]:
            if not isinstance(row[0], int | float):
                break
            assert sum(row[3:width]) == row[2], row
            checked += 1
    assert checked == 1 + 1 + 3  # tasks; follow-up items and their three kinds


@pytest.mark.parametrize("records", ["followups", "tasks"])
def test_each_row_of_the_outstanding_table_adds_up_to_its_total(
    auditor_client, every_status, records
):
    response = auditor_client.get("/records/outstanding/", {"records": records})
    table = response.context["table"]
    (statuses, width), (derived, derived_width) = table.groups
    assert (str(statuses), str(derived)) == (
        "Theo trạng thái (cộng lại bằng tổng số)",
        "Số liệu tính thêm (không cộng vào tổng số)",
    )
    assert width == (4 if records == "tasks" else 5)
    # Unit, year, total; the statuses; outstanding, overdue, three ages, on-time rate.
    assert derived_width == 6 and len(table.headers) == 3 + width + derived_width
    for row in [*table.rows, table.total]:
        numbers = [int(cell.text) for cell in row.cells[: 1 + width]]
        assert sum(numbers[1:]) == numbers[0]
    assert len(table.rows) == 2


def test_a_status_count_links_to_the_list_of_those_records(auditor_client, every_status):
    response = auditor_client.get("/records/outstanding/", {"year": 2025})
    row = next(r for r in response.context["table"].rows if r.unit == every_status["unit"])
    closed = row.cells[5]
    assert closed.text == "2" and "status=closed" in closed.url
    listed = auditor_client.get(closed.url)
    assert listed.context["count"] == 2
