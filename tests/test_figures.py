"""Figures that add up: every status has its column in the reports, and the status columns of
each row add up to its total (on SQLite and on PostgreSQL alike)."""

import importlib
import io
import re

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from coordination import exporting, services
from coordination.choices import FollowUpKind, FollowUpStatus, TaskStatus
from coordination.importing import import_records
from coordination.models import FollowUp, Task
from coordination.reports.counts import status_columns
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_superuser,
    make_task,
    make_unit,
    xlsx_bytes,
    xlsx_values,
)

pytestmark = pytest.mark.django_db

AUDITOR_GROUP = "Kiểm tra – giám sát"


@pytest.fixture
def superuser():
    return make_superuser()


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
        (TaskStatus.CARRIED_OVER, {"due_date": days(-30), "progress": 40}),
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
    # not started, in progress, done, carried over, cancelled
    assert report.tasks.statuses == [2, 1, 2, 1, 1]
    assert report.tasks.total == 7 and report.tasks.overdue == 2
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
    assert task_header[3:10] == [
        "Chưa thực hiện",
        "Đang thực hiện",
        "Đã hoàn thành",
        "Chuyển năm sau",
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
    response = auditor_client.get("/records/outstanding/", {"records": records, "year": ""})
    table = response.context["table"]
    (statuses, width), (derived, derived_width) = table.groups
    assert (str(statuses), str(derived)) == (
        "Theo trạng thái (cộng lại bằng tổng số)",
        "Số liệu tính thêm (không cộng vào tổng số)",
    )
    assert width == 5  # the tasks' statuses and the items' both have five
    # Unit, year, total; the statuses; outstanding, overdue, three ages, on-time rate (and
    # for items, the outstanding ones raised more than once).
    assert derived_width == (6 if records == "tasks" else 7)
    assert len(table.headers) == 3 + width + derived_width
    subtotals = [section.subtotal for section in table.sections]
    for row in [*table.rows, *subtotals, table.total]:
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


# ---------------------------------------------------------------------------
# Threads: the year an item was first raised, how often carried over and raised
# ---------------------------------------------------------------------------


def thread(item) -> tuple:
    item.refresh_from_db()
    return item.first_raised_year, item.times_carried, item.times_raised


def test_a_new_item_starts_its_own_thread():
    item = make_followup(year=2025)
    assert (item.first_raised_year, item.times_carried, item.times_raised) == (2025, 0, 1)
    assert thread(item) == (2025, 0, 1)


def test_carrying_over_counts_the_carries_and_keeps_the_year_first_raised():
    first = make_followup(year=2023)
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=first.pk))
    second = FollowUp.objects.get(carried_over_from=first)
    assert thread(second) == (2023, 1, 2)
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=second.pk))
    third = FollowUp.objects.get(carried_over_from=second)
    assert thread(third) == (2023, 2, 3)
    assert thread(first) == (2023, 0, 1)


def test_a_repeated_item_counts_the_raisings_of_the_earlier_one():
    """A petition of 2023 carried to 2024 and resolved, raised again in 2026: first raised in
    2023, never carried itself, raised for the third time."""
    first = make_followup(year=2023, kind=FollowUpKind.VOTER_PETITION)
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=first.pk))
    carried = FollowUp.objects.get(carried_over_from=first)
    again = make_followup(year=2026, kind=FollowUpKind.VOTER_PETITION, repeats=carried)
    assert thread(again) == (2023, 0, 3)
    # And carried over in its turn.
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=again.pk))
    assert thread(FollowUp.objects.get(carried_over_from=again)) == (2023, 1, 4)


def test_linking_an_item_later_updates_every_item_after_it():
    """Links set afterwards (by id, as a script would) reach the whole thread: the item, and
    the items continuing and repeating it."""
    first = make_followup(year=2022)
    second = make_followup(year=2024)
    third = make_followup(year=2025, carried_over_from=second)
    fourth = make_followup(year=2026, repeats_id=third.pk)
    assert thread(fourth) == (2024, 0, 3)
    second.carried_over_from_id = first.pk
    second.save()
    assert (second.first_raised_year, second.times_carried) == (2022, 1)
    assert thread(third) == (2022, 2, 3)
    assert thread(fourth) == (2022, 0, 4)
    # The earliest item's year moves: the whole thread follows.
    first.year = 2021
    first.save()
    assert [thread(item)[0] for item in (second, third, fourth)] == [2021, 2021, 2021]


def test_refreshing_many_threads_takes_a_few_queries_per_generation(
    django_assert_max_num_queries,
):
    roots = [make_followup(year=2020) for _ in range(30)]
    items = [make_followup(year=2021, carried_over_from=root) for root in roots]
    FollowUp.objects.update(first_raised_year=models.F("year"), times_carried=0, times_raised=1)
    with django_assert_max_num_queries(8):
        FollowUp.objects.refresh_threads([item.pk for item in roots + items])
    assert {thread(item) for item in items} == {(2020, 1, 2)}


def test_the_migration_fills_the_threads_of_existing_items():
    migration = importlib.import_module("coordination.migrations.0011_followup_threads")
    first = make_followup(year=2022)
    second = make_followup(year=2023, carried_over_from=first)
    third = make_followup(year=2024, carried_over_from=second)
    alone = make_followup(year=2024)
    FollowUp.objects.update(first_raised_year=models.F("year"), times_carried=7, times_raised=9)
    migration.fill_threads(django_apps, None)
    assert [thread(item) for item in (first, second, third, alone)] == [
        (2022, 0, 1),
        (2022, 1, 2),
        (2022, 2, 3),
        (2024, 0, 1),
    ]


def test_the_thread_is_no_change_of_the_records_history():
    first = make_followup(year=2023)
    second = make_followup(year=2024)
    entries = second.history.count()
    second.carried_over_from = first
    second.save()
    assert second.history.count() == entries + 1  # the link, saved
    third = make_followup(year=2025, carried_over_from=second)
    before = (third.history.count(), FollowUp.objects.get(pk=third.pk).updated_at)
    first.year = 2022
    first.save()
    assert thread(third)[0] == 2022
    assert (third.history.count(), FollowUp.objects.get(pk=third.pk).updated_at) == before


class TestRules:
    def test_an_item_is_carried_over_from_an_earlier_year(self):
        earlier = make_followup(year=2025)
        item = FollowUp(
            kind=FollowUpKind.LIMITATION,
            year=2025,
            content="Tiếp tục",
            responsible_unit=earlier.responsible_unit,
            carried_over_from=earlier,
        )
        with pytest.raises(ValidationError) as error:
            item.full_clean()
        assert set(error.value.message_dict) == {"carried_over_from"}

    def test_an_item_repeats_an_earlier_one(self):
        unit = make_unit()
        same_year = make_followup(year=2025, responsible_unit=unit)
        later = make_followup(year=2026, responsible_unit=unit)
        item = make_followup(year=2025, responsible_unit=unit)
        for repeated, refused in ((same_year, False), (later, True), (item, True)):
            item.repeats = repeated
            if not refused:
                item.full_clean()
                continue
            with pytest.raises(ValidationError) as error:
                item.full_clean()
            assert "repeats" in error.value.message_dict, repeated
        # Entered after it, in the same year: the earlier entry cannot repeat the later one.
        same_year.repeats = item
        with pytest.raises(ValidationError):
            same_year.full_clean()


# ---------------------------------------------------------------------------
# Spreadsheets: the links are imported, the thread is exported and never imported
# ---------------------------------------------------------------------------

LINK_HEADER = ["Mã", "Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"]


def import_file(rows, *, dry_run=False, user=None):
    return import_records(
        kind="followups",
        data=xlsx_bytes(rows),
        file_name="noi-dung.xlsx",
        user=user,
        dry_run=dry_run,
    )


def link_row(item, **links):
    return [
        item.pk,
        item.get_kind_display(),
        item.year,
        item.content,
        item.responsible_unit.full_name,
        *links.values(),
    ]


def test_an_import_links_a_whole_thread_whatever_the_order_of_its_rows(vi):
    unit = make_unit()
    a, b, c = (make_followup(year=year, responsible_unit=unit) for year in (2024, 2025, 2026))
    d = make_followup(year=2026, responsible_unit=unit)
    rows = [
        [*LINK_HEADER, "Chuyển tiếp từ mã", "Nêu lại từ mã"],
        link_row(d, carried=None, repeats=c.pk),
        link_row(c, carried=b.pk, repeats=None),
        link_row(b, carried=a.pk, repeats=None),
    ]
    report = import_file(rows)
    assert report.written and not report.problems, report.problems
    assert [thread(item) for item in (a, b, c, d)] == [
        (2024, 0, 1),
        (2024, 1, 2),
        (2024, 2, 3),
        (2024, 0, 4),
    ]
    assert FollowUp.objects.get(pk=d.pk).repeats == c


def test_an_import_refuses_a_repeat_of_a_later_item_in_the_preview(vi):
    unit = make_unit()
    item = make_followup(year=2025, responsible_unit=unit)
    later = make_followup(year=2026, responsible_unit=unit)
    rows = [[*LINK_HEADER, "Tái kiến nghị từ mã"], link_row(item, repeats=later.pk)]
    report = import_file(rows, dry_run=True)
    assert [(p.row, p.column) for p in report.problems] == [(2, "Nêu lại từ mã")]
    assert "Chỉ được nêu lại một nội dung có trước" in report.problems[0].message


def test_an_import_moving_an_item_to_an_earlier_year_moves_its_thread(vi):
    """The thread is written with the year: never after it (a database rule)."""
    item = make_followup(year=2025)
    follower = make_followup(year=2026, carried_over_from=item)
    row = link_row(item)
    row[2] = 2024
    report = import_file([LINK_HEADER, row])
    assert report.written, report.problems
    assert thread(item) == (2024, 0, 1)
    assert thread(follower) == (2024, 1, 2)


def test_the_export_writes_the_thread_and_the_import_does_not_read_it(vi):
    first = make_followup(year=2023)
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=first.pk))
    carried = FollowUp.objects.get(carried_over_from=first)
    stream = io.BytesIO()
    exporting.write_export("followups", FollowUp.objects.all(), stream, "xlsx")
    rows = xlsx_values(stream.getvalue())
    header = rows[0]
    columns = [
        header.index(name) for name in ("Năm nêu lần đầu", "Số lần chuyển năm sau", "Số lần nêu")
    ]
    by_number = {row[0]: row for row in rows[1:]}
    assert [by_number[carried.pk][i] for i in columns] == [2023, 1, 2]
    assert [by_number[first.pk][i] for i in columns] == [2023, 0, 1]
    # Whatever is typed in them, the thread follows the links.
    for row in rows[1:]:
        for i in columns:
            row[i] = 99
    report = import_file(rows)
    assert not report.problems and not report.warnings
    assert report.summary_line() == "new=0 updated=0 unchanged=2 errors=0"
    assert thread(carried) == (2023, 1, 2)


def test_importing_linked_items_takes_the_same_queries_for_20_and_200_rows(superuser):
    unit = make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân")
    counts = []
    for n in (1, 20, 200):  # the first import warms per-process caches up
        roots = FollowUp.objects.bulk_create(
            FollowUp(
                kind=FollowUpKind.VOTER_PETITION,
                year=2024,
                content=f"Kiến nghị gốc {n}-{i}",
                responsible_unit=unit,
            )
            for i in range(n)
        )
        rows = [
            [
                "Loại",
                "Năm",
                "Nội dung",
                "Đơn vị chịu trách nhiệm",
                "Chuyển tiếp từ mã",
                "Nêu lại từ mã",
            ]
        ]
        rows += [
            [
                "Kiến nghị cử tri",
                2025,
                f"Kiến nghị tiếp {n}-{i}",
                unit.full_name,
                root.pk,
                roots[i - 1].pk,
            ]
            for i, root in enumerate(roots)
        ]
        with CaptureQueriesContext(connection) as queries:
            report = import_file(rows, user=superuser)
        assert report.count_new == n, report.problems
        counts.append(len(queries))
    assert counts[1] == counts[2]
    assert {thread(item) for item in FollowUp.objects.filter(year=2025)} == {(2024, 1, 2)}


# ---------------------------------------------------------------------------
# Where the thread shows: lists, the detail page, the admin, the report
# ---------------------------------------------------------------------------


@pytest.fixture
def carried_twice():
    unit = make_unit(full_name="Ủy ban nhân dân huyện Vĩnh Thuận")
    first = make_followup(year=2024, responsible_unit=unit, content="Nạo vét kênh thủy lợi")
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=first.pk))
    services.followup_carry_over(followups=FollowUp.objects.filter(year=2025))
    third = FollowUp.objects.get(year=2026)
    return {"unit": unit, "first": first, "third": third}


def test_the_list_shows_the_year_first_raised_and_the_counts(auditor_client, carried_twice):
    response = auditor_client.get("/records/followups/", {"year": 2026})
    headers = [str(header["label"]) for header in response.context["headers"]]
    (row,) = response.context["rows"]
    cells = dict(zip(headers, (cell.text for cell in row), strict=True))
    assert (cells["năm nêu lần đầu"], cells["số lần chuyển năm sau"], cells["số lần nêu"]) == (
        "2024",
        "2",
        "3",
    )
    first = auditor_client.get("/records/followups/", {"year": 2024}).context["rows"][0]
    first_cells = dict(zip(headers, (cell.text for cell in first), strict=True))
    assert (first_cells["số lần chuyển năm sau"], first_cells["số lần nêu"]) == ("", "")


def test_the_list_sorts_by_the_year_first_raised_and_the_times_raised(
    auditor_client, carried_twice
):
    new = make_followup(year=2026, responsible_unit=carried_twice["unit"]).pk
    old = carried_twice["third"].pk  # first raised in 2024, raised three times
    for sort, expected in (
        ("first_raised", [old, new]),
        ("-first_raised", [new, old]),
        ("raised", [new, old]),
        ("-raised", [old, new]),
    ):
        response = auditor_client.get("/records/followups/", {"year": 2026, "sort": sort})
        assert listed(response) == expected, sort


def listed(response) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'href="/records/followups/(\d+)/"', response.content.decode())
    ]


def test_the_detail_page_shows_the_thread(auditor_client, carried_twice):
    third = carried_twice["third"]
    response = auditor_client.get(f"/records/followups/{third.pk}/")
    fields = {
        str(label): ", ".join(cell.text for cell in cells)
        for label, cells in response.context["fields"]
    }
    assert (fields["năm nêu lần đầu"], fields["số lần chuyển năm sau"], fields["số lần nêu"]) == (
        "2024",
        "2",
        "3",
    )


def test_the_admin_lists_the_thread_and_shows_it_read_only(client, carried_twice):
    client.force_login(make_superuser())
    third = carried_twice["third"]
    page = client.get("/admin/coordination/followup/", {"year": 2026})
    assert page.status_code == 200
    # The thread under the item's content (the list keeps to what fits at 1366 px).
    row = next(r for r in page.content.decode().split("<tr") if f'value="{third.pk}"' in r)
    assert "nêu từ năm 2024" in row and "chuyển năm sau 2 lần" in row
    form = client.get(f"/admin/coordination/followup/{third.pk}/change/")
    assert form.status_code == 200
    html = form.content.decode()
    assert "Quá trình nêu qua các năm" in html
    assert 'name="times_carried"' not in html and 'name="repeats"' in html


def test_the_report_lists_outstanding_items_with_the_year_first_raised(
    auditor_client, carried_twice
):
    params = {"year": 2026, "unit": carried_twice["unit"].pk}
    page = auditor_client.get("/records/report/", params).content.decode()
    assert "Năm nêu lần đầu" in page and "Số lần chuyển năm sau" in page
    response = auditor_client.get("/records/report/", {**params, "format": "xlsx"})
    rows = xlsx_values(b"".join(response.streaming_content))
    header = next(row for row in rows if "Năm nêu lần đầu" in row)
    line = rows[rows.index(header) + 1]
    assert line[1] == "Nạo vét kênh thủy lợi"
    assert line[header.index("Năm nêu lần đầu")] == 2024
    assert line[header.index("Số lần chuyển năm sau")] == 2


# ---------------------------------------------------------------------------
# How often an item has been raised: the list filter and the outstanding table
# ---------------------------------------------------------------------------


def test_the_list_filters_the_items_raised_more_than_once(auditor_client, carried_twice):
    again = make_followup(year=2026, repeats=carried_twice["first"])
    once = make_followup(year=2026)
    response = auditor_client.get("/records/followups/", {"raised_again": "yes"})
    assert set(listed(response)) == {
        *FollowUp.objects.filter(carried_over_from__isnull=False).values_list("pk", flat=True),
        again.pk,
    }
    response = auditor_client.get("/records/followups/", {"raised_again": "no", "year": 2026})
    assert listed(response) == [once.pk]
    admin = auditor_client.get("/admin/coordination/followup/", {"raised_again": "yes"})
    assert admin.status_code == 200
    assert len(admin.context["cl"].result_list) == 3


def test_the_outstanding_table_counts_the_items_raised_more_than_once(
    auditor_client, carried_twice
):
    unit = carried_twice["unit"]
    make_followup(year=2026, responsible_unit=unit, repeats=carried_twice["first"])
    make_followup(
        year=2026,
        responsible_unit=unit,
        repeats=carried_twice["third"],
        status=FollowUpStatus.RESOLVED,
        resolved_on=days(-1),
    )
    make_followup(year=2026, responsible_unit=unit)
    response = auditor_client.get("/records/outstanding/", {"year": 2026})
    table = response.context["table"]
    assert str(table.headers[-1]) == "Tồn đọng, đã nêu từ 2 lần trở lên"
    (row,) = table.rows
    raised = row.cells[-1]
    assert raised.text == "2"  # the third year of the carried item, and the open repeat
    assert table.total.cells[-1].text == "2"
    listed_items = auditor_client.get(raised.url)
    assert listed_items.context["count"] == 2
    assert "raised_again=yes" in raised.url and "outstanding=yes" in raised.url
