"""The yearly report of a unit with thousands of open records (issue 16): the page shows the
first rows of each outstanding table with their count and a link to the /records/ list of all
of them, its drafted text names a bounded number of overdue records per unit and counts the
others, and its queries do not grow with the rows; the .docx, the .xlsx and an issued report
still list every row, and the text the user edits is the text downloaded."""

import html
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from coordination.choices import FollowUpKind
from coordination.models import IssuedReport
from coordination.reports import issuing, yearly
from coordination.reports.docx import render_docx, sample_document
from coordination.reports.docx_template import FONT
from coordination.reports.drafting import CLIP, AnnexTable, clip
from coordination.reports.forms import MAX_TEXT
from coordination.tables import unit_name
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_superuser,
    make_task,
    make_unit,
    xlsx_values,
)
from tests.test_issued_reports import docx_texts, post_data, report_url

pytestmark = pytest.mark.django_db

YEAR = 2025


@pytest.fixture
def rows(monkeypatch):
    """The page shows 3 rows of each outstanding table; the drafted text names 2 overdue
    records of 2 units at most, and 2 conclusions."""
    monkeypatch.setattr(yearly, "ANNEX_ROWS", 3)
    monkeypatch.setattr(yearly, "NAMED_PER_UNIT", 2)
    monkeypatch.setattr(yearly, "NAMED_UNITS", 2)
    monkeypatch.setattr(yearly, "NAMED_CONCLUSIONS", 2)


@pytest.fixture
def big(db):
    """A unit with 5 outstanding tasks (4 overdue, the 5th due later), a done one, 4 open items
    (3 of them conclusions), all of 2025; and another unit's outstanding task."""
    unit = make_unit(full_name="Ủy ban nhân dân xã Tân Thắng", short_name="UBND xã")
    agreement = make_agreement(start_year=2024, end_year=2026)
    tasks = [
        make_task(
            agreement=agreement,
            year=YEAR,
            lead_unit=unit,
            due_date=days(-10 * (index + 1)) if index < 4 else days(30),
            content=f"Nhiệm vụ tồn đọng số {index}",
        )
        for index in range(5)
    ]
    make_task(
        agreement=agreement,
        year=YEAR,
        lead_unit=unit,
        status="done",
        completed_on=days(-1),
        content="Nhiệm vụ đã xong",
    )
    items = [
        make_followup(
            year=YEAR,
            responsible_unit=unit,
            kind=FollowUpKind.CONCLUSION if index else FollowUpKind.LIMITATION,
            due_date=days(-5 - index),
            content=f"Nội dung tồn đọng số {index}",
        )
        for index in range(4)
    ]
    make_task(agreement=agreement, year=YEAR, content="Việc của đơn vị khác")
    return unit, agreement, tasks, items


@pytest.fixture
def admin_client(client):
    client.force_login(make_superuser())
    return client


def page_rows(response, kind: str) -> list[str]:
    """The contents of the rows of an outstanding table on the page (their detail links)."""
    page = response.content.decode()
    return re.findall(rf'<a href="/records/{kind}/\d+/">([^<]*)</a>', page)


def list_link(response, total: int) -> str:
    page = response.content.decode()
    links = re.findall(rf'<a href="([^"]*)">Xem đủ {total} dòng trong danh sách</a>', page)
    return html.unescape(links[0]) if links else ""


class TestThePage:
    def test_shows_the_first_rows_the_most_overdue_first_with_the_count(
        self, rows, big, admin_client
    ):
        unit, _agreement, tasks, items = big
        response = admin_client.get(report_url({"year": YEAR, "unit": unit.pk}))
        assert response.status_code == 200
        report = response.context["report"]
        assert not report.complete
        assert report.outstanding_task_count == 5 and report.outstanding_followup_count == 4
        # Due 40, 30, 20 days ago: the most overdue first.
        assert page_rows(response, "tasks") == [task.content for task in tasks[3:0:-1]]
        assert page_rows(response, "followups") == [item.content for item in items[3:0:-1]]
        page = response.content.decode()
        assert "3 dòng đầu trong tổng số 5, quá hạn lâu nhất trước." in page
        assert "3 dòng đầu trong tổng số 4, quá hạn lâu nhất trước." in page
        assert "Tệp Word, Excel tải về và báo cáo khi ban hành có đủ mọi dòng." in page

    def test_links_to_the_list_of_exactly_those_rows(self, rows, big, admin_client):
        unit, _agreement, tasks, items = big
        response = admin_client.get(report_url({"year": YEAR, "unit": unit.pk}))
        for kind, total, records in (("tasks", 5, tasks), ("followups", 4, items)):
            link = list_link(response, total)
            assert link.startswith(f"/records/{kind}/?"), link
            assert "outstanding=yes" in link and f"unit={unit.pk}" in link
            listed = admin_client.get(link)
            assert listed.status_code == 200
            assert listed.context["count"] == total
            assert {row.pk for row in listed.context["page"].object_list} >= {
                record.pk for record in records
            }

    def test_an_agreements_report_links_to_its_lists(self, rows, big, admin_client):
        _unit, agreement, _tasks, _items = big
        response = admin_client.get(report_url({"year": YEAR, "agreement": agreement.pk}))
        link = list_link(response, 6)  # the unit's 5 and the other unit's
        assert f"agreement={agreement.pk}" in link and "unit=" not in link
        assert admin_client.get(link).context["count"] == 6

    def test_a_short_table_has_no_note(self, big, admin_client):
        unit, *_rest = big
        response = admin_client.get(report_url({"year": YEAR, "unit": unit.pk}))
        assert "quá hạn lâu nhất trước" not in response.content.decode()
        assert len(page_rows(response, "tasks")) == 5

    def test_queries_do_not_grow_with_units_or_records(self, big, admin_client):
        """Twelve units with twelve overdue records each ask what two units ask."""
        _unit, agreement, _tasks, _items = big
        url = report_url({"year": YEAR, "agreement": agreement.pk})

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(url).status_code == 200
            return len(queries)

        few = count()
        for _index in range(12):
            unit = make_unit()
            for age in range(12):
                make_task(agreement=agreement, year=YEAR, lead_unit=unit, due_date=days(-age - 1))
        assert count() == few


class TestTheDocuments:
    def test_the_xlsx_lists_every_row(self, rows, big, admin_client):
        unit, _agreement, tasks, items = big
        response = admin_client.get(report_url({"year": YEAR, "unit": unit.pk, "format": "xlsx"}))
        cells = {
            value for row in xlsx_values(b"".join(response.streaming_content)) for value in row
        }
        assert {record.content for record in [*tasks, *items]} <= cells

    def test_the_docx_lists_every_row_downloaded_or_posted(self, rows, big, admin_client):
        unit, _agreement, tasks, items = big
        params = {"year": YEAR, "unit": unit.pk}
        got = admin_client.get(report_url({**params, "format": "docx"}))
        posted = admin_client.post(
            report_url(params), post_data(admin_client, params, action="docx")
        )
        for response in (got, posted):
            assert response.status_code == 200
            texts = docx_texts(response.content)
            for record in [*tasks, *items]:
                assert record.content in texts

    def test_an_issued_report_keeps_every_row_and_shows_the_first(self, rows, big, admin_client):
        unit, _agreement, tasks, items = big
        params = {"year": YEAR, "unit": unit.pk}
        response = admin_client.post(
            report_url(params), post_data(admin_client, params, action="issue", number="7/BC-UBND")
        )
        assert response.status_code == 302
        issued = IssuedReport.objects.get()
        snapshot = issued.content["report"]
        assert [row["pk"] for row in snapshot["outstanding_tasks"]] == [
            task.pk for task in [*tasks[3::-1], tasks[4]]
        ]
        assert len(snapshot["outstanding_followups"]) == 4
        annex = {table["key"]: table for table in issued.content["document"]["annex"]}
        assert len(annex["outstanding_tasks"]["rows"]) == 5
        assert len(annex["outstanding_followups"]["rows"]) == 4
        cells = {value for row in xlsx_values(bytes(issued.xlsx)) for value in row}
        assert {record.content for record in [*tasks, *items]} <= cells
        assert {record.content for record in [*tasks, *items]} <= set(
            docx_texts(bytes(issued.docx))
        )
        page = admin_client.get(f"/records/report/issued/{issued.pk}/")
        assert page.status_code == 200
        assert len(page_rows(page, "tasks")) == 3 and len(page_rows(page, "followups")) == 3
        text = page.content.decode()
        assert "3 dòng đầu trong tổng số 5, quá hạn lâu nhất trước." in text
        assert "Tệp Word và Excel đã ban hành có đủ mọi dòng." in text
        assert "trong danh sách</a>" not in text  # today's list is not the issued one


def limitations(response) -> list[str]:
    return response.context["document"].section("limitations").paragraphs


class TestTheDraftedText:
    def test_names_each_units_most_overdue_records_and_counts_the_others(
        self, rows, big, admin_client
    ):
        unit, _agreement, tasks, items = big
        response = admin_client.get(report_url({"year": YEAR, "unit": unit.pk}))
        # 9 outstanding, 8 overdue (4 tasks, 4 items); the 2 most overdue named (the tasks
        # 40 and 30 days overdue), the 6 others counted.
        lines = limitations(response)
        assert lines[0].endswith(": còn 9 nội dung chưa hoàn thành, trong đó 8 quá hạn.")
        assert lines[1].startswith(f"+ {tasks[3].content} (hạn ")
        assert lines[1].endswith("quá hạn 40 ngày).")
        assert lines[2].startswith(f"+ {tasks[2].content} (")
        assert lines[3:] == ["+ … và 6 nội dung quá hạn khác, xem Phụ lục."]
        # The 3 outstanding conclusions: the 2 due first named, the third counted.
        directions = response.context["document"].section("directions").paragraphs
        assert directions == [
            f"- Tiếp tục thực hiện, giải quyết dứt điểm 9 nhiệm vụ, nội dung còn tồn đọng "
            f"của năm {YEAR}.",
            f"- {items[3].content}",
            f"- {items[2].content}",
            "- … và 1 kết luận khác chưa thực hiện xong, xem Phụ lục.",
        ]

    def test_details_the_units_with_the_most_overdue_and_sums_the_others(
        self, rows, big, admin_client
    ):
        unit, agreement, _tasks, _items = big
        quiet = make_unit(full_name="Hội Nông dân xã Tân Thắng", short_name="Hội Nông dân xã")
        make_task(agreement=agreement, year=YEAR, lead_unit=quiet, due_date=days(-1))
        response = admin_client.get(report_url({"year": YEAR, "agreement": agreement.pk}))
        lines = limitations(response)
        # Two units detailed, in name order: the unit (4 overdue tasks: 2 named, 2 counted)
        # and the association (1); the third unit's task, due some day, counted apart.
        assert [line for line in lines if line.startswith("- ")] == [
            f"- {unit_name(quiet)}: còn 1 nội dung chưa hoàn thành, trong đó 1 quá hạn.",
            f"- {unit_name(unit)}: còn 5 nội dung chưa hoàn thành, trong đó 4 quá hạn.",
            "- Các đơn vị khác (1 đơn vị): còn 1 nội dung chưa hoàn thành, xem Phụ lục.",
        ]
        assert lines[-2] == "+ … và 2 nội dung quá hạn khác, xem Phụ lục."

    def test_the_page_and_the_docx_say_the_same(self, rows, big, admin_client):
        """What the user edits (the drafted text, in the form) is what is downloaded."""
        unit, *_rest = big
        params = {"year": YEAR, "unit": unit.pk}
        page = admin_client.get(report_url(params))
        drafted = page.context["form"].initial["limitations"].splitlines()
        assert drafted == limitations(page)
        assert any(line.startswith("+ … và ") for line in drafted)
        texts = docx_texts(admin_client.get(report_url({**params, "format": "docx"})).content)
        for line in drafted:
            assert line in texts
        edited = admin_client.post(
            report_url(params),
            post_data(admin_client, params, action="docx", limitations="Đã sửa."),
        )
        assert "Đã sửa." in docx_texts(edited.content)

    def test_the_longest_drafted_text_can_be_posted_back(self, big, admin_client):
        """Ten units with many overdue records of long contents: the drafted limitations fit
        the form, and a preview posts them back unchanged."""
        _unit, agreement, _tasks, _items = big
        long = "Rà soát, giải quyết dứt điểm kiến nghị của cử tri " * 20
        for _index in range(yearly.NAMED_UNITS + 2):
            unit = make_unit()
            for age in range(yearly.NAMED_PER_UNIT + 2):
                make_task(
                    agreement=agreement,
                    year=YEAR,
                    lead_unit=unit,
                    due_date=days(-age - 1),
                    content=long,
                )
        params = {"year": YEAR, "agreement": agreement.pk}
        data = post_data(admin_client, params, action="preview")
        assert len(data["limitations"]) <= MAX_TEXT
        named = yearly.NAMED_UNITS * yearly.NAMED_PER_UNIT
        assert data["limitations"].count(f"+ {clip(long)} (") == named
        response = admin_client.post(report_url(params), data)
        assert response.status_code == 200
        assert limitations(response) == data["limitations"].splitlines()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ngắn gọn", "Ngắn gọn"),
        ("  dòng\n  thứ hai ", "dòng thứ hai"),
        ("chữ " * 100, ("chữ " * 49).strip() + "…"),
    ],
)
def test_clip_cuts_a_long_content_at_a_word(text, expected):
    assert clip(text) == expected
    assert len(clip(text)) <= CLIP


class TestTheIssuedPage:
    @pytest.fixture
    def issued(self, rows, big, admin_client):
        unit, *_rest = big
        params = {"year": YEAR, "unit": unit.pk}
        data = post_data(admin_client, params, action="issue", number="8/BC-UBND")
        assert admin_client.post(report_url(params), data).status_code == 302
        return IssuedReport.objects.get()

    def test_reads_the_shown_part_only(self, issued, admin_client):
        """The page and the live report's comparison read the content's shown part (the
        first rows and their counts), never the lists of every row."""
        content = issued.content
        shown = content[issuing.SHOWN]
        assert len(shown["report"]["outstanding_tasks"]) == 3
        assert shown["report"]["outstanding_tasks_count"] == 5
        # Every row emptied out of the whole content: the pages do not notice.
        content["report"]["outstanding_tasks"] = []
        for table in content["document"]["annex"]:
            table["rows"] = []
        IssuedReport.objects.filter(pk=issued.pk).update(content=content)
        page = admin_client.get(f"/records/report/issued/{issued.pk}/")
        assert len(page_rows(page, "tasks")) == 3
        assert "3 dòng đầu trong tổng số 5, quá hạn lâu nhất trước." in page.content.decode()
        live = admin_client.get(report_url({"year": YEAR, "unit": issued.unit_id}))
        assert live.context["last_issued"].pk == issued.pk
        assert live.context["changes"] == []

    def test_a_report_issued_before_the_shown_part_reads_its_whole_content(
        self, issued, admin_client
    ):
        content = issued.content
        del content[issuing.SHOWN]
        IssuedReport.objects.filter(pk=issued.pk).update(content=content)
        page = admin_client.get(f"/records/report/issued/{issued.pk}/")
        assert len(page_rows(page, "tasks")) == 3
        assert "3 dòng đầu trong tổng số 5, quá hạn lâu nhất trước." in page.content.decode()
        live = admin_client.get(report_url({"year": YEAR, "unit": issued.unit_id}))
        assert live.context["changes"] == []

    def test_its_files_are_whole(self, issued, admin_client):
        xlsx = admin_client.get(f"/records/report/issued/{issued.pk}/?format=xlsx")
        cells = {value for row in xlsx_values(xlsx.content) for value in row}
        assert sum(1 for value in cells if str(value).startswith("Nhiệm vụ tồn đọng")) == 5


def test_a_long_annex_table_has_every_row_laid_out_like_the_first():
    """The .docx annex of a big unit: every row, each cell with the text, alignment and font of
    the table's (its rows are copies of one model row)."""
    document = sample_document()
    rows = [[str(index), f"Nội dung {index}\ndòng hai", str(index * 2)] for index in range(1, 501)]
    document.annex = [
        AnnexTable("Biểu 4", ["STT", "Nội dung", "Số"], rows, [1, 5, 2], [True, False, True])
    ]
    grid = Document(io.BytesIO(render_docx(document))).tables[-1]
    assert len(grid.rows) == 501
    for row, values in ((grid.rows[1], rows[0]), (grid.rows[500], rows[499])):
        cells = row.cells
        assert [cell.text for cell in cells] == values
        alignments = [cell.paragraphs[0].alignment for cell in cells]
        assert alignments == [WD_ALIGN_PARAGRAPH.CENTER, None, WD_ALIGN_PARAGRAPH.RIGHT]
        run = cells[1].paragraphs[0].runs[0]
        assert run.font.size == Pt(12) and run.font.bold is False and run.font.name == FONT


class TestIndicators:
    """A unit with more indicators than the page shows: the first ones, the count, a link to
    the list of all; the drafted text names a few and counts them all; the documents and an
    issued report keep every one."""

    @pytest.fixture
    def indicators(self, rows, big, monkeypatch):
        from tests.factories import make_indicator

        monkeypatch.setattr(yearly, "NAMED_INDICATORS", 2)
        unit, agreement, _tasks, _items = big
        actuals = [None, 50, 99, 100, 120]  # targets 100: no data, not met, not met, met, met
        return [
            make_indicator(
                agreement=agreement,
                year=YEAR,
                unit=unit,
                name=f"Chỉ tiêu số {index}",
                target=100,
                actual=actual,
            )
            for index, actual in enumerate(actuals)
        ]

    def test_the_page_shows_the_first_with_the_count_and_the_list(
        self, indicators, big, admin_client
    ):
        unit, *_rest = big
        response = admin_client.get(report_url({"year": YEAR, "unit": unit.pk}))
        report = response.context["report"]
        assert report.indicator_count == 5
        assert [i.name for i in report.shown_indicators] == [
            "Chỉ tiêu số 0",
            "Chỉ tiêu số 1",
            "Chỉ tiêu số 2",
        ]
        page = response.content.decode()
        assert "3 chỉ tiêu đầu tiên trong số 5." in page
        assert "Chỉ tiêu số 4" not in page.split("Biểu 3")[-1].split("Biểu 4")[0]
        link = html.unescape(re.findall(r'<a href="(/records/indicators/[^"]*)">', page)[0])
        listed = admin_client.get(link)
        assert listed.status_code == 200
        assert listed.context["count"] == 5

    def test_the_drafted_text_names_a_few_and_counts_them_all(self, indicators, big, admin_client):
        unit, *_rest = big
        response = admin_client.get(report_url({"year": YEAR, "unit": unit.pk}))
        text = html.unescape(response.content.decode())
        assert "3. Các chỉ tiêu: 5 chỉ tiêu, đạt 2, chưa đạt 2, chưa có số liệu 1." in text
        assert "- … và 3 chỉ tiêu khác (Biểu 3)." in text

    def test_the_documents_and_the_issued_report_keep_every_one(
        self, indicators, big, admin_client
    ):
        unit, *_rest = big
        params = {"year": YEAR, "unit": unit.pk}
        texts = docx_texts(admin_client.get(report_url({**params, "format": "docx"})).content)
        response = admin_client.get(report_url({**params, "format": "xlsx"}))
        cells = {
            value for row in xlsx_values(b"".join(response.streaming_content)) for value in row
        }
        for indicator in indicators:
            assert indicator.name in texts
            assert indicator.name in cells
        issued = admin_client.post(
            report_url(params), post_data(admin_client, params, action="issue", number="8/BC-UBND")
        )
        assert issued.status_code == 302
        report = IssuedReport.objects.get()
        assert [i["name"] for i in report.content["report"]["indicators"]] == [
            i.name for i in indicators
        ]
        page = admin_client.get(issued.url)
        assert page.status_code == 200
        assert "3 chỉ tiêu đầu tiên trong số 5." in page.content.decode()
