"""A record whose inline set is too long for its change page (a province's programme with
hundreds of tasks): the set is a link to its list, the page's size does not grow with it,
and nothing posted is lost."""

import pytest
from django.urls import reverse

from coordination.models import Task
from tests.factories import make_agreement, make_superuser, make_task, make_unit
from tests.forms import form_data

pytestmark = pytest.mark.django_db

AT_MOST = 30  # RecordAdmin.inline_rows_at_most


@pytest.fixture
def admin_client(client):
    client.force_login(make_superuser())
    return client


def programme(tasks: int):
    unit = make_unit()
    agreement = make_agreement(number="01/CTPH-TỈNH", parties=[unit])
    for n in range(tasks):
        make_task(agreement=agreement, lead_unit=unit, content=f"Nhiệm vụ số {n}")
    return agreement


def change_url(agreement) -> str:
    return reverse("admin:coordination_agreement_change", args=[agreement.pk])


def test_a_short_set_is_edited_on_the_page(admin_client):
    agreement = programme(AT_MOST)
    html = admin_client.get(change_url(agreement)).content.decode()
    assert 'name="tasks-TOTAL_FORMS"' in html or '-TOTAL_FORMS" value="30"' in html
    assert "quá nhiều để sửa ngay trên trang này" not in html


def test_a_long_set_is_a_link_to_its_list(admin_client):
    agreement = programme(AT_MOST + 1)
    response = admin_client.get(change_url(agreement))
    assert response.status_code == 200
    html = response.content.decode()
    assert "31 dòng: quá nhiều để sửa ngay trên trang này." in html
    assert "Nhiệm vụ số 5" not in html
    list_url = f"{reverse('admin:coordination_task_changelist')}?agreement={agreement.pk}"
    add_url = f"{reverse('admin:coordination_task_add')}?agreement={agreement.pk}"
    assert f'href="{list_url}"' in html
    assert f'href="{add_url}"' in html
    listed = admin_client.get(list_url)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == AT_MOST + 1
    added = admin_client.get(add_url)
    assert added.status_code == 200
    assert added.context["adminform"].form.initial["agreement"] == str(agreement.pk)


def test_the_page_does_not_grow_with_the_set(admin_client):
    agreement = programme(AT_MOST + 1)
    few = len(admin_client.get(change_url(agreement)).content)
    for n in range(200):
        make_task(agreement=agreement, lead_unit=agreement.parties.first(), content=f"Thêm {n}")
    many = len(admin_client.get(change_url(agreement)).content)
    assert abs(many - few) < 100


def test_saving_the_record_keeps_its_long_set(admin_client):
    agreement = programme(AT_MOST + 1)
    data = form_data(admin_client.get(change_url(agreement)).content.decode(), "agreement_form")
    data["title"] = "Chương trình phối hợp năm 2026 (sửa)"
    response = admin_client.post(change_url(agreement), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement.refresh_from_db()
    assert agreement.title == "Chương trình phối hợp năm 2026 (sửa)"
    assert Task.objects.filter(agreement=agreement).count() == AT_MOST + 1


def test_a_set_that_grew_past_the_limit_after_the_page_opened_is_still_saved(admin_client):
    """The page drew 30 tasks; another user added one; the tasks edited here are saved."""
    agreement = programme(AT_MOST)
    data = form_data(admin_client.get(change_url(agreement)).content.decode(), "agreement_form")
    make_task(agreement=agreement, lead_unit=agreement.parties.first(), content="Của người khác")
    first = Task.objects.filter(agreement=agreement).order_by("pk").first()
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.endswith("-id") and key.startswith("tasks-") and value == str(first.pk)
    )
    data[f"tasks-{index}-content"] = "Nhiệm vụ đã sửa trên trang"
    response = admin_client.post(change_url(agreement), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    first.refresh_from_db()
    assert first.content == "Nhiệm vụ đã sửa trên trang"
    assert Task.objects.filter(agreement=agreement).count() == AT_MOST + 1
