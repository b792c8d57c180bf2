"""PostgreSQL: where an import's new rows go in a table filled and vacuumed before
(migration 0032). Not scattered one to a page over the pages VACUUM found a remnant of
free space on, but together on new pages at the table's end."""

import pytest
from django.db import connection

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
        assert dict(cursor.fetchall()) == {table: ["fillfactor=90"] for table in tables}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_import_into_a_vacuumed_table_appends_its_rows_together():
    unit = make_unit()
    # Another program's bulk load: long rows filling every page to its last row's worth.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE coordination_followup SET (fillfactor = 100)")
    try:
        FollowUp.objects.bulk_create(
            FollowUp(
                responsible_unit=unit,
                year=2024,
                kind="petition",
                content=f"Cử tri phản ánh tình trạng sạt lở bờ sông tại khu vực {n} " * 9,
                first_raised_year=2024,
            )
            for n in range(3000)
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE coordination_followup SET (fillfactor = 90)")
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
    # 300 short rows: a few new pages after the last one loaded, not a page each among them.
    assert min(imported) > max(loaded)
    assert len(set(imported)) <= 10
