"""The unit scope's queries (`coordination.scoping.involving_units`): the same records as a
join of the paths, each once; counted path by path; and, on PostgreSQL, conditions that each
path's index answers, so that a unit's lists do not cost a scan of the province (issue 16)."""

import datetime
import json

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination import kinds, scoping
from coordination.choices import FollowUpStatus
from coordination.db_functions import AmongIds, AmongReadIds
from coordination.models import FollowUp, Meeting, Signatory, Task
from coordination.pagination import DeferredJoinPaginator
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_member,
    make_signatory,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    shared_ids_reads,
)

pytestmark = pytest.mark.django_db

UNIT_STAFF = "Cán bộ đơn vị"
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the plan is PostgreSQL's"
)


def joined(model, unit_ids, paths) -> list[int]:
    """The records involving `unit_ids` as a join of the paths finds them, each once."""
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{path}__in": unit_ids})
    return sorted(set(model._base_manager.filter(condition).values_list("pk", flat=True)))


def pks(queryset) -> list[int]:
    """The primary keys `queryset` lists, repeats kept."""
    return sorted(record.pk for record in queryset)


@pytest.fixture
def units():
    return [make_unit(full_name=f"Đơn vị {letter}") for letter in "ABCD"]


@pytest.fixture
def followups(units):
    """Items involving A by every path and combination of paths, and items without A."""
    a, b, c, d = units
    shapes = [
        (a, []),  # A responsible
        (a, [b, c]),  # A responsible, two co-responsible units: two links
        (b, [a]),  # A co-responsible
        (b, [a, c]),  # A and C co-responsible
        (c, []),  # C alone
        (b, [c, d]),  # no A
        (d, []),
    ]
    items = []
    for year, (lead, others) in enumerate(shapes * 2, start=2016):
        item = make_followup(
            responsible_unit=lead,
            year=2020 + year % 5,
            status=[FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS][year % 2],
        )
        item.co_responsible_units.set(others)
        items.append(item)
    return items


@pytest.fixture
def tasks(units):
    a, b, c, d = units
    shapes = [(a, []), (a, [b, c]), (b, [a]), (b, [a, c]), (c, [d]), (d, [])]
    return [
        make_task(lead_unit=lead, coordinating_units=others, year=2020 + n % 3)
        for n, (lead, others) in enumerate(shapes * 2)
    ]


class TestSameRecordsOnce:
    @pytest.mark.parametrize("members", [[0], [2], [0, 2], [3], [0, 1, 2, 3]])
    @pytest.mark.parametrize(
        "paths",
        [
            ("responsible_unit", "co_responsible_units"),
            ("responsible_unit",),
            ("co_responsible_units",),
        ],
    )
    def test_followups_by_each_path_and_both(self, units, followups, members, paths):
        ids = {units[n].pk for n in members}
        found = pks(scoping.involving_units(FollowUp.objects.all(), ids, paths))
        assert found == joined(FollowUp, ids, paths)
        assert len(found) == len(set(found)) > 0

    @pytest.mark.parametrize("members", [[0], [1], [0, 3]])
    def test_tasks_by_lead_or_coordinating_unit(self, units, tasks, members):
        ids = {units[n].pk for n in members}
        paths = kinds.get("tasks").involving
        found = pks(scoping.involving_units(Task.objects.all(), ids, paths))
        assert found == joined(Task, ids, paths)
        assert len(found) == len(set(found))

    def test_every_kinds_paths(self, world):
        """Each kind's involving paths, including a path through another record's links
        (a signatory's agreement's parties) and a kind with links only (meetings)."""
        outsider = make_unit(full_name="Đơn vị ngoài")
        make_signatory(agreement=make_agreement(parties=[outsider]), unit=outsider)
        for unit_ids in ({world.committee.pk}, {world.front.pk}, {outsider.pk}):
            for kind in kinds.all_kinds():
                model = kind.model
                found = pks(scoping.involving_units(model.objects.all(), unit_ids))
                assert found == joined(model, unit_ids, kind.involving), kind.name
        # The front is a party of the agreement the committee's chair signed.
        front_sees = scoping.involving_units(Signatory.objects.all(), {world.front.pk})
        assert world.signatory in front_sees
        assert set(scoping.involving_units(Meeting.objects.all(), {world.front.pk})) == {
            world.meeting
        }

    def test_no_units_no_records_and_no_query(self, followups, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert list(scoping.involving_units(FollowUp.objects.all(), set())) == []

    def test_a_record_checked_alone(self, units, followups):
        """may_view and may_change read the same rules for one record."""
        staff = make_user()
        make_member(staff, units[0])
        for item in followups:
            involved = item.responsible_unit == units[0] or units[0] in set(
                item.co_responsible_units.all()
            )
            assert scoping.may_view(staff, item) == involved
            assert scoping.may_change(staff, item) == (item.responsible_unit == units[0])


class TestCountedPathByPath:
    @pytest.mark.parametrize(
        "filters",
        [
            {},
            {"year": 2022},
            {"status": FollowUpStatus.OPEN},
            {"year__gte": 2021, "status": FollowUpStatus.IN_PROGRESS},
            {"year": 1999},
        ],
    )
    def test_the_count_is_the_number_of_records_listed(self, units, followups, filters):
        scoped = scoping.involving_units(FollowUp.objects.all(), {units[0].pk, units[2].pk})
        listed = scoped.filter(**filters)
        assert scoping.scoped_count(listed) == len(list(listed)) == listed.count()

    def test_the_scope_is_counted_by_its_parts(self, units, followups):
        """|A| + |B| − |A ∩ B|: three counts, none with the OR of both paths."""
        scoped = scoping.involving_units(FollowUp.objects.all(), {units[0].pk})
        with CaptureQueriesContext(connection) as queries:
            count = scoping.scoped_count(scoped.filter(year__gte=2020))
        assert count == len(joined(FollowUp, {units[0].pk}, kinds.get("followups").involving))
        assert len(queries) == 3 + shared_ids_reads(queries.captured_queries)
        assert shared_ids_reads(queries.captured_queries) <= 1
        assert not any(" OR " in query["sql"] for query in queries.captured_queries)

    def test_other_queries_are_counted_as_django_counts_them(self, units, followups):
        scoped = scoping.involving_units(FollowUp.objects.all(), {units[0].pk})
        for queryset in (
            scoped.order_by().values("year").distinct(),
            scoped[:3],
            scoped | FollowUp.objects.filter(responsible_unit=units[3]),
            scoping.involving_units(FollowUp.objects.all(), {units[0].pk}, ["responsible_unit"]),
        ):
            with CaptureQueriesContext(connection) as queries:
                count = scoping.scoped_count(queryset)
            assert count == queryset.count()
            assert len(queries) - shared_ids_reads(queries.captured_queries) == 1

    def test_the_paginator_counts_and_pages_the_scope(self, units, followups):
        scoped = scoping.involving_units(FollowUp.objects.all(), {units[0].pk})
        paginator = DeferredJoinPaginator(scoped, 3)
        expected = joined(FollowUp, {units[0].pk}, kinds.get("followups").involving)
        assert paginator.count == len(expected)
        listed = [item.pk for number in paginator.page_range for item in paginator.page(number)]
        assert sorted(listed) == expected


class TestAmongIds:
    def test_a_list_of_ids(self, units, followups):
        ids = [units[0].pk, units[2].pk]
        found = FollowUp.objects.filter(AmongIds(F("responsible_unit"), ids))
        assert pks(found) == pks(FollowUp.objects.filter(responsible_unit__in=ids))
        assert list(FollowUp.objects.filter(AmongIds(F("responsible_unit"), []))) == []

    def test_a_list_is_one_parameter_on_postgresql(self, units):
        ids = list(range(1, 3001))
        sql, params = FollowUp.objects.filter(AmongIds(F("pk"), ids)).query.sql_with_params()
        if connection.vendor == "postgresql":
            assert "= ANY(" in sql and len(params) == 1
        else:
            assert len(params) == len(ids)


class TestAmongReadIds:
    """The scope's many-valued path: on PostgreSQL the links' ids are read first and sent as
    one constant array, which the planner hashes where it tests rows one by one."""

    def condition(self, unit):
        links = FollowUp.co_responsible_units.through.objects.filter(unit=unit)
        return AmongReadIds(F("pk"), links.values("followup_id"))

    def test_the_same_records_as_the_subquery(self, units, followups):
        a, _b, _c, d = units
        for unit in (a, d):
            found = FollowUp.objects.filter(self.condition(unit))
            assert pks(found) == pks(FollowUp.objects.filter(co_responsible_units=unit))
        nobody = make_unit(full_name="Đơn vị không chung việc nào")
        assert list(FollowUp.objects.filter(self.condition(nobody))) == []
        either = FollowUp.objects.filter(Q(responsible_unit=nobody) | self.condition(nobody))
        assert list(either) == []

    @postgres_only
    def test_the_ids_are_one_constant_array_read_once(self, units, followups):
        condition = self.condition(units[0])
        queryset = FollowUp.objects.filter(Q(responsible_unit=units[0]) | condition)
        with CaptureQueriesContext(connection) as queries:
            sql, params = queryset.query.sql_with_params()
            list(queryset.filter(year__gte=2016))
            queryset.count()
        assert "ARRAY(" not in sql and "= ANY(%s::bigint[])" in sql
        assert sorted(map(int, params[-1].strip("{}").split(","))) == sorted(
            FollowUp.objects.filter(co_responsible_units=units[0]).values_list("pk", flat=True)
        )
        # One read for the three statements, which share the condition.
        assert len(queries) == 3
        assert "cardinality" in queries[0]["sql"]

    @postgres_only
    def test_past_the_maximum_the_subquery_stays_in_the_statement(
        self, units, followups, monkeypatch
    ):
        monkeypatch.setattr(AmongReadIds, "READ_FIRST_MAX", 2)
        condition = self.condition(units[0])
        queryset = FollowUp.objects.filter(condition)
        assert "= ANY(ARRAY(SELECT" in queryset.query.sql_with_params()[0]
        assert pks(queryset) == pks(FollowUp.objects.filter(co_responsible_units=units[0]))


@postgres_only
def test_a_units_ordered_list_hashes_its_shared_items(units):
    """A unit's list walks the list-order index (ORDER BY … LIMIT) testing each row against
    the items the unit shares: a constant array, which PostgreSQL hashes, not an InitPlan's
    array searched element by element (a unit sharing 90,000 items made each row cost 90,000
    comparisons)."""
    a, b, _c, _d = units
    FollowUp.objects.bulk_create(
        FollowUp(responsible_unit=b, year=2024, content=f"Mục {n}", due_date=days(n % 300))
        for n in range(6000)
    )
    shared = list(FollowUp.objects.filter(year=2024).values_list("pk", flat=True)[3000:])
    FollowUp.co_responsible_units.through.objects.bulk_create(
        FollowUp.co_responsible_units.through(followup_id=pk, unit=a) for pk in shared
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    listed = (
        scoping.involving_units(FollowUp.objects.all(), {a.pk})
        .filter(year=2024)
        .order_by("-year", "due_date", "id")
        .values("pk")[:50]
    )
    sql = listed.query.sql_with_params()[0]
    assert "ARRAY(SELECT" not in sql
    plan = plan_of(listed)
    assert not any(node.get("Subplan Name", "").startswith("InitPlan") for node in nodes(plan)), (
        plan
    )
    assert len(list(listed)) == 50


class TestUnitStaffAdminLists:
    """The admin's lists as a big unit's staff member sees them: a number of queries that
    depends neither on the rows nor on the page, and the scope asked only where needed."""

    @pytest.fixture
    def staff_client(self, client, units):
        staff = make_user(username="staff_of_a")
        staff.groups.add(Group.objects.get(name=UNIT_STAFF))
        make_member(staff, units[0])
        client.force_login(staff)
        return client

    def grow(self, units, n):
        a, b = units[0], units[1]
        for number in range(n):
            item = make_followup(responsible_unit=a if number % 2 else b)
            if not number % 2:
                item.co_responsible_units.set([a])
            make_task(lead_unit=b, coordinating_units=[a] if number % 3 else [])

    @pytest.mark.parametrize("model", ["followup", "task"])
    def test_the_queries_do_not_grow_with_the_rows_or_the_page(self, staff_client, units, model):
        url = reverse(f"admin:coordination_{model}_changelist")
        self.grow(units, 6)
        with CaptureQueriesContext(connection) as few:
            assert staff_client.get(url).status_code == 200
        self.grow(units, 110)
        with CaptureQueriesContext(connection) as many:
            first = staff_client.get(url)
        last_page = first.context["cl"].paginator.num_pages
        with CaptureQueriesContext(connection) as last:
            assert staff_client.get(url, {"p": last_page}).status_code == 200
        assert last_page > 1
        assert len(few) == len(many) == len(last) <= 14
        link_table = "coordination_followup_co_responsible_units"
        if model == "task":
            link_table = "coordination_task_coordinating_units"
        scoped = [query for query in many.captured_queries if link_table in query["sql"]]
        # The sidebar's years, the count (three parts) and the page's rows.
        assert len(scoped) <= 5, [query["sql"] for query in scoped]

    def test_the_list_shows_the_units_records_each_once(self, staff_client, units, followups):
        response = staff_client.get(reverse("admin:coordination_followup_changelist"))
        shown = [item.pk for item in response.context["cl"].result_list]
        expected = joined(FollowUp, {units[0].pk}, kinds.get("followups").involving)
        assert sorted(shown) == expected
        assert response.context["cl"].result_count == len(expected)


class TestRecordsUnitFilter:
    """/records/ `unit` with each role, and with the unit's dissolved predecessors."""

    @pytest.mark.parametrize(
        ("role", "paths"),
        [
            ("", ("responsible_unit", "co_responsible_units")),
            ("any", ("responsible_unit", "co_responsible_units")),
            ("lead", ("responsible_unit",)),
            ("co_responsible", ("co_responsible_units",)),
        ],
    )
    def test_followups_by_role(self, client, units, followups, role, paths):
        client.force_login(make_superuser())
        params = {"unit": units[0].pk, "unit_role": role} if role else {"unit": units[0].pk}
        response = client.get("/records/followups/", params)
        assert response.status_code == 200
        assert response.context["count"] == len(joined(FollowUp, {units[0].pk}, paths))

    @pytest.mark.parametrize(
        ("role", "paths"),
        [
            ("lead", ("lead_unit",)),
            ("coordinating", ("coordinating_units",)),
            ("any", ("lead_unit", "coordinating_units")),
        ],
    )
    def test_tasks_by_role(self, client, units, tasks, role, paths):
        client.force_login(make_superuser())
        response = client.get("/records/tasks/", {"unit": units[0].pk, "unit_role": role})
        assert response.status_code == 200
        assert response.context["count"] == len(joined(Task, {units[0].pk}, paths))

    def test_predecessors(self, client, units, followups):
        """A unit dissolved into A: its records are A's with `predecessors=yes`."""
        old = make_unit(
            full_name="Đơn vị cũ",
            successor=units[0],
            is_active=False,
            dissolved_on=datetime.date(2025, 7, 1),
        )
        make_followup(responsible_unit=old)
        make_followup(responsible_unit=units[3]).co_responsible_units.set([old])
        client.force_login(make_superuser())
        paths = ("responsible_unit", "co_responsible_units")
        alone = client.get("/records/followups/", {"unit": units[0].pk})
        both = client.get("/records/followups/", {"unit": units[0].pk, "predecessors": "yes"})
        assert alone.context["count"] == len(joined(FollowUp, {units[0].pk}, paths))
        assert both.context["count"] == len(joined(FollowUp, {units[0].pk, old.pk}, paths))
        assert both.context["count"] == alone.context["count"] + 2


# ---------------------------------------------------------------------------------------------
# Plans (PostgreSQL)
# ---------------------------------------------------------------------------------------------


def plan_of(queryset, *settings) -> dict:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting}")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return plan[0]["Plan"]


def nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from nodes(child)


def assert_served_by_indexes(plan: dict, table: str) -> None:
    """No node reads `table` but through an index condition, and no subquery runs per row."""
    for node in nodes(plan):
        if node.get("Relation Name") == table:
            assert node["Node Type"] != "Seq Scan", plan
            assert "Index Cond" in node or "Recheck Cond" in node, plan
        assert not node.get("Subplan Name", "").startswith("SubPlan"), plan
        if node.get("Subplan Name", "").startswith("InitPlan"):
            assert node["Actual Loops"] == 1, plan


@pytest.fixture
def province_like(units):
    """Many records of other units, a few of A's by each path; statistics up to date."""
    a, b, c, d = units
    agreement = make_agreement()
    FollowUp.objects.bulk_create(
        FollowUp(responsible_unit=[b, c, d][n % 3], year=2016 + n % 11, content=f"Mục {n}")
        for n in range(3000)
    )
    Task.objects.bulk_create(
        Task(
            lead_unit=[b, c, d][n % 3], year=2016 + n % 11, content=f"Việc {n}", agreement=agreement
        )
        for n in range(3000)
    )
    for n in range(20):
        make_followup(responsible_unit=a if n % 2 else b).co_responsible_units.set(
            [] if n % 2 else [a]
        )
        make_task(lead_unit=a if n % 2 else c, agreement=agreement, coordinating_units=[a])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return units


@postgres_only
@pytest.mark.parametrize(
    ("model", "table"),
    [(FollowUp, "coordination_followup"), (Task, "coordination_task")],
)
def test_the_scope_reads_each_paths_index(province_like, model, table):
    """The scope's rows come from the unit column's index and the link table's (a BitmapOr),
    with the link table read once (an InitPlan): no scan of the records, no subquery per row.
    The former `id IN (SELECT … LEFT JOIN links … OR …)` read every record."""
    scoped = scoping.involving_units(model.objects.all(), {province_like[0].pk})
    plan = plan_of(scoped.order_by().values("pk"), "enable_seqscan = off")
    assert_served_by_indexes(plan, table)
    assert any(node["Node Type"] == "BitmapOr" for node in nodes(plan)), plan


@postgres_only
def test_the_scope_and_the_lists_filters_use_the_year_index(province_like):
    """A year and status ANDed with the scope: an index on the year serves the list's
    filters with the unit column's path — (year, unit, status), the natural key's, or (year,
    status, due date) with the unit checked on its few rows, as the statistics favour — and
    the links' unit index the other path; no table is read whole."""
    scoped = scoping.involving_units(FollowUp.objects.all(), {province_like[0].pk})
    listed = scoped.filter(year=2024, status__in=[FollowUpStatus.OPEN]).order_by().values("pk")
    plan = plan_of(listed, "enable_seqscan = off")
    assert_served_by_indexes(plan, "coordination_followup")
    conditions = [node.get("Index Cond", "") for node in nodes(plan)]
    assert any("year = 2024" in condition for condition in conditions), plan


@postgres_only
def test_the_scopes_count_reads_no_record_for_the_unit_column(province_like):
    """The count's first part names the unit column alone: an index-only scan can count it,
    reading none of a big unit's rows from the table."""
    scoped = scoping.involving_units(FollowUp.objects.all(), {province_like[0].pk})
    with CaptureQueriesContext(connection) as queries:
        scoping.scoped_count(scoped)
    first = queries.captured_queries[0]["sql"]
    assert "co_responsible" not in first
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {first}")
        plan = cursor.fetchone()[0]
    plan = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    assert any(node["Node Type"] == "Index Only Scan" for node in nodes(plan)), plan


# A unit filter within the user's scope ----------------------------------------------------


def test_a_filter_on_one_of_the_users_units_replaces_the_users_scope(followups, units):
    """Unit staff's list (or report) of their own unit's items as the unit responsible: the
    scope of their units by every path is implied, and left out of the SQL (no link table
    read), with the same records."""
    a, b, _c, _d = units
    base = FollowUp.objects.all()
    scoped = scoping.involving_units(base, {a.pk, b.pk})
    own = scoping.involving_units(scoped, {a.pk}, ["responsible_unit"])
    assert "co_responsible" not in str(own.query)
    assert set(own.values_list("pk", flat=True)) == set(
        base.filter(responsible_unit=a).values_list("pk", flat=True)
    )


def test_a_filter_beyond_the_users_scope_keeps_it(followups, units):
    """Another unit, or more paths than the scope's: the scope stays, nothing else shows."""
    a, b, c, _d = units
    base = FollowUp.objects.all()
    scoped = scoping.involving_units(base, {a.pk}, ["responsible_unit"])
    wider = scoping.involving_units(scoped, {a.pk})  # every path: not implied
    other = scoping.involving_units(scoped, {c.pk}, ["responsible_unit"])
    assert set(wider.values_list("pk", flat=True)) == set(
        base.filter(responsible_unit=a).values_list("pk", flat=True)
    )
    assert not other.exists()
    assert set(
        scoping.involving_units(scoping.involving_units(base, {a.pk}), {b.pk}).values_list(
            "pk", flat=True
        )
    ) == set(
        base.filter(Q(responsible_unit=a) | Q(co_responsible_units=a))
        .filter(Q(responsible_unit=b) | Q(co_responsible_units=b))
        .values_list("pk", flat=True)
    )
