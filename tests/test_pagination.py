"""Deep pages (coordination.pagination): the same rows as OFFSET over the whole rows, at the
cost of the page's rows only."""

import datetime
import json
import re

import pytest
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from coordination.history import CREATED, record_history, with_last_change
from coordination.models import Agreement, FollowUp
from coordination.pagination import DeferredJoinPaginator, totally_ordered
from tests.factories import make_followup, make_superuser, make_unit

pytestmark = pytest.mark.django_db

PER_PAGE = 7
# Sort keys with many ties (year, status, unit) and with blanks (due date).
ORDERINGS = [
    (),
    ("year",),
    ("-year",),
    ("due_date",),
    ("-due_date", "year"),
    ("status",),
    ("responsible_unit__full_name",),
    ("-pk",),
]


@pytest.fixture
def followups():
    units = [make_unit(full_name=f"Đơn vị {name}") for name in "CAB"]
    for n in range(30):
        make_followup(
            responsible_unit=units[n % 3],
            year=2023 + n % 3,
            due_date=None if n % 5 == 0 else datetime.date(2025, 1, 1 + n % 4),
            status=["open", "in_progress"][n % 2],
        )
    return FollowUp.objects.select_related("responsible_unit", "agreement", "meeting")


def page_ids(page) -> list[int]:
    return [record.pk for record in page.object_list]


def listed_in_order(response, prefix: str) -> list[int]:
    """The ids of the records a page links to with `prefix`, in the page's order."""
    ids = re.findall(rf'href="{re.escape(prefix)}(\d+)/', response.content.decode())
    return list(dict.fromkeys(int(pk) for pk in ids))


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_every_page_holds_the_rows_offset_finds_in_the_same_order(followups, ordering):
    """For each order, even by keys with ties and blanks, each page lists what Django's
    Paginator lists over the same (total) order, and every row is on exactly one page."""
    queryset = followups.order_by(*ordering) if ordering else followups
    deferred = DeferredJoinPaginator(queryset, PER_PAGE)
    plain = Paginator(totally_ordered(queryset), PER_PAGE)
    assert deferred.num_pages == plain.num_pages == 5
    seen = []
    for number in deferred.page_range:
        ids = page_ids(deferred.page(number))
        assert ids == page_ids(plain.page(number))
        seen.extend(ids)
    assert sorted(seen) == sorted(FollowUp.objects.values_list("pk", flat=True))


def test_the_order_is_made_total_with_the_primary_key():
    assert totally_ordered(FollowUp.objects.order_by("year")).query.order_by == ("year", "pk")
    followups = FollowUp.objects.all()  # Meta.ordering ends with the primary key
    assert totally_ordered(followups) is followups
    agreements = totally_ordered(Agreement.objects.all())
    assert agreements.query.order_by == ("-start_year", "number", "pk")
    assert totally_ordered(FollowUp.objects.order_by("year", "-id")).query.order_by == (
        "year",
        "-id",
    )
    assert totally_ordered(FollowUp.objects.order_by()).query.order_by == ("pk",)


def test_the_rows_callable_annotates_the_page_only(followups):
    """The page's rows carry the annotation; the count and the ids are asked without it."""
    record_history(FollowUp, FollowUp.objects.values_list("pk", flat=True), history_type=CREATED)
    paginator = DeferredJoinPaginator(followups, PER_PAGE, rows=with_last_change)
    page = paginator.page(5)
    assert len(page) == 2
    assert all(record.last_changed_at is not None for record in page.object_list)
    assert "last_changed_at" not in paginator.object_list.query.annotations


def test_an_empty_list_has_one_empty_page():
    paginator = DeferredJoinPaginator(FollowUp.objects.none(), PER_PAGE)
    assert paginator.count == 0
    assert page_ids(paginator.page(1)) == []
    assert page_ids(paginator.get_page("x")) == []


def test_page_numbers_out_of_range_behave_as_djangos(followups):
    """get_page: not a number is the first page, too far is the last; page() refuses both."""
    paginator = DeferredJoinPaginator(followups, PER_PAGE)
    assert paginator.get_page("abc").number == 1
    assert paginator.get_page(999).number == 5
    with pytest.raises(Exception, match="no results"):
        paginator.page(6)


class TestRecordsList:
    @pytest.fixture
    def client_with_rows(self, client, followups):
        client.force_login(make_superuser())
        return client

    @pytest.mark.parametrize("sort", ["", "year", "-due_date", "status", "unit"])
    @pytest.mark.parametrize("number", [1, 2])
    def test_pages_list_the_rows_in_the_lists_order(
        self, client_with_rows, settings, monkeypatch, sort, number
    ):
        monkeypatch.setattr("coordination.views.PAGE_SIZE", 20)
        response = client_with_rows.get("/records/followups/", {"sort": sort, "page": number})
        assert response.status_code == 200
        filterset = response.context["filterset"]
        expected = list(totally_ordered(filterset.qs).values_list("pk", flat=True))
        expected = expected[(number - 1) * 20 : number * 20]
        assert len(expected) == (20 if number == 1 else 10)
        assert listed_in_order(response, "/records/followups/") == expected

    def test_who_changed_each_row_last_is_shown_on_a_deep_page(self, client_with_rows, monkeypatch):
        monkeypatch.setattr("coordination.views.PAGE_SIZE", 20)
        editor = make_superuser(first_name="Bình", last_name="Trần Thị")
        record_history(
            FollowUp,
            FollowUp.objects.values_list("pk", flat=True),
            history_type=CREATED,
            user=editor,
        )
        response = client_with_rows.get("/records/followups/", {"page": 2})
        assert response.content.decode().count("Trần Thị Bình") == 10

    @pytest.mark.parametrize(("asked", "shown"), [("abc", 1), ("0", 2), ("999", 2)])
    def test_a_bad_page_number_shows_the_first_or_last_page(
        self, client_with_rows, monkeypatch, asked, shown
    ):
        monkeypatch.setattr("coordination.views.PAGE_SIZE", 20)
        response = client_with_rows.get("/records/followups/", {"page": asked})
        assert response.status_code == 200
        assert response.context["page"].number == shown

    def test_an_empty_result_has_no_rows(self, client_with_rows):
        response = client_with_rows.get("/records/followups/", {"year": 1999})
        assert response.status_code == 200
        assert listed_in_order(response, "/records/followups/") == []

    def test_the_last_page_costs_the_queries_of_the_first(self, client_with_rows, monkeypatch):
        monkeypatch.setattr("coordination.views.PAGE_SIZE", 5)
        counts = []
        for number in (1, 3, 6):
            with CaptureQueriesContext(connection) as queries:
                response = client_with_rows.get("/records/followups/", {"page": number})
            assert len(listed_in_order(response, "/records/followups/")) == 5
            counts.append(len(queries))
        assert counts[0] == counts[1] == counts[2]


class TestAdminChangelist:
    URL = "/admin/coordination/followup/"

    @pytest.fixture
    def admin_client(self, client, followups, monkeypatch):
        from coordination.admin.followups import FollowUpAdmin

        monkeypatch.setattr(FollowUpAdmin, "list_per_page", 8)
        client.force_login(make_superuser())
        return client

    # o=3 is the year column, o=5 the due date: keys with ties.
    @pytest.mark.parametrize("order", ["", "3", "-5", "5.3"])
    @pytest.mark.parametrize("number", [1, 2, 4])
    def test_pages_list_the_rows_djangos_paginator_lists(self, admin_client, order, number):
        params = {"p": number, **({"o": order} if order else {})}
        response = admin_client.get(self.URL, params)
        assert response.status_code == 200
        changelist = response.context["cl"]
        expected = page_ids(Paginator(changelist.queryset, 8).page(number))
        assert len(expected) == (6 if number == 4 else 8)
        assert [record.pk for record in changelist.result_list] == expected
        assert listed_in_order(response, self.URL) == expected

    def test_a_page_past_the_end_is_refused_as_before(self, admin_client):
        response = admin_client.get(self.URL, {"p": 99})
        assert response.status_code == 302
        assert response.url.endswith("?e=1")

    def test_the_last_page_costs_the_queries_of_the_first(self, admin_client):
        counts = []
        for number in (1, 2, 4):
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(self.URL, {"p": number}).status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1] == counts[2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_postgresql_evaluates_the_history_subqueries_for_the_pages_rows_only():
    """EXPLAIN ANALYZE of the last page of 3,000 rows: each "last changed" SubPlan runs
    once per row shown, not once per row skipped."""
    unit = make_unit()
    FollowUp.objects.bulk_create(
        FollowUp(responsible_unit=unit, year=2024, kind="limitation", content=f"Mục {n}")
        for n in range(3000)
    )
    record_history(FollowUp, FollowUp.objects.values_list("pk", flat=True), history_type=CREATED)
    paginator = DeferredJoinPaginator(FollowUp.objects.all(), 50, rows=with_last_change)
    page = paginator.page(paginator.num_pages)
    assert paginator.num_pages == 60
    sql, params = page.object_list.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    subplans = list(nodes_named(plan[0]["Plan"], "SubPlan"))
    assert len(subplans) >= 3, plan
    assert all(node["Actual Loops"] <= 50 for node in subplans), plan
    # Each row's last change is one probe of the (id, history_date, history_id) index
    # (migration 0028), never a walk of the history by date.
    history = [
        node
        for node in all_nodes(plan[0]["Plan"])
        if node.get("Relation Name") == "coordination_historicalfollowup"
    ]
    assert history and all(
        node.get("Index Name") == "historicalfollowup_last_change" for node in history
    ), plan
    assert len(list(page.object_list)) == 50


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_postgresql_reads_a_searched_pages_rows_by_their_ids():
    """A page of a search: the rows are read by the page's ids (the primary key's index),
    not again through the search's trigram index over the table, which the planner chose
    for `id IN (SELECT … LIMIT 50)` and which took 4 s under load. The search's and the
    year's filters run once, in the query choosing the ids."""
    unit = make_unit()
    FollowUp.objects.bulk_create(
        FollowUp(responsible_unit=unit, year=2024, kind="limitation", content=f"Mục {n} số 123")
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    searched = FollowUp.objects.filter(search_text__contains="123", year=2024)
    paginator = DeferredJoinPaginator(searched, 50, rows=with_last_change)
    page = paginator.page(3)
    sql, params = page.object_list.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    reads = [
        node for node in all_nodes(plan) if node.get("Relation Name") == "coordination_followup"
    ]
    outer = [node for node in reads if node.get("Alias") == "coordination_followup"]
    assert outer and all(
        node.get("Index Name") == "coordination_followup_pkey" for node in outer
    ), plan
    assert all(node["Actual Rows"] <= 50 for node in outer), plan
    assert page_ids(page) == list(
        searched.order_by(*FollowUp._meta.ordering, "pk").values_list("pk", flat=True)[100:150]
    )


def nodes_named(node: dict, prefix: str):
    """The nodes of a JSON plan whose Subplan Name starts with `prefix`."""
    if node.get("Subplan Name", "").startswith(prefix):
        yield node
    for child in node.get("Plans", ()):
        yield from nodes_named(child, prefix)


def all_nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from all_nodes(child)


def test_a_page_nearer_the_end_is_read_from_the_end(followups):
    """The last page's ids are the first rows of the reverse order: no OFFSET over the
    rows before it, whatever the depth."""
    paginator = DeferredJoinPaginator(followups, PER_PAGE)
    with CaptureQueriesContext(connection) as queries:
        ids = page_ids(paginator.page(paginator.num_pages))
    assert ids == page_ids(Paginator(totally_ordered(followups), PER_PAGE).page(5))
    page_query = queries.captured_queries[-1]["sql"]
    assert "OFFSET" not in page_query.upper(), page_query
    assert " DESC" in page_query.upper() or " ASC" in page_query.upper()


class TestDepthBound:
    """In an order the user chose, pages are served `max_depth` rows deep from either end."""

    def test_pages_within_the_depth_from_either_end_are_served(self, followups):
        paginator = DeferredJoinPaginator(followups.order_by("status"), 3, max_depth=6)
        assert paginator.num_pages == 10
        plain = Paginator(totally_ordered(followups.order_by("status")), 3)
        for number in (1, 2, 9, 10):
            assert page_ids(paginator.page(number)) == page_ids(plain.page(number))
        assert paginator.clamped is None

    @pytest.mark.parametrize(("asked", "shown"), [(3, 2), (5, 2), (6, 9), (8, 9)])
    def test_a_page_between_is_the_nearest_served(self, followups, asked, shown):
        paginator = DeferredJoinPaginator(followups.order_by("status"), 3, max_depth=6)
        page = paginator.page(asked)
        assert page.number == shown
        assert paginator.clamped == (asked, shown)
        plain = Paginator(totally_ordered(followups.order_by("status")), 3)
        assert page_ids(page) == page_ids(plain.page(shown))

    def test_the_default_order_is_not_bounded(self, client, followups, monkeypatch):
        monkeypatch.setattr("coordination.views.PAGE_SIZE", 2)
        monkeypatch.setattr("coordination.views.SORTED_DEPTH", 4)
        client.force_login(make_superuser())
        response = client.get("/records/followups/", {"page": 8})
        assert response.context["page"].number == 8
        assert response.context["clamped"] is None

    def test_a_sorted_list_says_why_a_deep_page_is_not_served(self, client, followups, monkeypatch):
        monkeypatch.setattr("coordination.views.PAGE_SIZE", 2)
        monkeypatch.setattr("coordination.views.SORTED_DEPTH", 4)
        client.force_login(make_superuser())
        response = client.get("/records/followups/", {"sort": "unit", "page": 6})
        assert response.status_code == 200
        assert response.context["page"].number == 2
        html = response.content.decode()
        assert "trang 6 nằm ở giữa" in html
        assert len(listed_in_order(response, "/records/followups/")) == 2

    def test_the_admin_says_why_a_deep_sorted_page_is_not_served(
        self, client, followups, monkeypatch
    ):
        from coordination.admin.followups import FollowUpAdmin

        monkeypatch.setattr(FollowUpAdmin, "list_per_page", 2)
        monkeypatch.setattr("coordination.admin.base.SORTED_DEPTH", 4)
        monkeypatch.setattr("coordination.admin.filters.SORTED_DEPTH", 4)
        client.force_login(make_superuser())
        response = client.get(TestAdminChangelist.URL, {"o": "3", "p": 6})
        assert response.status_code == 200
        changelist = response.context["cl"]
        assert changelist.page_num == 2
        assert "trang 6 nằm ở giữa" in response.content.decode()
        expected = page_ids(Paginator(changelist.queryset, 2).page(2))
        assert [record.pk for record in changelist.result_list] == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_postgresql_sorts_a_list_by_unit_through_the_units_name_index(client):
    """/records/ sorted by unit: the units are walked in Vietnamese order (migration 0021)
    and each unit's items found by its foreign key; the items are not all sorted."""
    units = [make_unit(full_name=f"Đơn vị {n:03d}") for n in range(200)]
    FollowUp.objects.bulk_create(
        FollowUp(responsible_unit=units[n % 200], year=2024, kind="limitation", content=f"Mục {n}")
        for n in range(20000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coordination_unit")
        cursor.execute("ANALYZE coordination_followup")
    from coordination.selectors import record_filterset

    filterset = record_filterset("followups", {"sort": "unit"}, request=None)
    assert filterset.is_valid()
    ids = totally_ordered(filterset.qs).values("pk")[:50]
    sql, params = ids.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    nodes = list(all_nodes(plan[0]["Plan"]))
    assert any(node.get("Index Name") == "coordination_unit_name_order" for node in nodes), plan
    scanned = [node for node in nodes if node.get("Relation Name") == "coordination_followup"]
    assert all(node["Actual Rows"] * node.get("Actual Loops", 1) < 5000 for node in scanned), plan


class TestCachedCount:
    """A long list is counted once a minute, and says when; a short one every time."""

    @pytest.fixture
    def long_lists(self, monkeypatch, settings, followups):
        settings.FIGURES_CACHE_SECONDS = 60
        monkeypatch.setattr("coordination.pagination.CACHED_COUNT_FROM", 20)
        return followups

    def test_a_long_lists_count_is_kept_and_dated(self, client, long_lists):
        client.force_login(make_superuser())
        with CaptureQueriesContext(connection) as first:
            response = client.get("/records/followups/")
        assert response.context["count"] == 30
        assert response.context["counted_at"] is None
        with CaptureQueriesContext(connection) as second:
            again = client.get("/records/followups/", {"page": 2})
        assert again.context["count"] == 30
        assert again.context["counted_at"] is not None
        assert "(đếm lúc" in again.content.decode()
        counts = [q["sql"] for q in second.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts == [], counts
        assert len(second.captured_queries) == len(first.captured_queries) - 1

    def test_a_short_list_is_counted_every_time(self, client, long_lists):
        client.force_login(make_superuser())
        client.get("/records/followups/", {"year": 2023})
        response = client.get("/records/followups/", {"year": 2023})
        assert response.context["count"] == 10
        assert response.context["counted_at"] is None

    def test_other_filters_and_scopes_have_their_own_count(self, client, long_lists):
        from django.contrib.auth.models import Group

        from tests.factories import make_member, make_user

        client.force_login(make_superuser())
        client.get("/records/followups/")
        staff = make_user()
        staff.groups.add(Group.objects.get(name="Cán bộ đơn vị"))
        make_member(staff, FollowUp.objects.first().responsible_unit)
        client.force_login(staff)
        response = client.get("/records/followups/")
        assert response.context["count"] == 10
        assert response.context["counted_at"] is None

    def test_the_admin_says_when_a_long_list_was_counted(self, client, long_lists):
        client.force_login(make_superuser())
        client.get(TestAdminChangelist.URL)
        response = client.get(TestAdminChangelist.URL)
        assert response.context["cl"].result_count == 30
        assert "(đếm lúc" in response.content.decode()
