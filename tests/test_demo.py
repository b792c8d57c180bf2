"""The demo of the README: `manage.py load_demo` imports the workbooks of fixtures/demo/ into
an empty database, and the demo logins, roles and records are what the README promises."""

import datetime
import io
import shutil

import openpyxl
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from coordination import kinds
from coordination.choices import (
    AgreementKind,
    AgreementStatus,
    FollowUpKind,
    FollowUpStatus,
    IndicatorComparison,
    MeetingKind,
    TaskStatus,
    UnitKind,
    UnitLevel,
)
from coordination.history import CREATED
from coordination.importing import UNCHANGED, import_records
from coordination.management.commands import load_demo
from coordination.models import (
    Agreement,
    AgreementParty,
    FollowUp,
    Indicator,
    IssuedReport,
    Meeting,
    Person,
    Signatory,
    Task,
    Unit,
    UnitMember,
)
from coordination.scoping import changeable_by, visible_to
from coordination.spreadsheets import write_csv
from tests.factories import ensure_roles

pytestmark = pytest.mark.django_db

DEMO_DIR = settings.BASE_DIR / "fixtures" / "demo"
SHEETS = [
    "01-units.xlsx",
    "02-people.xlsx",
    "03-agreements.xlsx",
    "04-signatories.xlsx",
    "05-meetings.xlsx",
    "06-tasks.xlsx",
    "07-followups.xlsx",
    "08-indicators.xlsx",
]
# The records of the workbooks: the units of before and after 1 July 2025 and their records.
COUNTS = {
    Unit: 61,
    Person: 20,
    Agreement: 19,
    AgreementParty: 84,
    Signatory: 17,
    Meeting: 9,
    Task: 59,
    FollowUp: 48,
    Indicator: 10,
    UnitMember: 1,
}
LINKS = {
    Meeting.agreements: 14,
    Meeting.co_chairs: 16,
    Meeting.attending_units: 45,
    Task.coordinating_units: 132,
    # The directions addressed to several bodies (“các bên”, “các đơn vị liên quan”).
    FollowUp.co_responsible_units: 11,
}
CARRIED_OVER = 7
PASSWORDS = {  # README, "Demo logins"
    "admin": "admin-demo-2026",
    "canbo_hamtan": "canbo-demo-2026",
    "kiemtra": "kiemtra-demo-2026",
}
HAM_TAN = "Ủy ban nhân dân huyện Hàm Tân"
TAN_MINH = "Ủy ban nhân dân xã Tân Minh"


def load(**options) -> str:
    ensure_roles()  # an earlier transactional test's flush removed them
    out = io.StringIO()
    call_command("load_demo", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def demo():
    return load()


def user(username):
    return get_user_model().objects.get(username=username)


def test_the_sheets_are_the_eight_kinds_in_import_order():
    assert sorted(path.name for path in DEMO_DIR.iterdir()) == SHEETS
    assert [name[3:-5] for name in SHEETS] == kinds.names()


def test_every_sheet_imports_with_no_refused_row(demo):
    lines = demo.splitlines()
    for name in SHEETS:
        (line,) = [line for line in lines if line.startswith(f"{name}: ")]
        assert line.endswith(" updated=0 unchanged=0 errors=0"), line
    # The loaded database is the workbooks and the reorganisation of 1 July 2025: importing
    # each again changes nothing but what the merger did (the sheets hold the units and tasks
    # as they were before it).
    admin_user = user("admin")
    dissolved = set(
        Unit.objects.filter(dissolved_on__isnull=False).values_list("full_name", flat=True)
    )
    handed_over = {str(task) for task in Task.objects.filter(pk__in=merged_task_ids())}
    merger_columns = {
        "units": {"Kích hoạt", "Ngày giải thể", "Đơn vị kế thừa"},
        "tasks": {"Đơn vị chủ trì", "Đơn vị phối hợp"},
    }
    for name in SHEETS:
        kind = name[3:-5]
        report = import_records(
            kind=kind, data=(DEMO_DIR / name).read_bytes(), file_name=name, user=admin_user
        )
        assert not report.has_errors and not report.warnings, name
        updated = [outcome for outcome in report.outcomes if outcome.status != UNCHANGED]
        expected = {"units": dissolved, "tasks": handed_over}.get(kind, set())
        assert {outcome.label for outcome in updated} == expected, name
        changed = {change.column for outcome in updated for change in outcome.changes}
        assert changed <= merger_columns.get(kind, set()), name


def merged_task_ids() -> set[int]:
    """The tasks the merger handed over, as their history says."""
    reason = load_demo.REORGANISED_ON.strftime("%d/%m/%Y")
    return set(
        Task.history.filter(history_change_reason__contains=reason).values_list("id", flat=True)
    )


def test_the_demo_has_as_many_records_as_before(demo):
    assert {model: model.objects.count() for model in COUNTS} == COUNTS
    assert {field: field.through.objects.count() for field in LINKS} == LINKS
    assert FollowUp.objects.filter(carried_over_from__isnull=False).count() == CARRIED_OVER


@pytest.mark.parametrize("username", list(PASSWORDS))
def test_each_demo_login_works_with_the_readme_password(client, demo, username):
    response = client.post(
        reverse("admin:login"),
        {"username": username, "password": PASSWORDS[username], "next": reverse("admin:index")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_admin_changes_every_record_and_the_users(demo):
    account = user("admin")
    assert account.is_superuser
    assert account.has_perm("auth.change_user")
    for model in (Agreement, Task, FollowUp, Indicator):
        assert changeable_by(model.objects.all(), account).count() == model.objects.count()


def test_unit_staff_edit_and_import_their_units_tasks_follow_ups_and_indicators(demo):
    account = user("canbo_hamtan")
    assert not account.is_superuser
    assert list(account.unit_memberships.values_list("unit__full_name", flat=True)) == [TAN_MINH]
    for model in ("task", "followup", "indicator"):
        for action in ("add", "change", "import", "export"):
            assert account.has_perm(f"coordination.{action}_{model}"), (action, model)
    assert not account.has_perm("coordination.change_agreement")
    assert not account.has_perm("auth.change_user")
    ham_tan = Unit.objects.get(full_name=TAN_MINH)
    own = changeable_by(Task.objects.all(), account)
    assert own.exists() and set(own) == set(Task.objects.filter(lead_unit=ham_tan))
    assert changeable_by(FollowUp.objects.all(), account).exists()
    assert changeable_by(Indicator.objects.all(), account).exists()
    # A new task of their unit imports; the same task led by another unit is refused.
    agreement = Agreement.objects.filter(parties=ham_tan, end_year__gte=2026).first()
    other = Unit.objects.exclude(pk=ham_tan.pk).filter(is_active=True).first()
    for lead, refused in ((ham_tan, False), (other, True)):
        report = import_records(
            kind="tasks",
            data=task_file(agreement.number, lead.full_name),
            file_name="nhiem-vu.csv",
            user=account,
        )
        assert report.has_errors is refused, report.problems


def task_file(agreement: str, lead: str) -> bytes:
    stream = io.BytesIO()
    write_csv(
        stream,
        header=["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý"],
        rows=[[agreement, 2026, "Rà soát kiến nghị cử tri tồn đọng", lead, "15/12/2026"]],
    )
    return stream.getvalue()


def test_joint_directions_are_read_by_every_unit_they_name_and_counted_once(demo):
    """The Hàm Tân conclusion of 2024 for “các bên” is the district Committee's, with its
    Council's and Front's boards; Tân Minh's Front asks its Committee and Council in 2026, and
    the Committee's staff read that request without being able to change it; each is counted
    under its responsible unit."""
    joint = FollowUp.objects.get(content__startswith="Các bên căn cứ chức năng")
    assert joint.responsible_unit.full_name == HAM_TAN
    assert set(joint.co_responsible_units.values_list("full_name", flat=True)) == {
        "Thường trực Hội đồng nhân dân huyện Hàm Tân",
        "Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân",
    }
    request = FollowUp.objects.get(content__startswith="Cập nhật danh mục kiến nghị cử tri")
    assert request.responsible_unit.full_name == "Ủy ban Mặt trận Tổ quốc Việt Nam xã Tân Minh"
    assert TAN_MINH in set(request.co_responsible_units.values_list("full_name", flat=True))
    account = user("canbo_hamtan")
    assert visible_to(FollowUp.objects.filter(pk=request.pk), account).exists()
    assert not changeable_by(FollowUp.objects.filter(pk=request.pk), account).exists()
    counted = FollowUp.objects.filter(co_responsible_units__isnull=False).distinct()
    assert counted.count() == 6
    assert not counted.filter(responsible_unit__in=F("co_responsible_units")).exists()


def test_the_auditor_reads_and_exports_everything_and_changes_nothing(demo):
    account = user("kiemtra")
    assert not account.is_superuser
    permissions = {name.split(".")[1] for name in account.get_all_permissions()}
    assert not [name for name in permissions if name.startswith(("add_", "change_", "delete_"))]
    assert not [name for name in permissions if name.startswith("import_")]
    for model in (Agreement, Task, FollowUp, Indicator, Meeting):
        name = model._meta.model_name
        assert {f"view_{name}", f"export_{name}"} <= permissions
        assert visible_to(model.objects.all(), account).count() == model.objects.count()
        assert not changeable_by(model.objects.all(), account).exists()


def test_the_browser_tests_find_overdue_items_of_the_staff_unit(demo):
    """tests/test_browser.py filters Tân Minh's overdue follow-up items of their latest year
    (the demo is set on 22/11/2026; the items stay overdue in the years after)."""
    today = timezone.localdate()
    ham_tan = Unit.objects.get(full_name=load_demo.STAFF_UNIT)
    assert FollowUp.objects.filter(year__gte=2026, responsible_unit=ham_tan).overdue(today)
    assert Task.objects.overdue(today).exists()
    assert FollowUp.objects.filter(status=FollowUpStatus.RESOLVED).exists()


def test_the_demo_has_something_for_every_filter(demo):
    for model, field, choices in [
        (Unit, "kind", UnitKind),
        (Unit, "level", UnitLevel),
        (Agreement, "kind", AgreementKind),
        (Agreement, "status", AgreementStatus),
        (Meeting, "kind", MeetingKind),
        (Task, "status", TaskStatus),
        (FollowUp, "kind", FollowUpKind),
        (FollowUp, "status", FollowUpStatus),
        (Indicator, "comparison", IndicatorComparison),
    ]:
        for value in choices.values:
            assert model.objects.filter(**{field: value}).exists(), (model, field, value)
    assert Unit.objects.filter(successor__isnull=False, dissolved_on__isnull=False).exists()
    assert Person.objects.filter(is_active=False).exists()
    assert {indicator.is_met for indicator in Indicator.objects.all()} == {True, False, None}


def test_records_carry_their_creation_history(demo):
    admin_user = user("admin")
    for model, sheet in ((Agreement, "03"), (Task, "06"), (FollowUp, "07")):
        created = model.history.filter(history_type=CREATED)
        assert created.count() == model.objects.count()
        assert set(created.values_list("history_user", flat=True)) == {admin_user.pk}
        (reason,) = set(created.values_list("history_change_reason", flat=True))
        assert sheet in reason and reason.endswith(".xlsx"), reason
    # The first entries hold the parties and coordinating units as imported.
    parties = apps.get_model("coordination", "HistoricalAgreementParty")
    assert parties.objects.count() == COUNTS[AgreementParty]
    coordinating = apps.get_model("coordination", "HistoricalTask_coordinating_units")
    first = coordinating.objects.filter(history__history_type=CREATED)
    assert first.count() == LINKS[Task.coordinating_units]
    jointly = apps.get_model("coordination", "HistoricalFollowUp_co_responsible_units")
    assert jointly.objects.count() == LINKS[FollowUp.co_responsible_units]


def test_carried_over_items_are_linked_to_next_years_items(demo):
    carried = FollowUp.objects.filter(status=FollowUpStatus.CARRIED_OVER)
    assert carried.count() == CARRIED_OVER
    for item in carried:
        successor = item.carried_over_to
        assert successor.year == item.year + 1
        assert (successor.kind, successor.content) == (item.kind, item.content)
    # Items went on for three years: their threads say so.
    thirds = FollowUp.objects.filter(carried_over_from__carried_over_from__isnull=False)
    assert thirds.exists()
    for third in thirds:
        first = third.carried_over_from.carried_over_from
        assert (third.first_raised_year, third.times_carried, third.times_raised) == (
            first.year,
            2,
            3,
        )
    assert set(FollowUp.objects.filter(times_carried__gt=0).values_list("pk", flat=True)) == set(
        FollowUp.objects.filter(carried_over_from__isnull=False).values_list("pk", flat=True)
    )
    # Each link is a change of the successor's history, by the admin.
    linked = FollowUp.history.exclude(history_type=CREATED)
    assert linked.count() == CARRIED_OVER
    assert set(linked.values_list("history_change_reason", flat=True)) == {
        f"Nhập từ tệp {load_demo.LINKS_FILE}"
    }


def test_running_it_again_restores_the_demo_and_keeps_what_was_added(demo):
    task = Task.objects.filter(status=TaskStatus.IN_PROGRESS).first()
    task.status, task.progress = TaskStatus.CANCELLED, 0
    task.save()
    added = FollowUp.objects.create(
        kind=FollowUpKind.OTHER,
        year=2026,
        content="Nội dung thêm sau khi nạp dữ liệu mẫu",
        responsible_unit=Unit.objects.get(full_name=TAN_MINH),
    )
    account = user("kiemtra")
    account.set_password("khac")
    account.is_superuser = True
    account.save()
    UnitMember.objects.filter(user__username="canbo_hamtan").delete()

    handed_over = merged_task_ids()
    output = load(verbosity=1)
    # The changed task, and the tasks the merger had handed over, set back to the sheet's units
    # before the reorganisation hands them over again.
    assert f"06-tasks.xlsx: new=0 updated={1 + len(handed_over)} unchanged=" in output
    assert "01-units.xlsx: new=0 updated=38 unchanged=23 errors=0" in output
    task.refresh_from_db()
    assert (task.status, task.progress) != (TaskStatus.CANCELLED, 0)
    assert FollowUp.objects.filter(pk=added.pk).exists()
    assert FollowUp.objects.count() == COUNTS[FollowUp] + 1
    assert user("kiemtra").check_password(PASSWORDS["kiemtra"])
    assert not user("kiemtra").is_superuser
    assert UnitMember.objects.filter(user__username="canbo_hamtan").count() == 1
    assert FollowUp.objects.filter(carried_over_from__isnull=False).count() == CARRIED_OVER
    assert not Unit.objects.filter(level=UnitLevel.DISTRICT, is_active=True).exists()
    assert Task.objects.filter(pk__in=handed_over, lead_unit__is_active=True).count() == len(
        handed_over
    )


def test_a_refused_row_stops_the_load_and_writes_nothing(tmp_path, monkeypatch):
    for name in SHEETS:
        shutil.copy(DEMO_DIR / name, tmp_path / name)
    workbook = openpyxl.load_workbook(tmp_path / "06-tasks.xlsx")
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=5, column=header.index("Đơn vị chủ trì") + 1, value="Đơn vị không có thật")
    workbook.save(tmp_path / "06-tasks.xlsx")
    monkeypatch.setattr(load_demo, "DEMO_DIR", tmp_path)

    with pytest.raises(CommandError) as error:
        load()
    message = str(error.value)
    assert "06-tasks.xlsx" in message and "dòng 5, Đơn vị chủ trì" in message
    assert "Đơn vị không có thật" in message
    assert not Unit.objects.exists()
    assert not get_user_model().objects.exists()


def test_every_admin_page_answers_with_the_demo_loaded(client, demo):
    client.force_login(user("admin"))
    statuses = {}
    for model in admin.site._registry:
        if model._meta.app_label != "coordination":
            continue
        name = f"admin:coordination_{model._meta.model_name}"
        first = model.objects.order_by("pk").first()
        pages = [reverse(f"{name}_changelist")]
        if model is not IssuedReport:  # issued only from the report page, never added
            pages.append(reverse(f"{name}_add"))
        if first is not None:  # the demo issues no report and uploads no template
            pages.append(reverse(f"{name}_change", args=[first.pk]))
        for page in pages:
            statuses[page] = client.get(page).status_code
    assert statuses and set(statuses.values()) == {200}, statuses


def test_every_demo_record_passes_full_clean(demo):
    problems = {}
    for model in apps.get_app_config("coordination").get_models():
        if model._meta.model_name.startswith("historical"):
            continue
        for record in model.objects.all():
            try:
                record.full_clean()
            except ValidationError as error:
                problems[f"{model._meta.model_name} {record.pk}"] = error.message_dict
    assert problems == {}


# The reorganisation of 1 July 2025 (issue 15) ------------------------------------------------


def test_no_district_is_left_and_each_was_dissolved_on_1_july_2025_into_a_unit_of_today(demo):
    assert not Unit.objects.filter(level=UnitLevel.DISTRICT, is_active=True).exists()
    districts = Unit.objects.filter(level=UnitLevel.DISTRICT).select_related("successor")
    assert districts.count() == 30
    for district in districts:
        assert district.dissolved_on == load_demo.REORGANISED_ON, district
        assert district.successor.is_active and district.successor.level == UnitLevel.COMMUNE
    # Kon Tum's bodies went into Quảng Ngãi's, Hàm Tân's into Tân Minh's (tỉnh Lâm Đồng).
    assert {unit.successor.full_name for unit in Unit.objects.filter(locality="tỉnh Kon Tum")} == {
        "Ủy ban nhân dân tỉnh Quảng Ngãi",
        "Hội đồng nhân dân tỉnh Quảng Ngãi",
        "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Quảng Ngãi",
    }
    assert Unit.objects.get(full_name=HAM_TAN).successor.full_name == TAN_MINH
    assert Unit.objects.get(full_name=TAN_MINH).locality == "xã Tân Minh, tỉnh Lâm Đồng"


def test_current_records_belong_to_units_that_exist(demo):
    for year in (2026, 2027):
        tasks = Task.objects.filter(year=year)
        assert tasks.exists()
        assert not tasks.filter(lead_unit__is_active=False).exists(), year
        assert not tasks.filter(coordinating_units__is_active=False).exists(), year
    followups = FollowUp.objects.filter(year__gte=2026)
    assert followups.exists()
    assert not followups.filter(responsible_unit__is_active=False).exists()
    assert not followups.filter(co_responsible_units__is_active=False).exists()
    # Nothing outstanding stays with a dissolved unit: the merger handed it over.
    for model in (Task, FollowUp):
        assert (
            not model.objects.outstanding()
            .filter(
                **{("lead_unit" if model is Task else "responsible_unit") + "__is_active": False}
            )
            .exists()
        ), model
    assert not Indicator.objects.filter(year=2026, unit__is_active=False).exists()


def test_historical_records_keep_the_units_of_their_time(demo):
    task = Task.objects.get(year=2017, content__startswith="Tổ chức đối thoại để giải quyết")
    assert task.lead_unit.full_name == "Ủy ban nhân dân huyện A"
    assert not task.lead_unit.is_active
    signed = Signatory.objects.get(
        agreement__number="01/CTPH-HT-2024", person__full_name="Hà Lê Thanh Chung"
    )
    assert signed.unit.full_name == HAM_TAN
    assert signed.position == "Phó Bí thư Huyện ủy, Chủ tịch UBND huyện"
    done_2025 = Task.objects.get(year=2025, content__startswith="Chuẩn bị tài liệu trình kỳ họp")
    assert (done_2025.lead_unit.full_name, done_2025.status) == (HAM_TAN, TaskStatus.DONE)


def test_the_merger_handed_over_outstanding_tasks_in_the_admins_name(client, demo):
    handed_over = Task.objects.filter(pk__in=merged_task_ids())
    assert handed_over.count() == 4
    assert not handed_over.filter(lead_unit__is_active=False).exists()
    admin_user = user("admin")
    entries = Task.history.filter(id__in=handed_over.values("pk")).exclude(history_type=CREATED)
    assert set(entries.values_list("history_user", flat=True)) == {admin_user.pk}
    # The task's history page names who did it.
    task = handed_over.get(content__startswith="Rà soát, giải quyết dứt điểm")
    assert task.lead_unit.full_name == TAN_MINH
    client.force_login(admin_user)
    html = client.get(reverse("admin:coordination_task_history", args=[task.pk])).content.decode()
    assert "Phạm Minh Quân" in html and "Sáp nhập đơn vị ngày 01/07/2025" in html


def test_the_unit_staff_member_works_on_this_years_records_of_a_unit_of_today(client, demo):
    account = user("canbo_hamtan")
    (unit,) = [membership.unit for membership in account.unit_memberships.all()]
    assert unit.full_name == load_demo.STAFF_UNIT and unit.is_active
    assert unit.level == UnitLevel.COMMUNE
    today = timezone.localdate()
    own = Task.objects.filter(year=2026, lead_unit=unit)
    assert own.overdue(today).exists()
    soon = FollowUp.objects.filter(year=2026, responsible_unit=unit).outstanding()
    assert soon.filter(due_date__gte=today, due_date__lte=datetime.date(2026, 12, 31)).exists()
    client.force_login(account)
    response = client.get("/records/tasks/?year=2026")
    assert response.status_code == 200
    html = response.content.decode()
    for task in own:
        assert task.content[:40] in html, task


def test_this_years_programme_has_its_signatories_and_indicators(demo):
    programme = Agreement.objects.get(number="01/CTPH-TM-2026")
    assert programme.status == AgreementStatus.IN_FORCE
    assert programme.parent.number == "01/QCPH-HĐND-UBND-MTTQ-TM"
    assert programme.parent.supersedes.number == "01/QCPH-HĐND-UBND-MTTQ-HT"
    signed = programme.signatories.select_related("unit", "person")
    assert {signatory.unit.full_name for signatory in signed} == set(
        programme.parties.values_list("full_name", flat=True)
    )
    assert all(signatory.signed_on == programme.signed_on for signatory in signed)
    indicators = Indicator.objects.filter(agreement=programme, year=2026)
    assert indicators.count() == 3
    assert {indicator.unit.full_name for indicator in indicators} <= set(
        programme.parties.values_list("full_name", flat=True)
    )
