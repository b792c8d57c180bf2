"""Units and agreements picked by a type-ahead box where there are many (issue 16): no page's
size grows with the number of units or agreements, and what the box sends is checked as a
select's choice was."""

import itertools
import json
import re

import pytest
from django.contrib.auth.models import Group

from coordination.models import Agreement, Unit
from coordination.typeahead import LIST_AT_MOST
from tests.factories import make_agreement, make_followup, make_member, make_unit, make_user

pytestmark = pytest.mark.django_db

AUDITOR_GROUP = "Kiểm tra – giám sát"
STAFF_GROUP = "Cán bộ đơn vị"

#: Pages whose filter form offers a unit and (but the outstanding table) an agreement.
FORM_PAGES = [
    "/records/followups/",
    "/records/tasks/",
    "/records/meetings/",
    "/records/signatories/",
    "/records/indicators/",
    "/records/people/",
    "/records/outstanding/",
    "/records/report/",
]
#: Admin lists whose sidebar has a unit filter.
ADMIN_LISTS = [
    "/admin/coordination/followup/",
    "/admin/coordination/task/",
    "/admin/coordination/agreement/",
    "/admin/coordination/meeting/",
    "/admin/coordination/person/",
    "/admin/coordination/signatory/",
    "/admin/coordination/indicator/",
]


def auditor():
    user = make_user()
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    return user


def staff(*units):
    user = make_user()
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    for unit in units:
        make_member(user, unit)
    return user


_numbers = itertools.count()


def add_units(count):
    Unit.objects.bulk_create(
        Unit(
            full_name=f"Hội Nông dân xã Thử Nghiệm {n}",
            kind="socio_political",
            level="commune",
            locality=f"xã Thử Nghiệm {n}, tỉnh Lâm Đồng",
        )
        for n in itertools.islice(_numbers, count)
    )


def add_agreements(count, unit):
    for n in itertools.islice(_numbers, count):
        make_agreement(number=f"{n:04d}/QCPH-TN", parties=[unit])


def options(html: str, name: str) -> list[str]:
    """The values of the options of the select named `name`."""
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select named {name}"
    return re.findall(r'<option value="([^"]*)"', match.group(1))


def select_tag(html: str, name: str) -> str:
    match = re.search(rf'<select name="{name}"[^>]*>', html)
    assert match, f"no select named {name}"
    return match.group(0)


@pytest.mark.parametrize("url", FORM_PAGES)
def test_page_size_does_not_grow_with_units_and_agreements(client, url):
    """An auditor's page weighs the same with 60 units and agreements as with 600."""
    unit = make_unit()
    make_followup(responsible_unit=unit)
    client.force_login(auditor())
    add_units(LIST_AT_MOST + 10)
    add_agreements(LIST_AT_MOST + 10, unit)
    few = client.get(url)
    assert few.status_code == 200
    add_units(540)
    add_agreements(60, unit)
    many = client.get(url)
    assert many.status_code == 200
    assert abs(len(many.content) - len(few.content)) < 200, url
    html = many.content.decode()
    assert options(html, "unit") == [""]
    assert "admin-autocomplete" in select_tag(html, "unit")
    assert 'data-placeholder="Gõ tên đơn vị…"' in select_tag(html, "unit")
    if 'name="agreement"' in html:
        assert options(html, "agreement") == [""]
        assert 'data-field-name="agreement"' in select_tag(html, "agreement")
    # select2 and Django's autocomplete come with the page.
    assert "admin/js/vendor/select2/select2.full" in html
    assert "admin/js/autocomplete.js" in html


def test_few_choices_stay_a_plain_select(client):
    """Unit staff choose among their own units: a select lists them, with no script."""
    mine = [make_unit(full_name="Ủy ban nhân dân xã Tân Minh"), make_unit()]
    add_units(LIST_AT_MOST + 10)
    make_followup(responsible_unit=mine[0])
    client.force_login(staff(*mine))
    html = client.get("/records/followups/").content.decode()
    assert sorted(options(html, "unit")) == sorted(["", *(str(unit.pk) for unit in mine)])
    assert "admin-autocomplete" not in select_tag(html, "unit")
    assert "<script" not in html


def test_chosen_unit_and_agreement_are_shown_and_filter(client):
    unit = make_unit(full_name="Ủy ban nhân dân xã Tân Minh")
    other = make_unit()
    add_units(LIST_AT_MOST + 10)
    agreement = make_agreement(number="07/QCPH-TM", title="Quy chế phối hợp", parties=[unit])
    add_agreements(LIST_AT_MOST + 10, other)
    mine = make_followup(responsible_unit=unit, agreement=agreement, content="Việc của xã")
    make_followup(responsible_unit=other, content="Việc đơn vị khác")
    client.force_login(auditor())
    response = client.get("/records/followups/", {"unit": unit.pk, "agreement": agreement.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert options(html, "unit") == ["", str(unit.pk)]
    assert options(html, "agreement") == ["", str(agreement.pk)]
    assert re.search(rf'<option value="{unit.pk}" selected>Ủy ban nhân dân xã Tân Minh', html)
    assert re.search(rf'<option value="{agreement.pk}" selected>07/QCPH-TM', html)
    assert "Việc của xã" in html and "Việc đơn vị khác" not in html
    assert mine.pk


@pytest.mark.parametrize(
    "value",
    ["abc", "99999999999999999999999", "-1", "1\x00", "0", "1e3", "1,2", " "],
)
@pytest.mark.parametrize("name", ["unit", "agreement"])
def test_hostile_choice_is_a_form_error_not_a_crash(client, name, value):
    unit = make_unit()
    add_units(LIST_AT_MOST + 10)
    add_agreements(LIST_AT_MOST + 10, unit)
    client.force_login(auditor())
    response = client.get("/records/followups/", {name: value})
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert options(html, name) == [""]
    if value.strip():
        assert response.status_code == 400
        assert 'class="error"' in html


def test_unit_staff_cannot_pick_another_units_agreement_through_the_box(client):
    """The box's field keeps its queryset: an agreement the user may not read is refused."""
    mine, other = make_unit(), make_unit()
    add_agreements(LIST_AT_MOST + 10, mine)
    hidden = make_agreement(number="99/QCPH-KHAC", parties=[other])
    client.force_login(staff(mine))
    response = client.get("/records/followups/", {"agreement": hidden.pk})
    assert response.status_code == 400
    assert "99/QCPH-KHAC" not in response.content.decode()


def test_autocomplete_gives_the_agreements_the_user_may_read(client):
    mine, other = make_unit(), make_unit()
    add_agreements(LIST_AT_MOST + 10, mine)
    make_agreement(number="99/QCPH-KHAC", title="Quy chế khác", parties=[other])
    client.force_login(staff(mine))
    params = {
        "app_label": "coordination",
        "model_name": "task",
        "field_name": "agreement",
        "term": "qcph",
    }
    response = client.get("/admin/autocomplete/", params)
    assert response.status_code == 200
    found = json.loads(response.content)["results"]
    assert found and all("KHAC" not in result["text"] for result in found)
    visible = {
        str(pk) for pk in Agreement.objects.filter(parties=mine).values_list("pk", flat=True)
    }
    assert {result["id"] for result in found} <= visible


@pytest.mark.parametrize("url", ADMIN_LISTS)
def test_admin_sidebar_does_not_list_every_unit(client, url):
    unit = make_unit()
    make_followup(responsible_unit=unit)
    add_units(LIST_AT_MOST + 10)
    client.force_login(auditor())
    few = client.get(url)
    add_units(500)
    many = client.get(url)
    assert few.status_code == many.status_code == 200
    assert abs(len(many.content) - len(few.content)) < 200, url
    assert 'class="unit-filter"' in many.content.decode()
