"""RELIABILITY.md, A 6 and 14–17 and B 22: CSRF, lockout cool-off and reset, session expiry,
passwords, another unit's record, and Django's limits on what a request may carry."""

import datetime
import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.factories import (
    db_state,
    make_agreement,
    make_followup,
    make_member,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    xlsx_bytes,
)
from tests.forms import form_data

pytestmark = pytest.mark.django_db
STRONG = "Phối-hợp-công-tác-2026!"
NEW_STRONG = "Kế-hoạch-năm-sau-2027!"


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


def test_a_session_lasts_session_cookie_age_from_the_login(settings):
    """Logging in through the login form opens a session that ends SESSION_COOKIE_AGE after
    the login (a working day), and with the browser: the cookie has no expiry of its own.
    A minute before the end the admin still opens; a second after it, the login page."""
    make_superuser(username="quantri", password=STRONG)
    age = datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    client = Client()
    before = timezone.now()
    login = client.post(
        reverse("admin:login"), {"username": "quantri", "password": STRONG, "next": "/admin/"}
    )
    after = timezone.now()
    assert login.status_code == 302
    ends = Session.objects.get().expire_date
    assert before + age <= ends <= after + age + datetime.timedelta(seconds=1)
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""
    assert client.cookies[settings.SESSION_COOKIE_NAME]["expires"] == ""

    # As if the login had been `age - 60 s` ago: the session has one minute left.
    Session.objects.update(expire_date=ends - age + datetime.timedelta(seconds=60))
    assert client.get(reverse("admin:index")).status_code == 200

    # As if it had been `age + 1 s` ago: the session is over.
    Session.objects.update(expire_date=ends - age - datetime.timedelta(seconds=1))
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


def validator_messages(password: str, user) -> list[str]:
    """What the project's password validators say about `password`, in Vietnamese."""
    with translation.override("vi"), pytest.raises(ValidationError) as refused:
        password_validation.validate_password(password, user)
    return refused.value.messages


def change_own_password(client, new: str):
    return client.post(
        reverse("admin:password_change"),
        {"old_password": STRONG, "new_password1": new, "new_password2": new},
    )


@pytest.mark.parametrize("password", ["12345678", "password123", "quantri2026"])
def test_weak_passwords_are_refused_when_changing_ones_own(password):
    """A number, a common password or one like the user name is refused with the
    validators' Vietnamese messages; the old password still works."""
    user = make_superuser(username="quantri", password=STRONG)
    client = Client()
    client.force_login(user)
    response = change_own_password(client, password)
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"] == validator_messages(password, user)
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert not user.check_password(password)


def test_a_strong_password_is_accepted_when_changing_ones_own():
    """A long password of several words is accepted: the new one works, the old one not."""
    user = make_superuser(username="quantri", password=STRONG)
    client = Client()
    client.force_login(user)
    response = change_own_password(client, NEW_STRONG)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_STRONG)
    assert not user.check_password(STRONG)


def set_password_of(client, user, password: str):
    """The admin's "change password" page of another user, filled in and posted."""
    address = reverse("admin:auth_user_password_change", args=[user.pk])
    data = form_data(client.get(address).content.decode(), "user_form")
    data.update(password1=password, password2=password)
    return client.post(address, data)


@pytest.mark.parametrize("password", ["12345678", "password123", "nguyenvana2026"])
def test_weak_passwords_are_refused_when_an_administrator_sets_one(client, password):
    """The administrator's form for another user's password applies the same validators."""
    client.force_login(make_superuser())
    user = get_user_model().objects.create_user("nguyenvana", password=STRONG, is_staff=True)
    response = set_password_of(client, user, password)
    assert response.status_code == 200
    assert response.context["form"].errors["password2"] == validator_messages(password, user)
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_a_strong_password_set_by_an_administrator_is_accepted(client):
    """An administrator sets another user's password to a strong one: it is saved and works."""
    client.force_login(make_superuser())
    user = get_user_model().objects.create_user("nguyenvana", password=STRONG, is_staff=True)
    response = set_password_of(client, user, NEW_STRONG)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:auth_user_change", args=[user.pk])
    user.refresh_from_db()
    assert user.check_password(NEW_STRONG)


# ---------------------------------------------------------------------------------------------
# Another unit's record (A 6)
# ---------------------------------------------------------------------------------------------

UNIT_STAFF = "Cán bộ đơn vị"


@pytest.fixture
def other_units_records():
    """Unit A's staff member, and a task, a follow-up item and an agreement of unit B only."""
    unit_a = make_unit(full_name="Ủy ban nhân dân xã Tân Hà")
    unit_b = make_unit(full_name="Hội Nông dân xã Tân Hà")
    staff = make_user(username="staff_a")
    staff.groups.add(Group.objects.get(name=UNIT_STAFF))
    make_member(staff, unit_a)
    records = {
        "task": make_task(lead_unit=unit_b, content="Việc riêng của Hội Nông dân"),
        "followup": make_followup(responsible_unit=unit_b, content="Kiến nghị riêng của Hội"),
        "agreement": make_agreement(
            number="77/QCPH-HND", title="Quy chế riêng của Hội Nông dân", parties=[unit_b]
        ),
    }
    return staff, records


def private_texts(record) -> list[str]:
    """What a page must not show of another unit's record: its content, title or number."""
    return [
        text
        for text in (getattr(record, name, None) for name in ("content", "title", "number"))
        if text
    ]


@pytest.mark.parametrize("model", ["task", "followup", "agreement"])
def test_another_units_record_is_reported_missing_as_if_deleted(client, other_units_records, model):
    """Unit staff opening the change page of another unit's record are sent to the admin
    index with Django's "… doesn't exist. Perhaps it was deleted?" message, in Vietnamese,
    and see nothing of the record."""
    staff, records = other_units_records
    record = records[model]
    client.force_login(staff)
    address = reverse(f"admin:coordination_{model}_change", args=[record.pk])
    response = client.get(address)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    with translation.override("vi"):
        expected = gettext("%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?") % {
            "name": type(record)._meta.verbose_name,
            "key": record.pk,
        }
    assert "không tồn tại" in expected
    assert [str(message) for message in get_messages(response.wsgi_request)] == [expected]
    index = client.get(address, follow=True)
    page = index.content.decode()
    assert index.redirect_chain == [(reverse("admin:index"), 302)]
    for text in private_texts(record):
        assert text not in page


@pytest.mark.parametrize("model", ["task", "followup", "agreement"])
def test_another_units_record_history_is_reported_missing(client, other_units_records, model):
    """The history list of another unit's task, item or agreement, and each of its versions,
    answer as the change page does: sent to the admin index with "… doesn't exist", nothing
    of the record shown (simple-history, which finds the record in its history, would refuse
    it with 403 and so tell that the number exists)."""
    staff, records = other_units_records
    record = records[model]
    client.force_login(staff)
    version = record.history.latest("history_id").history_id
    for address in (
        reverse(f"admin:coordination_{model}_history", args=[record.pk]),
        reverse(f"admin:coordination_{model}_simple_history", args=[record.pk, version]),
    ):
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")
        page = client.get(address, follow=True).content.decode()
        assert "không tồn tại" in page
        for text in private_texts(record):
            assert text not in page


# ---------------------------------------------------------------------------------------------
# Django's limits on a request (B 22)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=["csrf-checked", "csrf-not-checked"])
def limits_client(request):
    """A superuser's client that gets error pages instead of exceptions, as a browser does.

    With CSRF checks on (as in production), the CSRF middleware reads the form first; without
    them, the admin view does. `client.token` goes into every form posted.
    """
    client = Client(enforce_csrf_checks=request.param == "csrf-checked")
    client.raise_request_exception = False
    client.force_login(make_superuser())
    client.get(reverse("admin:index"))
    client.token = client.cookies["csrftoken"].value
    return client


def assert_generic_bad_request(response) -> None:
    """The project's Vietnamese 400 page, with nothing of the exception in it."""
    page = response.content.decode()
    assert response.status_code == 400
    with translation.override("vi"):
        assert gettext("The request could not be understood") in page
        assert gettext("Go back, reload the page and try again.") in page
    for leak in ("Traceback", "DATA_UPLOAD", "settings", "exceeded", "Sent", "TooBig"):
        assert leak not in page


def test_the_request_limits_are_djangos(settings):
    """The three limits below are Django's defaults; a change to them shows here."""
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 100
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_post_with_too_many_fields_is_a_bad_request(limits_client, settings, encoding):
    """A form with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS is refused with the
    generic "bad request" page (400), not a server error; nothing is written."""
    task = make_task(content="Không đổi")
    address = reverse("admin:coordination_task_change", args=[task.pk])
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    fields.update(csrfmiddlewaretoken=limits_client.token, content="Đổi bằng quá nhiều trường")
    before = db_state()
    if encoding == "multipart":
        response = limits_client.post(address, fields)
    else:
        body = "&".join(f"{name}=x" for name in fields)
        response = limits_client.generic(
            "POST", address, body, content_type="application/x-www-form-urlencoded"
        )
    assert_generic_bad_request(response)
    assert db_state() == before


def test_an_upload_of_too_many_files_is_a_bad_request(limits_client, settings):
    """An import form carrying more files than DATA_UPLOAD_MAX_NUMBER_FILES is refused
    (400); nothing is kept or imported."""
    workbook = xlsx_bytes([["Nội dung"], ["x"]])
    files = [
        SimpleUploadedFile(f"tep{i}.xlsx", workbook)
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]
    before = db_state()
    response = limits_client.post(
        reverse("admin:coordination_task_import"),
        {"import_file": files, "format": "0", "csrfmiddlewaretoken": limits_client.token},
    )
    assert_generic_bad_request(response)
    assert db_state() == before
    assert not settings.IMPORT_UPLOAD_DIR.exists() or not any(settings.IMPORT_UPLOAD_DIR.iterdir())


def test_a_form_body_over_the_memory_limit_is_a_bad_request(limits_client, settings):
    """A urlencoded body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (no file in it) is refused
    (400) without being read into memory; nothing is written."""
    task = make_task(content="Không đổi")
    address = reverse("admin:coordination_task_change", args=[task.pk])
    body = f"csrfmiddlewaretoken={limits_client.token}&content=" + "x" * (
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    before = db_state()
    response = limits_client.generic(
        "POST", address, body, content_type="application/x-www-form-urlencoded"
    )
    assert_generic_bad_request(response)
    assert db_state() == before
