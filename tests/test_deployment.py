"""The production configuration (RELIABILITY.md, F 53–55) and login throttling (A 15).

Settings are read once per process, so the production settings are checked in a child
process started with the production environment of the README.
"""

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import make_superuser

ROOT = Path(__file__).resolve().parent.parent
STRONG_PASSWORD = "Mật-khẩu-đủ-dài-2026"


def production_env(tmp_path, **extra) -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "hoso.example.gov.vn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        **extra,
    }


def run(args, env, **kwargs):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        **kwargs,
    )


def test_check_deploy_passes_with_the_documented_production_environment(tmp_path):
    """`manage.py check --deploy --fail-level WARNING` finds nothing to warn about."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS"),
        ({"DJANGO_DEBUG": "1"}, "DJANGO_DEBUG"),
    ],
    ids=["no-key", "short-key", "no-hosts", "debug-on"],
)
def test_production_refuses_to_start_half_configured(tmp_path, change, message):
    env = production_env(tmp_path)
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


@pytest.fixture(scope="module")
def production_probe(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("production")
    env = production_env(
        tmp_path,
        DJANGO_ADMINS="it@example.gov.vn, ,tp@example.gov.vn",
        DJANGO_SERVER_EMAIL="hoso@example.gov.vn",
    )
    result = run(["-m", "tests.scripts.production_probe"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_plain_http_is_sent_to_https(production_probe):
    status, location = production_probe["plain"]
    assert status == 301 and location == "https://hoso.example.gov.vn/admin/login/"


def test_security_headers(production_probe):
    assert production_probe["page"] == 200
    headers = production_probe["headers"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in headers["Strict-Transport-Security"]


def test_cookies_are_secure_and_the_session_cookie_http_only(production_probe):
    assert production_probe["login"] == [302, "/admin/"]
    cookies = production_probe["cookies"]
    assert cookies["sessionid"] == {"secure": True, "httponly": True}
    assert cookies["csrftoken"]["secure"] is True


def test_static_files_are_served_by_the_application_with_long_caching(production_probe):
    """whitenoise serves the collected, hashed files (no web server needed for them)."""
    status, cache_control = production_probe["static"]
    assert status == 200
    assert "max-age" in cache_control


# ---------------------------------------------------------------------------------------------
# The generic error page (F 55)
# ---------------------------------------------------------------------------------------------


def test_server_error_page_leaks_nothing_and_is_logged(client, settings, caplog, db):
    """A crash shows the generic Vietnamese page (no traceback, no settings), and the error
    is logged for the administrators."""
    settings.ROOT_URLCONF = "tests.urls_crash"
    client.raise_request_exception = False
    client.force_login(make_superuser())
    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get("/crash/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Đã có lỗi ở máy chủ" in page
    for leak in ("Traceback", "SECRET_KEY", "RuntimeError", "boom", "settings"):
        assert leak not in page
    assert any(record.status_code == 500 for record in caplog.records)


def test_server_error_is_mailed_to_the_administrators(db, client, settings, mailoutbox):
    """With DEBUG off and DJANGO_ADMINS set, a crash e-mails the administrators the details
    (README, "Production"), while the person who hit it still sees only the generic page."""
    # `db` before `mailoutbox`: the database set-up gives Django a new outbox list.
    settings.DEBUG = False
    settings.ADMINS = [("Quản trị", "it@example.gov.vn")]
    settings.ROOT_URLCONF = "tests.urls_crash"
    client.raise_request_exception = False
    client.force_login(make_superuser())

    response = client.get("/crash/")

    page = response.content.decode()
    assert response.status_code == 500
    assert "Đã có lỗi ở máy chủ" in page
    assert "RuntimeError" not in page and "boom" not in page
    assert len(mailoutbox) == 1
    (mail,) = mailoutbox
    assert mail.to == ["it@example.gov.vn"]
    assert "/crash/" in mail.subject
    assert "RuntimeError" in mail.body and "boom" in mail.body


def test_administrators_for_error_mail_come_from_the_environment(production_probe):
    """DJANGO_ADMINS (comma-separated, blanks ignored) and DJANGO_SERVER_EMAIL set who
    receives the error mail and whom it comes from."""
    assert production_probe["mail"] == {
        "admins": [["Quản trị", "it@example.gov.vn"], ["Quản trị", "tp@example.gov.vn"]],
        "from": "hoso@example.gov.vn",
    }


def test_not_found_page_is_generic(client, db):
    client.force_login(make_superuser())
    response = client.get("/khong-co-trang-nay/")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Login throttling (A 15): by user name and address together
# ---------------------------------------------------------------------------------------------


def attempt(username: str, password: str, address: str):
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )
    return response


@pytest.fixture
def accounts(db):
    users = get_user_model()
    for name in ("canbo1", "canbo2"):
        users.objects.create_user(name, password=STRONG_PASSWORD, is_staff=True)


def test_five_wrong_passwords_lock_that_user_from_that_address_only(accounts, settings):
    office, home = "203.0.113.7", "198.51.100.20"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt("canbo1", "sai-mat-khau", office).status_code == 200
    # The fifth wrong password locks; then even the right one is refused from there.
    assert attempt("canbo1", "sai-mat-khau", office).status_code == 429
    locked = attempt("canbo1", STRONG_PASSWORD, office)
    assert locked.status_code == 429
    assert "Sai mật khẩu quá nhiều lần" in locked.content.decode()
    # A colleague behind the same office address still logs in...
    assert attempt("canbo2", STRONG_PASSWORD, office).status_code == 302
    # ... and so does the same person from another network.
    assert attempt("canbo1", STRONG_PASSWORD, home).status_code == 302


def test_a_successful_login_clears_the_count(accounts, settings):
    office = "203.0.113.8"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("canbo1", "sai-mat-khau", office)
    assert attempt("canbo1", STRONG_PASSWORD, office).status_code == 302
    assert not AccessAttempt.objects.filter(username="canbo1", failures_since_start__gt=0).exists()
    assert attempt("canbo1", "sai-mat-khau", office).status_code == 200


@pytest.mark.parametrize(
    ("forwarded", "proxies", "expected"),
    [
        ("", 0, "10.0.0.1"),
        ("203.0.113.9", 0, "10.0.0.1"),  # no proxy configured: the header is not trusted
        ("203.0.113.9", 1, "203.0.113.9"),
        ("1.2.3.4, 203.0.113.9", 1, "203.0.113.9"),  # a forged left part is ignored
        ("203.0.113.9, 10.0.0.2", 2, "203.0.113.9"),
        ("203.0.113.9", 2, "10.0.0.1"),  # fewer entries than proxies: not trusted
    ],
)
def test_client_address_behind_proxies(rf, settings, forwarded, proxies, expected):
    from config.client_ip import client_ip

    settings.PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
