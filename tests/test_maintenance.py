"""The search indexes' pending entries (migration 0029, `coordination.maintenance`): an
import's new entries wait in the index's pending list, searches find them there, and the jobs
worker's housekeeping merges them into the index."""

import pytest
from django.db import connection

from coordination.maintenance import SEARCH_INDEXES, merge_search_index_pending
from coordination.management.commands.jobs_worker import Command
from coordination.models import FollowUp
from tests.factories import make_unit

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="GIN indexes are PostgreSQL's"
)


def pending_pages(index: str) -> int:
    """Merge the index's pending list (what the worker does) and say how many pages it held."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        return cursor.fetchone()[0]


@postgres_only
def test_the_search_indexes_keep_a_large_pending_list():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [list(SEARCH_INDEXES.values())],
        )
        options = dict(cursor.fetchall())
    assert options == {index: ["gin_pending_list_limit=65536"] for index in SEARCH_INDEXES.values()}


@postgres_only
def test_new_entries_are_found_while_pending_then_merged_by_the_worker(monkeypatch):
    # The worker closes its connections after housekeeping; the test's stays open.
    monkeypatch.setattr(
        "coordination.management.commands.jobs_worker.close_old_connections", lambda: None
    )
    unit = make_unit()

    def add(first: int) -> None:
        FollowUp.objects.bulk_create(
            FollowUp(
                responsible_unit=unit,
                year=2025,
                content=f"Kiến nghị về đường liên xã số {n}",
                search_text=f"kien nghi ve duong lien xa so {n}",
            )
            for n in range(first, first + 2000)
        )

    add(0)
    searched = FollowUp.objects.filter(search_text__contains="duong lien xa so 1999")
    assert searched.count() == 1  # read from the pending list
    assert merge_search_index_pending()["coordination_fu_search_trgm"] > 0  # it was pending
    assert searched.count() == 1  # read from the index
    add(2000)
    Command().housekeeping()
    assert pending_pages("coordination_fu_search_trgm") == 0  # the worker merged it
    assert FollowUp.objects.filter(search_text__contains="duong lien xa so 3999").count() == 1
    assert merge_search_index_pending() == {index: 0 for index in SEARCH_INDEXES.values()}


def test_nothing_to_merge_on_sqlite_or_when_nothing_is_pending():
    merged = merge_search_index_pending()
    if connection.vendor == "postgresql":
        assert set(merged) == set(SEARCH_INDEXES.values())
    else:
        assert merged == {}


@postgres_only
def test_the_import_command_merges_what_it_added_once_its_rows_are_written(world, tmp_path):
    from django.core.management import call_command

    from coordination.importing import import_records
    from tests.factories import csv_bytes

    def follow_ups(first: int) -> bytes:
        header = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"]
        return csv_bytes(
            [header]
            + [
                ["Kiến nghị cử tri", 2025, f"Kiến nghị về đường số {n}", world.front.full_name]
                for n in range(first, first + 300)
            ]
        )

    pending_pages("coordination_fu_search_trgm")
    # An import alone (the admin's, a job's) leaves its entries for the worker to merge.
    report = import_records(kind="followups", data=follow_ups(0), file_name="a.csv", dry_run=False)
    assert report.written, [problem.message for problem in report.problems[:3]]
    assert pending_pages("coordination_fu_search_trgm") > 0
    path = tmp_path / "b.csv"
    path.write_bytes(follow_ups(300))
    call_command("import_records", "followups", str(path))
    assert FollowUp.objects.filter(year=2025).count() == 600
    assert pending_pages("coordination_fu_search_trgm") == 0
    # Only the kind imported: the tasks' index is left to the worker.
    assert merge_search_index_pending([FollowUp]) == {"coordination_fu_search_trgm": 0}


def test_an_import_commits_without_copying_sqlites_log_back_then_the_setting_returns(world):
    """SQLite: the import's own commit runs no checkpoint (the worker's housekeeping or the
    next write of another connection does); the connection's setting is as before after."""
    from coordination.importing import import_records
    from coordination.maintenance import checkpoint_log
    from tests.factories import csv_bytes

    def autocheckpoint() -> int | None:
        if connection.vendor != "sqlite":
            return None
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    before = autocheckpoint()
    during = []
    header = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"]
    rows = [header, ["Kiến nghị cử tri", 2025, "Kiến nghị về đường số 1", world.front.full_name]]
    report = import_records(
        kind="followups",
        data=csv_bytes(rows),
        file_name="a.csv",
        dry_run=False,
        before_commit=lambda report: during.append(autocheckpoint()),
    )
    assert report.written
    if connection.vendor == "sqlite":
        assert before > 0
        assert during == [0]
    assert autocheckpoint() == before
    checkpoint_log()  # nothing to copy back in a test database; it runs
