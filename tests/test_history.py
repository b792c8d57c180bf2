"""Who changed what and when is recorded on every write path, bulk ones included."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from simple_history.models import HistoricalRecords

from coordination import services
from coordination.choices import FollowUpStatus, PartyRole, TaskStatus
from coordination.history import copy_links
from coordination.importing import import_records
from coordination.models import FollowUp, Task
from coordination.selectors import record_history_entries
from tests.factories import (
    make_agreement,
    make_followup,
    make_superuser,
    make_task,
    make_unit,
    xlsx_bytes,
)
from tests.forms import form_data

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


# ---------------------------------------------------------------------------------------------
# Related sets (a task's coordinating units, an agreement's parties) and the admin's saves
# ---------------------------------------------------------------------------------------------


def links_of(entry, field: str) -> set:
    return {link.unit_id for link in getattr(entry, field).all()}


def admin_form(client, address: str, form_id: str) -> dict:
    page = client.get(address)
    assert page.status_code == 200
    return form_data(page.content.decode(), form_id)


def test_admin_save_writes_one_entry_holding_the_new_coordinating_units(client):
    """Saving a task's change form that edits its content and its coordinating units leaves
    exactly one entry, by the user, holding both; the detail history shows the units' change."""
    user = make_superuser()
    client.force_login(user)
    first, second = make_unit(full_name="Hội Cựu chiến binh xã"), make_unit(full_name="Xã đoàn")
    task = make_task(content="Vận động", coordinating_units=[first])
    address = reverse("admin:coordination_task_change", args=[task.pk])
    data = admin_form(client, address, "task_form")
    data["content"] = "Vận động toàn dân"
    data["coordinating_units"] = [str(second.pk)]
    before = task.history.count()
    response = client.post(address, data)
    assert response.status_code == 302
    assert task.history.count() == before + 1
    entry = task.history.latest("history_id")
    assert (entry.content, entry.history_user_id, entry.history_type) == (
        "Vận động toàn dân",
        user.pk,
        "~",
    )
    assert links_of(entry, "coordinating_units") == {second.pk}
    changes = {label: (old, new) for label, old, new in record_history_entries(task)[0].changes}
    with translation.override("vi"):
        label = str(Task._meta.get_field("coordinating_units").verbose_name)
    assert changes[label] == ("Hội Cựu chiến binh xã", "Xã đoàn")


def test_admin_add_writes_one_created_entry_with_its_units(client):
    """Adding a task with coordinating units: one "+" entry that already holds them."""
    client.force_login(make_superuser())
    template = make_task()
    helper = make_unit(full_name="Công an xã")
    data = admin_form(client, reverse("admin:coordination_task_add"), "task_form")
    data.update(
        agreement=str(template.agreement.pk),
        year=str(template.year),
        content="Nhiệm vụ thêm mới",
        lead_unit=str(template.lead_unit.pk),
        coordinating_units=[str(helper.pk)],
        due_date=f"31/12/{template.year}",
    )
    response = client.post(reverse("admin:coordination_task_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    task = Task.objects.get(content="Nhiệm vụ thêm mới")
    entry = task.history.get()
    assert entry.history_type == "+"
    assert links_of(entry, "coordinating_units") == {helper.pk}


def test_agreement_entry_keeps_the_parties_and_their_roles(client):
    """Adding a party in the agreement's inline is one entry holding every party with its
    role, and the history shows who joined."""
    client.force_login(make_superuser())
    lead, joining = make_unit(full_name="UBND xã Tân Hà"), make_unit(full_name="Hội LHPN xã")
    agreement = make_agreement(parties=[lead])
    address = reverse("admin:coordination_agreement_change", args=[agreement.pk])
    data = admin_form(client, address, "agreement_form")
    prefix = "party_links"
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(total + 1)
    data[f"{prefix}-{total}-unit"] = str(joining.pk)
    data[f"{prefix}-{total}-role"] = PartyRole.PARTY
    before = agreement.history.count()
    response = client.post(address, data)
    assert response.status_code == 302
    assert agreement.history.count() == before + 1
    entry = agreement.history.latest("history_id")
    assert {(link.unit_id, link.role) for link in entry.parties.all()} == {
        (link.unit_id, link.role) for link in agreement.party_links.all()
    }
    assert joining.pk in links_of(entry, "parties")
    (_label, old, _new) = next(
        change
        for change in record_history_entries(agreement)[0].changes
        if "Hội LHPN xã" in change[2]
    )
    assert "Hội LHPN xã" not in old


def test_import_entry_holds_the_coordinating_units_the_file_set():
    """A row that changes only the coordinating units is an entry holding the new ones."""
    user = make_superuser()
    helper = make_unit(full_name="Đoàn Thanh niên xã")
    task = make_task(content="Ra quân làm sạch môi trường")
    rows = [
        ["Mã", "Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Đơn vị phối hợp"],
        [
            task.pk,
            task.agreement.number,
            task.year,
            task.content,
            task.lead_unit.full_name,
            helper.full_name,
        ],
    ]
    report = import_records(
        kind="tasks", data=xlsx_bytes(rows), file_name="ds.xlsx", user=user, dry_run=False
    )
    assert report.written and report.count_updated == 1, report.problems
    entry = task.history.latest("history_id")
    assert links_of(entry, "coordinating_units") == {helper.pk}
    assert links_of(task.history.earliest("history_id"), "coordinating_units") == set()


def test_history_revert_writes_one_entry(client):
    """Posting an old version's form as a manager restores it with one entry."""
    client.force_login(make_superuser())
    task = make_task(content="Bản đầu")
    first = task.history.get()
    task.content = "Bản sau"
    task.save()
    address = reverse("admin:coordination_task_simple_history", args=[task.pk, first.history_id])
    data = admin_form(client, address, "historicaltask_form")
    before = task.history.count()
    assert client.post(address, data).status_code == 302
    task.refresh_from_db()
    assert task.content == "Bản đầu"
    assert task.history.count() == before + 1


def test_migration_snapshot_copies_current_links_into_untracked_entries():
    """Entries written before links were tracked receive the links as they are now; entries
    that already hold links are left alone."""
    unit = make_unit(full_name="Mặt trận xã")
    task = make_task(coordinating_units=[unit])
    untracked = task.history.latest("history_id")
    untracked.coordinating_units.all().delete()
    field = Task._meta.get_field("coordinating_units")
    copy_links(Task.history.model, HistoricalRecords.m2m_models[field], field, "1 = 1", [])
    copy_links(Task.history.model, HistoricalRecords.m2m_models[field], field, "1 = 1", [])
    assert [link.unit_id for link in untracked.coordinating_units.all()] == [unit.pk]


def test_unit_merger_entry_holds_the_successor_as_coordinating_unit():
    """A merger hands an outstanding task's coordination to the successor: the task's new
    entry holds the successor, the one before still the dissolved unit."""
    old, successor = make_unit(full_name="Hội Nông dân xã cũ"), make_unit(full_name="Hội mới")
    task = make_task(coordinating_units=[old], status=TaskStatus.IN_PROGRESS)
    services.unit_merge(
        units=[old], successor=successor, dissolved_on=datetime.date(2025, 1, 1), user=None
    )
    latest, earlier = task.history.order_by("-history_id")[:2]
    assert links_of(latest, "coordinating_units") == {successor.pk}
    assert links_of(earlier, "coordinating_units") == {old.pk}


@pytest.mark.parametrize(
    ("model", "action", "status"),
    [
        ("task", "mark_done", TaskStatus.DONE),
        ("followup", "resolve", FollowUpStatus.RESOLVED),
        ("followup", "carry_over", FollowUpStatus.CARRIED_OVER),
    ],
)
def test_every_bulk_action_of_the_admin_writes_one_entry_per_record(model, action, status):
    """The admin's bulk actions write with update(), which skips save(): run from the list
    page as a person would, each still leaves exactly one entry per changed record, by the
    user who ran it."""
    user = make_superuser(username="quantri")
    client = Client()
    client.force_login(user)
    if model == "task":
        records = [make_task(status=TaskStatus.IN_PROGRESS) for _ in range(3)]
    else:
        records = [make_followup(status=FollowUpStatus.OPEN) for _ in range(3)]
    before = {record.pk: record.history.count() for record in records}
    response = client.post(
        reverse(f"admin:coordination_{model}_changelist"),
        {"action": action, "_selected_action": [record.pk for record in records]},
    )
    assert response.status_code == 302
    for record in records:
        assert record.history.count() == before[record.pk] + 1
        latest = record.history.latest("history_id")
        assert (latest.status, latest.history_user_id) == (status, user.pk)
        assert latest.history_type == "~"
