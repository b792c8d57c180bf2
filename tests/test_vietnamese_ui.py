"""Every page a user can reach speaks Vietnamese: the admin (Django's, simple-history's,
django-import-export's and django-axes' pages), /records/, and the error pages with DEBUG on
and off. A page fails when its visible text holds an English word of the interface."""

import contextlib
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import NoReverseMatch, reverse

from coordination import kinds
from coordination.history import CHANGED, record_history
from tests.factories import make_followup, make_member, make_superuser, make_user

AUDITOR_GROUP = "Kiểm tra – giám sát"
STAFF_GROUP = "Cán bộ đơn vị"

# Words and phrases of the English interfaces (Django's admin, simple-history,
# django-import-export, django-filter, django-axes) that a Vietnamese page never shows. Matched
# as whole words, case-sensitively: "No" and "Go" are English buttons, "no" is Vietnamese.
ENGLISH = (
    "Add",
    "Change",
    "Changes",
    "Delete",
    "Save",
    "History",
    "Filter",
    "Search",
    "Choose",
    "Select",
    "entry",
    "entries",
    "descending",
    "ascending",
    "Home",
    "Log in",
    "Log out",
    "View site",
    "View on site",
    "Action",
    "Go",
    "Page not found",
    "Not Found",
    "Server Error",
    "Forbidden",
    "Object",
    "Comment",
    "Changed by",
    "Change reason",
    "Date/time",
    "Revert",
    "Close",
    "Yes",
    "No",
    "None",
    "Unknown",
    "All",
    "Welcome",
    "Password",
    "Username",
    "Import",
    "Export",
    "Submit",
    "Cancel",
    "Remove",
    "Show all",
    "Clear",
    "selected",
    "results",
    "Today",
    "Now",
    "Sort",
    "Next",
    "Previous",
    "Users",
    "Groups",
    "Permissions",
    "Please",
    "Can",
    "Using the URLconf",
    "the",
    "and",
    "of",
    "this",
    "your",
)
# Allowed as they are: abbreviations and names that read the same in Vietnamese. None of them
# is in ENGLISH today; the list says where one would go, with its reason.
ALLOWED: frozenset[str] = frozenset()
_PATTERN = re.compile(
    r"(?<![\w/.-])("
    + "|".join(re.escape(word) for word in sorted(ENGLISH, key=len, reverse=True))
    + r")(?![\w/-])"
)
# Attributes whose value a person reads (a tooltip, a placeholder, a screen reader's label).
# "alt" too: Django's search box writes alt="Search" in its template, which the project
# overrides (config/templates/admin/search_form.html).
_READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
_BUTTONS = {"submit", "button", "reset"}


class _VisibleText(HTMLParser):
    """The text a person sees or hears on an HTML page, one piece per item."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
            return
        attributes = dict(attrs)
        self.pieces.extend(value for name, value in attrs if name in _READ_ATTRIBUTES and value)
        if tag == "input" and attributes.get("type") in _BUTTONS and attributes.get("value"):
            self.pieces.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.pieces.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.pieces


def english_strings(html: str) -> list[str]:
    """Each piece of visible text that holds an English word of the interface."""
    return [
        piece
        for piece in visible_text(html)
        if any(match not in ALLOWED for match in _PATTERN.findall(piece))
    ]


def english_on(response) -> list[str]:
    if "text/html" not in response.get("Content-Type", ""):
        return []
    return english_strings(response.content.decode())


def assert_vietnamese(response, where: str) -> None:
    found = english_on(response)
    assert found == [], f"{where} ({response.status_code}) shows English: {found}"


# ---------------------------------------------------------------------------------------------
# The checker itself
# ---------------------------------------------------------------------------------------------

ENGLISH_HISTORY_PAGE = """<html><head><title>Change history: Việc</title>
<style>th { color: red }</style><script>var Add = 1;</script></head><body>
<p>Choose a date from the list below to revert to a previous version of this object.</p>
<table><tr><th>Object</th><th>Changed by</th><th>Change reason</th></tr></table>
<p class="paginator">2 entries</p><input type="submit" value="Revert"></body></html>"""


def test_the_checker_flags_an_english_page():
    """simple-history's English page, as it was, fails the check on every English string."""
    found = english_strings(ENGLISH_HISTORY_PAGE)
    assert (
        "Choose a date from the list below to revert to a previous version of this object." in found
    )
    assert {"Object", "Changed by", "Change reason", "2 entries", "Revert"} <= set(found)


def test_the_checker_passes_vietnamese_and_ignores_code_and_hidden_attributes():
    """Scripts, styles, link targets and lowercase Vietnamese words ("no", "to") pass."""
    page = (
        '<html><head><script>gettext("Add")</script><style>.No{}</style></head><body>'
        '<a href="/admin/History/" class="Delete">Lịch sử</a><p>Ăn no, nhà to.</p>'
        '<input name="Save" type="text" placeholder="Tìm kiếm"></body></html>'
    )
    assert english_strings(page) == []
    assert english_strings('<span title="Delete">Xóa</span>') == ["Delete"]


# ---------------------------------------------------------------------------------------------
# The pages, as each role reaches them
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def users(world):
    staff = make_user(username="canbo", first_name="Thu Hà", last_name="Nguyễn Thị")
    staff.groups.add(Group.objects.get(name=STAFF_GROUP))
    make_member(staff, world.committee)
    auditor = make_user(username="kiemtra", first_name="Văn Nam", last_name="Trần")
    auditor.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    superuser = make_superuser(username="quantri", first_name="Minh Quân", last_name="Phạm")
    return {"superuser": superuser, "staff": staff, "auditor": auditor}


def admin_pages() -> list[str]:
    """Every admin page of every registered model: list, add, and one record's change,
    history, a history version and delete pages, its import and export pages."""
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls.append(reverse("admin:{}_{}_add".format(*info)))
        record = model._base_manager.order_by("pk").first()
        if record is not None:
            for view in ("change", "history", "delete"):
                urls.append(reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[record.pk]))
            history = getattr(model, "history", None)
            version = history.filter(id=record.pk).first() if history is not None else None
            if version is not None:
                urls.append(
                    reverse(
                        "admin:{}_{}_simple_history".format(*info),
                        args=[record.pk, version.history_id],
                    )
                )
        for view in ("import", "export"):
            with contextlib.suppress(NoReverseMatch):
                urls.append(reverse("admin:{}_{}_{}".format(*info, view)))
    return urls


def records_pages() -> list[str]:
    urls = [
        reverse("coordination:records"),
        reverse("coordination:my-work"),
        reverse("coordination:outstanding"),
        reverse("coordination:report"),
        reverse("coordination:issued-reports"),
    ]
    for kind in kinds.all_kinds():
        urls.append(reverse("coordination:record-list", args=[kind.name]))
        record = kind.model._base_manager.order_by("pk").first()
        if record is not None:
            urls.append(reverse("coordination:record-detail", args=[kind.name, record.pk]))
    # Sorted, then descending: the sort menu's labels.
    urls.append(reverse("coordination:record-list", args=["tasks"]) + "?sort=-due_date")
    return urls


@pytest.mark.parametrize("role", ["superuser", "staff", "auditor"])
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_every_page_a_role_reaches_is_in_vietnamese(client, users, world, role, debug, settings):
    """Every admin and /records/ page, and the 404 and 403 pages, in Vietnamese only."""
    settings.DEBUG = debug
    client.force_login(users[role])
    english = {}
    for url in [*admin_pages(), *records_pages()]:
        response = client.get(url)
        if found := english_on(response):
            english[f"{url} ({response.status_code})"] = found
    assert english == {}, "\n".join(f"{url}: {found}" for url, found in english.items())
    missing = [
        "/records/tasks/999999/",
        "/admin/coordination/task/999999/change/",
        "/khong-co-trang-nay/",
    ]
    for url in missing:
        response = client.get(url)
        assert response.status_code in (302, 404), url
        assert_vietnamese(response, f"{role}: {url}")


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_another_units_record_answers_the_vietnamese_404(client, users, world, debug, settings):
    """With DEBUG on too, unit staff opening another unit's record get the project's page,
    never Django's technical page listing the URL patterns."""
    settings.DEBUG = debug
    other = make_followup()
    client.force_login(users["staff"])
    for url in (
        reverse("coordination:record-detail", args=["followups", other.pk]),
        reverse("admin:coordination_followup_change", args=[other.pk]),
    ):
        response = client.get(url, follow=True)
        html = response.content.decode()
        assert "URLconf" not in html, url
        assert_vietnamese(response, url)


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_a_forbidden_page_answers_the_vietnamese_403(client, users, debug, settings):
    """The auditor, who may not issue a report, gets the project's 403 page."""
    settings.DEBUG = debug
    client.force_login(users["auditor"])
    response = client.get(reverse("admin:coordination_task_add"))
    assert response.status_code == 403
    assert "Không có quyền" in response.content.decode() or "quyền" in response.content.decode()
    assert_vietnamese(response, "403")


def test_the_login_logout_and_lockout_pages_are_in_vietnamese(users, settings):
    """The pages of someone not logged in: login, a wrong password, the lockout, logged out."""
    users["staff"].set_password("Phối-hợp-2026!")
    users["staff"].save()
    client = Client(REMOTE_ADDR="203.0.113.50")
    assert_vietnamese(client.get(reverse("admin:login")), "login")
    wrong = {"username": "canbo", "password": "sai", "next": "/admin/"}
    assert_vietnamese(client.post(reverse("admin:login"), wrong), "wrong password")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = client.post(reverse("admin:login"), wrong)
    assert locked.status_code == 429
    assert_vietnamese(locked, "lockout")
    other = Client()
    other.force_login(users["auditor"])
    assert_vietnamese(other.get(reverse("admin:password_change")), "password change")
    assert_vietnamese(other.get(reverse("admin:password_change_done")), "password changed")
    assert_vietnamese(other.post(reverse("admin:logout")), "logged out")


# ---------------------------------------------------------------------------------------------
# Names in the Vietnamese order
# ---------------------------------------------------------------------------------------------


def test_pages_name_the_user_family_name_first(client, users, world):
    """The /records/ header, the admin's welcome line and the history's author column say
    "Nguyễn Thị Thu Hà", never Django's "Thu Hà Nguyễn Thị" or the login name."""
    staff = users["staff"]
    record_history(type(world.task), [world.task.pk], history_type=CHANGED, user=staff)
    client.force_login(staff)
    for url in (
        reverse("coordination:records"),
        reverse("admin:index"),
        reverse("admin:coordination_task_history", args=[world.task.pk]),
        reverse("coordination:record-detail", args=["tasks", world.task.pk]),
    ):
        html = client.get(url).content.decode()
        assert "Nguyễn Thị Thu Hà" in html, url
        assert "Thu Hà Nguyễn Thị" not in html, url


def test_a_history_entry_without_a_user_names_the_system(client, users, world):
    """An entry no person made (a command, a migration) says "Hệ thống", not "Không"/"None"."""
    client.force_login(users["superuser"])
    world.task.history.update(history_user=None, history_change_reason=None)
    html = client.get(reverse("admin:coordination_task_history", args=[world.task.pk])).content
    visible = visible_text(html.decode())
    assert "Hệ thống" in visible
    assert "Không" not in visible and "None" not in visible
