"""/records/outstanding/ at a province's scale: the current year by default, every year on
request, rows grouped by level and locality with their subtotals, paged, the chart's top
units with the others in one bar, in queries that do not grow with units, rows or pages."""

import json
import re
from unittest.mock import patch

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordination.choices import FollowUpStatus, UnitLevel
from coordination.reports import outstanding, tallies
from tests.factories import (
    days,
    make_followup,
    make_member,
    make_unit,
    make_user,
    today,
)

pytestmark = pytest.mark.django_db

AUDITOR_GROUP = "Kiểm tra – giám sát"
STAFF_GROUP = "Cán bộ đơn vị"
PROVINCE = "tỉnh Lâm Đồng"


def commune(name: str) -> str:
    return f"xã {name}, {PROVINCE}"


@pytest.fixture
def province():
    """Provincial departments and the bodies of three communes, each with items this year
    and last year; the communes named so that code-point order would misplace “Đạ Huoai”."""
    this_year, last_year = today().year, today().year - 1
    units = {
        "department": make_unit(
            full_name="Sở Nội vụ tỉnh Lâm Đồng", level=UnitLevel.PROVINCE, locality=PROVINCE
        ),
        "committee": make_unit(
            full_name="Ủy ban nhân dân tỉnh Lâm Đồng", level=UnitLevel.PROVINCE, locality=PROVINCE
        ),
        "hoa_ninh": make_unit(
            full_name="Ủy ban nhân dân xã Hòa Ninh",
            level=UnitLevel.COMMUNE,
            locality=commune("Hòa Ninh"),
        ),
        "da_huoai_front": make_unit(
            full_name="Ủy ban MTTQ Việt Nam xã Đạ Huoai",
            level=UnitLevel.COMMUNE,
            locality=commune("Đạ Huoai"),
        ),
        "da_huoai": make_unit(
            full_name="Đảng ủy xã Đạ Huoai", level=UnitLevel.COMMUNE, locality=commune("Đạ Huoai")
        ),
        "di_linh": make_unit(
            full_name="Ủy ban nhân dân xã Di Linh",
            level=UnitLevel.COMMUNE,
            locality=commune("Di Linh"),
        ),
    }
    for index, unit in enumerate(units.values()):
        # This year: index + 1 items, one of them overdue; last year: one resolved item.
        make_followup(responsible_unit=unit, year=this_year, due_date=days(-10))
        for _ in range(index):
            make_followup(responsible_unit=unit, year=this_year, due_date=days(30))
        make_followup(
            responsible_unit=unit,
            year=last_year,
            status=FollowUpStatus.RESOLVED,
            due_date=days(-400),
            resolved_on=days(-401),
        )
    return units


def numbers(row) -> list[str]:
    return [cell.text for cell in row.cells]


def sections(table) -> list[tuple[str, str, list[str]]]:
    return [
        (section.locality, section.level, [row.unit.full_name for row in section.rows])
        for section in table.sections
    ]


# The year ---------------------------------------------------------------------------------


def test_the_table_counts_the_current_year_when_no_year_is_given(auditor_client, province):
    response = auditor_client.get("/records/outstanding/")
    assert response.status_code == 200
    table = response.context["table"]
    assert table.year == today().year and table.default_year
    assert {row.year for row in table.rows} == {today().year}
    assert table.total.cells[0].text == str(1 + 2 + 3 + 4 + 5 + 6)
    assert f"year={today().year}" in table.total.cells[0].url
    page = response.content.decode()
    assert f'name="year" value="{today().year}"' in page
    assert "Năm hiện tại" in page or "(năm hiện tại)" in page
    # The way to every year: the same table with an empty year.
    assert 'href="?year="' in page


def test_an_empty_year_counts_every_year(auditor_client, province):
    table = auditor_client.get("/records/outstanding/", {"year": ""}).context["table"]
    assert table.year is None and not table.default_year
    assert {row.year for row in table.rows} == {today().year, today().year - 1}
    assert len(table.rows) == 12
    assert table.total.cells[0].text == str(21 + 6)
    assert "year=" not in table.total.cells[0].url
    # Each unit's rows: the latest year first.
    first = table.rows[:2]
    assert [row.year for row in first] == [today().year, today().year - 1]


def test_a_given_year_is_counted_as_before(auditor_client, province):
    last_year = today().year - 1
    response = auditor_client.get("/records/outstanding/", {"year": last_year})
    table = response.context["table"]
    assert table.year == last_year and not table.default_year
    assert {row.year for row in table.rows} == {last_year}
    assert table.total.cells[0].text == "6"
    # Back to the default: the current year.
    assert 'href="?"' in response.content.decode()


@pytest.mark.parametrize("year", ["abc", "1800", "20255", "2025.5", "2025'"])
def test_a_bad_year_is_a_form_error_not_a_server_error(auditor_client, province, year):
    response = auditor_client.get("/records/outstanding/", {"year": year})
    assert response.status_code == 400
    table = response.context["table"]
    assert table.rows == [] and table.sections == [] and table.total is None


def test_the_default_year_keeps_the_other_parameters(auditor_client, province):
    """The records choice and the unit without a year: the current year of those."""
    unit = province["committee"]
    response = auditor_client.get("/records/outstanding/", {"unit": unit.pk})
    table = response.context["table"]
    assert table.year == today().year
    assert [row.unit for row in table.rows] == [unit]
    assert table.total.cells[0].text == "2"


# Groups and their subtotals ---------------------------------------------------------------


def test_rows_are_grouped_by_level_then_locality_in_vietnamese_order(auditor_client, province):
    table = auditor_client.get("/records/outstanding/").context["table"]
    assert sections(table) == [
        (PROVINCE, "province", ["Sở Nội vụ tỉnh Lâm Đồng", "Ủy ban nhân dân tỉnh Lâm Đồng"]),
        # “Di Linh” before “Đạ Huoai” (đ follows d) before “Hòa Ninh”; in a group, the
        # units by name: “Đảng ủy …” before “Ủy ban …”.
        (commune("Di Linh"), "commune", ["Ủy ban nhân dân xã Di Linh"]),
        (
            commune("Đạ Huoai"),
            "commune",
            ["Đảng ủy xã Đạ Huoai", "Ủy ban MTTQ Việt Nam xã Đạ Huoai"],
        ),
        (commune("Hòa Ninh"), "commune", ["Ủy ban nhân dân xã Hòa Ninh"]),
    ]
    assert [str(section.level_label) for section in table.sections] == [
        "Tỉnh",
        "Xã",
        "Xã",
        "Xã",
    ]


def test_each_subtotal_is_the_sum_of_its_group_and_the_groups_add_up_to_the_total(
    auditor_client, province
):
    table = auditor_client.get("/records/outstanding/").context["table"]
    width = len(table.total.cells) - 1  # every count but the on-time rate, summed
    counts = [index for index, cell in enumerate(table.total.cells) if "rate" not in cell.css]
    assert len(counts) == width
    for section in table.sections:
        for index in counts:
            assert int(section.subtotal.cells[index].text) == sum(
                int(row.cells[index].text) for row in section.rows
            )
    for index in counts:
        assert int(table.total.cells[index].text) == sum(
            int(section.subtotal.cells[index].text) for section in table.sections
        )
    department = table.sections[0].subtotal
    # Sở Nội vụ: 1 item, Ủy ban: 2; one overdue each; on time: none due and done.
    assert numbers(department)[:9] == ["3", "3", "0", "0", "0", "0", "3", "2", "2"]
    assert department.outstanding == 3 and department.overdue == 2


def test_a_subtotal_is_a_plain_number_and_every_other_number_a_link(auditor_client, province):
    response = auditor_client.get("/records/outstanding/")
    table = response.context["table"]
    for section in table.sections:
        assert all(cell.url is None for cell in section.subtotal.cells)
    for row in [*table.rows, table.total]:
        assert all(cell.url for cell in row.cells if cell.text not in ("—",))
    page = response.content.decode()
    subtotal_rows = re.findall(r'<tr class="subtotal">.*?</tr>', page, re.S)
    assert len(subtotal_rows) == 4 and not any("<a " in row for row in subtotal_rows)
    assert "Cộng nhóm" in page and "xã Đạ Huoai, tỉnh Lâm Đồng (cấp xã)" in page


def test_a_row_links_to_the_list_of_exactly_its_records(auditor_client, province):
    table = auditor_client.get("/records/outstanding/").context["table"]
    row = next(row for row in table.rows if row.unit == province["di_linh"])
    listed = auditor_client.get(row.cells[0].url)
    assert listed.context["count"] == int(row.cells[0].text) == 6
    overdue = auditor_client.get(row.cells[7].url)
    assert overdue.context["count"] == int(row.cells[7].text) == 1


# Pages ------------------------------------------------------------------------------------


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(outstanding, "PAGE_SIZE", 3)


def page_of(client, **params):
    response = client.get("/records/outstanding/", params)
    assert response.status_code == 200
    return response


def test_the_rows_are_paged_each_on_one_page_in_order(auditor_client, province, small_pages):
    every = auditor_client.get("/records/outstanding/", {"year": ""}).context["table"]
    assert every.page.paginator.num_pages == 4  # 12 rows, 3 a page
    seen = []
    for number in range(1, 5):
        table = page_of(auditor_client, year="", page=number).context["table"]
        assert table.page.number == number and len(table.rows) == 3
        seen += [(row.unit.pk, row.year) for row in table.rows]
        # Each page: the same grand total and chart, whatever the page.
        assert numbers(table.total) == numbers(every.total)
        assert table.chart == every.chart
    assert len(seen) == len(set(seen)) == 12
    units = [unit_pk for unit_pk, _year in seen]
    order = ["department", "committee", "di_linh", "da_huoai", "da_huoai_front", "hoa_ninh"]
    assert units[::2] == [province[name].pk for name in order]


def test_a_group_across_two_pages_has_its_whole_subtotal_on_both(
    auditor_client, province, small_pages
):
    """Page 1 holds the two departments' rows and the Ủy ban's of this year; page 2 begins
    with its row of last year, the province's group continued."""
    first = page_of(auditor_client, year="", page=1).context["table"]
    second = page_of(auditor_client, year="", page=2).context["table"]
    assert [section.locality for section in first.sections] == [PROVINCE]
    assert [section.locality for section in second.sections] == [PROVINCE, commune("Di Linh")]
    assert not first.sections[0].continued and second.sections[0].continued
    assert not second.sections[1].continued
    assert numbers(first.sections[0].subtotal) == numbers(second.sections[0].subtotal)
    # The province's four rows: 1 + 2 items this year, one a year before each.
    assert first.sections[0].subtotal.cells[0].text == "5"
    page = auditor_client.get("/records/outstanding/", {"year": "", "page": 2}).content.decode()
    assert "tiếp theo trang trước" in page


def test_the_pager_keeps_the_parameters(auditor_client, province, small_pages):
    response = page_of(auditor_client, year="", page=2, records="followups")
    page = response.content.decode()
    pager = re.search(r'<nav class="pages.*?</nav>', page, re.S).group(0)
    assert 'href="?year=&amp;records=followups&amp;page=1"' in pager
    assert 'href="?year=&amp;records=followups&amp;page=3"' in pager
    assert "Trang 2 / 4" in pager


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", 1),
        ("0", 1),
        ("-3", 1),
        ("", 1),
        ("1.5", 1),
        ("1e3", 1),
        ("99999", 4),
        ("9" * 40, 4),
        ("2", 2),
    ],
)
def test_any_page_value_gives_a_page(auditor_client, province, small_pages, value, shown):
    """Not a number: the first page; past the end: the last one, as the lists do."""
    table = page_of(auditor_client, year="", page=value).context["table"]
    assert table.page.number == shown
    assert len(table.rows) == 3


def test_an_empty_table_has_one_empty_page(auditor_client, db):
    response = auditor_client.get("/records/outstanding/", {"page": 5})
    assert response.status_code == 200
    table = response.context["table"]
    assert table.rows == [] and table.page.number == 1 and table.chart is None
    assert table.total.cells[0].text == "0"
    assert "Không có hồ sơ nào khớp điều kiện lọc." in response.content.decode()


# The chart --------------------------------------------------------------------------------


def test_the_chart_draws_the_top_units_and_sums_the_others(auditor_client, province, monkeypatch):
    monkeypatch.setattr(outstanding, "CHART_UNITS", 2)
    nothing = make_unit(full_name="Hội Cựu chiến binh xã Di Linh", locality=commune("Di Linh"))
    make_followup(
        responsible_unit=nothing,
        year=today().year,
        status=FollowUpStatus.RESOLVED,
        resolved_on=days(-1),
    )
    response = auditor_client.get("/records/outstanding/")
    bars = response.context["table"].chart["bars"]
    # Outstanding this year: 1, 2, …, 6 by unit, in the fixture's order.
    assert [(bar["label"], bar["outstanding"], bar["overdue"]) for bar in bars] == [
        ("Ủy ban nhân dân xã Di Linh", 6, 1),
        ("Đảng ủy xã Đạ Huoai", 5, 1),
        # The four others with anything outstanding; not the unit with nothing.
        ("4 đơn vị khác", 1 + 2 + 3 + 4, 4),
    ]
    assert [bar["others"] for bar in bars] == [False, False, True]
    # The others' bar is cut at the chart's width, not the scale of the others.
    assert bars[2]["outstanding_width"] == 420 and bars[0]["outstanding_width"] == 420
    assert bars[1]["outstanding_width"] == 350
    page = response.content.decode()
    assert "4 đơn vị khác" in page and 'class="label others"' in page


def test_the_chart_has_no_others_bar_when_every_unit_is_drawn(auditor_client, province):
    bars = auditor_client.get("/records/outstanding/").context["table"].chart["bars"]
    assert len(bars) == 6 and not any(bar["others"] for bar in bars)
    assert [bar["outstanding"] for bar in bars] == [6, 5, 4, 3, 2, 1]


# Queries ----------------------------------------------------------------------------------


def grow(start: int, stop: int, member=None) -> None:
    """Units start..stop, in four communes, each with an item this year and one last year."""
    for index in range(start, stop):
        unit = make_unit(
            full_name=f"Hội Nông dân xã Thử {index}",
            level=UnitLevel.COMMUNE,
            locality=commune(f"Thử {index % 4}"),
        )
        make_followup(responsible_unit=unit, year=today().year, due_date=days(-index - 1))
        make_followup(responsible_unit=unit, year=today().year - 1)
        if member is not None:
            make_member(member, unit)


def queries(client, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/records/outstanding/", params)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("who", ["auditor", "staff"])
@pytest.mark.parametrize(
    "params", [{}, {"year": ""}, {"year": "", "page": "2"}, {"records": "tasks", "year": ""}]
)
def test_the_queries_do_not_grow_with_units_rows_or_pages(client, who, params, monkeypatch):
    """3 units or 30, page 1, 2 or past the end: the same queries, as auditor (every unit)
    and as unit staff (of each unit)."""
    monkeypatch.setattr(outstanding, "PAGE_SIZE", 5)
    user = make_user()
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP if who == "auditor" else STAFF_GROUP))
    client.force_login(user)
    member = user if who == "staff" else None
    grow(0, 3, member)
    # The stored counts kept up to date, as the jobs' worker keeps them (the refresh's own
    # queries are counted below).
    tallies.refresh_all(today())
    few = queries(client, params)
    grow(3, 30, member)
    tallies.refresh_all(today())
    many = queries(client, params)
    assert many == few
    assert queries(client, {**params, "page": "999"}) == few
    # Sessions, the user and permissions, the unit staff's units, whether the stored counts
    # are fresh, the figures' one statement (on PostgreSQL with its SET LOCAL jit), the units
    # shown.
    assert few <= 15


def refresh_queries() -> int:
    with CaptureQueriesContext(connection) as captured:
        tallies.refresh_all(today())
    return len(captured)


def test_the_refresh_of_the_stored_counts_does_not_grow_with_the_units_changed():
    grow(0, 3)
    whole = refresh_queries()
    assert refresh_queries() == 4  # fresh: each kind's state and marks, nothing counted
    grow(3, 6)
    some = refresh_queries()
    grow(6, 40)
    assert refresh_queries() == some
    # More marked units than FULL_COUNT_UNITS: everything counted again, in as many queries.
    grow(40, 45)
    with patch.object(tallies, "FULL_COUNT_UNITS", 2):
        assert refresh_queries() <= whole
    # Per kind: its state and marks, then in a transaction the state again, the marks taken,
    # the cells removed, counted and stored, the state written (PostgreSQL: with its lock).
    assert whole <= 24


# Unit staff -------------------------------------------------------------------------------


def test_unit_staff_see_only_their_units_in_rows_subtotals_totals_and_chart(client, province):
    user = make_user()
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    make_member(user, province["da_huoai"])
    client.force_login(user)
    response = client.get("/records/outstanding/")
    assert response.status_code == 200
    table = response.context["table"]
    assert [row.unit for row in table.rows] == [province["da_huoai"]]
    # The commune's other body (the Front, 5 items) is not counted in the subtotal.
    (section,) = table.sections
    assert section.subtotal.cells[0].text == "5" == table.total.cells[0].text
    assert [bar["label"] for bar in table.chart["bars"]] == ["Đảng ủy xã Đạ Huoai"]
    page = response.content.decode()
    assert "Ủy ban MTTQ Việt Nam xã Đạ Huoai" not in page.split("</form>")[-1]


def test_unit_staff_asking_for_another_unit_get_a_400(client, province):
    user = make_user()
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    make_member(user, province["da_huoai"])
    client.force_login(user)
    response = client.get("/records/outstanding/", {"unit": province["hoa_ninh"].pk})
    assert response.status_code == 400
    assert response.context["table"].rows == []


# The plan ---------------------------------------------------------------------------------


def relations(plan) -> list[str]:
    found = []
    if isinstance(plan, dict):
        if plan.get("Relation Name"):
            found.append(plan["Relation Name"])
        for value in plan.values():
            found += relations(value)
    elif isinstance(plan, list):
        for value in plan:
            found += relations(value)
    return found


def figures_plan(client, params) -> list[str]:
    """The relations PostgreSQL's plan of the page's figures statement reads."""
    with CaptureQueriesContext(connection) as captured:
        client.get("/records/outstanding/", params)
    (statement,) = [query["sql"] for query in captured if "WITH cells" in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
        (plan,) = cursor.fetchone()
    return relations(json.loads(plan) if isinstance(plan, str) else plan)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_postgresql_reads_the_records_once_for_every_figure_of_the_page(auditor_client, province):
    """The page's rows, the groups' subtotals, the total and the chart come from one scan of
    the follow-up items of the unit, counted per unit and year; the rest sums those cells. A
    table of every record (every unit) reads the stored counts instead, once."""
    unit = province["hoa_ninh"].pk
    narrowed = figures_plan(auditor_client, {"year": "", "unit": unit})
    assert narrowed.count("coordination_followup") == 1
    assert "coordination_countedcell" not in narrowed
    every = figures_plan(auditor_client, {"year": ""})
    assert every.count("coordination_countedcell") == 1
    assert "coordination_followup" not in every


def test_the_same_figures_within_a_minute_come_from_the_cache_and_say_when(client, settings):
    """Every year of a province is a second of counting: the same page again is read from
    the cache, and says when it was counted; another filter is counted afresh."""
    settings.FIGURES_CACHE_SECONDS = 60
    from coordination.models import FollowUp
    from tests.factories import make_followup, make_superuser, make_unit

    unit = make_unit()
    make_followup(responsible_unit=unit, year=2025)
    client.force_login(make_superuser())
    first = client.get("/records/outstanding/", {"year": ""})
    assert first.status_code == 200
    assert "Số liệu được tính lúc" not in first.content.decode()
    FollowUp.objects.all().delete()
    again = client.get("/records/outstanding/", {"year": ""})
    html = again.content.decode()
    assert "Số liệu được tính lúc" in html
    assert again.context["table"].total is not None
    # Another table of the unit's own records: counted afresh. (The province's tables read
    # the stored counts, counted again at most once a minute under changes: tests/test_tallies.)
    other = client.get("/records/outstanding/", {"year": "2025", "unit": unit.pk})
    assert "Số liệu được tính lúc" not in other.content.decode()
