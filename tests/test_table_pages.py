"""PostgreSQL: where an import's new rows go in a table filled and vacuumed before
(migration 0032). Not scattered one to a page over the pages VACUUM found a remnant of
free space on, but together on new pages at the table's end."""

import pytest
from django.db import connection, transaction

from coordination.choices import FollowUpKind
from coordination.importing import import_records
from coordination.models import FollowUp, Task
from tests.factories import csv_bytes, make_unit

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fill factor is PostgreSQL's"
)


def pages(where: str = "") -> list[int]:
    """The heap page of each follow-up item (of those `where` selects)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT (ctid::text::point)[0]::bigint FROM coordination_followup " + where)
        return [row[0] for row in cursor.fetchall()]


@postgres_only
@pytest.mark.django_db
def test_the_tables_an_import_writes_keep_room_on_their_pages():
    tables = [FollowUp._meta.db_table, Task._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)", [tables])
        assert dict(cursor.fetchall()) == {table: ["fillfactor=75"] for table in tables}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_import_into_a_vacuumed_table_appends_its_rows_together():
    unit = make_unit()
    # Another program's bulk load: rows of 1,500 characters filling every page to its last
    # row's worth (remnants of up to some 2,000 bytes; 90 % let short rows into them), into
    # a new file (the earlier tests' rolled-back rows left free space to reuse).
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE coordination_followup CASCADE")
        cursor.execute("ALTER TABLE coordination_followup SET (fillfactor = 100)")
    try:
        FollowUp.objects.bulk_create(
            FollowUp(
                responsible_unit=unit,
                year=2024,
                kind="petition",
                content=f"Cử tri phản ánh tình trạng sạt lở bờ sông tại khu vực {n} " * 25,
                first_raised_year=2024,
            )
            for n in range(3000)
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE coordination_followup SET (fillfactor = 75)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM coordination_followup")
    loaded = pages()
    header = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"]
    rows = [["Kiến nghị cử tri", 2025, f"Đường số {n}", unit.full_name] for n in range(300)]
    report = import_records(
        kind="followups", data=csv_bytes([header, *rows]), file_name="a.csv", dry_run=False
    )
    assert report.count_new == 300, [problem.message for problem in report.problems[:3]]
    imported = pages("WHERE year = 2025")
    # 300 short rows: the last page loaded and a few new ones, not a page each among them.
    assert min(imported) >= max(loaded)
    assert len(set(imported)) <= 10


@pytest.mark.django_db
def test_one_index_serves_the_import_keys_and_the_lists_by_year_unit_and_status(world):
    """Migration 0033: the follow-up items have one index beginning with the year and the
    unit, where an import's lookups by natural key search; the lists by year, unit and status
    search an index too (this one or the unit's, as the planner prefers)."""
    from coordination.importing.keys import filter_by_keys, key_expression
    from coordination.kinds import get

    units = [world.front, *(make_unit() for _ in range(19))]
    kinds = [value for value, _label in FollowUpKind.choices]
    FollowUp.objects.bulk_create(
        FollowUp(
            responsible_unit=units[n % 20],
            year=2021 + n % 5,
            kind=kinds[n % len(kinds)],
            content=f"Kiến nghị về đường liên xã số {n}",
            first_raised_year=2021 + n % 5,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    resource_class = get("followups").resource
    names = resource_class._meta.import_id_fields
    parts = [
        key_expression(FollowUp._meta.get_field(n), resource_class.fields[n].widget) for n in names
    ]
    values = {"year": 2025, "responsible_unit": world.front.pk, "kind": "petition"}
    values["content"] = "Đường số 1"
    key = tuple(convert(values[n]) for (_sql, convert), n in zip(parts, names, strict=True))
    (lookup,) = filter_by_keys(FollowUp.objects.all(), [sql for sql, _convert in parts], [key])
    listed = FollowUp.objects.filter(year=2025, responsible_unit=world.front, status="open")
    plans = []
    for queryset in (lookup, listed):
        sql, params = queryset.query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(f"EXPLAIN {sql}", params)
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    assert "coordination_fu_year_unit_key" in plans[0], plans[0]
    assert "coordination_fu_" in plans[1], plans[1]
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, FollowUp._meta.db_table)
    assert "coordination_fu_year_unit_key" in indexes
    assert not {"coordination_fu_year_unit", "coordination_fu_natural_key"} & set(indexes)
