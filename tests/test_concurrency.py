"""No lost updates (issue 5, point 2) and the embedded SQLite under concurrent writers (3)."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from coordination import services
from coordination.choices import TaskStatus
from coordination.models import Indicator, Task
from tests.factories import db_state, make_indicator, make_superuser, make_task, run_in_child
from tests.forms import form_data

pytestmark = pytest.mark.django_db


def logged_in(**names) -> Client:
    client = Client()
    client.force_login(make_superuser(**names))
    return client


def opened(client, model: str, pk: int) -> tuple[str, dict]:
    """A change page as its user sees it, and what its form would post."""
    address = reverse(f"admin:coordination_{model}_change", args=[pk])
    page = client.get(address)
    assert page.status_code == 200
    return address, form_data(page.content.decode(), f"{model}_form")


def refusal(response) -> str:
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors, "the save was not refused"
    return " ".join(errors)


def test_the_later_save_of_a_task_is_refused_showing_what_changed():
    """Two people open the same task; the first saves; the second's save is refused with who
    changed which field from what to what, and the first one's change stays."""
    task = make_task(content="Bản gốc", progress=10)
    first = logged_in(username="lan", first_name="Lan", last_name="Nguyễn Thị")
    second = logged_in(username="minh", first_name="Minh", last_name="Trần Văn")
    address, first_data = opened(first, "task", task.pk)
    _address, second_data = opened(second, "task", task.pk)

    entries = task.history.count()
    first_data.update(content="Bản của chị Lan", progress="40")
    assert first.post(address, first_data).status_code == 302
    assert task.history.count() == entries + 1
    after_first = db_state()

    second_data.update(content="Bản của anh Minh")
    message = refusal(second.post(address, second_data))
    # The refused save wrote nothing at all: no history entry, no admin log, no timestamp.
    assert db_state() == after_first
    with translation.override("vi"):
        label = str(Task._meta.get_field("content").verbose_name)
    assert "Nguyễn Thị Lan" in message
    assert f"{label}: Bản gốc → Bản của chị Lan" in message
    # Only what happened after the page was opened: not the task's creation.
    assert f"{label}: — → Bản gốc" not in message
    task.refresh_from_db()
    assert (task.content, task.progress) == ("Bản của chị Lan", 40)


def test_resubmitting_a_page_already_saved_is_refused():
    """The back button and "save" again on the old page would undo nothing silently: the
    page is out of date after its own save, and the second submission is refused."""
    task = make_task(content="Một")
    client = logged_in()
    address, data = opened(client, "task", task.pk)
    data["content"] = "Hai"
    assert client.post(address, data).status_code == 302
    data["content"] = "Ba"
    refusal(client.post(address, data))
    task.refresh_from_db()
    assert task.content == "Hai"


def test_a_bulk_action_in_between_counts_as_a_change():
    """Marking the task done from the list after the page was opened refuses the page."""
    task = make_task(content="Đang làm", status=TaskStatus.IN_PROGRESS)
    client = logged_in()
    address, data = opened(client, "task", task.pk)
    services.task_mark_done(tasks=Task.objects.filter(pk=task.pk))
    data["content"] = "Sửa sau"
    refusal(client.post(address, data))
    task.refresh_from_db()
    assert (task.status, task.content) == (TaskStatus.DONE, "Đang làm")


def test_records_without_history_are_protected_too():
    indicator = make_indicator(name="Tỷ lệ cũ")
    first, second = logged_in(username="mot"), logged_in(username="hai")
    address, first_data = opened(first, "indicator", indicator.pk)
    _address, second_data = opened(second, "indicator", indicator.pk)
    first_data["name"] = "Tỷ lệ của người thứ nhất"
    assert first.post(address, first_data).status_code == 302
    second_data["name"] = "Tỷ lệ của người thứ hai"
    refusal(second.post(address, second_data))
    assert Indicator.objects.get(pk=indicator.pk).name == "Tỷ lệ của người thứ nhất"


def test_saving_an_unchanged_page_twice_in_a_row_is_fine():
    """Nothing is refused without a change in between: open, save, open again, save."""
    task = make_task(content="A")
    client = logged_in()
    for text in ("B", "C"):
        address, data = opened(client, "task", task.pk)
        data["content"] = text
        assert client.post(address, data).status_code == 302
    task.refresh_from_db()
    assert task.content == "C"


# ---------------------------------------------------------------------------------------------
# The embedded SQLite with several writers at once (RELIABILITY.md, D 44)
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_four_writers_on_the_embedded_sqlite_never_hit_database_is_locked(tmp_path):
    """WAL, IMMEDIATE transactions and the busy timeout of config/settings.py: four threads
    writing for a few seconds all succeed, and every write is stored."""
    outcome = run_in_child("sqlite_writers", 4, workdir=tmp_path)
    assert outcome["error_count"] == 0, outcome["errors"]
    assert all(count > 0 for count in outcome["written"])
    assert outcome["stored"] == sum(outcome["written"])


# ---------------------------------------------------------------------------------------------
# Two imports of the same new rows at once (RELIABILITY.md, D 43)
# ---------------------------------------------------------------------------------------------

UNIT_NAME = "Ủy ban nhân dân xã Tân Hà"
NEW_ROWS = {
    # An agreement's number is unique in the database; a follow-up's natural key is not.
    "agreements": [
        ["Số văn bản", "Tên văn bản", "Loại", "Từ năm", "Đến năm"],
        ["07/QCPH-UBND", "Quy chế phối hợp mới", "Quy chế phối hợp", 2024, 2026],
    ],
    "followups": [
        ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"],
        ["Kiến nghị cử tri", 2024, "Sửa đường liên xã nhập hai lần", UNIT_NAME],
    ],
}


def stored_count(kind) -> int:
    from coordination.models import Agreement, FollowUp

    if kind == "agreements":
        return Agreement.objects.filter(number="07/QCPH-UBND").count()
    return FollowUp.objects.filter(content="Sửa đường liên xã nhập hai lần").count()


@pytest.mark.postgresql
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="threads sharing the test database: PostgreSQL only (SQLite: the test below)",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["agreements", "followups"])
def test_postgresql_two_imports_of_the_same_new_rows_write_them_once(kind, monkeypatch):
    """Two people confirm the same file at the same moment. The second import waits until
    the first has committed, then finds the rows it would create already there: they are
    "unchanged", and the record exists once (no duplicate, no half-written import)."""
    import threading

    from django.db import close_old_connections

    from coordination import importing
    from tests.factories import make_unit, xlsx_bytes

    make_unit(full_name=UNIT_NAME, short_name="UBND xã Tân Hà", locality="xã Tân Hà")
    data = xlsx_bytes(NEW_ROWS[kind])
    first_inside, release = threading.Event(), threading.Event()
    original = importing.Importer.write
    local = threading.local()

    def write(self, rows, present):
        if getattr(local, "first", False):
            first_inside.set()
            assert release.wait(20)
        return original(self, rows, present)

    monkeypatch.setattr(importing.Importer, "write", write)
    reports = {}

    def run(name, first):
        local.first = first
        try:
            reports[name] = importing.import_records(
                kind=kind, data=data, file_name=f"{name}.xlsx", dry_run=False
            )
        finally:
            close_old_connections()

    first = threading.Thread(target=run, args=("first", True))
    first.start()
    assert first_inside.wait(20)
    second = threading.Thread(target=run, args=("second", False))
    second.start()
    second.join(1.0)
    assert second.is_alive(), "the second import did not wait for the first"
    release.set()
    first.join(20)
    second.join(20)
    assert reports["first"].written and reports["first"].summary_line().startswith("new=1 ")
    assert reports["second"].summary_line() == "new=0 updated=0 unchanged=1 errors=0"
    assert stored_count(kind) == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["agreements", "followups"])
def test_four_imports_of_the_same_new_rows_on_the_embedded_sqlite_write_them_once(tmp_path, kind):
    """The same on SQLite, four at once: IMMEDIATE transactions take the write lock when the
    import's transaction begins, so each import reads what the previous one committed."""
    outcome = run_in_child("sqlite_importers", kind, workdir=tmp_path)
    assert outcome["lines"] == [
        "new=0 updated=0 unchanged=1 errors=0",
        "new=0 updated=0 unchanged=1 errors=0",
        "new=0 updated=0 unchanged=1 errors=0",
        "new=1 updated=0 unchanged=0 errors=0",
    ]
    assert outcome["stored"] == 1
