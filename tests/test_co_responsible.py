"""Several units answer for one item: a follow-up item's co-responsible units read it among
their records, filter by it and import it; the tables and reports count it under its
responsible unit only."""

import datetime
import io
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordination import exporting, selectors, services
from coordination.choices import FollowUpStatus
from coordination.importing import import_records
from coordination.models import FollowUp
from coordination.scoping import changeable_by, visible_to
from tests.factories import (
    days,
    make_followup,
    make_member,
    make_superuser,
    make_unit,
    make_user,
    xlsx_bytes,
    xlsx_values,
)

pytestmark = pytest.mark.django_db

UNIT_STAFF, AUDITOR = "Cán bộ đơn vị", "Kiểm tra – giám sát"
HEADER = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"]


@pytest.fixture
def scene():
    """A direction addressed to the People's Council, the Committee and the Front: the
    Committee answers for it, the others with it; an item of the Front alone."""
    committee = make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân", short_name="UBND huyện")
    council = make_unit(
        full_name="Thường trực Hội đồng nhân dân huyện Hàm Tân", short_name="TT HĐND huyện"
    )
    front = make_unit(
        full_name="Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân", short_name="UBMTTQVN huyện"
    )
    joint = make_followup(
        year=2025,
        responsible_unit=committee,
        content="HĐND, UBND và MTTQ huyện cần phối hợp giải quyết dứt điểm kiến nghị cử tri",
        due_date=days(-10),
    )
    joint.co_responsible_units.set([council, front])
    own = make_followup(year=2025, responsible_unit=front, content="Việc riêng của Mặt trận")
    council_staff = staff_of(council)
    return {
        "committee": committee,
        "council": council,
        "front": front,
        "joint": joint,
        "own": own,
        "council_staff": council_staff,
    }


def staff_of(unit):
    user = make_user()
    user.groups.add(Group.objects.get(name=UNIT_STAFF))
    make_member(user, unit)
    return user


def auditor():
    user = make_user()
    user.groups.add(Group.objects.get(name=AUDITOR))
    return user


def listed(response) -> set[int]:
    return {
        int(pk) for pk in re.findall(r'href="/records/followups/(\d+)/"', response.content.decode())
    }


# Who sees it, who changes it ---------------------------------------------------------------


def test_co_responsible_units_staff_see_the_item_but_cannot_change_it(client, scene):
    staff, joint = scene["council_staff"], scene["joint"]
    assert list(visible_to(FollowUp.objects.all(), staff)) == [joint]
    assert not changeable_by(FollowUp.objects.all(), staff).exists()
    client.force_login(staff)
    assert listed(client.get("/records/followups/")) == {joint.pk}
    assert client.get(f"/records/followups/{joint.pk}/").status_code == 200
    assert client.get(f"/records/followups/{scene['own'].pk}/").status_code == 404
    page = client.get(f"/admin/coordination/followup/{joint.pk}/change/")
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    response = client.post(f"/admin/coordination/followup/{joint.pk}/change/", {"content": "x"})
    assert response.status_code == 403
    assert FollowUp.objects.get(pk=joint.pk).content == joint.content


def test_the_responsible_units_staff_change_it(client, scene):
    staff = staff_of(scene["committee"])
    assert list(changeable_by(FollowUp.objects.all(), staff)) == [scene["joint"]]


def test_co_responsible_staff_cannot_change_the_item_by_import(scene):
    joint = scene["joint"]
    rows = [
        ["Mã", *HEADER, "Kết quả giải quyết"],
        [joint.pk, "Tồn tại – hạn chế", 2025, joint.content, "UBND huyện", "Sửa trộm"],
    ]
    report = import_records(
        kind="followups",
        data=xlsx_bytes(rows),
        file_name="x.xlsx",
        user=scene["council_staff"],
        dry_run=False,
    )
    assert report.has_errors and not report.written
    assert FollowUp.objects.get(pk=joint.pk).resolution == ""


# Filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, {"joint", "own"}),
        ("any", {"joint", "own"}),
        ("lead", {"own"}),
        ("co_responsible", {"joint"}),
    ],
)
def test_the_unit_filter_takes_the_units_role(client, scene, role, expected):
    client.force_login(auditor())
    params = {"unit": scene["front"].pk}
    if role:
        params["unit_role"] = role
    assert listed(client.get("/records/followups/", params)) == {
        scene[name].pk for name in expected
    }
    admin = client.get("/admin/coordination/followup/", params)
    assert admin.status_code == 200
    assert {item.pk for item in admin.context["cl"].result_list} == {
        scene[name].pk for name in expected
    }


def test_for_unit_finds_the_items_a_unit_answers_for_once(scene):
    scene["joint"].co_responsible_units.add(scene["committee"])  # listed twice, found once
    assert list(FollowUp.objects.for_unit(scene["front"]).order_by("pk")) == [
        scene["joint"],
        scene["own"],
    ]
    assert list(FollowUp.objects.for_unit(scene["committee"])) == [scene["joint"]]


# The tables and reports count it under its responsible unit ---------------------------------


def test_the_outstanding_table_counts_the_item_under_its_responsible_unit_only(client, scene):
    client.force_login(auditor())
    table = client.get("/records/outstanding/", {"year": 2025}).context["table"]
    rows = {row.unit.pk: row for row in table.rows}
    assert set(rows) == {scene["committee"].pk, scene["front"].pk}
    assert rows[scene["front"].pk].outstanding == 1  # its own item, not the joint one
    assert table.total.outstanding == 2
    # A unit's number links to the list of the items it answers for as the responsible unit.
    total = rows[scene["front"].pk].cells[0]
    assert "unit_role=lead" in total.url
    assert listed(client.get(total.url)) == {scene["own"].pk}
    front_only = client.get("/records/outstanding/", {"year": 2025, "unit": scene["front"].pk})
    assert front_only.context["table"].total.outstanding == 1


def test_the_yearly_report_counts_the_item_under_its_responsible_unit_only(client, scene):
    client.force_login(auditor())
    for unit, total in (("committee", 1), ("council", 0), ("front", 1)):
        report = client.get("/records/report/", {"year": 2025, "unit": scene[unit].pk}).context[
            "report"
        ]
        assert report.followups.total == total, unit
        assert len(report.outstanding_followups) == total, unit


# Spreadsheets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["Đơn vị phối hợp giải quyết", "Đơn vị phối hợp", "Cơ quan phối hợp giải quyết"]
)
def test_the_import_reads_the_co_responsible_units(scene, header):
    rows = [
        [*HEADER, header],
        [
            "Kết luận",
            2026,
            "Các bên khắc phục hạn chế năm 2025",
            "UBND huyện Hàm Tân",
            "TT HĐND huyện\nUBMTTQVN huyện Hàm Tân",
        ],
    ]
    report = import_records(
        kind="followups", data=xlsx_bytes(rows), file_name="x.xlsx", user=None, dry_run=False
    )
    assert report.written, report.problems
    item = FollowUp.objects.get(year=2026)
    assert set(item.co_responsible_units.all()) == {scene["council"], scene["front"]}
    # The history entry of the import holds them.
    (entry,) = selectors.record_history_entries(item)
    changes = {label: new for label, _old, new in entry.changes}
    assert set(changes["đơn vị phối hợp giải quyết"].split(", ")) == {
        scene["council"].full_name,
        scene["front"].full_name,
    }
    links = apps.get_model("coordination", "HistoricalFollowUp_co_responsible_units")
    assert links.objects.filter(history__id=item.pk).count() == 2


def test_the_responsible_unit_cannot_also_be_co_responsible(scene, superuser_client):
    rows = [
        [*HEADER, "Đơn vị phối hợp giải quyết"],
        ["Kết luận", 2026, "Việc chung", "UBND huyện Hàm Tân", "UBND huyện Hàm Tân; TT HĐND huyện"],
    ]
    report = import_records(
        kind="followups", data=xlsx_bytes(rows), file_name="x.xlsx", user=None, dry_run=True
    )
    assert [(p.row, p.column) for p in report.problems] == [(2, "Đơn vị phối hợp giải quyết")]
    assert "không thể đồng thời là đơn vị phối hợp giải quyết" in report.problems[0].message
    joint = scene["joint"]
    page = superuser_client.get(f"/admin/coordination/followup/{joint.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name in form.fields
    }
    data["co_responsible_units"] = [scene["committee"].pk]
    data["responsible_unit"] = scene["committee"].pk
    response = superuser_client.post(f"/admin/coordination/followup/{joint.pk}/change/", data)
    assert response.status_code == 200
    assert "co_responsible_units" in response.context["adminform"].form.errors


def test_the_export_writes_the_co_responsible_units_and_reimports_unchanged(scene):
    stream = io.BytesIO()
    exporting.write_export("followups", FollowUp.objects.all(), stream, "xlsx")
    rows = xlsx_values(stream.getvalue())
    column = rows[0].index("Đơn vị phối hợp giải quyết")
    assert rows[0][column - 1] == "Đơn vị chịu trách nhiệm"
    by_number = {row[0]: row for row in rows[1:]}
    assert set(by_number[scene["joint"].pk][column].split("; ")) == {
        scene["council"].full_name,
        scene["front"].full_name,
    }
    assert by_number[scene["own"].pk][column] is None
    report = import_records(
        kind="followups", data=stream.getvalue(), file_name="x.xlsx", user=None, dry_run=False
    )
    assert report.summary_line() == "new=0 updated=0 unchanged=2 errors=0"


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as context:
        callable_()
    return len(context.captured_queries)


def test_lists_and_exports_take_the_same_queries_whatever_the_links(client, scene):
    """The co-responsible units' staff's list (a subquery on the links) and the export
    (one query per 2,000 items for the links): fixed whatever the number of items."""
    client.force_login(scene["council_staff"])
    pages = ["/records/followups/", "/records/followups/export/?format=xlsx"]
    for page in pages:
        client.get(page)
    counts = []
    for n in (5, 40):
        for _ in range(n):
            item = make_followup(year=2025, responsible_unit=scene["committee"])
            item.co_responsible_units.set([scene["council"], scene["front"]])
        counts.append([_queries(lambda page=page: drain(client.get(page))) for page in pages])
    assert counts[0] == counts[1]


def drain(response):
    assert response.status_code == 200
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)


# Unit mergers ------------------------------------------------------------------------------


def test_a_merger_hands_the_co_responsibilities_of_outstanding_items_over(scene):
    successor = make_unit(full_name="Ủy ban MTTQ Việt Nam tỉnh (kế thừa)")
    done = make_followup(
        year=2025,
        responsible_unit=scene["committee"],
        status=FollowUpStatus.RESOLVED,
        resolved_on=days(-1),
    )
    done.co_responsible_units.set([scene["front"]])
    result = services.unit_merge(
        units=[scene["front"]], successor=successor, dissolved_on=datetime.date(2025, 7, 1)
    )
    assert (result.followups_moved, result.co_responsibilities_moved) == (1, 1)
    assert set(scene["joint"].co_responsible_units.all()) == {scene["council"], successor}
    assert list(done.co_responsible_units.all()) == [scene["front"]]  # the past stays
    reasons = set(
        FollowUp.history.filter(id=scene["joint"].pk).values_list(
            "history_change_reason", flat=True
        )
    )
    assert any(reason and "Sáp nhập" in reason for reason in reasons)


def test_a_successor_already_answering_for_the_item_is_not_added_twice(scene):
    result = services.unit_merge(
        units=[scene["council"]], successor=scene["committee"], dissolved_on=days(-1)
    )
    assert result.co_responsibilities_moved == 1
    assert list(scene["joint"].co_responsible_units.all()) == [scene["front"]]


@pytest.fixture
def superuser_client(client):
    client.force_login(make_superuser())
    return client
