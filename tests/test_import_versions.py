"""No lost updates through an import (issue 5, point 2).

An exported file carries each record's version (the "Phiên bản" column). Re-importing it after
somebody else changed one of its records refuses that row instead of writing the old values
back; the preview says who changed it and when, and nothing of the file is written.
"""

import datetime
import threading

import pytest
from django.db import close_old_connections, connection
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from coordination import importing
from coordination.importing import import_records
from coordination.models import Task
from tests import test_import_admin
from tests.factories import db_state, ensure_roles, xlsx_bytes
from tests.forms import form_data
from tests.test_import_admin import export_rows, logged_in, upload, url, vi

# The units, records and users of the import tests.
scope = test_import_admin.scope

pytestmark = pytest.mark.django_db

VERSION = "Phiên bản"
STATUS = "Tình trạng"


@pytest.fixture
def roles(db):
    """The permissions and role groups, which an earlier transactional test's flush removed."""
    ensure_roles()


def edited(rows, pk, **cells):
    """`rows` (header first) with the cells of record `pk` replaced, by header."""
    header = rows[0]
    result = [list(line) for line in rows]
    for line in result[1:]:
        if line[0] == pk:
            for name, value in cells.items():
                line[header.index(name)] = value
    return result


def admin_saves(client, task, **changes):
    """Save `task` through its admin change form, as a person would."""
    address = url("task", "change", task.pk)
    data = form_data(client.get(address).content.decode(), "task_form")
    data.update(changes)
    response = client.post(address, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def problems_by_row(report) -> dict:
    return {p.row: (p.column, p.message) for p in report.problems}


def test_export_writes_each_record_version_last(scope):
    rows = export_rows(logged_in(scope.admin))
    assert rows[0][-1] == VERSION
    versions = {line[0]: line[-1] for line in rows[1:]}
    for task in Task.objects.all():
        assert versions[task.pk] == task.updated_at.isoformat()
    csv_rows = export_rows(logged_in(scope.admin), file_format="csv")
    assert csv_rows[0][-1] == VERSION
    assert {int(line[0]): line[-1] for line in csv_rows[1:]} == versions


def test_reimporting_an_old_export_refuses_rows_changed_since_and_writes_nothing(scope):
    """Lan exports her unit's tasks; the admin then changes one of them; Lan edits her copy
    and imports it. The row of the task changed meanwhile is refused, naming the admin, even
    though Lan did not touch that row; the untouched rows are unchanged; nothing is written."""
    staff = logged_in(scope.staff_a)
    exported = export_rows(staff)
    admin_saves(logged_in(scope.admin), scope.task_a, progress="60")
    changed_at = Task.objects.get(pk=scope.task_a.pk).updated_at

    data = xlsx_bytes(edited(exported, scope.task_a2.pk, **{"Kết quả": "Đã xong, có báo cáo"}))
    before = db_state()
    response = upload(staff, "task", data)
    report = response.context["report"]
    task_a_row = next(o.row for o in report.outcomes if o.label and scope.task_a.content in o.label)
    column, message = problems_by_row(report)[task_a_row]
    assert column == VERSION
    assert "admin" in message
    with translation.override("vi"):
        when = formats.date_format(timezone.localtime(changed_at), "SHORT_DATETIME_FORMAT")
    assert when in message
    assert VERSION in message  # how to overwrite on purpose
    statuses = {o.row: o.status for o in report.outcomes}
    assert statuses[task_a_row] == "error"
    assert sorted(statuses.values()) == ["error", "unchanged", "updated"]
    assert url("task", "process_import") not in response.content.decode()

    # Confirming anyway writes nothing.
    response = staff.post(url("task", "process_import"), {"token": response.context["token"]})
    assert response.status_code == 200 and response.context["refused"] is True
    assert db_state() == before
    scope.task_a.refresh_from_db()
    assert scope.task_a.progress == 60


def test_a_fresh_export_of_the_changed_record_imports(scope):
    staff = logged_in(scope.staff_a)
    admin_saves(logged_in(scope.admin), scope.task_a, progress="60")
    fresh = export_rows(staff)
    data = xlsx_bytes(edited(fresh, scope.task_a.pk, **{"Kết quả": "Đã họp dân 3 thôn"}))
    report = import_records(
        kind="tasks", data=data, file_name="moi.xlsx", user=scope.staff_a, dry_run=False
    )
    assert report.problems == [] and report.written
    scope.task_a.refresh_from_db()
    assert (scope.task_a.progress, scope.task_a.result) == (60, "Đã họp dân 3 thôn")


def test_emptying_the_version_cell_overwrites_on_purpose(scope):
    """The documented way out: without a version, the row updates the record as it is now."""
    staff = logged_in(scope.staff_a)
    exported = export_rows(staff)
    admin_saves(logged_in(scope.admin), scope.task_a, progress="60")
    data = xlsx_bytes(edited(exported, scope.task_a.pk, **{VERSION: None}))
    report = import_records(
        kind="tasks", data=data, file_name="ghi-de.xlsx", user=scope.staff_a, dry_run=False
    )
    assert report.problems == [] and report.written
    scope.task_a.refresh_from_db()
    assert scope.task_a.progress == 0  # the exported value, written back on purpose


def test_a_file_without_the_version_column_updates_as_before(scope):
    """Lists kept by hand have no version: they update the records as they are now."""
    staff = logged_in(scope.staff_a)
    exported = export_rows(staff)
    admin_saves(logged_in(scope.admin), scope.task_a, progress="60")
    header = exported[0]
    keep = [i for i, name in enumerate(header) if name != VERSION]
    data = xlsx_bytes([[line[i] for i in keep] for line in exported])
    report = import_records(
        kind="tasks", data=data, file_name="tu-lap.xlsx", user=scope.staff_a, dry_run=True
    )
    assert report.problems == []
    assert report.summary_line() == "new=0 updated=1 unchanged=2 errors=0"


@pytest.mark.parametrize("value", ["hôm qua", "2024-05-01 10:00", 45000, "v3"])
def test_a_version_cell_that_is_not_a_version_is_a_cell_error(scope, value):
    exported = export_rows(logged_in(scope.staff_a))
    data = xlsx_bytes(edited(exported, scope.task_a.pk, **{VERSION: value}))
    report = import_records(kind="tasks", data=data, file_name="x.xlsx", user=scope.staff_a)
    [problem] = report.problems
    assert problem.column == VERSION
    assert problem.value == str(value)
    assert problem.message.startswith(str(value))


def test_a_change_between_preview_and_confirm_refuses_the_confirm(scope):
    """The preview was clean; the admin saves the task before Lan confirms: the confirmation
    is refused with the admin's name and writes nothing."""
    staff = logged_in(scope.staff_a)
    exported = export_rows(staff)
    data = xlsx_bytes(edited(exported, scope.task_a.pk, **{"Kết quả": "Bản của Lan"}))
    response = upload(staff, "task", data)
    assert response.context["report"].summary_line() == "new=0 updated=1 unchanged=2 errors=0"
    token = response.context["token"]

    scope.admin.last_name, scope.admin.first_name = "Trần Văn", "Minh"
    scope.admin.save()
    admin_saves(logged_in(scope.admin), scope.task_a, result="Bản của quản trị")
    before = db_state()
    response = staff.post(url("task", "process_import"), {"token": token})
    assert response.status_code == 200 and response.context["refused"] is True
    [problem] = response.context["report"].problems
    # People are named by their full name when they have one, as in the change form.
    assert problem.column == VERSION and "bởi Trần Văn Minh lúc" in problem.message
    assert problem.message in response.content.decode()
    assert db_state() == before
    scope.task_a.refresh_from_db()
    assert scope.task_a.result == "Bản của quản trị"


def test_a_save_committed_while_the_confirmation_runs_is_caught_by_the_row_lock(scope, monkeypatch):
    """Between reading the records and writing them, another save commits (PostgreSQL reads
    committed data). The rows to update are locked and compared again before any write:
    the import refuses the row and writes nothing. Simulated here in the same connection, just
    before the check; the PostgreSQL test below does it from another connection."""
    exported = export_rows(logged_in(scope.staff_a))
    header = exported[0]
    keep = [i for i, name in enumerate(header) if name != VERSION]
    rows = edited(exported, scope.task_a.pk, **{"Kết quả": "Bản nhập"})
    data = xlsx_bytes([[line[i] for i in keep] for line in rows])
    original = importing.Importer.lock_updated

    def somebody_saves_first(self, rows):
        Task.objects.filter(pk=scope.task_a.pk).update(
            result="Bản lưu giữa chừng", updated_at=timezone.now()
        )
        return original(self, rows)

    monkeypatch.setattr(importing.Importer, "lock_updated", somebody_saves_first)
    count = Task.objects.count()
    report = import_records(
        kind="tasks", data=data, file_name="x.xlsx", user=scope.staff_a, dry_run=False
    )
    assert not report.written
    [problem] = report.problems
    assert problem.message.startswith("Bản ghi đã được")
    assert "trong khi đang nhập" in problem.message
    scope.task_a.refresh_from_db()
    assert scope.task_a.result == "Bản lưu giữa chừng"
    assert Task.objects.count() == count


@pytest.mark.postgresql
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_postgresql_a_save_waits_for_the_import_lock_and_cannot_be_overwritten(
    roles, scope, monkeypatch
):
    """Real concurrency on PostgreSQL: while an import holds the lock on the rows it updates,
    another connection's save of one of them waits until the import has committed, and then
    lands on top of it (nothing is lost either way)."""
    exported = export_rows(logged_in(scope.staff_a))
    data = xlsx_bytes(edited(exported, scope.task_a.pk, **{"Kết quả": "Bản nhập"}))
    locked, release = threading.Event(), threading.Event()
    original = importing.Importer.write

    def pause_after_lock(self, rows, present):
        locked.set()
        assert release.wait(20)
        return original(self, rows, present)

    monkeypatch.setattr(importing.Importer, "write", pause_after_lock)
    outcome = {}

    def run_import():
        try:
            outcome["report"] = import_records(
                kind="tasks", data=data, file_name="x.xlsx", user=scope.staff_a, dry_run=False
            )
        finally:
            close_old_connections()

    def other_save():
        try:
            start = timezone.now()
            Task.objects.filter(pk=scope.task_a.pk).update(progress=75, updated_at=timezone.now())
            outcome["waited"] = timezone.now() - start
        finally:
            close_old_connections()

    importer = threading.Thread(target=run_import)
    importer.start()
    assert locked.wait(20)
    saver = threading.Thread(target=other_save)
    saver.start()
    saver.join(1.0)
    assert saver.is_alive(), "the other save did not wait for the import's row lock"
    release.set()
    importer.join(20)
    saver.join(20)
    assert outcome["report"].written
    assert outcome["waited"] >= datetime.timedelta(seconds=0.9)
    scope.task_a.refresh_from_db()
    assert (scope.task_a.result, scope.task_a.progress) == ("Bản nhập", 75)


def test_a_record_deleted_while_the_confirmation_runs_is_reported_not_recreated(scope, monkeypatch):
    """The record a row updates is deleted between reading and writing: the row is refused
    with that reason, nothing is written, and the record is not brought back."""
    exported = export_rows(logged_in(scope.staff_a))
    data = xlsx_bytes(edited(exported, scope.task_a.pk, **{"Kết quả": "Bản nhập"}))
    original = importing.Importer.lock_updated

    def somebody_deletes_first(self, rows):
        Task.objects.filter(pk=scope.task_a.pk).delete()
        return original(self, rows)

    monkeypatch.setattr(importing.Importer, "lock_updated", somebody_deletes_first)
    report = import_records(
        kind="tasks", data=data, file_name="x.xlsx", user=scope.staff_a, dry_run=False
    )
    assert not report.written
    [problem] = report.problems
    assert problem.message == vi(
        "The record was deleted while this import ran; nothing was written. Import the file again."
    )
    assert not Task.objects.filter(pk=scope.task_a.pk).exists()


def test_a_change_that_left_no_history_entry_is_attributed_to_somebody(scope):
    """The record's version moved on without a history entry of its own (a save that changed
    no field): the row is still refused, at the record's time, without naming the author of
    an older entry."""
    staff = logged_in(scope.staff_a)
    exported = export_rows(staff)
    moment = timezone.now()
    Task.objects.filter(pk=scope.task_a.pk).update(updated_at=moment)
    data = xlsx_bytes(edited(exported, scope.task_a.pk, **{"Kết quả": "Bản của Lan"}))
    report = import_records(kind="tasks", data=data, file_name="x.xlsx", user=scope.staff_a)
    [problem] = report.problems
    with translation.override("vi"):
        when = formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
        somebody = gettext("somebody")
    assert f"bởi {somebody} lúc {when}" in problem.message
