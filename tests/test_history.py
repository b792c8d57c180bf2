"""Who changed what and when is recorded on every write path, bulk ones included."""

import pytest

from coordination import services
from coordination.choices import FollowUpStatus, TaskStatus
from coordination.importing import import_records
from coordination.models import FollowUp, Task
from tests.factories import make_followup, make_superuser, make_task, xlsx_bytes

pytestmark = pytest.mark.django_db


def test_saving_through_the_orm_records_a_history_entry():
    """save() goes through simple-history's signal: one entry per save, with the values."""
    task = make_task(content="Tuyên truyền")
    task.content = "Tuyên truyền, vận động"
    task.save()
    entries = list(task.history.order_by("history_id"))
    assert [entry.history_type for entry in entries] == ["+", "~"]
    assert entries[-1].content == "Tuyên truyền, vận động"


def test_import_records_one_entry_per_written_row_with_user_and_file():
    """A bulk import writes history too: one entry per new record, naming user and file."""
    user = make_superuser()
    task = make_task()
    rows = [
        ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì"],
        *[
            [task.agreement.number, task.year, f"Nhiệm vụ {n}", task.lead_unit.full_name]
            for n in range(3)
        ],
    ]
    before = Task.history.count()
    report = import_records(
        kind="tasks", data=xlsx_bytes(rows), file_name="ds.xlsx", user=user, dry_run=False
    )
    assert report.written
    entries = Task.history.filter(history_id__gt=0).order_by("-history_id")[:3]
    assert Task.history.count() == before + 3
    assert {entry.history_user_id for entry in entries} == {user.pk}
    assert all("ds.xlsx" in entry.history_change_reason for entry in entries)
    assert {entry.content for entry in entries} == {"Nhiệm vụ 0", "Nhiệm vụ 1", "Nhiệm vụ 2"}


def test_dry_run_writes_no_history():
    """The preview leaves no trace, in the history either."""
    task = make_task()
    rows = [
        ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì"],
        [task.agreement.number, task.year, "Nhiệm vụ mới", task.lead_unit.full_name],
    ]
    before = Task.history.count()
    import_records(kind="tasks", data=xlsx_bytes(rows), file_name="ds.xlsx", dry_run=True)
    assert Task.history.count() == before


def test_admin_actions_record_history_with_the_acting_user():
    """Mark done, resolve and carry over run update() and still leave an entry per record."""
    user = make_superuser()
    task = make_task(status=TaskStatus.IN_PROGRESS)
    item = make_followup(status=FollowUpStatus.OPEN)
    other = make_followup(status=FollowUpStatus.OPEN)
    services.task_mark_done(tasks=Task.objects.filter(pk=task.pk), user=user)
    services.followup_resolve(followups=FollowUp.objects.filter(pk=item.pk), user=user)
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=other.pk), user=user)
    latest_task = task.history.latest("history_id")
    assert (latest_task.status, latest_task.history_user_id) == (TaskStatus.DONE, user.pk)
    assert item.history.latest("history_id").status == FollowUpStatus.RESOLVED
    assert other.history.latest("history_id").status == FollowUpStatus.CARRIED_OVER
    successor = FollowUp.objects.get(carried_over_from=other)
    assert successor.history.get().history_type == "+"
