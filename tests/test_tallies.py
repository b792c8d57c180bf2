"""The outstanding table's stored counts (`reports/tallies.py`): marked by the database's
triggers on every write path, counted again before they are read, and always equal to the
counts of the records themselves — on both databases."""

import datetime
import random
from unittest.mock import patch

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from coordination import registry
from coordination.choices import FollowUpStatus, TaskStatus
from coordination.models import CountedCell, CountMark, CountState, FollowUp, Task
from coordination.reports import outstanding, tallies
from tests.factories import make_followup, make_superuser, make_task, make_unit

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def exact(settings):
    """Every change counted before the counts are read (no minute's grace, as on a page)."""
    settings.FIGURES_CACHE_SECONDS = 0


def counted(name: str, day: datetime.date) -> dict:
    """What the records themselves count, per (unit, year): the table's own query."""
    kind = registry.get(name)
    names = tallies.value_names(kind, day)
    unit_id = f"{kind.report_unit}_id"
    rows = kind.records().order_by().values(unit_id, "year").annotate(**names)
    return {(row[unit_id], row["year"]): [row[key] for key in names] for row in rows}


def stored(name: str, day: datetime.date) -> dict:
    kind = registry.get(name)
    width = len(tallies.value_names(kind, day))
    return {
        (cell.unit_id, cell.year): [getattr(cell, f"n{index}") for index in range(width)]
        for cell in CountedCell.objects.filter(kind=name)
    }


def check(day: datetime.date = TODAY) -> None:
    tallies.refresh_all(day)
    for name in tallies.KINDS:
        assert stored(name, day) == counted(name, day), name
    assert not CountMark.objects.exists()


@pytest.fixture
def units():
    return [make_unit(full_name=f"Hội Phụ nữ xã Thử {index}") for index in range(4)]


def scatter(units, count=40, seed=7):
    """Items and tasks of every status, due long ago, lately, soon or never, done on time or
    late."""
    rng = random.Random(seed)
    long_ago = TODAY - datetime.timedelta(days=400)

    def some_day():
        return TODAY - datetime.timedelta(days=rng.randint(-60, 200))

    for _ in range(count):
        status = rng.choice(FollowUpStatus.values)
        due = rng.choice([None, some_day()])
        make_followup(
            responsible_unit=rng.choice(units),
            year=rng.choice([2025, 2026]),
            status=status,
            raised_on=long_ago,
            due_date=due,
            resolved_on=some_day() if status in ("resolved", "closed") else None,
        )
        status = rng.choice(TaskStatus.values)
        make_task(
            lead_unit=rng.choice(units),
            year=rng.choice([2025, 2026]),
            status=status,
            start_date=long_ago,
            due_date=some_day(),
            completed_on=some_day() if status == TaskStatus.DONE else None,
        )


def test_the_stored_counts_follow_every_kind_of_write(units):
    scatter(units)
    check()
    # One record saved through the ORM.
    item = FollowUp.objects.filter(status=FollowUpStatus.OPEN).first()
    item.status = FollowUpStatus.RESOLVED
    item.resolved_on = TODAY
    item.save()
    check()
    # A bulk update, as the admin's actions and the services write.
    FollowUp.objects.filter(responsible_unit=units[0]).update(due_date=TODAY)
    Task.objects.filter(lead_unit=units[1]).update(status=TaskStatus.DONE, completed_on=TODAY)
    check()
    # Records moved to another unit, as a merger moves them: both units counted again.
    FollowUp.objects.filter(responsible_unit=units[2]).update(responsible_unit=units[3])
    Task.objects.filter(lead_unit=units[2]).update(lead_unit=units[3])
    check()
    assert not CountedCell.objects.filter(unit_id=units[2].pk).exists()
    # Deleted records, and SQL typed by hand.
    FollowUp.objects.filter(Q(year=2025) & Q(status=FollowUpStatus.CLOSED)).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FollowUp._meta.db_table} SET due_date = %s WHERE responsible_unit_id = %s",
            [TODAY - datetime.timedelta(days=100), units[1].pk],
        )
    assert CountMark.objects.filter(kind="followups", unit_id=units[1].pk).exists()
    check()
    # A new record of a unit counted before.
    make_followup(responsible_unit=units[0], year=2026, status=FollowUpStatus.OPEN)
    check()


def test_a_new_day_counts_everything_again(units):
    scatter(units)
    check()
    later = TODAY + datetime.timedelta(days=45)
    # The overdue and ageing counts are not those of 45 days before.
    assert counted("followups", later) != counted("followups", TODAY)
    check(later)
    assert CountState.objects.get(kind="followups").counted_for == later


def test_marks_do_not_pile_up_on_sqlite_and_one_mark_per_unit_and_statement_on_postgresql(units):
    tallies.refresh_all(TODAY)
    for _ in range(5):
        make_followup(responsible_unit=units[0], year=2026)
    marks = CountMark.objects.filter(kind="followups", unit_id=units[0].pk).count()
    # SQLite marks a unit once; PostgreSQL once per statement (five inserts here).
    assert marks == (5 if connection.vendor == "postgresql" else 1)
    FollowUp.objects.filter(responsible_unit=units[0]).update(status=FollowUpStatus.CLOSED)
    assert CountMark.objects.filter(kind="followups", unit_id=units[0].pk).count() == marks + (
        1 if connection.vendor == "postgresql" else 0
    )


def test_a_changed_list_of_counts_counts_everything_again(units):
    scatter(units, count=10)
    check()
    CountState.objects.filter(kind="followups").update(layout="total")
    CountedCell.objects.filter(kind="followups").update(n0=999)
    check()


def test_the_table_of_every_year_from_the_stored_counts_equals_the_counted_table(
    client, units, monkeypatch
):
    scatter(units, count=60)
    client.force_login(make_superuser())
    tallies.refresh_all()
    for params in ({"year": ""}, {"year": "2026"}, {"records": "tasks", "year": ""}):
        with CaptureQueriesContext(connection) as captured:
            from_cells = client.get("/records/outstanding/", params).context["table"]
        (statement,) = [query["sql"] for query in captured if "WITH cells" in query["sql"]]
        assert "coordination_countedcell" in statement
        monkeypatch.setattr(outstanding, "stored_cells", lambda *args, **kwargs: None)
        from_records = client.get("/records/outstanding/", params).context["table"]
        monkeypatch.undo()
        assert [row.cells for row in from_cells.rows] == [row.cells for row in from_records.rows]
        assert from_cells.total.cells == from_records.total.cells
        assert from_cells.chart == from_records.chart
        assert [(section.locality, section.subtotal.cells) for section in from_cells.sections] == [
            (section.locality, section.subtotal.cells) for section in from_records.sections
        ]


def test_a_narrowed_table_counts_its_records(units):
    """A unit chosen, or a user's own units: not every record, so never the stored counts."""
    kind = registry.get("followups")
    names = tallies.value_names(kind, TODAY)
    tallies.refresh_all(TODAY)
    narrowed = kind.records().filter(responsible_unit=units[0])
    assert tallies.stored_cells(kind, narrowed, year=None, names=names, today=TODAY) is None
    every = kind.records()
    assert tallies.stored_cells(kind, every, year=None, names=names, today=TODAY) is not None
    # A year's records, but asked for every year: not the same records.
    of_2026 = kind.records().filter(year=2026)
    assert tallies.stored_cells(kind, of_2026, year=None, names=names, today=TODAY) is None
    assert tallies.stored_cells(kind, of_2026, year=2026, names=names, today=TODAY) is not None


def test_a_table_of_one_year_counts_its_records_rather_than_wait_for_every_year(units):
    """On a new day, or after an import marked more units than FULL_COUNT_UNITS, the table of
    one year counts that year's records (a quarter of a second for a province) and leaves the
    whole count to the worker, or to the table of every year."""
    kind = registry.get("followups")
    names = tallies.value_names(kind, TODAY)
    of_2026 = kind.records().filter(year=2026)
    scatter(units, count=10)
    # Never counted: the year's records.
    assert tallies.stored_cells(kind, of_2026, year=2026, names=names, today=TODAY) is None
    assert not CountState.objects.exists()
    # Every year: counted, stored, and then the year's table reads them too.
    assert tallies.stored_cells(kind, kind.records(), year=None, names=names, today=TODAY)
    assert tallies.stored_cells(kind, of_2026, year=2026, names=names, today=TODAY)
    # Many units marked: the marks stay for the whole count.
    make_followup(responsible_unit=units[0], year=2026)
    make_followup(responsible_unit=units[1], year=2026)
    with patch.object(tallies, "FULL_COUNT_UNITS", 1):
        assert tallies.stored_cells(kind, of_2026, year=2026, names=names, today=TODAY) is None
        assert CountMark.objects.filter(kind="followups").count() >= 2
    # A few: counted again, and read.
    assert tallies.stored_cells(kind, of_2026, year=2026, names=names, today=TODAY)
    assert not CountMark.objects.filter(kind="followups").exists()
    # The next day: the year's records again.
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert tallies.stored_cells(kind, of_2026, year=2026, names=names, today=tomorrow) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time")
def test_a_write_committed_during_a_refresh_keeps_its_mark_for_the_next(units):
    """A writer's transaction open while the counts are refreshed: its mark is not taken by
    that refresh (not yet committed), so the next refresh counts its record."""
    import threading

    from django.db import connections, transaction

    check()
    written, release, done = threading.Event(), threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                make_followup(responsible_unit=units[0], year=2026, status="open")
                written.set()
                release.wait(10)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    tallies.refresh_all(TODAY)  # the writer's mark and record are not committed yet
    release.set()
    assert done.wait(10)
    thread.join()
    assert CountMark.objects.filter(kind="followups", unit_id=units[0].pk).exists()
    check()


def test_every_kind_the_table_counts_has_stored_counts_kept_by_triggers(units):
    from coordination.reports.parameters import OutstandingForm

    choices = {value for value, _label in OutstandingForm.base_fields["records"].choices}
    assert choices == set(tallies.KINDS)
    tallies.refresh_all(TODAY)
    scatter(units, count=2)
    assert {mark.kind for mark in CountMark.objects.all()} == choices


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
def test_a_truncated_table_is_counted_again(units):
    scatter(units, count=10)
    check()
    with connection.cursor() as cursor:
        # Django's foreign keys are checked at commit: check them now, as TRUNCATE wants.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {FollowUp._meta.db_table} CASCADE")
    assert not CountState.objects.filter(kind="followups").exists()
    check()
    assert not CountedCell.objects.filter(kind="followups").exists()


def test_changes_younger_than_the_tables_cache_are_counted_later_and_the_page_says_so(
    client, units, settings
):
    """Under a stream of imports, a page does not count the marked units again on each
    visit: a count younger than FIGURES_CACHE_SECONDS is read as it is, with its time."""
    settings.FIGURES_CACHE_SECONDS = 60
    kind = registry.get("followups")
    today = datetime.date.today()
    names = tallies.value_names(kind, today)
    scatter(units, count=10)
    tallies.refresh_all(today)
    make_followup(responsible_unit=units[0], year=2026)
    cells = tallies.stored_cells(kind, kind.records(), year=None, names=names, today=today)
    state = CountState.objects.get(kind="followups")
    assert cells.counted_at == state.refreshed_at
    assert CountMark.objects.filter(kind="followups").exists()
    client.force_login(make_superuser())
    page = client.get("/records/outstanding/", {"year": ""}).content.decode()
    assert "Số liệu được tính lúc" in page
    # Older than the cache: counted again before it is read.
    CountState.objects.filter(kind="followups").update(
        refreshed_at=state.refreshed_at - datetime.timedelta(seconds=61)
    )
    cells = tallies.stored_cells(kind, kind.records(), year=None, names=names, today=today)
    assert cells.counted_at is None
    assert not CountMark.objects.filter(kind="followups").exists()
    assert stored("followups", today) == counted("followups", today)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks: PostgreSQL")
def test_a_page_reads_the_counts_as_they_are_while_another_process_counts(units):
    """A page finding units marked while the worker counts them does not wait for it."""
    import zlib

    import psycopg

    kind = registry.get("followups")
    names = tallies.value_names(kind, TODAY)
    tallies.refresh_all(TODAY)
    make_followup(responsible_unit=units[0], year=2026)
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
    )
    try:
        other.execute(
            "SELECT pg_advisory_xact_lock(%s)",
            [zlib.crc32(b"coordination counts followups")],
        )
        stored = tallies.stored_cells(kind, kind.records(), year=None, names=names, today=TODAY)
        assert stored.counted_at == CountState.objects.get(kind="followups").refreshed_at
        assert CountMark.objects.filter(kind="followups").exists()
    finally:
        other.rollback()
        other.close()
    assert tallies.stored_cells(kind, kind.records(), year=None, names=names, today=TODAY)
    assert not CountMark.objects.filter(kind="followups").exists()


def test_the_imports_fast_insert_marks_its_units(units):
    """An import writes its new rows with `bulk.insert_records` (PostgreSQL's COPY, SQLite's
    executemany): the triggers mark their units as for any other write."""
    from coordination.bulk import insert_records
    from coordination.choices import FollowUpKind

    check()
    records = [
        FollowUp(
            kind=FollowUpKind.LIMITATION,
            year=2026,
            content=f"Nội dung nhập nhanh {index}",
            responsible_unit=units[index % 2],
            status=FollowUpStatus.OPEN,
            due_date=TODAY - datetime.timedelta(days=index),
        )
        for index in range(20)
    ]
    for record in records:
        record.prepare_for_save()
    insert_records(FollowUp, records)
    marked = set(CountMark.objects.filter(kind="followups").values_list("unit_id", flat=True))
    assert marked == {units[0].pk, units[1].pk}
    check()
