"""Aliases of units kept by administrators (issue 13, point 4): one spelling names one unit,
on the unit's admin page as in the database, and a merger hands them to the successor."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext

from coordination import services
from coordination.importing import import_records
from coordination.models import Unit, UnitAlias
from tests.factories import (
    db_state,
    make_agreement,
    make_member,
    make_superuser,
    make_unit,
    make_user,
    xlsx_bytes,
)
from tests.forms import form_data
from tests.test_import_admin import logged_in, messages_of, url

pytestmark = pytest.mark.django_db

HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Đơn vị phối hợp"]
TASK_PERMISSIONS = [
    f"coordination.{action}_task" for action in ("view", "add", "change", "import", "export")
]
DAM_HA = "huyện Đầm Hà, tỉnh Quảng Ninh"


def vi(message: str, /, **params) -> str:
    with translation.override("vi"):
        text = gettext(message)
    return text % params if params else text


@pytest.fixture
def district(db):
    """Hàm Tân's committee, Front and Women's Union, Đầm Hà's committee, an agreement, an
    administrator and a committee clerk who may import tasks but not keep aliases."""
    committee = make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân", short_name="UBND huyện")
    front = make_unit(
        full_name="Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân", short_name="UBMTTQVN huyện"
    )
    women = make_unit(full_name="Hội Liên hiệp Phụ nữ huyện Hàm Tân", short_name="Hội LHPN huyện")
    other = make_unit(
        full_name="Ủy ban nhân dân huyện Đầm Hà", short_name="UBND huyện", locality=DAM_HA
    )
    clerk = make_user(username="van_thu", permissions=TASK_PERMISSIONS)
    make_member(clerk, committee)
    return type(
        "District",
        (),
        {
            "committee": committee,
            "front": front,
            "women": women,
            "other": other,
            "agreement": make_agreement(
                number="02/CTPH-2024", start_year=2024, end_year=2024, parties=[committee]
            ),
            "admin": make_superuser(username="quan_tri"),
            "clerk": clerk,
        },
    )


def tasks_file(district, *rows) -> bytes:
    return xlsx_bytes(
        [HEADER]
        + [
            [district.agreement.number, 2024, content, lead, others]
            for content, lead, others in rows
        ]
    )


# The same list, as an office keeps it: two spellings the register does not know.
ROWS = [
    ("Tuyên truyền bầu cử", "UBND H. Hàm Tân", "Mặt trận Hàm Tân cũ; Phụ nữ HT"),
    ("Giám sát đầu tư công", "UBND H. Hàm Tân", "Phụ nữ HT"),
]


# The model ----------------------------------------------------------------------------------


def test_an_alias_is_kept_clean_with_its_key(district):
    alias = UnitAlias.objects.create(unit=district.front, name="  Mặt trận\u00a0 H. Hàm Tân ")
    assert alias.name == "Mặt trận H. Hàm Tân"
    assert alias.key == "ubmttq huyen ham tan"


def test_one_spelling_names_one_unit_in_the_database(district):
    UnitAlias.objects.create(unit=district.front, name="MT Hàm Tân")
    with pytest.raises(IntegrityError), transaction.atomic():
        UnitAlias.objects.create(unit=district.women, name="mt  HÀM TÂN")


TAKEN = (
    "“%(name)s” is already the name of another unit: %(units)s. An alias may only name one unit."
)


@pytest.mark.parametrize(
    ("name", "message", "params"),
    [
        ("…", "Enter a name with at least one letter or digit.", {}),
        ("mt  HÀM TÂN", "“%(name)s” is already an alias of %(unit)s.", {"name": "MT Hàm Tân"}),
        # Another unit's full name, written the short way.
        ("UBND H. Đầm Hà", TAKEN, {"name": "UBND H. Đầm Hà"}),
        # A short name other units have: keeping it would settle an ambiguity by a guess.
        ("UBND huyện", TAKEN, {"name": "UBND huyện"}),
    ],
)
def test_an_alias_that_would_name_a_second_unit_is_refused(district, name, message, params):
    UnitAlias.objects.create(unit=district.women, name="MT Hàm Tân")
    params = {**params, "unit": district.women, "units": district.other}
    alias = UnitAlias(unit=district.committee, name=name)
    with translation.override("vi"), pytest.raises(ValidationError) as caught:
        alias.full_clean()
    assert caught.value.message_dict == {"name": [vi(message, **params)]}


def test_an_alias_may_repeat_the_units_own_name_differently_spelled(district):
    UnitAlias(unit=district.committee, name="Ủy ban ND huyện Hàm Tân").full_clean()


def test_a_merger_moves_the_aliases_to_the_successor(district):
    alias = UnitAlias.objects.create(unit=district.women, name="Phụ nữ HT")
    result = services.unit_merge(
        units=Unit.objects.filter(pk=district.women.pk),
        successor=district.front,
        dissolved_on=datetime.date(2025, 7, 1),
    )
    assert result.aliases_moved == 1
    alias.refresh_from_db()
    assert alias.unit == district.front
    report = import_records(kind="tasks", data=tasks_file(district, ROWS[1]), file_name="x.xlsx")
    assert report.error_rows == []


def test_the_merge_action_says_the_aliases_moved(district):
    UnitAlias.objects.create(unit=district.women, name="Phụ nữ HT")
    client = logged_in(district.admin)
    response = client.post(
        url("unit", "changelist"),
        {
            "action": "merge_units",
            "_selected_action": [district.women.pk],
            "post": "yes",
            "successor": district.front.pk,
            "dissolved_on": "01/07/2025",
        },
    )
    assert response.status_code == 302
    with translation.override("vi"):
        expected = translation.ngettext(
            "%(count)d alias now names the successor.",
            "%(count)d aliases now name the successor.",
            1,
        ) % {"count": 1}
    assert any(message.endswith(expected) for message in messages_of(response))
    assert UnitAlias.objects.get().unit == district.front


# The unit's admin page ----------------------------------------------------------------------


def change_page(client, unit, **aliases):
    """Post the unit's change form as the browser would, with new alias rows added."""
    page = client.get(url("unit", "change", unit.pk))
    data = form_data(page.content.decode(), "unit_form")
    data["aliases-TOTAL_FORMS"] = str(int(data["aliases-TOTAL_FORMS"]) + len(aliases))
    start = int(data["aliases-INITIAL_FORMS"])
    for offset, name in enumerate(aliases.values()):
        data[f"aliases-{start + offset}-name"] = name
        data[f"aliases-{start + offset}-unit"] = str(unit.pk)
    return client.post(url("unit", "change", unit.pk), data)


def test_an_administrator_keeps_aliases_on_the_units_page(district):
    client = logged_in(district.admin)
    response = change_page(client, district.front, first="Mặt trận Hàm Tân cũ", second="MT HT")
    assert response.status_code == 302, response.context["errors"]
    assert sorted(district.front.aliases.values_list("name", flat=True)) == [
        "MT HT",
        "Mặt trận Hàm Tân cũ",
    ]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (
            ("UBND H. Đầm Hà",),
            vi(TAKEN, name="UBND H. Đầm Hà", units="Ủy ban nhân dân huyện Đầm Hà"),
        ),
        (("MT HT", "mt  ht"), vi("This spelling is given twice.")),
    ],
)
def test_the_units_page_refuses_a_spelling_of_another_unit_in_vietnamese(district, names, message):
    client = logged_in(district.admin)
    before = db_state()
    response = change_page(
        client, district.front, **{f"n{i}": name for i, name in enumerate(names)}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert db_state() == before


def test_unit_staff_without_alias_permissions_see_no_aliases(district):
    viewer = make_user(permissions=["coordination.view_unit"])
    make_member(viewer, district.front)
    page = logged_in(viewer).get(url("unit", "change", district.front.pk))
    assert page.status_code == 200
    assert "aliases-TOTAL_FORMS" not in page.content.decode()
