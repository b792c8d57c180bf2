"""The demo fixture loads, its users log in and the admin shows every page with it."""

import json

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from coordination.choices import FollowUpStatus
from coordination.models import Agreement, FollowUp, Task

pytestmark = pytest.mark.django_db

DEMO_USERS = [
    ("admin", "admin-demo-2026"),
    ("canbo_hamtan", "canbo-demo-2026"),
    ("kiemtra", "kiemtra-demo-2026"),
]


@pytest.fixture
def demo():
    call_command("loaddata", "demo", verbosity=0)


def coordination_models():
    return [model for model in admin.site._registry if model._meta.app_label == "coordination"]


@pytest.mark.parametrize(("username", "password"), DEMO_USERS, ids=[u for u, _ in DEMO_USERS])
def test_demo_user_logs_in_with_the_documented_password(client, demo, username, password):
    """Each demo account exists, is active staff and opens the admin index."""
    user = get_user_model().objects.get(username=username)
    assert user.is_active and user.is_staff
    # Through the login form, as a person does (django-axes checks every attempt).
    response = client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_only_the_admin_demo_user_is_a_superuser(demo):
    """The unit clerk and the auditor work with limited permissions."""
    superusers = get_user_model().objects.filter(is_superuser=True).values_list("username")
    assert list(superusers) == [("admin",)]


def test_demo_has_records_of_every_model(demo):
    """Nothing is empty: every coordination model has demo rows."""
    empty = [
        model._meta.model_name
        for model in apps.get_app_config("coordination").get_models()
        if not model.objects.exists()
    ]
    assert empty == []


def test_every_admin_page_answers_with_the_demo_loaded(client, demo):
    """As admin: every changelist, add page and first record's change page answers 200."""
    client.force_login(get_user_model().objects.get(username="admin"))
    statuses = {}
    for model in coordination_models():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        first = model.objects.order_by("pk").first()
        for page in (
            reverse(f"{name}_changelist"),
            reverse(f"{name}_add"),
            reverse(f"{name}_change", args=[first.pk]),
        ):
            statuses[page] = client.get(page).status_code
    assert statuses and set(statuses.values()) == {200}, statuses


def test_demo_shows_overdue_resolved_and_carried_over_work(demo):
    """The demo has something for every filter an auditor uses."""
    assert Task.objects.overdue().exists()
    assert FollowUp.objects.overdue().exists()
    assert FollowUp.objects.filter(status=FollowUpStatus.RESOLVED).exists()
    carried = FollowUp.objects.filter(status=FollowUpStatus.CARRIED_OVER)
    assert carried.exists()
    assert all(hasattr(item, "carried_over_to") for item in carried)


def test_every_demo_record_passes_full_clean(demo):
    """loaddata skips clean() and text clean-up, so the fixture itself must be valid."""
    problems = {}
    for model in apps.get_app_config("coordination").get_models():
        if model._meta.model_name.startswith("historical"):
            continue  # history rows are written by the system, not validated by forms
        for record in model.objects.all():
            stored = {field.attname: getattr(record, field.attname) for field in model._meta.fields}
            try:
                record.full_clean()
            except ValidationError as error:
                problems[f"{model._meta.model_name} {record.pk}"] = error.message_dict
            # full_clean() cleans text in place: anything it changed was stored unclean.
            changed = {
                name: value for name, value in stored.items() if getattr(record, name) != value
            }
            if changed:
                problems[f"{model._meta.model_name} {record.pk} text"] = changed
    assert problems == {}


def test_loading_the_demo_records_no_history_of_its_own(demo):
    """The fixture carries its history; loading it (rows saved raw, then their links set)
    adds no entry dated today."""
    fixture = json.loads((settings.BASE_DIR / "fixtures" / "demo.json").read_text())
    for model in (Task, Agreement, FollowUp):
        label = f"coordination.historical{model._meta.model_name}"
        expected = sum(1 for item in fixture if item["model"] == label)
        assert model.history.count() == expected, label
