"""Units named so that no two read alike, and sorted in Vietnamese alphabetical order, on
both databases (issue 15, point 2)."""

import random

import pytest
from django.contrib.auth.models import Group

from coordination.collation import sort_key
from coordination.models import Person, Unit
from coordination.unit_names import display_name
from tests.factories import (
    days,
    make_followup,
    make_person,
    make_superuser,
    make_task,
    make_unit,
    make_user,
)

pytestmark = pytest.mark.django_db

HAM_TAN = "huyện Hàm Tân, tỉnh Bình Thuận"
DAM_HA = "huyện Đầm Hà, tỉnh Quảng Ninh"


@pytest.mark.parametrize(
    "full_name, short_name, locality, shown",
    [
        ("Ủy ban nhân dân huyện Hàm Tân", "UBND huyện", HAM_TAN, "UBND huyện Hàm Tân"),
        ("Ủy ban nhân dân huyện Đầm Hà", "UBND huyện", DAM_HA, "UBND huyện Đầm Hà"),
        ("Ủy ban MTTQ Việt Nam huyện Hàm Tân", "UBMTTQVN huyện", HAM_TAN, "UBMTTQVN huyện Hàm Tân"),
        # A short name without a level takes the locality's first part, level included.
        (
            "Phòng Tài chính - Kế hoạch huyện A",
            "Phòng TC-KH",
            "huyện A, tỉnh B",
            "Phòng TC-KH huyện A",
        ),
        # A short name that names its place already is shown as written.
        (
            "Ủy ban nhân dân tỉnh Lâm Đồng",
            "UBND tỉnh Lâm Đồng",
            "tỉnh Lâm Đồng",
            "UBND tỉnh Lâm Đồng",
        ),
        (
            "Ủy ban nhân dân xã Tân Phúc",
            "UBND xã Tân Phúc",
            "xã Tân Phúc, tỉnh Lâm Đồng",
            "UBND xã Tân Phúc",
        ),
        # No short name: the full name.
        ("Hội Nông dân xã Tân Phúc", "", "xã Tân Phúc", "Hội Nông dân xã Tân Phúc"),
        (
            "Ủy ban nhân dân thị trấn Tân Nghĩa",
            "UBND thị trấn",
            "thị trấn Tân Nghĩa",
            "UBND thị trấn Tân Nghĩa",
        ),
    ],
)
def test_a_unit_is_shown_by_its_short_name_with_its_place(full_name, short_name, locality, shown):
    assert display_name(full_name, short_name, locality) == shown


#: Vietnamese alphabetical order, as ICU's `vi` collation gives it: ă and â after a, đ after
#: d, ô and ơ after o, ư after u; the tones after the letters (ngang, huyền, hỏi, ngã, sắc,
#: nặng); a word before its longer forms.
ORDERED = [
    "An Giang",
    "Anh Sơn",
    "Ăn Uống",
    "Ấp Bắc",
    "Ban Dân vận",
    "Dân vận",
    "Đảng ủy",
    "Ha",
    "Hà",
    "Hả",
    "Hã",
    "Há",
    "Hạ",
    "Hạ Long",
    "Hà Tĩnh",
    "Hội Nông dân",
    "Hội Phụ nữ",
    "Huyện Đoàn",
    "Ô Môn",
    "Ơn Nghĩa",
    "Uy",
    "Ủy ban nhân dân",
    "Ưng Hòa",
    "Văn phòng",
]


def test_the_python_order_is_the_vietnamese_alphabet():
    shuffled = ORDERED[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == ORDERED


def test_units_and_people_are_listed_in_vietnamese_order_by_the_database():
    """The models' default order (Unit: place, then name; Person: name) on this database:
    SQLite's registered collation and PostgreSQL's ICU one agree with the alphabet."""
    shuffled = ORDERED[:]
    random.Random(11).shuffle(shuffled)
    home = make_unit(full_name="Đơn vị chủ quản", locality="xã Phú Quý, tỉnh Lâm Đồng")
    for name in shuffled:
        make_unit(full_name=name, locality="xã Tân Phúc, tỉnh Lâm Đồng")
        make_person(full_name=name, unit=home)
    names = Unit.objects.filter(locality="xã Tân Phúc, tỉnh Lâm Đồng").values_list(
        "full_name", flat=True
    )
    assert list(names) == ORDERED
    assert list(Person.objects.filter(unit=home).values_list("full_name", flat=True)) == ORDERED
    # Localities too: xã Ấp Bắc before xã Bình, xã Đông after xã Dương.
    for place in ["xã Dương", "xã Đông", "xã Bình", "xã Ấp Bắc"]:
        make_unit(full_name=f"UBND {place}", locality=f"{place}, tỉnh A")
    places = Unit.objects.filter(locality__endswith=", tỉnh A").values_list("locality", flat=True)
    assert list(places) == [
        "xã Ấp Bắc, tỉnh A",
        "xã Bình, tỉnh A",
        "xã Dương, tỉnh A",
        "xã Đông, tỉnh A",
    ]


@pytest.fixture
def two_districts():
    """Two districts' People's Committees, both with the short name “UBND huyện”, each with
    an overdue follow-up item and a task of 2025."""
    units = [
        make_unit(
            full_name="Ủy ban nhân dân huyện Hàm Tân", short_name="UBND huyện", locality=HAM_TAN
        ),
        make_unit(
            full_name="Ủy ban nhân dân huyện Đầm Hà", short_name="UBND huyện", locality=DAM_HA
        ),
    ]
    for unit in units:
        make_followup(responsible_unit=unit, year=2025, due_date=days(-20))
        make_task(lead_unit=unit, year=2025, due_date=days(-20))
    return units


@pytest.fixture
def auditor_client(client):
    user = make_user(username="kiemtra")
    user.groups.add(Group.objects.get(name="Kiểm tra – giám sát"))
    client.force_login(user)
    return client


def test_lists_tables_and_the_chart_tell_the_districts_apart(auditor_client, two_districts):
    for path in ["/records/followups/", "/records/tasks/"]:
        page = auditor_client.get(path, {"year": 2025}).content.decode()
        assert "UBND huyện Hàm Tân" in page and "UBND huyện Đầm Hà" in page
    response = auditor_client.get("/records/outstanding/", {"year": 2025})
    table = response.context["table"]
    labels = [bar["label"] for bar in table.chart["bars"]]
    assert sorted(labels) == ["UBND huyện Hàm Tân", "UBND huyện Đầm Hà"]
    # The table's rows in Vietnamese order of the names shown: “… Đầm Hà” (đ) before
    # “… Hàm Tân” (h); code-point order would put Đ after every Latin letter.
    assert [row.unit.locality for row in table.rows] == [DAM_HA, HAM_TAN]
    page = response.content.decode()
    assert page.count("UBND huyện Hàm Tân") >= 2 and page.count("UBND huyện Đầm Hà") >= 2


def test_the_admin_list_sorts_by_unit_in_vietnamese_order(client):
    """The unit column of the admin's task list sorts as the alphabet does: “Đảng ủy …”
    between “Dân vận …” and “Hội …”, not after every Latin letter."""
    names = ["Hội Nông dân xã Tân Phúc", "Đảng ủy xã Tân Phúc", "Dân vận xã Tân Phúc"]
    for name in names:
        make_task(lead_unit=make_unit(full_name=name, locality="xã Tân Phúc"), year=2026)
    client.force_login(make_superuser())
    page = client.get("/admin/coordination/task/", {"o": "3"})  # the lead unit's column
    assert page.status_code == 200
    shown = [str(task.lead_unit) for task in page.context["cl"].result_list]
    assert shown == ["Dân vận xã Tân Phúc", "Đảng ủy xã Tân Phúc", "Hội Nông dân xã Tân Phúc"]
    page = client.get("/admin/coordination/task/", {"o": "-3"})
    shown = [str(task.lead_unit) for task in page.context["cl"].result_list]
    assert shown == ["Hội Nông dân xã Tân Phúc", "Đảng ủy xã Tân Phúc", "Dân vận xã Tân Phúc"]
