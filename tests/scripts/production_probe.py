"""The production settings at work (test_deployment.py): run with the production environment
of the README, it migrates, collects the static files, creates a superuser, then sends plain
HTTP, HTTPS, a login and a static file through the test client, and prints what came back.
"""

import json
import os

import django

PASSWORD = "Mật-khẩu-đủ-dài-2026"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    get_user_model().objects.create_superuser("quantri", password=PASSWORD)
    client = Client(HTTP_HOST="hoso.example.gov.vn")
    plain = client.get("/admin/login/")
    page = client.get("/admin/login/", secure=True)
    login = client.post(
        "/admin/login/",
        {"username": "quantri", "password": PASSWORD, "next": "/admin/"},
        secure=True,
    )
    static = client.get("/static/coordination/records.css", secure=True)
    cookies = {
        name: {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"])}
        for name, morsel in client.cookies.items()
    }
    headers = (
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "Strict-Transport-Security",
    )
    print(
        json.dumps(
            {
                "plain": [plain.status_code, plain.get("Location", "")],
                "page": page.status_code,
                "headers": {name: page.get(name) for name in headers},
                "login": [login.status_code, login.get("Location", "")],
                "cookies": cookies,
                "static": [static.status_code, static.get("Cache-Control", "")],
                "mail": {"admins": settings.ADMINS, "from": settings.SERVER_EMAIL},
            }
        )
    )


if __name__ == "__main__":
    main()
