"""One definition of each list parameter: the reports and the command line bind the FilterSets.

The outstanding table, the yearly report and `manage.py export_records` read `year`, `unit`,
`predecessors`, `agreement`, `status` and `outstanding` through the kinds' FilterSets, as the
/records/ lists do. So, for any parameters: each number of the outstanding table is the
length of the list it links to, and the table accepts or refuses a value as the list does;
the yearly report counts what the lists of the same parameters hold; the command line writes
the file the /records/ export writes for the same parameters.
"""

import datetime
import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from coordination import kinds
from coordination.choices import AgreementStatus, FollowUpStatus, TaskStatus
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_meeting,
    make_member,
    make_superuser,
    make_task,
    make_unit,
    make_user,
)

pytestmark = pytest.mark.django_db

ROLES = ("superuser", "auditor", "staff")
# Each example is a few dozen requests: a few dozen examples are plenty per run.
FEW = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def scene():
    """Units a and b, and two generations of units dissolved into a; tasks and follow-up
    items of each over two years, in every state and ageing bucket; users of each role (the
    staff member works for a)."""
    a = make_unit(full_name="Ủy ban nhân dân xã Tân Phước", short_name="UBND xã Tân Phước")
    b = make_unit(full_name="Hội Nông dân xã Tân Phước", short_name="HND xã Tân Phước")
    old = make_unit(
        full_name="Phòng Kinh tế (cũ)",
        is_active=False,
        dissolved_on=datetime.date(2021, 6, 30),
        successor=a,
    )
    older = make_unit(
        full_name="Phòng Nông nghiệp (cũ)",
        is_active=False,
        dissolved_on=datetime.date(2020, 6, 30),
        successor=old,
    )
    units = {"a": a, "b": b, "old": old, "older": older}
    agreement = make_agreement(parties=[a, b], start_year=2024, end_year=2025)
    for index, unit in enumerate(units.values()):
        for year in (2024, 2025):
            other = b if unit != b else a
            make_task(lead_unit=unit, year=year, due_date=days(-5 - index), agreement=agreement)
            make_task(lead_unit=other, coordinating_units=[unit], year=year, due_date=days(40))
            make_task(lead_unit=unit, year=year, due_date=days(-120), agreement=agreement)
            make_task(
                lead_unit=unit,
                year=year,
                due_date=days(-30),
                status=TaskStatus.DONE,
                completed_on=days(-20 - index),
            )
            make_task(lead_unit=unit, year=year, status=TaskStatus.CANCELLED)
            make_followup(responsible_unit=unit, year=year, due_date=days(-45), agreement=agreement)
            make_followup(responsible_unit=unit, year=year, due_date=days(-100 - index))
            make_followup(responsible_unit=unit, year=year, due_date=None)
            make_followup(
                responsible_unit=unit,
                year=year,
                due_date=days(-10),
                status=FollowUpStatus.RESOLVED,
                resolved_on=days(-12 + 2 * index),
                agreement=agreement,
            )
            make_followup(responsible_unit=unit, year=year, status=FollowUpStatus.CLOSED)
    auditor = make_user(username="kiem-tra")
    auditor.groups.add(Group.objects.get(name="Kiểm tra – giám sát"))
    staff = make_user(username="can-bo")
    staff.groups.add(Group.objects.get(name="Cán bộ đơn vị"))
    make_member(staff, a)
    clients = {}
    for role, user in (("superuser", make_superuser()), ("auditor", auditor), ("staff", staff)):
        clients[role] = Client()
        clients[role].force_login(user)
    meetings = [make_meeting(held_on=datetime.date(year, 3, 1)) for year in (2024, 2025)]
    meetings[0].attending_units.add(a)
    meetings[1].attending_units.add(b)
    return type("Scene", (), {"units": units, "agreement": agreement, "clients": clients})


def without_empty(params: dict) -> dict:
    return {name: value for name, value in params.items() if value is not None}


def list_count(client, kind: str, params: dict) -> int:
    response = client.get(f"/records/{kind}/", params)
    assert response.status_code == 200, params
    return response.context["count"]


def count_at(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["count"]


@FEW
@given(
    records=st.sampled_from(["followups", "tasks"]),
    year=st.sampled_from([None, "", 2024, 2025, "abc", 1800]),
    unit=st.sampled_from([None, "a", "b", "old", "older", "999999", "x"]),
    predecessors=st.sampled_from([None, "yes", "no", "1", "maybe"]),
    role=st.sampled_from(ROLES),
)
@example(records="tasks", year=2024, unit="a", predecessors="yes", role="superuser")
@example(records="followups", year=None, unit="old", predecessors="yes", role="auditor")
@example(records="tasks", year=None, unit=None, predecessors=None, role="staff")
def test_every_count_of_the_outstanding_table_is_the_length_of_the_list_it_links_to(
    scene, records, year, unit, predecessors, role
):
    """The table and the list parse `year`, `unit` and `predecessors` alike (the same answer
    to every value; no year at all is the current year's table, an empty year every year's),
    and each total, outstanding and overdue number, and each ageing number of the total row,
    counts the rows of the list its link opens."""
    client = scene.clients[role]
    unit_value = scene.units[unit].pk if unit in scene.units else unit
    params = without_empty({"year": year, "unit": unit_value, "predecessors": predecessors})
    response = client.get("/records/outstanding/", {"records": records, **params})
    same = params if year is not None else params | {"year": timezone.localdate().year}
    listed = client.get(f"/records/{records}/", same | kinds.get(records).report_unit_params)
    assert response.status_code == listed.status_code
    if response.status_code != 200:
        assert response.context["table"].rows == []
        return
    table = response.context["table"]
    assert int(table.total.cells[0].text) == listed.context["count"]
    for row in [*table.rows, table.total]:
        if role == "staff" and row.unit is not None and row.unit != scene.units["a"]:
            # Known gap (docs/architecture.md): a staff member's table of tasks has rows of
            # the units leading the tasks their unit coordinates, units the lists do not
            # offer them as a filter (400).
            assert records == "tasks" and client.get(row.cells[0].url).status_code == 400
            continue
        cells = row.cells[:6] if row is table.total else row.cells[:3]
        for cell in cells:
            assert int(cell.text) == count_at(client, cell.url), cell.url


@FEW
@given(
    year=st.sampled_from([2024, 2025]),
    subject=st.sampled_from(["a", "b", "old", "agreement"]),
    predecessors=st.sampled_from([None, "yes"]),
    role=st.sampled_from(ROLES),
)
@example(year=2024, subject="a", predecessors="yes", role="staff")
@example(year=2025, subject="agreement", predecessors=None, role="auditor")
def test_the_yearly_report_counts_the_lists_of_the_same_parameters(
    scene, year, subject, predecessors, role
):
    """Tasks (by lead unit) and follow-up items: the report's total, outstanding and overdue
    numbers are the lengths of the lists of the same year, unit or agreement and
    predecessors; a unit the lists refuse, the report refuses."""
    client = scene.clients[role]
    if subject == "agreement":
        params = {"year": year, "agreement": scene.agreement.pk}
    else:
        params = without_empty(
            {"year": year, "unit": scene.units[subject].pk, "predecessors": predecessors}
        )
    response = client.get("/records/report/", params)
    report = response.context["report"]
    lines = {
        "tasks": (report.tasks, report.outstanding_tasks),
        "followups": (report.followups, report.outstanding_followups),
    }
    for kind, (line, outstanding) in lines.items():
        same = params | kinds.get(kind).report_unit_params
        listed = client.get(f"/records/{kind}/", same)
        assert response.status_code == listed.status_code
        if response.status_code != 200:
            continue
        assert line.total == listed.context["count"]
        assert line.outstanding == list_count(client, kind, same | {"outstanding": "yes"})
        assert line.overdue == list_count(client, kind, same | {"overdue": "yes"})
        assert len(outstanding) == line.outstanding


def vi(message: str) -> str:
    with translation.override("vi"):
        return gettext(message)


def test_the_yearly_report_needs_a_year_and_one_subject(scene):
    client = scene.clients["auditor"]
    unit = scene.units["a"].pk
    response = client.get("/records/report/", {"unit": unit})
    assert response.status_code == 400
    assert vi("This field is required.") in response.content.decode()
    response = client.get("/records/report/", {"year": 2024})
    assert response.status_code == 400
    assert vi("Choose either a unit or an agreement.") in response.content.decode()
    assert client.get("/records/report/", {"year": 2024, "unit": unit}).status_code == 200


def status_values(kind: str):
    """The statuses of a kind, each as its code and its Vietnamese label."""
    choices = {"tasks": TaskStatus, "followups": FollowUpStatus, "agreements": AgreementStatus}
    if kind not in choices:
        return st.just(None)
    with translation.override("vi"):
        values = [(choice.value, choice.value) for choice in choices[kind]]
        values += [(choice.value, str(choice.label)) for choice in choices[kind]]
    return st.one_of(st.just(None), st.sampled_from(values))


@FEW
@given(data=st.data())
def test_the_command_lines_export_is_the_records_export_of_the_same_parameters(
    scene, tmp_path, data
):
    """`export_records KIND --year --unit --status --outstanding` writes, byte for byte, the
    file /records/KIND/export/ writes for `year`, `unit`, `status` and `outstanding=yes`."""
    kind = data.draw(st.sampled_from(["tasks", "followups", "agreements", "meetings"]))
    year = data.draw(st.sampled_from([None, 2024, 2025]))
    unit = data.draw(st.sampled_from([None, "a", "b", "old"]))
    status = data.draw(status_values(kind))
    outstanding = kind in ("tasks", "followups") and data.draw(st.booleans())
    options, params = [], {"format": "csv"}
    if year is not None:
        options += ["--year", str(year)]
        params["year"] = year
    if unit is not None:
        options += ["--unit", scene.units[unit].full_name]
        params["unit"] = scene.units[unit].pk
    if status is not None:
        options += ["--status", status[1]]
        params["status"] = status[0]
    if outstanding:
        options.append("--outstanding")
        params["outstanding"] = "yes"
    path = tmp_path / "export.csv"
    call_command("export_records", kind, *options, "--output", str(path), stdout=io.StringIO())
    response = scene.clients["superuser"].get(f"/records/{kind}/export/", params)
    assert response.status_code == 200
    assert path.read_bytes() == b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("options", "option"),
    [(["tasks", "--year", "1800"], "--year"), (["indicators", "--year", "12345"], "--year")],
)
def test_a_value_the_lists_refuse_is_a_usage_error(scene, tmp_path, options, option):
    """The command line's values are checked as the lists check theirs (a year out of range),
    naming the option."""
    path = tmp_path / "out.csv"
    with pytest.raises(CommandError) as caught:
        call_command("export_records", *options, "--output", str(path))
    assert caught.value.returncode == 2
    assert str(caught.value).startswith(f"{option}: ")
    assert not path.exists()
