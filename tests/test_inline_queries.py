"""An agreement's change page costs the same queries with 3 or 25 rows in its inline sets,
for the administrator who edits them (type-ahead boxes) and for the unit's staff who read
most of them (read-only rows naming their unit and person)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination.admin.inline_choices import PreloadedAutocompleteSelect
from tests.factories import (
    make_agreement,
    make_indicator,
    make_member,
    make_person,
    make_signatory,
    make_superuser,
    make_unit,
    make_user,
)

pytestmark = pytest.mark.django_db

STAFF_GROUP = "Cán bộ đơn vị"


def agreement_with(rows: int, lead, first: int = 0):
    """An agreement of `lead` and `rows` other units (numbered from `first`), each with a
    signatory and an indicator."""
    others = [
        make_unit(full_name=f"Hội đoàn thể số {n} huyện Hàm Tân")
        for n in range(first, first + rows)
    ]
    agreement = make_agreement(parties=[lead, *others])
    for n, unit in enumerate(others):
        person = make_person(full_name=f"Nguyễn Văn Số {first + n}", unit=unit)
        make_signatory(agreement=agreement, person=person, unit=unit)
        make_indicator(agreement=agreement, unit=unit, name=f"Chỉ tiêu số {first + n}")
    return agreement


def page_queries(client, agreement) -> tuple[int, str]:
    url = reverse("admin:coordination_agreement_change", args=[agreement.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("who", ["administrator", "unit staff"])
def test_change_page_queries_do_not_grow_with_the_inline_rows(client, who):
    lead = make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân")
    if who == "administrator":
        user = make_superuser()
    else:
        user = make_user()
        user.groups.add(Group.objects.get(name=STAFF_GROUP))
        make_member(user, lead)
    client.force_login(user)
    page_queries(client, agreement_with(1, lead, first=100))  # caches of the first request
    few, _html = page_queries(client, agreement_with(3, lead))
    many, html = page_queries(client, agreement_with(25, lead, first=3))
    assert many == few
    # Every row still names its unit and its signatory.
    assert "Hội đoàn thể số 27 huyện Hàm Tân" in html
    assert "Nguyễn Văn Số 27" in html


def test_each_type_ahead_box_draws_its_own_chosen_record(client):
    lead = make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân")
    client.force_login(make_superuser())
    agreement = agreement_with(4, lead)
    url = reverse("admin:coordination_agreement_change", args=[agreement.pk])
    response = client.get(url)
    formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "indicators"
    )
    for form in formset.forms:
        box = form.fields["unit"].widget.widget
        assert isinstance(box, PreloadedAutocompleteSelect)
        html = box.render("unit", form["unit"].value())
        chosen = form.instance.unit
        assert f'<option value="{chosen.pk}" selected>{chosen}</option>' in html
        assert html.count("<option") == 1 + (not form.fields["unit"].required)


def test_a_value_the_formset_did_not_read_falls_back_to_djangos_query(client):
    """A posted value not among the rows read (another unit chosen in the box) is drawn by
    Django's own query, not dropped."""
    unit = make_unit(full_name="Hội Nông dân huyện Hàm Tân")
    other = make_unit(full_name="Hội Cựu chiến binh huyện Hàm Tân")
    client.force_login(make_superuser())
    agreement = agreement_with(1, unit)
    url = reverse("admin:coordination_agreement_change", args=[agreement.pk])
    formset = next(
        inline.formset
        for inline in client.get(url).context["inline_admin_formsets"]
        if inline.formset.prefix == "indicators"
    )
    widget = formset.forms[0].fields["unit"].widget.widget
    html = widget.render("unit", str(other.pk))
    assert f'<option value="{other.pk}" selected>{other}</option>' in html
