"""What a large import writes and reads beyond its rows (issue 17, the whole-province load):
the cells read outside the import's lock, each unit named once converted once, the history's
links copied for the new entries alone, one count mark per unit and statement, the reference
tables read through their own indexes, and the history tables free of indexes no page uses."""

import datetime
import json
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext

from coordination import kinds
from coordination.bulk import insert_records
from coordination.choices import FollowUpKind, UnitKind, UnitLevel
from coordination.history import CHANGED, CREATED, record_history
from coordination.importing import import_records
from coordination.models import CountMark, FollowUp, Meeting, Person, Task, Unit
from coordination.widgets.references import UnitWidget
from tests.factories import csv_bytes, make_followup, make_person, make_task, make_unit

pytestmark = pytest.mark.django_db

FOLLOWUP_HEADER = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"]


def followup_rows(world, count: int, unit_names=None) -> list[list]:
    names = unit_names or [world.committee.full_name, world.front.full_name]
    return [FOLLOWUP_HEADER] + [
        ["Hạn chế", 2025, f"Hạn chế thứ {n} của năm", names[n % len(names)]] for n in range(count)
    ]


# Reading outside the lock -----------------------------------------------------------------


def lock_held() -> bool:
    """Whether this connection holds an import's advisory lock (PostgreSQL) or is inside a
    transaction (SQLite: its IMMEDIATE transactions hold the database's write lock)."""
    if connection.vendor != "postgresql":
        return connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid() AND granted"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_the_rows_are_read_and_checked_before_the_import_takes_its_lock(world):
    """Another import of the kind may write while this one reads its cells and checks its
    rows against the records as they are: only the writing waits for the lock (and, under
    it, a read of the versions of the records the check read)."""
    held = {}

    def stages(stage, done, total):
        held.setdefault(stage, set()).add(lock_held())

    report = import_records(
        kind="followups",
        data=csv_bytes(followup_rows(world, 1200)),
        file_name="f.csv",
        dry_run=False,
        stages=stages,
    )
    assert report.written, [p.message for p in report.problems[:3]]
    assert held["reading"] == {False}
    assert held["checking"] == {False}
    assert held["writing"] == {True}
    assert FollowUp.objects.filter(year=2025).count() == 1200


def confirm_with(rows, meanwhile, *, kind="followups"):
    """Confirm the import of `rows`, running `meanwhile()` once, when its rows are checked
    and before it takes its lock (another import or a save committing at that moment).
    Also returns the stages it told, each with whether it was complete."""
    told, pending = [], [meanwhile]

    def stages(stage, done, total):
        told.append((stage, done == total))
        if stage == "checking" and done == total and pending:
            pending.pop()()

    report = import_records(
        kind=kind, data=csv_bytes(rows), file_name="f.csv", dry_run=False, stages=stages
    )
    return report, told


def test_a_record_written_meanwhile_with_a_rows_key_is_found_not_duplicated(world):
    """Another import (or a save) writes, between this import's check and its lock, the
    record one of its rows would create: the rows are checked again under the lock, and
    that row finds the record (unchanged) instead of writing it a second time."""
    rows = followup_rows(world, 3)
    content = rows[2][2]

    def meanwhile():
        make_followup(
            kind=FollowUpKind.LIMITATION,
            year=2025,
            content=content,
            responsible_unit=world.front,
        )

    report, told = confirm_with(rows, meanwhile)
    assert report.written
    assert report.summary_line() == "new=2 updated=0 unchanged=1 errors=0"
    assert FollowUp.objects.filter(content=content).count() == 1
    # Checked twice: before the lock, then again under it.
    assert told.count(("checking", True)) == 2


def test_a_record_changed_meanwhile_is_checked_again_and_its_row_refused(world):
    """A row updates a record from its exported version; somebody changes the record between
    the check and the lock: checked again, the row is refused as overwriting that change,
    and nothing of the file is written."""
    item = make_followup(year=2025, responsible_unit=world.committee, content="Việc cũ")
    version = item.updated_at.isoformat()
    header = ["Mã", "Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Kết quả giải quyết"]
    rows = [
        [*header, "Phiên bản"],
        [item.pk, "Hạn chế", 2025, "Việc cũ", world.committee.full_name, "Đã xong", version],
        ["", "Hạn chế", 2025, "Việc mới", world.committee.full_name, "", ""],
    ]

    def meanwhile():
        FollowUp.objects.filter(pk=item.pk).update(
            resolution="Sửa giữa chừng", updated_at=timezone.now() + datetime.timedelta(seconds=1)
        )

    report, _stages = confirm_with(rows, meanwhile)
    assert not report.written
    [problem] = report.problems
    assert problem.row == 2
    assert "sau khi file này được xuất" in problem.message
    item.refresh_from_db()
    assert item.resolution == "Sửa giữa chừng"
    assert not FollowUp.objects.filter(content="Việc mới").exists()


def test_an_item_carried_over_from_is_read_again_under_the_lock(world):
    """A row names by number the item it carries over; that item is moved to a later year
    between the check and the lock: checked again, the row is refused as the model's rule
    says (carried over from an earlier year only)."""
    earlier = make_followup(year=2024, responsible_unit=world.committee, content="Năm trước")
    rows = [
        ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Chuyển tiếp từ mã"],
        ["Hạn chế", 2025, "Năm nay", world.committee.full_name, earlier.pk],
    ]

    def meanwhile():
        FollowUp.objects.filter(pk=earlier.pk).update(year=2026, updated_at=timezone.now())

    report, _stages = confirm_with(rows, meanwhile)
    assert not report.written
    [problem] = report.problems
    assert problem.column == "Chuyển tiếp từ mã"
    assert not FollowUp.objects.filter(content="Năm nay").exists()


def test_a_unique_name_taken_meanwhile_refuses_the_row_under_the_lock(world):
    """A new unit's short name is taken, between the check and the lock, by another unit of
    the locality (no record the check read changed): the unique rules, checked again under
    the lock, refuse the row with the rule's own message, and nothing is written."""
    locality = world.committee.locality
    with translation.override("vi"):
        kind, level = str(UnitKind.SOCIO_POLITICAL.label), str(UnitLevel.DISTRICT.label)
    rows = [
        ["Tên đầy đủ", "Tên viết tắt", "Loại", "Cấp", "Địa bàn"],
        ["Hội Cựu chiến binh huyện Hàm Tân", "HCCB huyện", kind, level, locality],
    ]

    def meanwhile():
        make_unit(full_name="Hội Cựu giáo chức huyện Hàm Tân", short_name="HCCB huyện")

    report, told = confirm_with(rows, meanwhile, kind="units")
    assert not report.written, told
    assert not report.file_errors
    [problem] = report.problems
    with translation.override("vi"):
        expected = gettext("A unit with this short name already exists in this locality.")
    assert problem.message == expected
    assert not Unit.objects.filter(full_name="Hội Cựu chiến binh huyện Hàm Tân").exists()
    # Nothing the check read changed: it was not run again.
    assert told.count(("checking", True)) == 1


# Each unit named once, converted once ------------------------------------------------------


def test_a_unit_named_on_every_row_is_looked_up_once(world):
    calls = []
    real_find = UnitWidget.find

    def counting_find(self, text, lookups, row_values):
        calls.append(text)
        return real_find(self, text, lookups, row_values)

    with mock.patch.object(UnitWidget, "find", counting_find):
        report = import_records(
            kind="followups",
            data=csv_bytes(followup_rows(world, 600)),
            file_name="f.csv",
            dry_run=True,
        )
    assert not report.problems
    assert report.count_new == 600
    assert sorted(calls) == sorted([world.committee.full_name, world.front.full_name])


def test_an_unknown_unit_is_still_told_on_every_row(world):
    rows = followup_rows(world, 6, unit_names=["Phòng Không Có Thật", world.front.full_name])
    report = import_records(kind="followups", data=csv_bytes(rows), file_name="f.csv")
    refused = sorted(problem.row for problem in report.problems)
    assert refused == [2, 4, 6]
    assert all(problem.column == "Đơn vị chịu trách nhiệm" for problem in report.problems)
    assert all("Phòng Không Có Thật" in problem.message for problem in report.problems)


# History: the links of the new entries ----------------------------------------------------


def test_two_entries_of_one_moment_each_keep_the_links_of_their_time(world):
    """Two entries of the same records written at the same moment (an import, then a change
    in the same transaction): each keeps the coordinating units as they were then, once."""
    tasks = [make_task(coordinating_units=[world.front]) for _ in range(3)]
    other = make_task(coordinating_units=[world.committee])
    moment = timezone.now() + datetime.timedelta(days=1)
    pks = [task.pk for task in tasks]
    with transaction.atomic(), mock.patch("django.utils.timezone.now", return_value=moment):
        record_history(Task, pks, history_type=CREATED)
        for task in tasks:
            # As the bulk paths change a set: without an entry of simple-history's own.
            task.skip_history_when_saving = True
            task.coordinating_units.set([world.front, world.committee])
        record_history(Task, pks, history_type=CHANGED)
    links = Task.history.model._history_m2m_fields
    [field] = links
    for task in tasks:
        first, second = task.history.filter(history_date=moment).order_by("history_id")
        assert {unit.unit_id for unit in getattr(first, field.name).all()} == {world.front.pk}
        assert {unit.unit_id for unit in getattr(second, field.name).all()} == {
            world.front.pk,
            world.committee.pk,
        }
    assert not other.history.filter(history_date=moment).exists()
    [entry] = other.history.all()
    assert {unit.unit_id for unit in getattr(entry, field.name).all()} == {world.committee.pk}


def test_an_import_of_tasks_keeps_each_new_tasks_coordinating_units_in_its_entry(world):
    header = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Đơn vị phối hợp"]
    rows = [header] + [
        [
            world.agreement.number,
            2025,
            f"Nhiệm vụ thứ {n}",
            world.committee.full_name,
            world.front.full_name if n % 2 else "",
        ]
        for n in range(130)
    ]
    # Three batches of history (the import's 5,000 made 50).
    with mock.patch("coordination.history.BATCH", 50):
        report = import_records(
            kind="tasks", data=csv_bytes(rows), file_name="t.csv", dry_run=False
        )
    assert report.written, [p.message for p in report.problems[:3]]
    [field] = Task.history.model._history_m2m_fields
    entries = Task.history.filter(year=2025)
    assert entries.count() == len(rows) - 1
    for entry in entries:
        kept = {link.unit_id for link in getattr(entry, field.name).all()}
        number = int(entry.content.rsplit(" ", 1)[1])
        assert kept == ({world.front.pk} if number % 2 else set())


# One mark per unit and statement ------------------------------------------------------------


def test_an_insert_of_many_rows_marks_each_unit_once(world):
    CountMark.objects.all().delete()
    items = [
        FollowUp(
            kind="limitation",
            year=2025,
            content=f"Hạn chế số {n}",
            responsible_unit=world.committee if n % 3 else world.front,
        )
        for n in range(300)
    ]
    for item in items:
        item.prepare_for_save()
    insert_records(FollowUp, items)
    marks = sorted(CountMark.objects.filter(kind="followups").values_list("unit_id", flat=True))
    assert marks == sorted([world.committee.pk, world.front.pk])
    # One DELETE statement (the ORM's delete() sends several, a batch each).
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FollowUp._meta.db_table} WHERE year = 2025")
    marks = sorted(CountMark.objects.filter(kind="followups").values_list("unit_id", flat=True))
    # PostgreSQL: once more per unit for the DELETE statement; SQLite's row triggers mark a
    # unit once until it is counted.
    times = 2 if connection.vendor == "postgresql" else 1
    assert marks == sorted([world.committee.pk, world.front.pk] * times)


# The reference tables read through their own indexes -------------------------------------


def named_query(table: str, captured) -> str:
    [sql] = [
        query["sql"]
        for query in captured
        if query["sql"].startswith("SELECT")
        and f'FROM "{table}"' in query["sql"]
        and "SUBSTR" in query["sql"].upper()
    ]
    return sql


def plan_indexes(sql: str) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = plan if isinstance(plan, list) else json.loads(plan)
            found, stack = set(), [plan[0]["Plan"]]
            while stack:
                node = stack.pop()
                if node["Node Type"] == "Seq Scan":
                    found.add(f"seq scan of {node['Relation Name']}")
                if "Index Name" in node:
                    found.add(node["Index Name"])
                stack += node.get("Plans", [])
            return found
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return {row[-1] for row in cursor.fetchall()}


def indexes_reading_names(kind: str, rows, model) -> set[str]:
    """The indexes (or scans) of the plan of the query a preview of `rows` reads the records
    of `model` its cells name with."""
    with CaptureQueriesContext(connection) as captured:
        report = import_records(kind=kind, data=csv_bytes(rows), file_name="f.csv")
    assert not report.problems, [p.message for p in report.problems]
    return plan_indexes(named_query(model._meta.db_table, captured))


def assert_reads_through(used: set[str], index: str, model) -> None:
    if connection.vendor == "postgresql":
        assert index in used, used
        assert f"seq scan of {model._meta.db_table}" not in used, used
    else:
        assert any(index in detail for detail in used), used


def test_the_people_a_file_names_are_read_through_their_name_index(world):
    people = [Person(full_name=f"Nguyễn Văn Cán Bộ {n}", unit=world.committee) for n in range(2000)]
    for person in people:
        person.prepare_for_save()
    insert_records(Person, people)
    make_person(full_name="Lê Thị Được Giao", unit=world.committee)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    header = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Cán bộ thực hiện"]
    rows = [header] + [
        [world.agreement.number, 2025, f"Việc {n}", world.committee.full_name, name]
        for n, name in enumerate(["Lê Thị Được Giao", "NGUYỄN VĂN CÁN BỘ 7", "Nguyễn Văn Cán Bộ 9"])
    ]
    used = indexes_reading_names("tasks", rows, Person)
    assert_reads_through(used, "coordination_person_name_key", Person)
    assert "coordination_person_name_trgm" not in used, used


def test_the_meetings_a_file_names_are_read_through_their_title_index(world):
    meetings = [
        Meeting(
            title=f"Hội nghị giao ban tháng {n}",
            kind="interim",
            held_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=n),
            period_from_year=2024,
        )
        for n in range(2000)
    ]
    for meeting in meetings:
        meeting.prepare_for_save()
    insert_records(Meeting, meetings)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    header = [*FOLLOWUP_HEADER, "Hội nghị"]
    # A few hundred names: asked as one `IN (…)` list, PostgreSQL folded every title instead.
    rows = [header] + [
        ["Kết luận", 2024, f"Kết luận số {n}", world.front.full_name, str(meetings[n * 6])]
        for n in range(300)
    ]
    used = indexes_reading_names("followups", rows, Meeting)
    assert_reads_through(used, "coordination_meeting_title_key", Meeting)


# History tables: only the indexes pages use ----------------------------------------------


@pytest.mark.parametrize("kind", ["agreements", "tasks", "followups"])
def test_a_history_table_indexes_only_what_its_pages_and_reminders_ask(kind):
    """Each entry writes every index of its table: the record's entries are found by the
    (id, history_date, history_id) index, the reminders by date, a user's deletion by user;
    nothing asks for the entries of a unit, an agreement or a meeting."""
    history_model = kinds.get(kind).model.history.model
    table = history_model._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexed = {
        tuple(info["columns"])
        for info in constraints.values()
        if info["index"] and not info["primary_key"]
    }
    assert indexed == {
        ("history_date",),
        ("history_user_id",),
        ("id", "history_date", "history_id"),
    }


# A long text's key: the same in the database and in Python --------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ủy ban nhân dân xã ĐẠ HÒA chưa giải quyết dứt điểm kiến nghị về đường liên thôn",
        "ĐƯỜNG GIAO THÔNG NÔNG THÔN XUỐNG CẤP — Ước tính 1,5 tỷ đồng",
        "x" * 5000,
        "Khoảng trắng   giữa\tcác từ và ký tự đặc biệt: « » ‘ ’ € ₫",
    ],
)
def test_a_contents_key_is_the_same_in_the_database_and_in_python(world, text):
    from coordination.db_functions import ContentKey, content_key

    item = FollowUp.objects.create(
        kind="limitation", year=2025, content=text, responsible_unit=world.front
    )
    item.refresh_from_db()  # as stored: trimmed, single-spaced
    stored = FollowUp.objects.filter(pk=item.pk).values_list(ContentKey("content"), flat=True)
    assert stored.get() == content_key(item.content) == content_key(item.content.upper())
    assert len(content_key(text)) == 16


def test_a_row_differing_from_a_record_in_case_only_updates_it(world):
    FollowUp.objects.create(
        kind="limitation",
        year=2025,
        content="Chưa hoàn thành việc cấp giấy chứng nhận quyền sử dụng đất",
        responsible_unit=world.front,
    )
    rows = [
        [*FOLLOWUP_HEADER, "Kết quả giải quyết"],
        [
            "Tồn tại – hạn chế",
            2025,
            "CHƯA HOÀN THÀNH VIỆC CẤP GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT",
            world.front.full_name,
            "Đã cấp 80%",
        ],
    ]
    report = import_records(kind="followups", data=csv_bytes(rows), file_name="f.csv")
    assert not report.problems, [p.message for p in report.problems]
    assert (report.count_new, report.count_updated) == (0, 1)
