"""The permission matrix: who may read and write what, by every admin and /records/ URL.

Users: anonymous, a "plain" user (unit staff's group and unit A, but no staff status), unit
staff of unit A (role "Cán bộ đơn vị", member of A), unit staff of unit B, an auditor
("Kiểm tra – giám sát"), an administrator ("Quản trị", is_staff) and a superuser. Records:
units A and B, an agreement both are parties to and one of each alone, their people and
signatories, an indicator per unit, a meeting each unit attended alone, a task each unit
leads, a task B leads and A only coordinates, and a follow-up item per unit.

Every refused request is checked twice: by its status code, and by `db_state()` (count and
hash of every coordination table, history and admin log) being the same before and after.
Every allowed write is checked by its effect, and by the other unit's records not moving.
"""

import csv
import datetime
import io
from types import SimpleNamespace

import pytest
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from coordination import kinds
from coordination.choices import (
    AgreementKind,
    FollowUpKind,
    FollowUpStatus,
    MeetingKind,
    TaskStatus,
    UnitKind,
    UnitLevel,
)
from coordination.models import (
    Agreement,
    FollowUp,
    Indicator,
    Meeting,
    Person,
    Signatory,
    Task,
    Unit,
)
from tests.factories import (
    days,
    db_state,
    make_agreement,
    make_followup,
    make_indicator,
    make_meeting,
    make_member,
    make_person,
    make_signatory,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    xlsx_bytes,
    xlsx_values,
)
from tests.forms import form_data, select_options
from tests.shared import fresh, rolled_back

pytestmark = pytest.mark.django_db

ADMIN_GROUP, UNIT_STAFF_GROUP, AUDITOR_GROUP = "Quản trị", "Cán bộ đơn vị", "Kiểm tra – giám sát"

ROLES = ["anonymous", "plain", "staff_a", "staff_b", "auditor", "admin", "superuser"]
#: Sent to the login page by every URL: not signed in, or signed in without staff status
#: (whatever their groups, permissions and units).
TO_LOGIN = ("anonymous", "plain")
#: The roles that use the site.
USERS = [role for role in ROLES if role not in TO_LOGIN]
STAFF = ("staff_a", "staff_b")
MANAGERS = ("admin", "superuser")

MODELS = {
    "unit": Unit,
    "person": Person,
    "agreement": Agreement,
    "signatory": Signatory,
    "indicator": Indicator,
    "meeting": Meeting,
    "task": Task,
    "followup": FollowUp,
}
#: The record kinds of the spreadsheets (coordination.kinds) by admin model.
SPREADSHEET_KINDS = {
    "unit": "units",
    "person": "people",
    "agreement": "agreements",
    "signatory": "signatories",
    "indicator": "indicators",
    "meeting": "meetings",
    "task": "tasks",
    "followup": "followups",
}
#: The /records/ kinds and their models.
RECORD_KINDS = {
    "units": "unit",
    "people": "person",
    "agreements": "agreement",
    "signatories": "signatory",
    "meetings": "meeting",
    "tasks": "task",
    "followups": "followup",
    "indicators": "indicator",
}
#: Models whose admin is a SimpleHistoryAdmin (history list and version pages of their own).
HISTORY_MODELS = ("agreement", "task", "followup")
#: Models unit staff may add, change and import (migration 0005: their role's permissions).
STAFF_WRITES = ("task", "followup", "indicator")
#: The text field each change test edits, per model.
EDITED_FIELD = {
    "unit": "full_name",
    "person": "full_name",
    "agreement": "title",
    "signatory": "position",
    "indicator": "name",
    "meeting": "title",
    "task": "content",
    "followup": "content",
}
#: Who besides admins owns ("may change") each shared record: an agreement belongs to all
#: its parties; a task only to its lead unit (B), not to the unit coordinating it (A).
SHARED_OWNERS = {"agreement": ("staff_a", "staff_b"), "task": ("staff_b",)}


# ---------------------------------------------------------------------------------------------
# Who sees and owns which record: the rules of coordination/scoping.py, spelled out per key
# ---------------------------------------------------------------------------------------------


def unit_of(role: str) -> str:
    """The key ("a" or "b") of a unit staff member's unit."""
    return role[-1]


def sees(role: str, key: str) -> bool:
    """Whether `role` may read the world's record `key` ("a", "b" or "shared")."""
    return role not in STAFF or key in (unit_of(role), "shared")


def owns(role: str, model: str, key: str) -> bool:
    """Whether `role`'s units own record `key` (admins own everything, auditors nothing)."""
    if role in MANAGERS:
        return True
    if role not in STAFF:
        return False
    if key == "shared":
        return role in SHARED_OWNERS[model]
    return key == unit_of(role)


def keys_of(model: str) -> tuple[str, ...]:
    """The world's records of `model`: one per unit, and the shared one if there is one."""
    return ("a", "b", "shared") if model in SHARED_OWNERS else ("a", "b")


def may_write(role: str, model: str) -> bool:
    """Whether `role` holds the add/change permission of `model` at all."""
    return role in MANAGERS or (role in STAFF and model in STAFF_WRITES)


# ---------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_town(django_db_setup, django_db_blocker):
    """The town, built once for the module (about 1,800 tests) in a transaction rolled back
    at its end (tests/shared.py)."""
    with rolled_back(django_db_blocker):
        yield build_town()


@pytest.fixture
def town(db, built_town):
    """Units A and B, the records of each and of both, and one user per role: the module's
    records, in the test's own savepoint, with the test's own copies of their objects."""
    return fresh(built_town)


def build_town():
    """Units A and B, the records of each and of both, and one user per role."""
    a = make_unit(
        full_name="Ủy ban nhân dân xã Tân Hà",
        short_name="UBND xã Tân Hà",
        level=UnitLevel.COMMUNE,
        locality="xã Tân Hà, huyện Hàm Tân",
    )
    b = make_unit(
        full_name="Hội Nông dân xã Tân Xuân",
        short_name="HND xã Tân Xuân",
        kind=UnitKind.SOCIO_POLITICAL,
        level=UnitLevel.COMMUNE,
        locality="xã Tân Xuân, huyện Hàm Tân",
    )
    person_a = make_person(full_name="Nguyễn Văn Hà", position="Chủ tịch UBND xã", unit=a)
    person_b = make_person(full_name="Trần Thị Xuân", position="Chủ tịch Hội", unit=b)
    shared = make_agreement(
        number="05/QCPH-TH-TX",
        title="Quy chế phối hợp liên xã Tân Hà – Tân Xuân",
        start_year=2024,
        end_year=2025,
        signed_on=datetime.date(2024, 1, 5),
        parties=[a, b],
    )
    agreement_a = make_agreement(
        number="01/KH-TH",
        title="Kế hoạch riêng của xã Tân Hà",
        kind=AgreementKind.PLAN,
        start_year=2024,
        end_year=2024,
        signed_on=datetime.date(2024, 1, 8),
        parties=[a],
    )
    agreement_b = make_agreement(
        number="02/KH-TX",
        title="Kế hoạch riêng của Hội Nông dân Tân Xuân",
        kind=AgreementKind.PLAN,
        start_year=2024,
        end_year=2024,
        signed_on=datetime.date(2024, 1, 9),
        parties=[b],
    )
    signatory_a = make_signatory(
        agreement=agreement_a, person=person_a, unit=a, position="Chủ tịch UBND xã"
    )
    signatory_b = make_signatory(
        agreement=agreement_b, person=person_b, unit=b, position="Chủ tịch Hội Nông dân"
    )
    indicator_a = make_indicator(
        agreement=shared, year=2024, unit=a, name="Tỷ lệ hộ gia đình văn hóa ở Tân Hà"
    )
    indicator_b = make_indicator(
        agreement=shared, year=2024, unit=b, name="Tỷ lệ hội viên nông dân ở Tân Xuân"
    )
    meeting_a = make_meeting(
        title="Hội nghị sơ kết của Tân Hà",
        held_on=datetime.date(2024, 7, 1),
        period_from_year=2024,
        period_to_year=2024,
    )
    meeting_a.attending_units.add(a)
    meeting_b = make_meeting(
        title="Hội nghị sơ kết của Tân Xuân",
        held_on=datetime.date(2024, 7, 2),
        period_from_year=2024,
        period_to_year=2024,
    )
    meeting_b.attending_units.add(b)
    task_a = make_task(
        agreement=shared,
        year=2024,
        content="Nhiệm vụ riêng của Tân Hà",
        lead_unit=a,
        due_date=days(30),
    )
    task_b = make_task(
        agreement=shared,
        year=2024,
        content="Nhiệm vụ riêng của Tân Xuân",
        lead_unit=b,
        due_date=days(30),
    )
    task_shared = make_task(
        agreement=shared,
        year=2024,
        content="Nhiệm vụ Tân Xuân chủ trì, Tân Hà phối hợp",
        lead_unit=b,
        coordinating_units=[a],
        due_date=days(30),
    )
    followup_a = make_followup(
        year=2024,
        content="Tồn tại, hạn chế của Tân Hà",
        responsible_unit=a,
        agreement=shared,
        raised_on=datetime.date(2024, 1, 10),
        due_date=days(30),
    )
    followup_b = make_followup(
        year=2024,
        content="Tồn tại, hạn chế của Tân Xuân",
        responsible_unit=b,
        agreement=shared,
        raised_on=datetime.date(2024, 1, 10),
        due_date=days(30),
    )

    users = {}
    for role, group, unit in [
        ("staff_a", UNIT_STAFF_GROUP, a),
        ("staff_b", UNIT_STAFF_GROUP, b),
        ("auditor", AUDITOR_GROUP, None),
        ("admin", ADMIN_GROUP, None),
    ]:
        user = make_user(username=role, is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        if unit is not None:
            make_member(user, unit)
        users[role] = user
    users["superuser"] = make_superuser(username="superuser")
    # Unit staff's group and unit, without staff status: the permissions must not matter.
    users["plain"] = make_user(username="plain", is_staff=False)
    users["plain"].groups.add(Group.objects.get(name=UNIT_STAFF_GROUP))
    make_member(users["plain"], a)

    records = {
        "unit": {"a": a, "b": b},
        "person": {"a": person_a, "b": person_b},
        "agreement": {"a": agreement_a, "b": agreement_b, "shared": shared},
        "signatory": {"a": signatory_a, "b": signatory_b},
        "indicator": {"a": indicator_a, "b": indicator_b},
        "meeting": {"a": meeting_a, "b": meeting_b},
        "task": {"a": task_a, "b": task_b, "shared": task_shared},
        "followup": {"a": followup_a, "b": followup_b},
    }
    return SimpleNamespace(a=a, b=b, units={"a": a, "b": b}, records=records, users=users)


def client_for(town, role: str) -> Client:
    """A test client logged in as `role` (not logged in for "anonymous")."""
    client = Client()
    if role != "anonymous":
        client.force_login(town.users[role])
    return client


def visible_pks(town, role: str, model: str) -> set[int]:
    """The pks of `model` that `role` may read: every record, or those of their unit."""
    if role not in STAFF:
        return set(MODELS[model].objects.values_list("pk", flat=True))
    return {record.pk for key, record in town.records[model].items() if sees(role, key)}


def records_of(town, unit_key: str) -> dict:
    """Every field of every world record that only unit `unit_key` owns, to compare."""
    return {
        (model, key): MODELS[model]._base_manager.filter(pk=record.pk).values().first()
        for model, by_key in town.records.items()
        for key, record in by_key.items()
        if key == unit_key
    }


# ---------------------------------------------------------------------------------------------
# URLs, responses, forms and files
# ---------------------------------------------------------------------------------------------


def admin_url(model: str, view: str, *args) -> str:
    return reverse(f"admin:coordination_{model}_{view}", args=args)


LOGIN = reverse("admin:login")


def assert_login_redirect(response, address: str) -> None:
    """Anonymous users are sent to the admin login page, coming back afterwards."""
    assert response.status_code == 302, address
    assert response["Location"].startswith(f"{LOGIN}?next="), response["Location"]


def assert_not_found_redirect(response) -> None:
    """Django admin's answer to a change page of a record outside the user's queryset."""
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def messages_of(response) -> list[str]:
    return [str(message.message) for message in get_messages(response.wsgi_request)]


def content_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def vi(message: str) -> str:
    with translation.override("vi"):
        return gettext(message)


def label(choice) -> str:
    """A choice's label as a Vietnamese spreadsheet spells it."""
    with translation.override("vi"):
        return str(choice.label)


def ids_in_rows(rows) -> set[int]:
    """The record numbers (first column, "Mã") of an exported file's rows."""
    assert rows, "empty export"
    assert rows[0][0] == vi("Record no."), rows[0]
    return {int(row[0]) for row in rows[1:] if row and row[0] not in (None, "")}


def exported_rows(response, file_format: str) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = content_of(response)
    if file_format == "xlsx":
        return xlsx_values(data)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def spreadsheet(kind: str, *rows: dict) -> bytes:
    """An .xlsx file of `rows` ({attribute: value}) under the Vietnamese headers of `kind`."""
    with translation.override("vi"):
        columns = [
            column for column in kinds.get(kind).resource.columns() if column.attribute in rows[0]
        ]
        header = [str(column.column_name) for column in columns]
    return xlsx_bytes([header, *([row[c.attribute] for c in columns] for row in rows)])


# ---------------------------------------------------------------------------------------------
# Admin pages (GET): changelist, add, change, delete, history of every model
# ---------------------------------------------------------------------------------------------


def page_status(role: str, model: str, view: str, key: str | None) -> int | str:
    """The status code of an admin page, or "login"/"missing" for the two redirects.

    - anonymous and plain (no staff status): the login page, for every URL;
    - admins and superusers: every page;
    - the add page needs the add permission (unit staff: tasks, items, indicators);
    - the delete page needs the delete permission, which only admins have (403 first:
      Django checks the permission before it looks at whether the record exists);
    - auditors read every record; unit staff read their units' records, and a record of
      another unit is "missing" (redirect to the admin index, as for a deleted record), its
      history pages included.
    """
    if role in TO_LOGIN:
        return "login"
    if role in MANAGERS:
        return 200
    if view == "add":
        return 200 if may_write(role, model) else 403
    if view == "delete":
        return 403
    if role == "auditor" or view == "changelist" or sees(role, key):
        return 200
    return "missing"


def admin_page_cases():
    for model in MODELS:
        keys = keys_of(model)
        views = [("changelist", None), ("add", None)]
        views += [(view, key) for view in ("change", "delete", "history") for key in keys]
        for view, key in views:
            for role in ROLES:
                name = f"{role}-{model}-{view}" + (f"[{key}]" if key else "")
                yield pytest.param(role, model, view, key, id=name)


@pytest.mark.parametrize(("role", "model", "view", "key"), list(admin_page_cases()))
def test_admin_page(town, role, model, view, key):
    """Each admin page answers each user as the matrix says, and reading writes nothing.

    A page shown to unit staff for another unit's record never names that record."""
    args = [town.records[model][key].pk] if key else []
    address = admin_url(model, view, *args)
    before = db_state()
    response = client_for(town, role).get(address)
    expected = page_status(role, model, view, key)
    if expected == "login":
        assert_login_redirect(response, address)
    elif expected == "missing":
        assert_not_found_redirect(response)
    else:
        assert response.status_code == expected, address
    if key and not sees(role, key) and role not in TO_LOGIN:
        record = town.records[model][key]
        assert str(record) not in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize("role", ROLES)
def test_admin_index_and_app_index(town, role):
    """The admin index and the coordination app index: login for anonymous and
    plain users, else shown."""
    for address in [reverse("admin:index"), reverse("admin:app_list", args=["coordination"])]:
        response = client_for(town, role).get(address)
        if role in TO_LOGIN:
            assert_login_redirect(response, address)
        else:
            assert response.status_code == 200, address


def test_a_user_without_staff_status_cannot_sign_in(town):
    """The admin's sign-in page is the site's only one, and it refuses a user without staff
    status even with the right password ("tài khoản nhân viên"): no session is opened, so
    neither the admin nor /records/ opens, and nothing is written."""
    plain = town.users["plain"]
    plain.set_password("Tan-Ha-dung-mat-khau-2026")
    plain.save()
    client = Client()
    before = db_state()
    response = client.post(
        LOGIN,
        {"username": "plain", "password": "Tan-Ha-dung-mat-khau-2026", "next": "/records/"},
    )
    assert response.status_code == 200
    with translation.override("vi"):
        username = get_user_model()._meta.get_field("username").verbose_name
        expected = AdminAuthenticationForm.error_messages["invalid_login"] % {"username": username}
        assert response.context["form"].non_field_errors() == [expected]
    assert "_auth_user_id" not in client.session
    for address in [reverse("admin:index"), reverse("coordination:records")]:
        assert_login_redirect(client.get(address), address)
    assert db_state() == before


def change_page_flags(role: str, model: str, key: str) -> bool:
    """Whether the change page of a record offers saving: the change permission and the
    record's unit among the user's units."""
    return may_write(role, model) and owns(role, model, key)


@pytest.mark.parametrize(
    ("role", "model", "key"),
    [
        pytest.param(role, model, key, id=f"{role}-{model}-change-page[{key}]")
        for model in MODELS
        for key in keys_of(model)
        for role in USERS
        if sees(role, key)
    ],
)
def test_change_page_is_read_only_unless_the_user_may_change_the_record(town, role, model, key):
    """A visible record's change page lets the user save only records they may change:
    auditors never, unit staff only records their unit owns (not a task they coordinate)."""
    record = town.records[model][key]
    response = client_for(town, role).get(admin_url(model, "change", record.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is change_page_flags(role, model, key)
    assert response.context["has_delete_permission"] is (role in MANAGERS)


def version_page_cases():
    for model in HISTORY_MODELS:
        for key in keys_of(model):
            for role in ROLES:
                yield pytest.param(role, model, key, id=f"{role}-{model}-history-version[{key}]")


@pytest.mark.parametrize(("role", "model", "key"), list(version_page_cases()))
def test_history_version_page(town, role, model, key):
    """One historical version of a record (simple-history's page): readable by whoever may
    read the record; for unit staff, another unit's record is "missing" (as its change page)."""
    record = town.records[model][key]
    version = record.history.latest("history_id")
    address = admin_url(model, "simple_history", record.pk, version.history_id)
    before = db_state()
    response = client_for(town, role).get(address)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    elif sees(role, key):
        assert response.status_code == 200
    else:
        assert_not_found_redirect(response)
        assert str(record) not in response.content.decode()
    assert db_state() == before


# ---------------------------------------------------------------------------------------------
# Admin writes: add, change, delete, history revert
# ---------------------------------------------------------------------------------------------


def add_values(town, model: str, unit_key: str) -> dict:
    """The fields of a new record of `model` belonging to unit `unit_key`."""
    unit = town.units[unit_key]
    agreement = town.records["agreement"]["shared"]
    person = town.records["person"][unit_key]
    return {
        "unit": {
            "full_name": "Đoàn Thanh niên xã thêm mới",
            "kind": UnitKind.SOCIO_POLITICAL,
            "level": UnitLevel.COMMUNE,
            "locality": "xã Tân Hà, huyện Hàm Tân",
        },
        "person": {"full_name": "Cán bộ thêm mới", "position": "Chuyên viên", "unit": unit.pk},
        "agreement": {
            "number": "99/KH-MOI",
            "title": "Kế hoạch thêm mới",
            "kind": AgreementKind.PLAN,
            "start_year": "2024",
            "end_year": "2024",
        },
        "signatory": {
            "agreement": agreement.pk,
            "person": person.pk,
            "unit": unit.pk,
            "position": "Chữ ký thêm mới",
        },
        "indicator": {
            "agreement": agreement.pk,
            "year": "2024",
            "unit": unit.pk,
            "name": "Chỉ tiêu thêm mới",
            "measure": "%",
            "target": "95",
        },
        "meeting": {
            "title": "Hội nghị thêm mới",
            "kind": MeetingKind.INTERIM,
            "held_on": "15/07/2024",
            "attending_units": [unit.pk],
        },
        "task": {
            "agreement": agreement.pk,
            "year": "2024",
            "content": "Nhiệm vụ thêm mới",
            "lead_unit": unit.pk,
            "status": TaskStatus.NOT_STARTED,
            "progress": "0",
        },
        "followup": {
            "kind": FollowUpKind.LIMITATION,
            "year": "2024",
            "content": "Hạn chế thêm mới",
            "responsible_unit": unit.pk,
            "status": FollowUpStatus.OPEN,
        },
    }[model]


def add_post(town, model: str, unit_key: str) -> dict:
    """The add form as the superuser's page renders it (inline management forms included),
    filled in for a record of unit `unit_key`."""
    page = client_for(town, "superuser").get(admin_url(model, "add"))
    data = form_data(page.content.decode(), f"{model}_form")
    data.update(add_values(town, model, unit_key))
    return data


def created(model: str) -> bool:
    field = EDITED_FIELD[model]
    return MODELS[model].objects.filter(**{f"{field}__contains": "thêm mới"}).exists()


@pytest.mark.parametrize(
    ("role", "model"),
    [pytest.param(role, model, id=f"{role}-{model}-add") for model in MODELS for role in ROLES],
)
def test_add_post(town, role, model):
    """Adding a record of the user's own unit (unit A for everyone but staff B): admins may
    add anything, unit staff tasks, items and indicators; auditors, plain users and the
    anonymous nothing."""
    unit_key = unit_of(role) if role in STAFF else "a"
    data = add_post(town, model, unit_key)
    other = records_of(town, "b" if unit_key == "a" else "a")
    before = db_state()
    address = admin_url(model, "add")
    response = client_for(town, role).post(address, data)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    elif may_write(role, model):
        assert response.status_code == 302, (
            response.context and response.context["adminform"].form.errors
        )
        assert created(model)
        assert records_of(town, "b" if unit_key == "a" else "a") == other
        return
    else:
        assert response.status_code == 403
    assert not created(model)
    assert db_state() == before


def change_post(town, model: str, key: str, value: str) -> tuple[str, dict]:
    """The change form of a record as the superuser's page renders it, with its edited
    field set to `value`."""
    address = admin_url(model, "change", town.records[model][key].pk)
    page = client_for(town, "superuser").get(address)
    data = form_data(page.content.decode(), f"{model}_form")
    data[EDITED_FIELD[model]] = value
    return address, data


def change_outcome(role: str, model: str, key: str) -> str:
    """What a change POST does:

    - "login" for anonymous and plain users;
    - "saved" when the user has the change permission and their unit owns the record;
    - "forbidden" (403) without the change permission (auditors; unit staff on units,
      people, agreements, signatories, meetings), or on a record they may only read (a task
      their unit coordinates): Django checks the permission with the record in hand;
    - "missing" (redirect to the admin index) for another unit's record: the permission to
      change that model is there, the record is not in the user's queryset.
    """
    if role in TO_LOGIN:
        return "login"
    if not may_write(role, model):
        return "forbidden"
    if owns(role, model, key):
        return "saved"
    return "forbidden" if sees(role, key) else "missing"


def change_cases():
    for model in MODELS:
        for key in keys_of(model):
            for role in ROLES:
                yield pytest.param(role, model, key, id=f"{role}-{model}-change[{key}]")


@pytest.mark.parametrize(("role", "model", "key"), list(change_cases()))
def test_change_post(town, role, model, key):
    """A change POST saves only what the user may change; otherwise nothing is written."""
    record = town.records[model][key]
    value = f"Sửa bởi {role}"
    address, data = change_post(town, model, key, value)
    untouched = "b" if role == "staff_a" else "a"
    others = records_of(town, untouched)
    before = db_state()
    response = client_for(town, role).post(address, data)
    outcome = change_outcome(role, model, key)
    stored = MODELS[model].objects.values_list(EDITED_FIELD[model], flat=True).get(pk=record.pk)
    if outcome == "saved":
        assert response.status_code == 302, (
            response.context and response.context["adminform"].form.errors
        )
        assert stored == value
        if role in STAFF:
            assert records_of(town, untouched) == others
        return
    if outcome == "login":
        assert_login_redirect(response, address)
    elif outcome == "missing":
        assert_not_found_redirect(response)
    else:
        assert response.status_code == 403
    assert stored != value
    assert db_state() == before


MOVE_FIELDS = {"task": "lead_unit", "followup": "responsible_unit", "indicator": "unit"}


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-move")
        for role in STAFF
        for model in MOVE_FIELDS
    ],
)
def test_unit_staff_cannot_move_a_record_to_another_unit(town, role, model):
    """Changing the owning unit of their own record to the other unit is a form error: the
    unit is not among the choices, and the record stays where it was."""
    own, other = unit_of(role), "b" if unit_of(role) == "a" else "a"
    record = town.records[model][own]
    field = MOVE_FIELDS[model]
    address, data = change_post(town, model, own, f"Chuyển sang đơn vị khác bởi {role}")
    data[field] = str(town.units[other].pk)
    before = db_state()
    response = client_for(town, role).post(address, data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert field in form.errors
    assert set(form.fields[field].queryset) == {town.units[own]}
    assert db_state() == before
    record.refresh_from_db()
    assert getattr(record, f"{field}_id") == town.units[own].pk


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-add-for-other")
        for role in STAFF
        for model in MOVE_FIELDS
    ],
)
def test_unit_staff_cannot_add_a_record_for_another_unit(town, role, model):
    """Adding a task, item or indicator for the other unit is a form error; nothing is added."""
    other = "b" if unit_of(role) == "a" else "a"
    data = add_post(town, model, unit_of(role))
    data[MOVE_FIELDS[model]] = str(town.units[other].pk)
    before = db_state()
    response = client_for(town, role).post(admin_url(model, "add"), data)
    assert response.status_code == 200
    assert MOVE_FIELDS[model] in response.context["adminform"].form.errors
    assert db_state() == before


HIDDEN_REFERENCES = [
    # (model, field, world record of the other unit it points to)
    ("task", "agreement", ("agreement", "b")),
    ("task", "meeting", ("meeting", "b")),
    ("followup", "agreement", ("agreement", "b")),
    ("followup", "meeting", ("meeting", "b")),
    ("followup", "carried_over_from", ("followup", "b")),
    ("followup", "repeats", ("followup", "b")),
    ("indicator", "agreement", ("agreement", "b")),
]


@pytest.mark.parametrize(
    ("model", "field", "target"),
    [
        pytest.param(*case, id=f"staff_a-{case[0]}-{case[1]}-to-B-record")
        for case in HIDDEN_REFERENCES
    ],
)
def test_unit_staff_cannot_link_their_record_to_a_record_they_cannot_see(
    town, model, field, target
):
    """Staff of A cannot point their own record at a record only B may see (B's own
    agreement, meeting or follow-up item): the autocomplete never offers it, and a forged
    POST naming it is a form error that writes nothing."""
    address, data = change_post(town, model, "a", f"Liên kết trái phép {field}")
    data[field] = str(town.records[target[0]][target[1]].pk)
    before = db_state()
    response = client_for(town, "staff_a").post(address, data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert db_state() == before


def test_a_link_already_made_stays_a_valid_choice(town):
    """A task of A that an administrator filed under B's own agreement can still be saved by
    staff of A: the current agreement stays a choice, other hidden agreements do not."""
    task = town.records["task"]["a"]
    Task.objects.filter(pk=task.pk).update(agreement=town.records["agreement"]["b"])
    address, data = change_post(town, "task", "a", "Vẫn lưu được với văn bản cũ")
    response = client_for(town, "staff_a").post(address, data)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.content == "Vẫn lưu được với văn bản cũ"
    assert task.agreement == town.records["agreement"]["b"]
    page = client_for(town, "staff_a").get(
        admin_url("followup", "change", town.records["followup"]["a"].pk)
    )
    choices = page.context["adminform"].form.fields["agreement"].queryset
    assert town.records["agreement"]["b"] not in set(choices)


def test_inline_lists_show_unit_staff_only_what_they_may_see(town):
    """The shared agreement's page shows staff of A its tasks and indicators that involve A
    (their own, and B's task A coordinates), never B's own."""
    shared = town.records["agreement"]["shared"]
    response = client_for(town, "staff_a").get(admin_url("agreement", "change", shared.pk))
    assert response.status_code == 200
    shown = {
        formset.formset.model: {form.instance.pk for form in formset.formset.forms}
        for formset in response.context["inline_admin_formsets"]
    }
    records = town.records
    assert shown[Task] == {records["task"]["a"].pk, records["task"]["shared"].pk}
    assert shown[Indicator] == {records["indicator"]["a"].pk}
    everything = client_for(town, "admin").get(admin_url("agreement", "change", shared.pk))
    tasks = {
        form.instance.pk
        for formset in everything.context["inline_admin_formsets"]
        if formset.formset.model is Task
        for form in formset.formset.forms
    }
    assert records["task"]["b"].pk in tasks


def delete_victim(town, model: str):
    """A fresh record of unit A nothing depends on (the world's records are protected)."""
    a = town.a
    return {
        "unit": lambda: make_unit(full_name="Tổ công tác sắp giải thể"),
        "person": lambda: make_person(full_name="Cán bộ sắp nghỉ", unit=a),
        "agreement": lambda: make_agreement(number="98/KH-XOA", parties=[a]),
        "signatory": lambda: make_signatory(
            agreement=town.records["agreement"]["a"],
            person=make_person(full_name="Người ký sẽ xóa", unit=a),
            unit=a,
        ),
        "indicator": lambda: make_indicator(
            agreement=town.records["agreement"]["shared"], year=2024, unit=a
        ),
        "meeting": lambda: make_meeting(title="Hội nghị sẽ xóa"),
        "task": lambda: make_task(
            agreement=town.records["agreement"]["shared"], year=2024, lead_unit=a
        ),
        "followup": lambda: make_followup(year=2024, responsible_unit=a),
    }[model]()


@pytest.mark.parametrize(
    ("role", "model"),
    [pytest.param(role, model, id=f"{role}-{model}-delete") for model in MODELS for role in ROLES],
)
def test_delete_post(town, role, model):
    """Confirming a deletion: only admins and superusers delete; everyone else is refused
    (unit staff and auditors hold no delete permission) and the record stays."""
    victim = delete_victim(town, model)
    if model == "meeting":
        victim.attending_units.add(town.a)
    address = admin_url(model, "delete", victim.pk)
    before = db_state()
    response = client_for(town, role).post(address, {"post": "yes"})
    exists = MODELS[model].objects.filter(pk=victim.pk).exists()
    if role in MANAGERS:
        assert response.status_code == 302
        assert response["Location"] == admin_url(model, "changelist")
        assert not exists
        return
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    else:
        assert response.status_code == 403
    assert exists
    assert db_state() == before


@pytest.mark.parametrize(
    ("role", "model", "key"),
    [
        pytest.param(role, model, key, id=f"{role}-{model}-delete[{key}]")
        for role in STAFF
        for model in MODELS
        for key in ("a", "b")
    ],
)
def test_unit_staff_cannot_delete_any_record(town, role, model, key):
    """Unit staff delete nothing, their own unit's records included (403 either way)."""
    record = town.records[model][key]
    before = db_state()
    response = client_for(town, role).post(admin_url(model, "delete", record.pk), {"post": "yes"})
    assert response.status_code == 403
    assert db_state() == before


def revert_cases():
    for model in HISTORY_MODELS:
        for key in keys_of(model):
            for role in ROLES:
                yield pytest.param(role, model, key, id=f"{role}-{model}-history-revert[{key}]")


@pytest.mark.parametrize(("role", "model", "key"), list(revert_cases()))
def test_history_revert_post(town, role, model, key):
    """POSTing a historical version's form (simple-history's "revert") is a change: it is
    saved only for users who may change the record, and refused (403) otherwise; for unit
    staff, another unit's record is "missing" (as its change page)."""
    record = town.records[model][key]
    version = record.history.latest("history_id")
    address = admin_url(model, "simple_history", record.pk, version.history_id)
    value = f"Khôi phục bởi {role}"
    page = client_for(town, "superuser").get(address)
    data = form_data(page.content.decode(), f"historical{model}_form")
    data[EDITED_FIELD[model]] = value
    before = db_state()
    response = client_for(town, role).post(address, data)
    stored = MODELS[model].objects.values_list(EDITED_FIELD[model], flat=True).get(pk=record.pk)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    elif may_write(role, model) and owns(role, model, key):
        assert response.status_code == 302
        assert stored == value
        return
    elif role in STAFF and not sees(role, key):
        assert_not_found_redirect(response)
    else:
        assert response.status_code == 403
    assert stored != value
    assert db_state() == before


def test_unit_staff_cannot_take_over_a_coordinated_task_through_its_history(town):
    """Staff of A, who only coordinate the task B leads, cannot make A its lead unit by
    posting its historical version's form: refused (403), the task stays B's."""
    task = town.records["task"]["shared"]
    version = task.history.latest("history_id")
    address = admin_url("task", "simple_history", task.pk, version.history_id)
    page = client_for(town, "superuser").get(address)
    data = form_data(page.content.decode(), "historicaltask_form")
    data.update(lead_unit=str(town.a.pk), content="Tân Hà chiếm nhiệm vụ")
    before = db_state()
    response = client_for(town, "staff_a").post(address, data)
    task.refresh_from_db()
    assert (task.lead_unit_id, task.content) == (
        town.b.pk,
        "Nhiệm vụ Tân Xuân chủ trì, Tân Hà phối hợp",
    )
    assert response.status_code == 403
    assert db_state() == before


# ---------------------------------------------------------------------------------------------
# Bulk actions
# ---------------------------------------------------------------------------------------------


def action_done(model: str, action: str, pk: int) -> bool:
    """Whether `action` took effect on record `pk`."""
    record = MODELS[model].objects.filter(pk=pk).first()
    if action == "delete_selected":
        return record is None
    if action == "mark_done":
        return record.status == TaskStatus.DONE
    if action == "resolve":
        return record.status == FollowUpStatus.RESOLVED
    return (
        record.status == FollowUpStatus.CARRIED_OVER
        and FollowUp.objects.filter(carried_over_from=record).exists()
    )


def action_outcome(role: str, model: str, action: str, key: str) -> str:
    """What a bulk action POST does:

    - "login" for anonymous and plain users;
    - "unavailable": the action needs a permission the user lacks (auditors: any; unit
      staff: delete_selected), so Django does not offer it and runs nothing: it redirects
      back with "No action selected." when it offers the user other actions on that list,
      else shows the list again (200) without action checkboxes;
    - "done" for records the user may change (the action redirects back to the list);
    - "skipped" for records the user may not change (another unit's, or a task their unit
      only coordinates): the action runs on none of them and redirects back.
    """
    if role in TO_LOGIN:
        return "login"
    needs = "delete" if action == "delete_selected" else "change"
    if role == "auditor" or (role in STAFF and needs == "delete"):
        return "unavailable"
    return "done" if owns(role, model, key) else "skipped"


ACTIONS = [
    ("task", "mark_done"),
    ("followup", "resolve"),
    ("followup", "carry_over"),
    ("task", "delete_selected"),
    ("followup", "delete_selected"),
    ("indicator", "delete_selected"),
]


def action_cases():
    for model, action in ACTIONS:
        for key in keys_of(model):
            for role in ROLES:
                yield pytest.param(role, model, action, key, id=f"{role}-{model}-{action}[{key}]")


@pytest.mark.parametrize(("role", "model", "action", "key"), list(action_cases()))
def test_bulk_action(town, role, model, action, key):
    """An admin action on one selected record runs only where the user may change it."""
    record = town.records[model][key]
    address = admin_url(model, "changelist")
    data = {"action": action, "_selected_action": [record.pk], "index": "0", "post": "yes"}
    before = db_state()
    untouched = "b" if role == "staff_a" else "a"
    others = records_of(town, untouched)
    response = client_for(town, role).post(address, data)
    outcome = action_outcome(role, model, action, key)
    if outcome == "done":
        assert response.status_code == 302
        assert action_done(model, action, record.pk)
        if role in STAFF:
            assert records_of(town, untouched) == others
        return
    if outcome == "login":
        assert_login_redirect(response, address)
    elif outcome == "unavailable" and role in STAFF and model in ("task", "followup"):
        # Other actions are offered (mark done, resolve, carry over), not this one: Django
        # says "No action selected." and redirects back to the list.
        assert response.status_code == 302
        assert messages_of(response) == [vi("No action selected.")]
    elif outcome == "unavailable":
        # No action at all is offered: the list is shown again, without action checkboxes.
        assert response.status_code == 200
        assert response.context["action_form"] is None
    else:
        assert response.status_code == 302
    assert not action_done(model, action, record.pk)
    assert db_state() == before


# ---------------------------------------------------------------------------------------------
# Import through the admin: upload an .xlsx, preview, confirm
# ---------------------------------------------------------------------------------------------


def import_row(town, model: str, unit_key: str, text: str) -> dict:
    """A spreadsheet row of `model` for unit `unit_key` (attribute → cell)."""
    unit = town.units[unit_key]
    agreement = town.records["agreement"]["shared"]
    return {
        "unit": {
            "full_name": text,
            "short_name": "ĐTN",
            "kind": label(UnitKind.SOCIO_POLITICAL),
            "level": label(UnitLevel.COMMUNE),
            "locality": "xã Tân Hà, huyện Hàm Tân",
        },
        "task": {
            "agreement": agreement.number,
            "year": 2024,
            "content": text,
            "lead_unit": unit.full_name,
        },
        "followup": {
            "kind": label(FollowUpKind.LIMITATION),
            "year": 2024,
            "content": text,
            "responsible_unit": unit.full_name,
        },
        "indicator": {
            "agreement": agreement.number,
            "year": 2024,
            "unit": unit.full_name,
            "name": text,
            "target": 95,
        },
    }[model]


IMPORTED_FIELD = {
    "unit": "full_name",
    "task": "content",
    "followup": "content",
    "indicator": "name",
}


def import_outcome(role: str, model: str) -> str:
    if role in TO_LOGIN:
        return "login"
    return "imported" if may_write(role, model) else "forbidden"


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-import")
        for model in ("task", "followup", "indicator", "unit")
        for role in ROLES
    ],
)
def test_import_upload_and_confirm(town, role, model):
    """Upload an .xlsx of the user's own unit and confirm it: admins import every kind, unit
    staff tasks, items and indicators; auditors are refused (403) at both steps and the
    anonymous and plain users sent to the login page; a refused import writes nothing."""
    unit_key = unit_of(role) if role in STAFF else "a"
    text = f"Nhập từ tệp bởi {role}"
    data = spreadsheet(SPREADSHEET_KINDS[model], import_row(town, model, unit_key, text))
    client = client_for(town, role)
    before = db_state()
    upload = client.post(
        admin_url(model, "import"), {"import_file": SimpleUploadedFile("nhap.xlsx", data)}
    )
    outcome = import_outcome(role, model)
    if outcome == "imported":
        assert upload.status_code == 200
        report = upload.context["report"]
        assert report.problems == [] and report.file_errors == [], report.problems
        assert db_state() == before  # the preview writes nothing
        response = client.post(
            admin_url(model, "process_import"), {"token": upload.context["token"]}
        )
        assert response.status_code == 302
        assert response["Location"] == admin_url(model, "changelist")
        assert MODELS[model].objects.filter(**{IMPORTED_FIELD[model]: text}).exists()
        return
    confirm = client.post(admin_url(model, "process_import"), {"token": "A" * 32})
    if outcome == "login":
        assert_login_redirect(upload, admin_url(model, "import"))
        assert_login_redirect(confirm, admin_url(model, "process_import"))
    else:
        assert upload.status_code == 403
        assert confirm.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-import-for-other")
        for role in STAFF
        for model in STAFF_WRITES
    ],
)
def test_unit_staff_cannot_import_records_of_the_other_unit(town, role, model):
    """A row naming the other unit is a problem of the preview; confirming anyway writes
    nothing."""
    other = "b" if unit_of(role) == "a" else "a"
    text = f"Nhập trộm cho đơn vị khác bởi {role}"
    data = spreadsheet(SPREADSHEET_KINDS[model], import_row(town, model, other, text))
    client = client_for(town, role)
    upload = client.post(
        admin_url(model, "import"), {"import_file": SimpleUploadedFile("nhap.xlsx", data)}
    )
    assert upload.status_code == 200
    problems = [problem.message for problem in upload.context["report"].problems]
    assert problems == [vi("You may only import records of your own units.")]
    before = db_state()
    response = client.post(admin_url(model, "process_import"), {"token": upload.context["token"]})
    assert response.status_code == 200 and response.context["refused"]
    assert db_state() == before


HIDDEN_IMPORT_REFERENCES = [
    # (model, attribute, world record of unit B only that the cell names)
    ("task", "agreement", ("agreement", "b")),
    ("task", "meeting", ("meeting", "b")),
    ("followup", "meeting", ("meeting", "b")),
    ("followup", "carried_over_from", ("followup", "b")),
    ("followup", "repeats", ("followup", "b")),
    ("indicator", "agreement", ("agreement", "b")),
]


def reference_cell(record):
    """How a spreadsheet names a record: an agreement by number, a meeting by title and
    date, a follow-up item by its record number."""
    if isinstance(record, Agreement):
        return record.number
    if isinstance(record, Meeting):
        return f"{record.title} ({record.held_on:%d/%m/%Y})"
    return record.pk


@pytest.mark.parametrize(
    ("model", "attribute", "target"),
    [
        pytest.param(*case, id=f"staff_a-{case[0]}-import-{case[1]}-of-B")
        for case in HIDDEN_IMPORT_REFERENCES
    ],
)
def test_unit_staff_cannot_import_links_to_records_they_cannot_see(town, model, attribute, target):
    """A row of unit A naming a record only unit B may see is a problem of the preview, and
    confirming anyway writes nothing."""
    text = f"Nhập liên kết trái phép {attribute}"
    row = import_row(town, model, "a", text)
    row[attribute] = reference_cell(town.records[target[0]][target[1]])
    data = spreadsheet(SPREADSHEET_KINDS[model], row)
    client = client_for(town, "staff_a")
    upload = client.post(
        admin_url(model, "import"), {"import_file": SimpleUploadedFile("nhap.xlsx", data)}
    )
    assert upload.status_code == 200
    before = db_state()
    client.post(admin_url(model, "process_import"), {"token": upload.context["token"]})
    assert db_state() == before
    assert upload.context["report"].problems


def test_unit_staff_cannot_change_a_coordinated_task_by_import(town):
    """Staff of A read the task B leads and A coordinates, but may not change it: a row
    naming its number with a new status is refused and writes nothing."""
    task = town.records["task"]["shared"]
    with translation.override("vi"):
        status = str(TaskStatus.IN_PROGRESS.label)
    data = spreadsheet(
        "tasks",
        {
            "id": task.pk,
            "agreement": task.agreement.number,
            "year": task.year,
            "content": task.content,
            "lead_unit": town.b.full_name,
            "status": status,
        },
    )
    client = client_for(town, "staff_a")
    upload = client.post(
        admin_url("task", "import"), {"import_file": SimpleUploadedFile("nhap.xlsx", data)}
    )
    assert upload.status_code == 200
    assert upload.context["report"].problems
    before = db_state()
    client.post(admin_url("task", "process_import"), {"token": upload.context["token"]})
    assert db_state() == before
    task.refresh_from_db()
    assert task.status == TaskStatus.NOT_STARTED


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-import-page")
        for model in MODELS
        for role in ROLES
    ],
)
def test_import_page(town, role, model):
    """The upload page: shown to users with the import permission of the model."""
    address = admin_url(model, "import")
    response = client_for(town, role).get(address)
    outcome = import_outcome(role, model)
    if outcome == "login":
        assert_login_redirect(response, address)
    else:
        assert response.status_code == (200 if outcome == "imported" else 403)


# ---------------------------------------------------------------------------------------------
# Export: the admin's ?_format= and /records/<kind>/export/
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "model", "file_format"),
    [
        pytest.param(role, model, file_format, id=f"{role}-{model}-admin-export-{file_format}")
        for model in MODELS
        for file_format in ("xlsx", "csv")
        for role in ROLES
    ],
)
def test_admin_export(town, role, model, file_format):
    """The admin export holds exactly the records the user may read: unit staff their
    units' records, auditors and admins every record; the anonymous and plain users log in
    first."""
    address = f"{admin_url(model, 'export')}?_format={file_format}"
    before = db_state()
    response = client_for(town, role).get(address)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    else:
        rows = exported_rows(response, file_format)
        assert ids_in_rows(rows) == visible_pks(town, role, model)
    assert db_state() == before


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-admin-export-page")
        for model in MODELS
        for role in ROLES
    ],
)
def test_admin_export_page_and_template(town, role, model):
    """The export page (format choice) and the import template: every staff role may
    export, so both are shown; the anonymous and plain users log in first."""
    for address in [admin_url(model, "export"), admin_url(model, "import_template")]:
        response = client_for(town, role).get(address)
        if role in TO_LOGIN:
            assert_login_redirect(response, address)
        else:
            assert response.status_code == 200, address


@pytest.mark.parametrize(
    ("role", "kind", "file_format"),
    [
        pytest.param(role, kind, file_format, id=f"{role}-records-{kind}-export-{file_format}")
        for kind in RECORD_KINDS
        for file_format in ("xlsx", "csv")
        for role in ROLES
    ],
)
def test_records_export(town, role, kind, file_format):
    """/records/<kind>/export/ holds the records the user may read, in both formats."""
    address = f"{reverse('coordination:record-export', args=[kind])}?format={file_format}"
    response = client_for(town, role).get(address)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
        return
    rows = exported_rows(response, file_format)
    assert ids_in_rows(rows) == visible_pks(town, role, RECORD_KINDS[kind])


# ---------------------------------------------------------------------------------------------
# /records/ pages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_records_index(town, role):
    """/records/ lists the record types: signed-in users only."""
    address = reverse("coordination:records")
    response = client_for(town, role).get(address)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    else:
        assert response.status_code == 200
        kinds = {record_type.name for record_type in response.context["record_types"]}
        assert kinds == set(RECORD_KINDS)


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        pytest.param(role, kind, id=f"{role}-records-{kind}")
        for kind in RECORD_KINDS
        for role in ROLES
    ],
)
def test_records_list(town, role, kind):
    """A list shows exactly the records the user may read, and no other unit's record."""
    address = reverse("coordination:record-list", args=[kind])
    response = client_for(town, role).get(address)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
        return
    assert response.status_code == 200
    model = RECORD_KINDS[kind]
    shown = {record.pk for record in response.context["page"].object_list}
    assert shown == visible_pks(town, role, model)
    html = response.content.decode()
    for key, record in town.records[model].items():
        if not sees(role, key):
            assert str(record) not in html


def detail_cases():
    for kind, model in RECORD_KINDS.items():
        for key in keys_of(model):
            for role in ROLES:
                yield pytest.param(role, kind, key, id=f"{role}-records-{kind}-detail[{key}]")


@pytest.mark.parametrize(("role", "kind", "key"), list(detail_cases()))
def test_records_detail(town, role, kind, key):
    """A record's page: shown to whoever may read it, with a link to the admin change page
    only for those who may change it; another unit's record is not found (404)."""
    model = RECORD_KINDS[kind]
    record = town.records[model][key]
    address = reverse("coordination:record-detail", args=[kind, record.pk])
    response = client_for(town, role).get(address)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    elif sees(role, key):
        assert response.status_code == 200
        may_change = may_write(role, model) and owns(role, model, key)
        expected = admin_url(model, "change", record.pk) if may_change else None
        assert response.context["admin_url"] == expected
    else:
        assert response.status_code == 404
        assert str(record) not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        pytest.param(role, kind, id=f"{role}-records-{kind}-other-unit-filter")
        for role in STAFF
        for kind in RECORD_KINDS
    ],
)
def test_records_filter_on_the_other_unit_is_refused(town, role, kind):
    """?unit=<the other unit> is not a choice for unit staff: the list and the export answer
    400 with no rows, rather than the other unit's records."""
    other = town.units["b" if unit_of(role) == "a" else "a"]
    client = client_for(town, role)
    response = client.get(reverse("coordination:record-list", args=[kind]), {"unit": other.pk})
    assert response.status_code == 400
    assert list(response.context["page"].object_list) == []
    response = client.get(
        reverse("coordination:record-export", args=[kind]), {"unit": other.pk, "format": "xlsx"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        pytest.param(role, kind, id=f"{role}-records-{kind}-other-agreement-filter")
        for role in STAFF
        for kind in ("tasks", "followups", "meetings")
    ],
)
def test_records_filter_on_an_agreement_of_the_other_unit_is_refused(town, role, kind):
    """?agreement=<an agreement only the other unit is party to> is not a choice either."""
    other = town.records["agreement"]["b" if unit_of(role) == "a" else "a"]
    client = client_for(town, role)
    response = client.get(reverse("coordination:record-list", args=[kind]), {"agreement": other.pk})
    assert response.status_code == 400
    assert list(response.context["page"].object_list) == []


@pytest.mark.parametrize(
    ("role", "key"),
    [
        pytest.param(role, key, id=f"{role}-files-scan[{key}]")
        for key in ("a", "b")
        for role in ROLES
    ],
)
def test_agreement_scan(town, settings, tmp_path, role, key):
    """/files/<path> serves an agreement's scan to whoever may read the agreement: another
    unit's scan is not found (404), the anonymous and plain users log in first."""
    settings.MEDIA_ROOT = tmp_path / "media"
    agreement = town.records["agreement"][key]
    agreement.scan.save(f"quy-che-{key}.pdf", ContentFile(b"%PDF-1.7 scan"), save=True)
    address = f"/files/{agreement.scan.name}"
    response = client_for(town, role).get(address)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    elif sees(role, key):
        assert response.status_code == 200
        assert content_of(response) == b"%PDF-1.7 scan"
    else:
        assert response.status_code == 404


def user_admin_urls(town):
    staff_a = town.users["staff_a"]
    return [
        ("changelist", reverse("admin:auth_user_changelist")),
        ("change", reverse("admin:auth_user_change", args=[staff_a.pk])),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_user_admin_is_for_admins_only(town, role):
    """Which units a user works for (UnitMember, on the user admin) decides what they see:
    only admins open or change users; unit staff and auditors are refused (403), even for
    their own user, and a POST adding unit B to staff A's units writes nothing."""
    client = client_for(town, role)
    for view, address in user_admin_urls(town):
        response = client.get(address)
        if role in TO_LOGIN:
            assert_login_redirect(response, address)
        else:
            assert response.status_code == (200 if role in MANAGERS else 403), view
    if role in MANAGERS:
        return
    staff_a = town.users["staff_a"]
    address = reverse("admin:auth_user_change", args=[staff_a.pk])
    page = client_for(town, "superuser").get(address)
    data = form_data(page.content.decode(), "user_form")
    prefix = next(name for name in data if name.endswith("-TOTAL_FORMS")).removesuffix(
        "-TOTAL_FORMS"
    )
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(total + 1)
    data[f"{prefix}-{total}-unit"] = str(town.b.pk)
    before = db_state()
    response = client.post(address, data)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
    else:
        assert response.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize("role", USERS)
def test_followup_filter_offers_only_the_users_units(town, role):
    """The unit and agreement filters of /records/followups/ list unit staff's own units and
    the agreements of those units only; auditors and admins get every unit and agreement."""
    response = client_for(town, role).get(reverse("coordination:record-list", args=["followups"]))
    html = response.content.decode()
    if role in STAFF:
        units = {str(town.units[unit_of(role)].pk)}
        agreements = {
            str(record.pk) for key, record in town.records["agreement"].items() if sees(role, key)
        }
    else:
        units = {str(pk) for pk in Unit.objects.values_list("pk", flat=True)}
        agreements = {str(pk) for pk in Agreement.objects.values_list("pk", flat=True)}
    assert select_options(html, "unit") == units
    assert select_options(html, "agreement") == agreements


@pytest.mark.parametrize("role", USERS)
def test_admin_unit_filter_links_offer_only_the_users_units(town, role):
    """The admin's follow-up list draws unit links for the user's units only."""
    response = client_for(town, role).get(admin_url("followup", "changelist"))
    assert response.status_code == 200
    links = next(
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == "unit"
    )
    linked = {int(value) for value, _label in links.links}
    expected = (
        {town.units[unit_of(role)].pk}
        if role in STAFF
        else set(Unit.objects.values_list("pk", flat=True))
    )
    assert linked == expected


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-changelist-rows")
        for model in MODELS
        for role in USERS
    ],
)
def test_admin_changelist_rows(town, role, model):
    """The admin list holds exactly the records the user may read."""
    response = client_for(town, role).get(admin_url(model, "changelist"))
    assert response.status_code == 200
    shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
    assert shown == visible_pks(town, role, model)


FILTERED_ADMINS = ("task", "followup", "agreement", "meeting")


@pytest.mark.parametrize(
    ("role", "model"),
    [
        pytest.param(role, model, id=f"{role}-{model}-admin-other-unit-filter")
        for role in STAFF
        for model in FILTERED_ADMINS
    ],
)
def test_admin_filter_on_the_other_unit_is_a_bad_lookup(town, role, model):
    """?unit=<the other unit> in the admin list is not a choice for unit staff: the changelist
    sends them to its error page (?e=1) instead of listing the other unit's records."""
    other = town.units["b" if unit_of(role) == "a" else "a"]
    response = client_for(town, role).get(admin_url(model, "changelist"), {"unit": other.pk})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


BAD_EXPORT_FILTERS = [
    # (role, query) — a unit that is not the user's, a unit that does not exist, a bad year
    ("staff_a", "unit=other"),
    ("staff_b", "unit=other"),
    ("admin", "unit=999999"),
    ("admin", "year=abc"),
]


@pytest.mark.parametrize(
    ("role", "query", "model"),
    [
        pytest.param(role, query, model, id=f"{role}-{model}-admin-export-{query}")
        for role, query in BAD_EXPORT_FILTERS
        for model in FILTERED_ADMINS
    ],
)
def test_admin_export_with_a_bad_filter_is_refused_not_a_server_error(town, role, query, model):
    """An export whose filters the changelist refuses (a unit not theirs, an unknown unit, a
    year that is not a number) is refused too (400, or back to the list's error page) with
    no file, never a server error (500)."""
    name, value = query.split("=")
    if value == "other":
        value = town.units["b" if unit_of(role) == "a" else "a"].pk
    client = client_for(town, role)
    client.raise_request_exception = False
    before = db_state()
    response = client.get(admin_url(model, "export"), {name: value, "_format": "xlsx"})
    assert response.status_code in (302, 400)
    assert not response.get("Content-Disposition", "").startswith("attachment")
    assert db_state() == before


# ---------------------------------------------------------------------------------------------
# /records/outstanding/ and /records/report/
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "records"),
    [
        pytest.param(role, records, id=f"{role}-outstanding-{records}")
        for records in ("followups", "tasks")
        for role in ROLES
    ],
)
def test_outstanding_table(town, role, records):
    """The outstanding table counts only the records the user may read (of every year)."""
    address = reverse("coordination:outstanding")
    response = client_for(town, role).get(address, {"records": records, "year": ""})
    if role in TO_LOGIN:
        assert_login_redirect(response, f"{address}?records={records}&year=")
        return
    assert response.status_code == 200
    table = response.context["table"]
    model = RECORD_KINDS[records]
    assert int(table.total.cells[0].text) == len(visible_pks(town, role, model))


@pytest.mark.parametrize("role", STAFF)
def test_outstanding_table_refuses_the_other_unit(town, role):
    """?unit=<the other unit> is not a choice for unit staff: 400, no counts."""
    other = town.units["b" if unit_of(role) == "a" else "a"]
    response = client_for(town, role).get(reverse("coordination:outstanding"), {"unit": other.pk})
    assert response.status_code == 400
    assert response.context["table"].rows == []


def report_cases():
    for subject in ("unit-a", "unit-b", "agreement-shared", "agreement-b"):
        for file_format in ("html", "xlsx"):
            for role in ROLES:
                yield pytest.param(
                    role, subject, file_format, id=f"{role}-report-{subject}-{file_format}"
                )


@pytest.mark.parametrize(("role", "subject", "file_format"), list(report_cases()))
def test_yearly_report(town, role, subject, file_format):
    """The yearly report of a unit or an agreement: unit staff may ask for their own unit
    and the agreements they see (others are not choices: 400); what the report counts and
    lists is only what the user may read."""
    what, key = subject.split("-")
    target = town.units[key] if what == "unit" else town.records["agreement"][key]
    params = {"year": 2024, what: target.pk}
    if file_format == "xlsx":
        params["format"] = "xlsx"
    address = reverse("coordination:report")
    response = client_for(town, role).get(address, params)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
        return
    if not sees(role, key):
        assert response.status_code == 400
        return
    assert response.status_code == 200
    hidden = [
        str(record)
        for model in ("task", "followup", "indicator")
        for record_key, record in town.records[model].items()
        if not sees(role, record_key)
    ]
    if file_format == "xlsx":
        assert response["Content-Disposition"].startswith("attachment")
        cells = {str(value) for row in xlsx_values(content_of(response)) for value in row}
        assert not any(name in cell for name in hidden for cell in cells)
        return
    report = response.context["report"]
    unit_fields = {"task": "lead_unit", "followup": "responsible_unit", "indicator": "unit"}

    def expected(model):
        # Every task and item of the world is outstanding, so each list holds them all.
        field = unit_fields[model] if what == "unit" else "agreement"
        found = MODELS[model].objects.filter(
            pk__in=visible_pks(town, role, model), **{field: target}
        )
        return set(found.values_list("pk", flat=True))

    assert {task.pk for task in report.outstanding_tasks} == expected("task")
    assert {item.pk for item in report.outstanding_followups} == expected("followup")
    assert {indicator.pk for indicator in report.indicators} == expected("indicator")
    assert report.tasks.total == len(expected("task"))
    html = response.content.decode()
    assert not any(name in html for name in hidden)


# ---------------------------------------------------------------------------------------------
# Autocomplete
# ---------------------------------------------------------------------------------------------

AUTOCOMPLETE = [
    ("unit", "parent"),
    ("unit", "successor"),
    ("person", "unit"),
    ("agreement", "parent"),
    ("agreement", "supersedes"),
    ("agreementparty", "unit"),
    ("signatory", "agreement"),
    ("signatory", "person"),
    ("signatory", "unit"),
    ("indicator", "agreement"),
    ("indicator", "unit"),
    ("meeting", "agreements"),
    ("meeting", "co_chairs"),
    ("meeting", "attending_units"),
    ("task", "agreement"),
    ("task", "lead_unit"),
    ("task", "coordinating_units"),
    ("task", "assignee"),
    ("task", "meeting"),
    ("followup", "responsible_unit"),
    ("followup", "agreement"),
    ("followup", "meeting"),
    ("followup", "carried_over_from"),
    ("followup", "repeats"),
]
#: Reference data every user may look up by name: units and people (autocomplete_unscoped).
UNSCOPED_TARGETS = ("unit", "person")


@pytest.mark.parametrize(
    ("role", "model", "field"),
    [
        pytest.param(role, model, field, id=f"{role}-autocomplete-{model}.{field}")
        for model, field in AUTOCOMPLETE
        for role in ROLES
    ],
)
def test_autocomplete(town, role, model, field):
    """Autocomplete offers every unit and person by name, but only the agreements, meetings
    and follow-up items the user may read."""
    from django.apps import apps

    target = apps.get_model("coordination", model)._meta.get_field(field).related_model
    target_name = target._meta.model_name
    address = reverse("admin:autocomplete")
    params = {"app_label": "coordination", "model_name": model, "field_name": field}
    response = client_for(town, role).get(address, params)
    if role in TO_LOGIN:
        assert_login_redirect(response, address)
        return
    assert response.status_code == 200
    found = {int(item["id"]) for item in response.json()["results"]}
    if target_name in UNSCOPED_TARGETS:
        expected = set(target.objects.values_list("pk", flat=True))
    else:
        expected = visible_pks(town, role, target_name)
    assert found == expected


#: The fields of unit staff's add forms that name a record only some units may see, and the
#: model of the records they name.
SCOPED_REFERENCES = {
    "task": {"agreement": "agreement", "meeting": "meeting"},
    "followup": {
        "agreement": "agreement",
        "meeting": "meeting",
        "carried_over_from": "followup",
        "repeats": "followup",
    },
    "indicator": {"agreement": "agreement"},
}


def add_page(town, role: str, model: str, prefill: dict) -> tuple[str, object]:
    """The add page of `model` as `role` sees it, its fields filled in from the query string
    (Django's add view takes initial values from it, so a link can choose any record)."""
    response = client_for(town, role).get(admin_url(model, "add"), prefill)
    assert response.status_code == 200
    return response.content.decode(), response.context["adminform"].form


@pytest.mark.parametrize("model", STAFF_WRITES)
def test_unit_staff_add_forms_offer_no_record_of_another_unit(town, model):
    """On staff A's add form of a task, follow-up item or indicator, the agreement, meeting
    and follow-up drop-downs offer only records A may see, and the owning unit only A: even
    a link pre-filling B's records shows none of them, by number or by name."""
    owner = MOVE_FIELDS[model]
    references = SCOPED_REFERENCES[model]
    before = db_state()

    def prefill(key: str) -> dict:
        values = {field: town.records[target][key].pk for field, target in references.items()}
        return {**values, owner: town.units[key].pk}

    html, form = add_page(town, "staff_a", model, prefill("a"))
    # What A may pick is shown: the page parsing finds the options when they are allowed.
    for field, target in references.items():
        assert select_options(html, field) == {str(town.records[target]["a"].pk)}, field
    assert select_options(html, owner) == {str(town.a.pk)}

    html, form = add_page(town, "staff_a", model, prefill("b"))
    for field, target in references.items():
        hidden = town.records[target]["b"]
        assert select_options(html, field) == set(), field
        assert str(hidden) not in html, field
        assert set(form.fields[field].queryset.values_list("pk", flat=True)) == visible_pks(
            town, "staff_a", target
        ), field
    assert select_options(html, owner) == set()
    assert set(form.fields[owner].queryset) == {town.a}
    assert db_state() == before


def test_unit_and_person_names_are_shared_reference_data(town):
    """Unit and person names are offered to every user, on purpose: a task A leads is
    coordinated with other units, a meeting is co-chaired by people of several units, and
    staff must find those units and people by name to record that. So staff A's task form
    offers unit B as a coordinating unit and B's chairwoman as the assignee, and the unit
    and person search boxes (autocomplete) list every unit and person, even in the lead-unit
    box. Only the owning unit is limited: saving B as the lead unit is refused
    (test_unit_staff_cannot_add_a_record_for_another_unit). The records themselves
    (agreements, meetings, items) stay scoped."""
    from django.contrib import admin

    person_b = town.records["person"]["b"]
    before = db_state()
    html, form = add_page(
        town, "staff_a", "task", {"coordinating_units": town.b.pk, "assignee": person_b.pk}
    )
    assert select_options(html, "coordinating_units") == {str(town.b.pk)}
    assert select_options(html, "assignee") == {str(person_b.pk)}
    assert town.b.full_name in html and person_b.full_name in html
    assert set(form.fields["coordinating_units"].queryset) == set(Unit.objects.all())
    assert set(form.fields["assignee"].queryset) == set(Person.objects.all())

    client = client_for(town, "staff_a")
    for field, target in [("lead_unit", Unit), ("coordinating_units", Unit), ("assignee", Person)]:
        response = client.get(
            reverse("admin:autocomplete"),
            {"app_label": "coordination", "model_name": "task", "field_name": field},
        )
        found = {int(item["id"]) for item in response.json()["results"]}
        assert found == set(target.objects.values_list("pk", flat=True)), field

    unscoped = {
        model._meta.model_name
        for model, model_admin in admin.site._registry.items()
        if getattr(model_admin, "autocomplete_unscoped", False)
    }
    assert unscoped == set(UNSCOPED_TARGETS)
    assert db_state() == before
