"""Reminders: each unit's overdue and due-soon work, the daily e-mail, the landing page
*Việc của đơn vị tôi* and the page each role lands on after logging in."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coordination import reminders
from coordination.choices import FollowUpStatus, TaskStatus
from coordination.digest import digests_send
from coordination.history import CHANGED, record_history
from coordination.models import FollowUp, Task, UserPreference
from tests.factories import days, make_followup, make_member, make_task, make_unit, make_user

DAYS = 7
STAFF_PERMISSIONS = ["coordination.view_task", "coordination.view_followup"]
PASSWORD = "mat-khau-thu-nghiem-2026"


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    settings.REMINDER_DAYS = DAYS
    settings.SITE_URL = "https://hoso.example.gov.vn"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def units(db):
    return {
        "mine": make_unit(full_name="Ủy ban nhân dân xã Tân Minh", short_name="UBND xã Tân Minh"),
        "other": make_unit(
            full_name="Ủy ban nhân dân xã Tân Thắng", short_name="UBND xã Tân Thắng"
        ),
    }


def staff_of(unit, **fields):
    fields.setdefault("email", f"{fields.get('username', 'canbo')}@example.gov.vn")
    user = make_user(permissions=STAFF_PERMISSIONS, **fields)
    make_member(user, unit)
    return user


def work_of(unit, **kwargs):
    return reminders.unit_work(unit, kinds=reminders.deadline_kinds(), **kwargs)


def kind_work(work, name):
    return next(entry for entry in work.kinds if entry.kind.name == name)


def age_history(model):
    """Date every history entry of `model` a month back: only the test's changes are recent."""
    model.history.model.objects.update(history_date=timezone.now() - datetime.timedelta(days=30))


# ---------------------------------------------------------------------------
# Which records a unit is reminded of
# ---------------------------------------------------------------------------


def test_task_deadline_boundaries(units):
    """Due today and in exactly REMINDER_DAYS days: due soon; a day later: not yet; due
    yesterday: overdue; done or cancelled, without a due date or another unit's: never."""
    mine = units["mine"]
    today = make_task(lead_unit=mine, due_date=days(0))
    last_day = make_task(lead_unit=mine, due_date=days(DAYS))
    make_task(lead_unit=mine, due_date=days(DAYS + 1))
    yesterday = make_task(lead_unit=mine, due_date=days(-1), status=TaskStatus.IN_PROGRESS)
    make_task(lead_unit=mine, due_date=days(-1), status=TaskStatus.DONE, completed_on=days(-1))
    make_task(lead_unit=mine, due_date=days(1), status=TaskStatus.CANCELLED)
    make_task(lead_unit=mine, due_date=None)
    make_task(lead_unit=units["other"], due_date=days(0))
    make_task(lead_unit=units["other"], due_date=days(-3))
    tasks = kind_work(work_of(mine), "tasks")
    assert tasks.overdue.records == [yesterday] and tasks.overdue.count == 1
    assert tasks.near_due.records == [today, last_day] and tasks.near_due.count == 2


def test_followup_deadline_boundaries(units):
    mine = units["mine"]
    today = make_followup(responsible_unit=mine, due_date=days(0))
    last_day = make_followup(responsible_unit=mine, due_date=days(DAYS))
    make_followup(responsible_unit=mine, due_date=days(DAYS + 1))
    yesterday = make_followup(responsible_unit=mine, due_date=days(-1))
    make_followup(
        responsible_unit=mine,
        due_date=days(-2),
        status=FollowUpStatus.RESOLVED,
        resolved_on=days(-1),
    )
    make_followup(responsible_unit=mine, due_date=days(2), status=FollowUpStatus.CLOSED)
    make_followup(responsible_unit=units["other"], due_date=days(-1))
    items = kind_work(work_of(mine), "followups")
    assert (items.overdue.count, items.overdue.records) == (1, [yesterday])
    assert (items.near_due.count, items.near_due.records) == (2, [today, last_day])


def test_coordinating_and_co_responsible_units_are_reminded_too(units):
    """As the kinds' `involving` paths say: a task the unit coordinates, an item it shares."""
    mine, other = units["mine"], units["other"]
    coordinated = make_task(lead_unit=other, coordinating_units=[mine], due_date=days(1))
    shared = make_followup(responsible_unit=other, due_date=days(-5))
    shared.co_responsible_units.add(mine)
    work = work_of(mine)
    assert kind_work(work, "tasks").near_due.records == [coordinated]
    assert kind_work(work, "followups").overdue.records == [shared]
    assert (work.overdue_count, work.near_due_count, work.due_count) == (1, 1, 2)


def test_a_long_list_shows_its_count_and_the_longest_overdue_first(units):
    mine = units["mine"]
    for age in range(1, reminders.ROWS + 4):
        make_task(lead_unit=mine, due_date=days(-age))
    overdue = kind_work(work_of(mine), "tasks").overdue
    assert overdue.count == reminders.ROWS + 3
    assert len(overdue.records) == reminders.ROWS
    assert [record.due_date for record in overdue.records] == [
        days(-age) for age in range(reminders.ROWS + 3, 3, -1)
    ]
    assert overdue.records[0].reminder_days_overdue == reminders.ROWS + 3


def test_the_lists_links_show_the_same_records(client, units):
    """Each count links to the /records/ list of exactly those records."""
    mine = units["mine"]
    make_task(lead_unit=mine, due_date=days(-2))
    make_task(lead_unit=units["other"], coordinating_units=[mine], due_date=days(3))
    make_task(lead_unit=mine, due_date=days(DAYS))
    make_task(lead_unit=mine, due_date=days(DAYS + 1))
    make_followup(responsible_unit=mine, due_date=days(-1))
    make_followup(responsible_unit=mine, due_date=days(0))
    client.force_login(staff_of(mine))
    for entry in work_of(mine).kinds:
        for shown in (entry.overdue, entry.near_due):
            response = client.get(shown.url)
            assert response.status_code == 200, shown.url
            assert response.context["count"] == shown.count, shown.url
            assert {row.pk for row in response.context["page"].object_list} == {
                record.pk for record in shown.records
            }


def test_queries_do_not_grow_with_the_records(units):
    mine = units["mine"]
    reader = staff_of(mine)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            work_of(mine, reader=reader)
        return len(captured)

    for offset in range(3):
        make_task(lead_unit=mine, due_date=days(offset - 1))
        make_followup(responsible_unit=mine, due_date=days(offset - 1))
    few = queries()
    for offset in range(30):
        make_task(lead_unit=mine, due_date=days(offset % 9 - 1))
        make_followup(responsible_unit=mine, due_date=days(offset % 9 - 1))
    assert queries() == few


def test_changed_by_others_leaves_out_the_readers_own_changes(units):
    mine = units["mine"]
    reader, colleague = staff_of(mine, username="toi"), staff_of(mine, username="dongnghiep")
    theirs = make_task(lead_unit=mine, due_date=days(30))
    own = make_task(lead_unit=mine, due_date=days(30))
    foreign = make_task(lead_unit=units["other"], due_date=days(30))
    old = make_task(lead_unit=mine, due_date=days(30))
    age_history(Task)
    record_history(Task, [theirs.pk, foreign.pk], history_type=CHANGED, user=colleague)
    record_history(Task, [own.pk], history_type=CHANGED, user=reader)
    changed = kind_work(work_of(mine, reader=reader), "tasks").changed
    assert changed.count == 1 and changed.records == [theirs]
    assert changed.records[0].changed_by == reminders.person_name(colleague)
    assert old not in changed.records


# ---------------------------------------------------------------------------
# The daily e-mail
# ---------------------------------------------------------------------------


@pytest.fixture
def due_world(units):
    mine = units["mine"]
    overdue = make_task(lead_unit=mine, due_date=days(-4), content="Báo cáo kết quả giám sát")
    soon = make_followup(responsible_unit=mine, due_date=days(2), content="Trả lời kiến nghị")
    make_task(lead_unit=units["other"], due_date=days(-1), content="Việc của xã khác")
    return {"overdue": overdue, "soon": soon}


def test_each_member_of_staff_gets_one_vietnamese_email_with_links(units, due_world):
    first = staff_of(units["mine"], username="canbo1", last_name="Nguyễn Thị", first_name="Hà")
    second = staff_of(units["mine"], username="canbo2")
    run = digests_send()
    assert len(run.sent) == 2
    assert sorted(message.to[0] for message in mail.outbox) == sorted([first.email, second.email])
    message = next(message for message in mail.outbox if message.to == [first.email])
    assert message.subject == (
        f"Nhắc việc ngày {timezone.localdate():%d/%m/%Y}: 1 việc quá hạn, 1 việc sắp đến hạn"
    )
    body = message.body
    assert "Kính gửi đồng chí Nguyễn Thị Hà," in body
    assert "Báo cáo kết quả giám sát" in body and "quá hạn 4 ngày" in body
    assert "Trả lời kiến nghị" in body
    assert "Việc của xã khác" not in body
    task_url = f"https://hoso.example.gov.vn/records/tasks/{due_world['overdue'].pk}/"
    assert task_url in body
    assert "https://hoso.example.gov.vn/records/my-work/" in body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{task_url}"' in html


def test_no_email_for_the_opted_out_the_addressless_the_inactive_and_the_idle(units, due_world):
    staff_of(units["mine"], username="tat")
    UserPreference.objects.create(user=staff_of(units["mine"], username="tat2"))
    UserPreference.objects.filter(user__username="tat2").update(reminders_enabled=False)
    staff_of(units["mine"], username="khongthu", email="")
    staff_of(units["mine"], username="nghi", is_active=False)
    staff_of(units["mine"], username="khongphaicanbo", is_staff=False)
    idle_unit = make_unit(full_name="Hội Nông dân xã Tân Minh")
    staff_of(idle_unit, username="ranh")
    make_user(username="khongdonvi", email="x@example.gov.vn", permissions=STAFF_PERMISSIONS)
    run = digests_send()
    assert [message.to for message in mail.outbox] == [["tat@example.gov.vn"]]
    assert run.nothing_due == 1


def test_the_email_goes_once_a_day(units, due_world):
    staff_of(units["mine"])
    digests_send()
    call_command("send_reminders", stdout=(out := _Output()))
    assert len(mail.outbox) == 1
    assert "sent=0" in out.text
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    digests_send(today=tomorrow)
    assert len(mail.outbox) == 2


def test_a_refused_email_is_sent_again_by_the_next_run(units, due_world):
    user = staff_of(units["mine"])
    run = digests_send(connection=RefusingBackend())
    assert run.failed and not run.sent and not mail.outbox
    assert UserPreference.objects.get(user=user).reminders_sent_on is None
    digests_send()
    assert len(mail.outbox) == 1


def test_the_command_fails_when_the_mail_server_refuses(settings, units, due_world):
    settings.EMAIL_BACKEND = "tests.test_reminders.RefusingBackend"
    staff_of(units["mine"])
    with pytest.raises(SystemExit) as exit_status:
        call_command("send_reminders", stdout=_Output(), stderr=_Output())
    assert exit_status.value.code == 1


def test_the_digest_reads_each_unit_once(units, due_world):
    for n in range(5):
        staff_of(units["mine"], username=f"canbo{n}")
    with CaptureQueriesContext(connection) as five:
        digests_send()
    mail.outbox.clear()
    UserPreference.objects.update(reminders_sent_on=None)
    for n in range(5, 15):
        staff_of(units["mine"], username=f"canbo{n}")
    with CaptureQueriesContext(connection) as fifteen:
        digests_send()
    assert len(mail.outbox) == 15
    per_user = (len(fifteen) - len(five)) / 10
    # The users' permissions and their preference: a few queries each, never their units' work.
    assert per_user <= 6


class RefusingBackend(EmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


class _Output:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


# ---------------------------------------------------------------------------
# The landing page
# ---------------------------------------------------------------------------

MY_WORK = reverse("coordination:my-work")
PREFERENCE = reverse("coordination:reminder-preference")


def test_my_work_lists_the_units_work_with_links(client, units, due_world):
    user = staff_of(units["mine"])
    client.force_login(user)
    page = client.get(MY_WORK)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Việc của đơn vị tôi" in text
    assert "Báo cáo kết quả giám sát" in text and "Trả lời kiến nghị" in text
    assert "Việc của xã khác" not in text
    assert f'href="/records/tasks/{due_world["overdue"].pk}/"' in text
    assert "overdue=yes" in text and "due_before=" in text
    assert "Không nhận thư nhắc việc nữa" in text


def test_my_work_needs_a_login_and_staff(client, units):
    response = client.get(MY_WORK)
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    client.force_login(make_user(is_staff=False))
    assert client.get(MY_WORK).status_code == 302


def test_my_work_without_units_says_so(client, db):
    client.force_login(make_user(permissions=STAFF_PERMISSIONS))
    assert "chưa thuộc đơn vị nào" in client.get(MY_WORK).content.decode()


def test_my_work_queries_do_not_grow_with_the_records(client, units, django_assert_max_num_queries):
    mine = units["mine"]
    client.force_login(staff_of(mine))

    def grow(start, end):
        for offset in range(start, end):
            make_task(lead_unit=mine, due_date=days(offset % 12 - 4))
            make_followup(responsible_unit=mine, due_date=days(offset % 12 - 4))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(MY_WORK).status_code == 200
        return len(captured)

    grow(0, 12)  # overdue and due soon: every list of the page has rows
    few = queries()
    grow(12, 40)
    assert queries() == few
    # Per kind: the counts and first rows path by path (the unit column, the links), the
    # records changed by others; sessions, the user, permissions, the units, the preference.
    with django_assert_max_num_queries(36):
        assert client.get(MY_WORK).status_code == 200


def test_the_digest_is_turned_off_and_on_from_the_page(units, due_world):
    user = staff_of(units["mine"])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(MY_WORK)
    token = page.cookies["csrftoken"].value
    response = browser.post(PREFERENCE, {"reminders_enabled": "0", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response.url == MY_WORK
    assert not UserPreference.reminders_wanted(user)
    assert "Bạn đã tắt thư nhắc việc hằng ngày." in browser.get(MY_WORK).content.decode()
    digests_send()
    assert not mail.outbox
    browser.post(PREFERENCE, {"reminders_enabled": "1", "csrfmiddlewaretoken": token})
    assert UserPreference.reminders_wanted(user)


def test_the_preference_form_refuses_get_and_missing_csrf(units):
    user = staff_of(units["mine"])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(PREFERENCE).status_code == 405
    assert browser.post(PREFERENCE, {"reminders_enabled": "0"}).status_code == 403
    assert UserPreference.reminders_wanted(user)


def test_the_preference_form_needs_staff(client, db):
    response = client.post(PREFERENCE, {"reminders_enabled": "0"})
    assert response.status_code == 302
    assert not UserPreference.objects.exists()


def test_admins_change_the_preference_on_the_users_page(client, units):
    user = staff_of(units["mine"])
    client.force_login(make_user(is_superuser=True))
    page = client.get(reverse("admin:auth_user_change", args=[user.pk]))
    assert page.status_code == 200
    assert "nhận thư nhắc việc hằng ngày" in page.content.decode().lower()


# ---------------------------------------------------------------------------
# Where each role lands after logging in
# ---------------------------------------------------------------------------


def login(client, username, **extra):
    return client.post(
        reverse("admin:login") + extra.pop("query", ""),
        {"username": username, "password": PASSWORD, **extra},
    )


@pytest.fixture
def people(units):
    staff = staff_of(units["mine"], username="canbo")
    auditor = make_user(
        username="kiemtra",
        permissions=["coordination.view_all_units", *STAFF_PERMISSIONS],
    )
    admin = make_user(username="quantri", is_superuser=True)
    plain = make_user(username="khongdonvi", permissions=STAFF_PERMISSIONS)
    for user in (staff, auditor, admin, plain):
        user.set_password(PASSWORD)
        user.save()
    return {"staff": staff, "auditor": auditor, "admin": admin, "plain": plain}


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("canbo", "coordination:my-work"),
        ("kiemtra", "coordination:outstanding"),
        ("quantri", "admin:index"),
        ("khongdonvi", "admin:index"),
    ],
)
def test_each_role_lands_on_its_page(client, people, username, landing):
    response = login(client, username)
    assert response.status_code == 302
    assert response["Location"] == reverse(landing)
    assert client.get(response["Location"]).status_code == 200
    # The site's address and the login page, once logged in, lead there too.
    assert client.get("/")["Location"] == reverse(landing)
    assert client.get(reverse("admin:login"))["Location"] == reverse(landing)


@pytest.mark.parametrize("in_query", [True, False], ids=["query", "form"])
def test_a_next_page_still_wins(client, people, in_query):
    page = "/records/tasks/?year=2026"
    if in_query:
        response = login(client, "canbo", query=f"?next={page.replace('?', '%3F')}")
    else:
        response = login(client, "canbo", next=page)
    assert response["Location"] == page


def test_a_foreign_next_is_ignored_for_the_roles_page(client, people):
    response = login(client, "canbo", next="https://evil.example/")
    assert response["Location"] == MY_WORK


def test_the_site_address_sends_a_visitor_to_the_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("admin:login")
    assert "next" not in response["Location"]


def test_the_login_form_carries_no_next_of_its_own(client, db):
    """Django's admin fills `next` with its index; ours leaves it empty for the role's page."""
    page = client.get(reverse("admin:login")).content.decode()
    assert 'name="next" value=""' in page


def test_records_index_links_my_work(client, units):
    client.force_login(staff_of(units["mine"]))
    assert f'href="{MY_WORK}"' in client.get(reverse("coordination:records")).content.decode()


def test_only_the_readers_units_records_are_counted(client, units):
    """A member of one unit never sees another unit's overdue records on the page."""
    make_followup(responsible_unit=units["other"], due_date=days(-9), content="Đơn thư xã khác")
    client.force_login(staff_of(units["mine"]))
    page = client.get(MY_WORK)
    assert "Đơn thư xã khác" not in page.content.decode()
    assert FollowUp.objects.count() == 1


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "backend"),
    [
        ({}, "django.core.mail.backends.smtp.EmailBackend"),
        (
            {"DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"},
            "django.core.mail.backends.filebased.EmailBackend",
        ),
        ({"DJANGO_PRODUCTION": "0"}, "django.core.mail.backends.console.EmailBackend"),
    ],
    ids=["production", "chosen", "demo"],
)
def test_mail_is_printed_outside_production_and_sent_in_it(tmp_path, extra, backend):
    from tests.test_deployment import production_env, run

    env = {**production_env(tmp_path, **extra), "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.SITE_URL)"
    result = run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [backend, "http://127.0.0.1:8000"]


def test_the_first_rows_and_counts_take_both_paths_and_each_record_once(units):
    """Items the unit answers for and items it shares (co-responsible), more than ROWS of
    each: the longest overdue of both are listed in order, an item on both paths once, and
    the counts add up without counting it twice."""
    mine, other = units["mine"], units["other"]
    own = [
        make_followup(responsible_unit=mine, due_date=days(-3 - 2 * n), content=f"Riêng {n}")
        for n in range(reminders.ROWS + 2)
    ]
    shared = []
    for n in range(reminders.ROWS + 2):
        item = make_followup(
            responsible_unit=other, due_date=days(-4 - 2 * n), content=f"Phối hợp {n}"
        )
        item.co_responsible_units.add(mine)
        shared.append(item)
    both = own[-1]
    both.co_responsible_units.add(mine)
    work = kind_work(work_of(mine), "followups")
    assert work.overdue.count == len(own) + len(shared)
    expected = sorted(own + shared, key=lambda item: (item.due_date, item.pk))[: reminders.ROWS]
    assert [item.pk for item in work.overdue.records] == [item.pk for item in expected]
