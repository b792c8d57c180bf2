"""The báo cáo with figures that add up (issue 14, point 3 in the document): its annex has a
column per status, which add up to the total, with the derived figures apart, like the page and
the workbook; its drafted text says the same figures; an issued report keeps its columns, and a
report issued before them still reads as it was issued."""

import datetime
import io

import docx
import pytest
from django.contrib.auth.models import Group
from django.test import RequestFactory
from docx.oxml.ns import qn

from coordination import services
from coordination.choices import FollowUpKind, FollowUpStatus, TaskStatus
from coordination.models import FollowUp, IssuedReport, Task
from coordination.reports import issuing, yearly_report
from coordination.reports.document import Edits, build_document
from coordination.reports.docx import render_docx
from coordination.reports.snapshot import thaw
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_superuser,
    make_task,
    make_unit,
    make_user,
)

pytestmark = pytest.mark.django_db

AUDITOR_GROUP = "Kiểm tra – giám sát"
TASK_STATUSES = [
    "Chưa thực hiện",
    "Đang thực hiện",
    "Đã hoàn thành",
    "Chuyển năm sau",
    "Đã hủy",
]
ITEM_STATUSES = ["Chưa giải quyết", "Đang thực hiện", "Đã giải quyết", "Chuyển năm sau", "Đã đóng"]
GROUPS = ["Theo trạng thái (cộng lại bằng tổng số)", "Số liệu tính thêm (không cộng vào tổng số)"]


@pytest.fixture
def every_status():
    """One unit's tasks and items of 2025 in every status, some overdue: 7 tasks (2 not
    started, 1 in progress, 2 done, 1 carried over, 1 cancelled; 2 overdue) and 7 items (2
    open, 1 in progress, 1 resolved, 1 carried over, 2 closed; 2 overdue)."""
    unit = make_unit(full_name="Ủy ban nhân dân xã Tân Phúc", short_name="UBND xã Tân Phúc")
    agreement = make_agreement(parties=[unit], start_year=2024, end_year=2026)
    for status, fields in [
        (TaskStatus.NOT_STARTED, {"due_date": days(-10)}),
        (TaskStatus.NOT_STARTED, {}),
        (TaskStatus.IN_PROGRESS, {"due_date": days(-40)}),
        (TaskStatus.DONE, {"due_date": days(-5), "completed_on": days(-6)}),
        (TaskStatus.DONE, {"due_date": days(-50), "completed_on": days(-20)}),
        (TaskStatus.CARRIED_OVER, {"due_date": days(-300)}),
        (TaskStatus.CANCELLED, {"due_date": days(-100)}),
    ]:
        make_task(lead_unit=unit, agreement=agreement, year=2025, status=status, **fields)
    for kind, status, fields in [
        (FollowUpKind.LIMITATION, FollowUpStatus.OPEN, {"due_date": days(-3)}),
        (FollowUpKind.LIMITATION, FollowUpStatus.IN_PROGRESS, {}),
        (FollowUpKind.VOTER_PETITION, FollowUpStatus.RESOLVED, {"resolved_on": days(-1)}),
        (FollowUpKind.VOTER_PETITION, FollowUpStatus.CARRIED_OVER, {"due_date": days(-200)}),
        (FollowUpKind.VOTER_PETITION, FollowUpStatus.CLOSED, {}),
        (FollowUpKind.COMPLAINT, FollowUpStatus.CLOSED, {"resolved_on": days(-9)}),
        (FollowUpKind.COMPLAINT, FollowUpStatus.OPEN, {"due_date": days(-95)}),
    ]:
        make_followup(responsible_unit=unit, year=2025, kind=kind, status=status, **fields)
    return unit


def live_report(unit, year=2025, user=None):
    request = RequestFactory().get("/records/report/", {"year": year, "unit": unit.pk})
    request.user = user or make_superuser()
    report = yearly_report(request)
    assert report.valid
    return report


def docx_of(report, **edits):
    edits.setdefault("number", "12/BC-UBND")
    return docx.Document(io.BytesIO(render_docx(build_document(report, Edits(**edits)))))


def table_after(document, title):
    """The table under the annex title `title`."""
    paragraph = next(p for p in document.paragraphs if p.text == title)
    element = paragraph._p.getnext()
    while element is not None and element.tag != qn("w:tbl"):
        element = element.getnext()
    assert element is not None, title
    return next(table for table in document.tables if table._tbl is element)


def rows_of(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


class TestAnnex:
    def test_the_summary_tables_have_a_column_per_status_and_add_up(self, every_status):
        report = live_report(every_status)
        document = docx_of(report)
        for title, statuses, expected in [
            ("Biểu 1. Tổng hợp kết quả thực hiện nhiệm vụ", TASK_STATUSES, [["1", "7"]]),
            (
                "Biểu 2. Tổng hợp kết quả giải quyết nội dung theo dõi",
                ITEM_STATUSES,
                [["1", "7"], ["1.1", "2"], ["1.2", "3"], ["1.3", "2"]],
            ),
        ]:
            groups, headers, *lines = rows_of(table_after(document, title))
            width = len(statuses)
            assert headers == [
                *("STT", "Loại hồ sơ", "Tổng số"),
                *statuses,
                *("Quá hạn", "Tỷ lệ đúng hạn"),
            ]
            # The group labels over the statuses and over the derived figures, merged.
            assert groups[:3] == headers[:3]
            assert groups[3 : 3 + width] == [GROUPS[0]] * width
            assert groups[3 + width :] == [GROUPS[1]] * 2
            assert [[line[0], line[2]] for line in lines] == expected
            for line in lines:
                assert sum(int(value) for value in line[3 : 3 + width]) == int(line[2]), line
        tasks = rows_of(table_after(document, "Biểu 1. Tổng hợp kết quả thực hiện nhiệm vụ"))
        assert tasks[2][3:] == [
            *(str(n) for n in report.tasks.statuses),
            str(report.tasks.overdue),
            report.tasks.on_time_text,
        ]

    def test_the_outstanding_items_show_their_thread(self):
        unit = make_unit(full_name="Ủy ban nhân dân huyện Vĩnh Thuận")
        first = make_followup(year=2024, responsible_unit=unit, content="Nạo vét kênh thủy lợi")
        services.followup_carry_over(followups=FollowUp.objects.filter(pk=first.pk))
        services.followup_carry_over(followups=FollowUp.objects.filter(year=2025))
        FollowUp.objects.filter(year=2026).update(due_date=days(-3))
        report = live_report(unit, year=2026)
        document = docx_of(report)
        table = table_after(document, "Biểu 5. Nội dung theo dõi chưa giải quyết xong")
        header, line = rows_of(table)
        assert header[5:] == ["Năm nêu lần đầu", "Số lần chuyển năm sau", "Số ngày quá hạn"]
        assert line[1] == "Nạo vét kênh thủy lợi" and line[5:] == ["2024", "2", "3"]
        texts = [p.text for p in document.paragraphs]
        assert any(
            "Nạo vét kênh thủy lợi (nêu từ năm 2024, đã chuyển năm sau 2 lần; hạn" in text
            for text in texts
        )


def test_the_drafted_text_says_the_figures_so_that_they_add_up(every_status):
    document = build_document(live_report(every_status))
    assert document.section("results").paragraphs[:5] == [
        "1. Nhiệm vụ phối hợp: 2/7 nhiệm vụ hoàn thành (28,6%), 1 chuyển năm sau, 1 đã hủy; còn 3 "
        "chưa hoàn thành (2 chưa thực hiện, 1 đang thực hiện), trong đó 2 quá hạn.",
        "2. Nội dung theo dõi: 1/7 nội dung đã giải quyết (14,3%), 1 chuyển năm sau, 2 đã "
        "đóng; còn 3 chưa giải quyết xong (2 chưa giải quyết, 1 đang thực hiện), trong đó 2 "
        "quá hạn.",
        "- Tồn tại – hạn chế: 0/2 đã giải quyết (0,0%); còn 2 chưa giải quyết xong (1 chưa giải "
        "quyết, 1 đang thực hiện), trong đó 1 quá hạn.",
        "- Kiến nghị cử tri: 1/3 đã giải quyết (33,3%), 1 chuyển năm sau, 1 đã đóng.",
        "- Đơn thư khiếu nại, tố cáo: 0/2 đã giải quyết (0,0%), 1 đã đóng; còn 1 chưa giải "
        "quyết xong, trong đó 1 quá hạn.",
    ]
    assert (
        "- Giải quyết 1 nội dung theo dõi đã chuyển sang năm 2026."
        in document.section("directions").paragraphs
    )


def issue_report(unit, user=None) -> IssuedReport:
    report = live_report(unit, user=user)
    return issuing.report_issue(report=report, edits=Edits(number="12/BC-UBND"), user=user)


@pytest.fixture
def auditor_client(client):
    user = make_user(username="kiemtra")
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    client.force_login(user)
    return client


class TestIssued:
    def test_an_issued_report_keeps_its_status_columns(self, every_status, auditor_client):
        issued = issue_report(every_status, make_superuser())
        kept = issuing.issued_figures(issued)
        assert kept.task_statuses == TASK_STATUSES
        assert kept.followup_statuses == ITEM_STATUSES
        assert kept.tasks.statuses == [2, 1, 2, 1, 1]
        assert kept.followups.statuses == [2, 1, 1, 1, 2]
        assert issuing.issued_document(issued).counted_on in (datetime.date.today(), days(0))

        page = auditor_client.get(f"/records/report/issued/{issued.pk}/").content.decode()
        assert GROUPS[0] in page and "Chuyển năm sau" in page and "Năm nêu lần đầu" in page
        assert "(Số liệu tính đến ngày" in page

        Task.objects.filter(status=TaskStatus.NOT_STARTED).update(
            status=TaskStatus.DONE, completed_on=days(-1)
        )
        changes = {
            (change.line, str(change.column)): (change.issued, change.now)
            for change in issuing.changes_since(live_report(every_status), issued)
        }
        assert changes[("Nhiệm vụ", "Chưa thực hiện")] == ("2", "0")
        assert changes[("Nhiệm vụ", "Đã hoàn thành")] == ("2", "4")
        assert ("Nhiệm vụ", "Tổng số") not in changes
        # The completed and outstanding counts are the status columns' sums: not twice.
        assert ("Nhiệm vụ", "Chưa hoàn thành") not in changes
        assert len(changes) == len(issuing.changes_since(live_report(every_status), issued))

    def test_a_report_issued_before_the_status_columns_reads_as_issued(
        self, every_status, auditor_client
    ):
        """A snapshot of format 1 (no status columns, no threads, one summary table in the
        annex, no counting day) still renders its page and its .docx, with what it had."""
        issued = issue_report(every_status, make_superuser())
        content = issued.content
        del content[issuing.SHOWN]  # kept since issue 16: the page then reads the whole
        report, document = content["report"], content["document"]
        report["format"] = 1
        for key in ("task_columns", "followup_columns"):
            del report[key]
        for count in [report["tasks"], report["followups"], *report["followup_kinds"]]:
            del count["statuses"]
        for item in [*report["outstanding_tasks"], *report["outstanding_followups"]]:
            del item["first_raised_year"], item["times_carried"]
        del document["counted_on"]
        summary = {
            "title": "Biểu 1. Tổng hợp kết quả",
            "headers": ["STT", "Loại hồ sơ", "Tổng số", "Hoàn thành", "Chưa hoàn thành"],
            "rows": [["1", "Nhiệm vụ", "6", "2", "3"]],
            "widths": [6, 28, 9, 10, 10],
            "numeric": [True, False, True, True, True],
        }
        rest = [
            {name: value for name, value in table.items() if name not in ("key", "groups")}
            for table in document["annex"][2:]
        ]
        document["annex"] = [summary, *rest]
        IssuedReport.objects.filter(pk=issued.pk).update(content=content)
        issued.refresh_from_db()

        kept = thaw(issued.content["report"])
        assert kept.task_statuses == [] and kept.tasks.statuses == []
        assert kept.tasks.completed == 2 and not kept.followup_threads
        assert [table.key for table in issuing.issued_document(issued).annex] == [
            "summary",
            "indicators",
            "outstanding_tasks",
            "outstanding_followups",
        ]
        response = auditor_client.get(f"/records/report/issued/{issued.pk}/")
        assert response.status_code == 200
        page = response.content.decode()
        annex = page[page.index('<section class="annex">') :]
        assert "Biểu 1. Tổng hợp kết quả" in annex and GROUPS[0] not in annex
        assert "Chưa hoàn thành" in annex and "Năm nêu lần đầu" not in annex
        assert "Số liệu tính đến ngày" not in annex
        rendered = docx.Document(io.BytesIO(render_docx(issuing.issued_document(issued))))
        assert rows_of(rendered.tables[2])[0] == summary["headers"]

        # What changed since: the columns it did not have are not compared.
        Task.objects.filter(status=TaskStatus.NOT_STARTED).update(
            status=TaskStatus.DONE, completed_on=days(-1)
        )
        changes = {
            (change.line, str(change.column))
            for change in issuing.changes_since(live_report(every_status), issued)
        }
        assert ("Nhiệm vụ", "Đã hoàn thành") in changes  # the completed count, a column it had
        assert all(not column.startswith("status_") for _line, column in changes)
        assert ("Nhiệm vụ", "Chưa thực hiện") not in changes
