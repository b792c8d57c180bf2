"""Aliases of units kept by administrators, and picking the unit of an unresolved name in the
admin's import preview (issue 13, point 4).

The admin is driven through Django's test client at its real URLs, with .xlsx files made in
the test: upload, pick, preview again, confirm, and the same list uploaded again; every
refusal (permissions, forged picks, other users' tokens) answers with a message, never 500.
"""

import datetime

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext

from coordination import services, uploads
from coordination.importing import import_records
from coordination.models import Task, Unit, UnitAlias
from tests.factories import (
    db_state,
    make_agreement,
    make_member,
    make_superuser,
    make_unit,
    make_user,
    xlsx_bytes,
    xlsx_values,
)
from tests.forms import form_data
from tests.test_import_admin import EXPIRED, logged_in, messages_of, upload, url

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


def pick(client, token, model="task", **fields):
    return client.post(url(model, "import_units"), {"token": token, **fields})


def names_of(response) -> list[str]:
    return [name.text for name in response.context["report"].unresolved_units]


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
    assert report.error_rows == [] and report.unresolved_units == []


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


# Picking units in the import preview --------------------------------------------------------


def test_pick_and_keep_aliases_then_the_same_list_goes_in_unchanged(district):
    client = logged_in(district.admin)
    response = upload(client, "task", tasks_file(district, *ROWS))
    token = response.context["token"]
    assert names_of(response) == ["Mặt trận Hàm Tân cũ", "Phụ nữ HT"]
    front_suggested = response.context["report"].unresolved_units[0].candidates[0]
    assert front_suggested == district.front
    html = response.content.decode()
    assert url("task", "import_units") in html and 'name="alias_0"' in html
    before = db_state()

    response = pick(
        client,
        token,
        unit_0=district.front.pk,
        alias_0="on",
        other_1=district.women.pk,
        alias_1="on",
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert report.error_rows == [] and report.count_new == 2
    assert url("task", "process_import") in response.content.decode()
    assert not Task.objects.filter(content="Tuyên truyền bầu cử").exists()
    assert {(a.name, a.unit) for a in UnitAlias.objects.all()} == {
        ("Mặt trận Hàm Tân cũ", district.front),
        ("Phụ nữ HT", district.women),
    }
    # Written in each unit's admin log, as its change page would.
    logged = LogEntry.objects.filter(user=district.admin, action_flag=CHANGE)
    assert {entry.object_id for entry in logged} == {str(district.front.pk), str(district.women.pk)}
    assert len(db_state()) == len(before)

    response = client.post(url("task", "process_import"), {"token": token})
    assert response.status_code == 302
    task = Task.objects.get(content="Tuyên truyền bầu cử")
    assert task.lead_unit == district.committee
    assert set(task.coordinating_units.all()) == {district.front, district.women}

    # Next year's list, the same spellings: it goes in without a question.
    again = [(f"{content} 2025", lead, others) for content, lead, others in ROWS]
    response = upload(client, "task", tasks_file(district, *again))
    report = response.context["report"]
    assert report.error_rows == [] and report.unresolved_units == []
    assert response.context["pick_form"] is None
    client.post(url("task", "process_import"), {"token": response.context["token"]})
    assert Task.objects.get(content="Giám sát đầu tư công 2025").coordinating_units.get() == (
        district.women
    )


def test_a_pick_without_alias_permission_applies_to_this_import_only(district):
    client = logged_in(district.clerk)
    response = upload(client, "task", tasks_file(district, *ROWS))
    token = response.context["token"]
    assert 'name="alias_0"' not in response.content.decode()
    # A checkbox the page did not offer, posted anyway: said so, and the pick still applies.
    response = pick(
        client, token, unit_0=district.front.pk, alias_0="on", other_1=district.women.pk
    )
    assert (
        vi(
            "“%(name)s” was not kept as an alias: you may not add aliases. Your choice applies "
            "to this import only.",
            name="Mặt trận Hàm Tân cũ",
        )
        in response.content.decode()
    )
    assert response.context["report"].error_rows == []
    assert not UnitAlias.objects.exists()

    client.post(url("task", "process_import"), {"token": token})
    task = Task.objects.get(content="Tuyên truyền bầu cử")
    assert set(task.coordinating_units.all()) == {district.front, district.women}

    response = upload(client, "task", tasks_file(district, ROWS[1]))
    assert names_of(response) == ["Phụ nữ HT"]


def test_picks_accumulate_and_an_ambiguous_name_is_picked_but_not_kept(district):
    """“UBND huyện” names two committees: picked, it applies here; kept, it would guess
    for everybody else, so the alias is refused with the reason."""
    client = logged_in(district.admin)
    rows = [("Đối thoại", "UBND huyện", "Mặt trận Hàm Tân cũ")]
    response = upload(client, "task", tasks_file(district, *rows))
    token = response.context["token"]
    assert names_of(response) == ["UBND huyện", "Mặt trận Hàm Tân cũ"]
    ambiguous = response.context["report"].unresolved_units[0]
    assert ambiguous.ambiguous and set(ambiguous.candidates) == {district.committee, district.other}

    response = pick(client, token, unit_0=district.committee.pk, alias_0="on")
    reason = vi(TAKEN, name="UBND huyện", units=district.other)
    refused = vi(
        "“%(name)s” was not kept as an alias: %(reason)s", name="UBND huyện", reason=reason
    )
    assert response.context["pick_problems"] == [refused]
    assert refused in response.content.decode()
    assert not UnitAlias.objects.exists()
    assert names_of(response) == ["Mặt trận Hàm Tân cũ"]

    response = pick(client, token, unit_0=district.front.pk)
    assert response.context["report"].error_rows == []
    client.post(url("task", "process_import"), {"token": token})
    task = Task.objects.get(content="Đối thoại")
    assert (task.lead_unit, list(task.coordinating_units.all())) == (
        district.committee,
        [district.front],
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"unit_0": "999999"},  # not one of the offered units
        {"unit_0": "abc"},
        {"other_0": "abc"},
        {"other_0": "-1"},
        {"other_0": "1.5"},
        {"other_0": "99999999999999999999999999"},
        {"other_0": "0x10"},
        {"other_0": "1\x00"},
    ],
)
def test_forged_picks_are_refused_with_a_message_and_change_nothing(district, fields):
    client = logged_in(district.admin)
    token = upload(client, "task", tasks_file(district, *ROWS)).context["token"]
    before = db_state()
    response = pick(client, token, **fields)
    assert response.status_code == 200
    assert response.context["pick_problems"]
    assert names_of(response) == ["Mặt trận Hàm Tân cũ", "Phụ nữ HT"]
    assert uploads.load_entry(response.wsgi_request, token, kind="tasks").get("choices") in (
        None,
        {},
    )
    assert db_state() == before


def test_picks_for_names_the_preview_did_not_ask_about_are_ignored(district):
    client = logged_in(district.admin)
    token = upload(client, "task", tasks_file(district, *ROWS)).context["token"]
    response = pick(
        client, token, unit_7=district.front.pk, other_9=district.front.pk, alias_7="on"
    )
    assert response.status_code == 200
    assert names_of(response) == ["Mặt trận Hàm Tân cũ", "Phụ nữ HT"]
    assert not UnitAlias.objects.exists()


def test_a_unit_outside_the_clerks_units_is_refused_by_the_import_not_the_server(district):
    """Any unit may be picked (units are reference data), but a clerk's row still may not
    give another unit's task: the preview says so, and nothing can be confirmed."""
    client = logged_in(district.clerk)
    response = upload(client, "task", tasks_file(district, ("Việc lạ", "Ủy ban ND Hàm Tân", "")))
    token = response.context["token"]
    assert names_of(response) == ["Ủy ban ND Hàm Tân"]
    before = db_state()
    response = pick(client, token, other_0=district.other.pk)
    assert response.status_code == 200
    assert vi("You may only import records of your own units.") in response.content.decode()
    response = client.post(url("task", "process_import"), {"token": token})
    assert db_state() == before


def test_another_users_token_or_none_gets_the_expired_message(district):
    token = upload(logged_in(district.admin), "task", tasks_file(district, *ROWS)).context["token"]
    client = logged_in(district.clerk)
    for data in ({"token": token, "unit_0": district.front.pk}, {"unit_0": district.front.pk}):
        response = client.post(url("task", "import_units"), data)
        assert response.status_code == 302
        assert response["Location"] == url("task", "import")
        assert vi(EXPIRED) in messages_of(response)
    assert not UnitAlias.objects.exists()


def test_the_pick_view_needs_the_import_permission_and_a_post(district):
    token = upload(logged_in(district.admin), "task", tasks_file(district, *ROWS)).context["token"]
    reader = make_user(permissions=["coordination.view_task"])
    assert pick(logged_in(reader), token, unit_0=district.front.pk).status_code == 403
    response = logged_in(district.admin).get(url("task", "import_units"))
    assert response.status_code == 302 and response["Location"] == url("task", "import")


def test_picks_apply_to_the_marked_error_file_too(district):
    """The workbook with the errors marked is the file as the picks left it."""
    client = logged_in(district.admin)
    token = upload(client, "task", tasks_file(district, *ROWS)).context["token"]
    pick(client, token, unit_0=district.front.pk)
    response = client.get(url("task", "import_errors", token))
    marked = [row[-1] for row in xlsx_values(b"".join(response.streaming_content))[1:]]
    assert len(marked) == 2 and all("Phụ nữ HT" in text for text in marked)
    assert not any("Mặt trận Hàm Tân cũ" in text for text in marked)


def test_another_unit_is_searched_among_every_unit_for_those_who_may_view_units(district):
    """The “or another unit” box asks the admin's autocomplete, which finds any unit (units
    are reference data), for a user who may view units, and refuses anyone else."""
    query = {
        "app_label": "coordination",
        "model_name": "unitalias",
        "field_name": "unit",
        "term": "Đầm Hà",
    }
    viewer = make_user(permissions=[*TASK_PERMISSIONS, "coordination.view_unit"])
    make_member(viewer, district.committee)
    response = logged_in(viewer).get("/admin/autocomplete/", query)
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(district.other.pk)]
    assert logged_in(district.clerk).get("/admin/autocomplete/", query).status_code == 403
