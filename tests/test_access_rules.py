"""RELIABILITY.md, A 14–17: CSRF, lockout cool-off and reset, session expiry, passwords."""

import datetime
import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_superuser, make_task, xlsx_bytes
from tests.forms import form_data

pytestmark = pytest.mark.django_db
STRONG = "Phối-hợp-công-tác-2026!"


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def test_posts_without_a_csrf_token_are_refused_and_write_nothing():
    """Login, change form, import, confirmation and export: 403 without the token."""
    user = make_superuser(username="quantri", password=STRONG)
    task = make_task(content="Không đổi")
    anonymous = csrf_client()
    login = anonymous.post(reverse("admin:login"), {"username": "quantri", "password": STRONG})
    assert login.status_code == 403
    client = csrf_client(user)
    change = client.post(
        reverse("admin:coordination_task_change", args=[task.pk]), {"content": "Đổi trộm"}
    )
    assert change.status_code == 403
    workbook = xlsx_bytes([["Nội dung"], ["x"]])
    upload = client.post(
        reverse("admin:coordination_task_import"),
        {"import_file": SimpleUploadedFile("a.xlsx", workbook)},
    )
    assert upload.status_code == 403
    confirm = client.post(reverse("admin:coordination_task_process_import"), {"token": "A" * 32})
    assert confirm.status_code == 403
    export = client.post(reverse("admin:coordination_task_export"), {"format": "0"})
    assert export.status_code in (403, 405)
    task.refresh_from_db()
    assert task.content == "Không đổi"


def wrong_logins(username: str, address: str, times: int) -> None:
    for _ in range(times):
        Client(REMOTE_ADDR=address).post(
            reverse("admin:login"), {"username": username, "password": "sai"}
        )


def logs_in(username: str, address: str) -> bool:
    response = Client(REMOTE_ADDR=address).post(
        reverse("admin:login"),
        {"username": username, "password": STRONG, "next": "/admin/"},
    )
    return response.status_code == 302


def test_the_lock_ends_after_the_cool_off(settings):
    get_user_model().objects.create_user("canbo", password=STRONG, is_staff=True)
    wrong_logins("canbo", "203.0.113.40", settings.AXES_FAILURE_LIMIT)
    assert not logs_in("canbo", "203.0.113.40")
    # As if the cool-off had passed: the attempts are older than AXES_COOLOFF_TIME hours.
    long_ago = timezone.now() - datetime.timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
    AccessAttempt.objects.update(attempt_time=long_ago)
    assert logs_in("canbo", "203.0.113.40")


def test_an_administrator_unlocks_with_axes_reset(settings):
    get_user_model().objects.create_user("canbo", password=STRONG, is_staff=True)
    wrong_logins("canbo", "203.0.113.41", settings.AXES_FAILURE_LIMIT)
    assert not logs_in("canbo", "203.0.113.41")
    call_command("axes_reset_username", "canbo", stdout=io.StringIO())
    assert logs_in("canbo", "203.0.113.41")


def test_an_expired_session_is_sent_to_the_login_page():
    make_superuser(username="quantri", password=STRONG)
    client = Client()
    assert (
        client.post(
            reverse("admin:login"), {"username": "quantri", "password": STRONG, "next": "/admin/"}
        ).status_code
        == 302
    )
    assert client.get(reverse("admin:index")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_logging_in_gives_a_new_session_key():
    """No session fixation: the key a visitor had before logging in is not the one after."""
    make_superuser(username="quantri", password=STRONG)
    client = Client()
    client.get(reverse("admin:login"))
    session = client.session
    session["seen"] = True
    session.save()
    before = session.session_key
    client.post(reverse("admin:login"), {"username": "quantri", "password": STRONG})
    assert client.session.session_key != before


def add_user(client, password: str):
    """The admin's "add user" page, filled in and posted as a browser would."""
    address = reverse("admin:auth_user_add")
    data = form_data(client.get(address).content.decode(), "user_form")
    data.update(username="nguyenvana", password1=password, password2=password)
    return client.post(address, data)


@pytest.mark.parametrize("password", ["12345678", "password123", "nguyenvana2026"])
def test_weak_passwords_are_refused_when_creating_a_user(client, password):
    client.force_login(make_superuser())
    response = add_user(client, password)
    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not get_user_model().objects.filter(username="nguyenvana").exists()


def test_a_strong_password_is_accepted(client):
    client.force_login(make_superuser())
    response = add_user(client, STRONG)
    assert response.status_code == 302
    assert get_user_model().objects.get(username="nguyenvana").check_password(STRONG)


def test_weak_passwords_are_refused_when_changing_ones_own():
    user = make_superuser(username="quantri", password=STRONG)
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": STRONG, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    user.refresh_from_db()
    assert user.check_password(STRONG)
