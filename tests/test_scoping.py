"""Roles, and unit staff reaching only their units' records through the admin."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from coordination.models import Task
from tests.factories import make_member, make_task, make_unit, make_user

pytestmark = pytest.mark.django_db

UNIT_STAFF, AUDITOR, ADMIN = "Cán bộ đơn vị", "Kiểm tra – giám sát", "Quản trị"


def url(model, view, *args):
    return reverse(f"admin:coordination_{model}_{view}", args=args)


@pytest.fixture
def scene():
    """Unit A's staff; a task A leads, a task B leads that A coordinates, a task only B has."""
    unit_a = make_unit(full_name="Ủy ban nhân dân xã Tân Hà", short_name="UBND xã")
    unit_b = make_unit(full_name="Hội Nông dân xã Tân Hà", short_name="HND xã")
    staff = make_user(username="staff_a")
    staff.groups.add(Group.objects.get(name=UNIT_STAFF))
    make_member(staff, unit_a)
    auditor = make_user(username="auditor")
    auditor.groups.add(Group.objects.get(name=AUDITOR))
    own = make_task(lead_unit=unit_a, content="Việc của Tân Hà")
    coordinated = make_task(lead_unit=unit_b, content="Việc phối hợp", coordinating_units=[unit_a])
    foreign = make_task(lead_unit=unit_b, content="Việc riêng của Hội")
    return locals()


def test_the_roles_exist_with_their_permissions():
    """The data migration creates the three roles: staff edit tasks, auditors only read."""
    staff = set(Group.objects.get(name=UNIT_STAFF).permissions.values_list("codename", flat=True))
    auditor = set(Group.objects.get(name=AUDITOR).permissions.values_list("codename", flat=True))
    admin = Group.objects.get(name=ADMIN).permissions.values_list("codename", flat=True)
    assert {"change_task", "import_task", "export_task", "view_agreement"} <= staff
    assert "change_agreement" not in staff and "view_all_units" not in staff
    assert {"view_task", "export_task", "view_all_units"} <= auditor
    assert not {code for code in auditor if code.split("_")[0] in {"add", "change", "delete"}}
    assert not {code for code in auditor if code.startswith("import_")}
    assert {"manage_all_units", "delete_task", "change_user"} <= set(admin)


def test_unit_staff_list_shows_only_records_involving_their_unit(client, scene):
    client.force_login(scene["staff"])
    shown = set(client.get(url("task", "changelist")).context["cl"].queryset)
    assert shown == {scene["own"], scene["coordinated"]}


def test_auditor_list_shows_every_unit(client, scene):
    client.force_login(scene["auditor"])
    assert client.get(url("task", "changelist")).context["cl"].queryset.count() == 3


def test_unit_staff_cannot_open_another_units_record(client, scene):
    """The change page of a record not involving their unit answers like a missing one."""
    client.force_login(scene["staff"])
    response = client.get(url("task", "change", scene["foreign"].pk))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    follow = client.get(url("task", "change", scene["foreign"].pk), follow=True)
    assert scene["foreign"].content not in follow.content.decode()


def test_a_coordinated_task_is_read_only_for_the_coordinating_unit(client, scene):
    client.force_login(scene["staff"])
    task = scene["coordinated"]
    page = client.get(url("task", "change", task.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    response = client.post(url("task", "change", task.pk), {"content": "Sửa trộm"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.content == "Việc phối hợp"


def test_unit_staff_cannot_give_a_task_to_another_unit(client, scene):
    """The lead unit must be one of theirs: the form refuses another unit, nothing changes."""
    client.force_login(scene["staff"])
    task = scene["own"]
    form = client.get(url("task", "change", task.pk)).context["adminform"].form
    assert set(form.fields["lead_unit"].queryset) == {scene["unit_a"]}
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, list)
    }
    data.update(lead_unit=scene["unit_b"].pk, agreement=task.agreement_id)
    response = client.post(url("task", "change", task.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get("lead_unit")
    assert Task.objects.get(pk=task.pk).lead_unit == scene["unit_a"]


def test_unit_names_stay_searchable_in_autocomplete(client, scene):
    """Choosing coordinating units needs every unit's name, whatever the user's unit."""
    client.force_login(scene["staff"])
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "coordination",
            "model_name": "task",
            "field_name": "coordinating_units",
            "term": "hoi nong dan",
        },
    )
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["Hội Nông dân xã Tân Hà"]


def test_unit_staff_cannot_read_another_units_record_through_its_history(client, scene):
    """The history pages of a record not involving their unit are closed too."""
    client.force_login(scene["staff"])
    task = scene["foreign"]
    version = task.history.latest("history_id")
    listing = client.get(url("task", "history", task.pk))
    assert listing.status_code in (302, 403, 404)
    assert task.content not in listing.content.decode()
    version_page = client.get(
        reverse("admin:coordination_task_simple_history", args=[task.pk, version.history_id])
    )
    assert version_page.status_code == 302
    assert task.content not in version_page.content.decode()
