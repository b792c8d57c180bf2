"""The admin as people use it: every page, the index order, filters, actions, query counts."""

import datetime
import html
import re

import pytest
from django.contrib import admin, messages
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape, strip_tags
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from import_export.admin import ExportActionMixin

from coordination.choices import FollowUpStatus, TaskStatus
from coordination.models import FollowUp, Task, Unit
from tests.factories import (
    BUILDERS,
    days,
    db_state,
    make_agreement,
    make_followup,
    make_member,
    make_task,
    make_unit,
    make_user,
    today,
)

pytestmark = pytest.mark.django_db

MODELS = ["unit", "person", "agreement", "signatory", "indicator", "meeting", "task", "followup"]
#: The reports' admins, after the records' (tests/test_issued_reports.py tests them).
REPORT_MODELS = ["issuedreport", "reporttemplate"]


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:coordination_{model}_{view}", args=args)


def shown(response) -> set[int]:
    """Primary keys of the rows a changelist response shows."""
    return {obj.pk for obj in response.context["cl"].result_list}


def messages_of(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in get_messages(response.wsgi_request)]


def vi_ngettext(singular: str, plural: str, n: int) -> str:
    """The message the admin shows, in the admin's language."""
    with translation.override("vi"):
        return ngettext(singular, plural, n) % {"n": n}


# ---------------------------------------------------------------------------
# Every page answers
# ---------------------------------------------------------------------------


def test_every_coordination_model_is_registered():
    """The list below covers every coordination model of the admin."""
    registered = {
        model._meta.model_name
        for model in admin.site._registry
        if model._meta.app_label == "coordination"
    }
    assert registered == {*MODELS, *REPORT_MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_changelist_page_answers(superuser_client, world, model):
    """The list of each model renders with its row."""
    response = superuser_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 1


@pytest.mark.parametrize("model", MODELS)
def test_add_page_answers(superuser_client, world, model):
    """The empty form of each model renders."""
    assert superuser_client.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_change_page_answers(superuser_client, world, model):
    """The form of an existing record of each model renders, with its inlines."""
    record = getattr(world, {"unit": "committee", "person": "chair"}.get(model, model))
    response = superuser_client.get(url(model, "change", record.pk))
    assert response.status_code == 200
    assert response.context["original"] == record


@pytest.mark.parametrize("model", MODELS)
def test_history_and_delete_pages_answer(superuser_client, world, model):
    """History and delete confirmation render, even for records other records protect."""
    record = getattr(world, {"unit": "committee", "person": "chair"}.get(model, model))
    assert superuser_client.get(url(model, "history", record.pk)).status_code == 200
    assert superuser_client.get(url(model, "delete", record.pk)).status_code == 200


def test_changelist_filters_and_search_together_answer(superuser_client, world):
    """Year, outstanding and search combined on the task list still render."""
    response = superuser_client.get(
        url("task", "changelist"), {"year": "2024", "outstanding": "yes", "q": "ham tan"}
    )
    assert response.status_code == 200
    assert shown(response) == {world.task.pk}


def test_agreement_year_filter_keeps_agreements_in_force_that_year(superuser_client, world):
    """?year=2025 shows a 2021–2026 regulation but not a 2022 programme."""
    programme = make_agreement(start_year=2022, end_year=2022)
    response = superuser_client.get(url("agreement", "changelist"), {"year": "2025"})
    assert shown(response) == {world.agreement.pk}
    response = superuser_client.get(url("agreement", "changelist"), {"year": "2022"})
    assert shown(response) == {world.agreement.pk, programme.pk}


# ---------------------------------------------------------------------------
# The index groups the models in the order people work
# ---------------------------------------------------------------------------


def test_index_lists_sections_in_working_order(superuser_client, world):
    """Units and people, agreements, meetings, tasks, follow-ups, reports; then the other
    apps."""
    response = superuser_client.get(reverse("admin:index"))
    assert response.status_code == 200
    app_list = response.context["app_list"]
    with translation.override("vi"):
        expected = [str(title) for title, _ in admin.site.sections]
    assert [app["name"] for app in app_list[: len(expected)]] == expected
    assert [model["object_name"].lower() for app in app_list[:6] for model in app["models"]] == (
        [*MODELS, *REPORT_MODELS]
    )
    assert all(app["app_label"] != "coordination" for app in app_list[6:])


def test_index_links_appear_in_working_order(superuser_client, world):
    """In the page itself, the unit link comes first and the follow-up link last."""
    html = superuser_client.get(reverse("admin:index")).text
    positions = [html.index(f'href="{url(model, "changelist")}"') for model in MODELS]
    assert positions == sorted(positions)
    assert positions[-1] < html.index(reverse("admin:auth_user_changelist"))


# ---------------------------------------------------------------------------
# Outstanding and overdue filters
# ---------------------------------------------------------------------------


@pytest.fixture
def tasks(world):
    return {
        "due_yesterday": make_task(due_date=days(-1)),
        "due_today": make_task(due_date=today()),
        "due_tomorrow": make_task(due_date=days(1)),
        "no_due_date": make_task(due_date=None, status=TaskStatus.IN_PROGRESS),
        "done": make_task(due_date=days(-5), status=TaskStatus.DONE, completed_on=days(-6)),
        "cancelled": make_task(due_date=days(-5), status=TaskStatus.CANCELLED),
    }


@pytest.fixture
def followups(world):
    return {
        "due_yesterday": make_followup(due_date=days(-1)),
        "due_today": make_followup(due_date=today()),
        "due_tomorrow": make_followup(due_date=days(1)),
        "no_due_date": make_followup(due_date=None, status=FollowUpStatus.IN_PROGRESS),
        "resolved": make_followup(
            due_date=days(-5), status=FollowUpStatus.RESOLVED, resolved_on=days(-6)
        ),
        "closed": make_followup(due_date=days(-5), status=FollowUpStatus.CLOSED),
        "carried_over": make_followup(due_date=days(-5), status=FollowUpStatus.CARRIED_OVER),
    }


def filtered(client, model: str, records: dict, **params) -> set[str]:
    response = client.get(url(model, "changelist"), params)
    assert response.status_code == 200
    rows = shown(response)
    # Rows of the `world` fixture are left out: only the situations built here are compared.
    return {key for key, record in records.items() if record.pk in rows}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"outstanding": "yes"}, {"due_yesterday", "due_today", "due_tomorrow", "no_due_date"}),
        ({"outstanding": "no"}, {"done", "cancelled"}),
        ({"overdue": "yes"}, {"due_yesterday"}),
        (
            {"overdue": "no"},
            {"due_today", "due_tomorrow", "no_due_date", "done", "cancelled"},
        ),
    ],
    ids=["outstanding", "finished", "overdue", "not-overdue"],
)
def test_task_list_filters(superuser_client, tasks, params, expected):
    """The task list shows exactly the tasks the filter describes, around today."""
    assert filtered(superuser_client, "task", tasks, **params) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"outstanding": "yes"}, {"due_yesterday", "due_today", "due_tomorrow", "no_due_date"}),
        ({"outstanding": "no"}, {"resolved", "closed", "carried_over"}),
        ({"overdue": "yes"}, {"due_yesterday"}),
        (
            {"overdue": "no"},
            {"due_today", "due_tomorrow", "no_due_date", "resolved", "closed", "carried_over"},
        ),
    ],
    ids=["outstanding", "finished", "overdue", "not-overdue"],
)
def test_followup_list_filters(superuser_client, followups, params, expected):
    """The follow-up list shows exactly the items the filter describes, around today."""
    assert filtered(superuser_client, "followup", followups, **params) == expected


def test_overdue_list_shows_days_overdue(superuser_client, world):
    """The overdue column counts the days past the deadline."""
    task = make_task(due_date=days(-12))
    response = superuser_client.get(url("task", "changelist"), {"overdue": "yes"})
    assert shown(response) == {task.pk}
    assert re.search(r'<td class="field-days_overdue">12</td>', response.text)


# ---------------------------------------------------------------------------
# Actions through the real admin
# ---------------------------------------------------------------------------


def run_action(client, model: str, action: str, records) -> object:
    return client.post(
        url(model, "changelist"),
        {"action": action, "_selected_action": [record.pk for record in records]},
    )


def test_mark_done_action_marks_the_selected_tasks_done(superuser_client, world):
    """Selected outstanding tasks become done today; the done one is reported as skipped."""
    late = make_task(due_date=days(-3))
    done = make_task(status=TaskStatus.DONE, completed_on=datetime.date(2024, 1, 2))
    untouched = make_task()
    response = run_action(superuser_client, "task", "mark_done", [world.task, late, done])
    assert response.status_code == 302
    for task in (world.task, late):
        task.refresh_from_db()
        assert (task.status, task.completed_on, task.progress) == (TaskStatus.DONE, today(), 100)
    done.refresh_from_db()
    assert done.completed_on == datetime.date(2024, 1, 2)
    untouched.refresh_from_db()
    assert untouched.status == TaskStatus.NOT_STARTED
    assert messages_of(response) == [
        (messages.SUCCESS, vi_ngettext("%(n)d task marked done.", "%(n)d tasks marked done.", 2)),
        (
            messages.WARNING,
            vi_ngettext(
                "%(n)d task was already done or cancelled and was left unchanged.",
                "%(n)d tasks were already done or cancelled and were left unchanged.",
                1,
            ),
        ),
    ]


def test_resolve_action_resolves_the_selected_items(superuser_client, world):
    """Selected outstanding items become resolved today."""
    other = make_followup(due_date=days(-1))
    untouched = make_followup()
    response = run_action(superuser_client, "followup", "resolve", [world.followup, other])
    assert response.status_code == 302
    for item in (world.followup, other):
        item.refresh_from_db()
        assert (item.status, item.resolved_on) == (FollowUpStatus.RESOLVED, today())
    untouched.refresh_from_db()
    assert untouched.status == FollowUpStatus.OPEN
    assert messages_of(response) == [
        (
            messages.SUCCESS,
            vi_ngettext("%(n)d item marked resolved.", "%(n)d items marked resolved.", 2),
        )
    ]


def test_resolve_action_reports_items_raised_after_today(superuser_client, world):
    """An item raised tomorrow is left open, with a warning."""
    future = make_followup(raised_on=days(1))
    response = run_action(superuser_client, "followup", "resolve", [future])
    assert response.status_code == 302
    future.refresh_from_db()
    assert future.status == FollowUpStatus.OPEN
    assert messages_of(response) == [
        (
            messages.WARNING,
            vi_ngettext(
                "%(n)d item left unchanged: not outstanding, or raised after today.",
                "%(n)d items left unchanged: not outstanding, or raised after today.",
                1,
            ),
        )
    ]


def test_carry_over_action_creates_next_years_items(superuser_client, world):
    """The selected item is carried over; running the action again changes nothing."""
    item = world.followup
    response = run_action(superuser_client, "followup", "carry_over", [item])
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == FollowUpStatus.CARRIED_OVER
    successor = FollowUp.objects.get(carried_over_from=item)
    assert (successor.year, successor.status) == (item.year + 1, FollowUpStatus.OPEN)
    assert messages_of(response) == [
        (
            messages.SUCCESS,
            vi_ngettext(
                "%(n)d item carried over to next year.",
                "%(n)d items carried over to next year.",
                1,
            ),
        )
    ]
    again = run_action(superuser_client, "followup", "carry_over", [item])
    assert again.status_code == 302
    assert FollowUp.objects.count() == 2
    assert messages_of(again)[-1][0] == messages.WARNING


@pytest.fixture
def viewer_client(client, db):
    """A staff member who may only view tasks and follow-up items."""
    user = make_user(
        permissions=[
            "coordination.view_task",
            "coordination.view_followup",
        ]
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("model", "actions"), [("task", ["mark_done"]), ("followup", ["resolve", "carry_over"])]
)
def test_view_only_staff_is_not_offered_the_actions(viewer_client, world, model, actions):
    """Without the change permission the list has no action menu."""
    response = viewer_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["action_form"] is None
    for action in actions:
        assert f'value="{action}"' not in response.text


@pytest.mark.parametrize(
    ("model", "action"),
    [("task", "mark_done"), ("followup", "resolve"), ("followup", "carry_over")],
)
def test_view_only_staff_cannot_run_the_actions(viewer_client, world, model, action):
    """A forged action POST from a view-only user changes nothing."""
    record = getattr(world, model)
    before = type(record).objects.values().get(pk=record.pk)
    count = type(record).objects.count()
    response = viewer_client.post(
        url(model, "changelist"), {"action": action, "_selected_action": [record.pk]}
    )
    assert response.status_code in (200, 403)
    assert type(record).objects.values().get(pk=record.pk) == before
    assert type(record).objects.count() == count


def test_staff_with_change_permission_can_mark_their_units_tasks_done(client, world):
    """The action needs the change permission and the task's lead unit, not superuser status."""
    user = make_user(permissions=["coordination.view_task", "coordination.change_task"])
    make_member(user, world.task.lead_unit)
    client.force_login(user)
    response = run_action(client, "task", "mark_done", [world.task])
    assert response.status_code == 302
    world.task.refresh_from_db()
    assert world.task.status == TaskStatus.DONE


def test_staff_of_another_unit_cannot_mark_a_task_done(client, world):
    """Unit staff's actions only touch records their units own; others stay unchanged."""
    user = make_user(permissions=["coordination.view_task", "coordination.change_task"])
    make_member(user, make_unit(full_name="Hội Nông dân huyện Hàm Tân"))
    client.force_login(user)
    status = world.task.status
    run_action(client, "task", "mark_done", [world.task])
    world.task.refresh_from_db()
    assert world.task.status == status


# ---------------------------------------------------------------------------
# Form errors are shown beside the field, in Vietnamese, and nothing is saved
# ---------------------------------------------------------------------------


def task_form_data(task, **overrides) -> dict:
    data = {
        "agreement": task.agreement_id,
        "year": task.year,
        "content": task.content,
        "lead_unit": task.lead_unit_id,
        "coordinating_units": [unit.pk for unit in task.coordinating_units.all()],
        "assignee": task.assignee_id or "",
        "meeting": task.meeting_id or "",
        "start_date": task.start_date.strftime("%d/%m/%Y") if task.start_date else "",
        "due_date": task.due_date.strftime("%d/%m/%Y") if task.due_date else "",
        "status": task.status,
        "progress": task.progress,
        "completed_on": "",
        "result": task.result,
        "_save": "Lưu",
    }
    data.update(overrides)
    return data


def error_beside(html: str, field: str) -> str:
    """The error list rendered in the form row of `field`."""
    row = re.search(
        rf'<div class="form-row errors field-{field}">\s*<ul class="errorlist"[^>]*>(.*?)</ul>',
        html,
        re.S,
    )
    assert row, f"no error shown in the {field} row"
    return row.group(1)


def test_task_form_accepts_dates_typed_day_first(superuser_client, world):
    """A valid POST with dd/mm/yyyy dates saves them and redirects."""
    response = superuser_client.post(
        url("task", "change", world.task.pk),
        task_form_data(world.task, start_date="05/03/2024", due_date="30/06/2024"),
    )
    assert response.status_code == 302
    world.task.refresh_from_db()
    assert (world.task.start_date, world.task.due_date) == (
        datetime.date(2024, 3, 5),
        datetime.date(2024, 6, 30),
    )


def test_task_form_due_before_start_is_refused_on_the_due_date(superuser_client, world):
    """The error belongs to due_date (not a 500), and the task is unchanged."""
    before = Task.objects.values().get(pk=world.task.pk)
    response = superuser_client.post(
        url("task", "change", world.task.pk),
        task_form_data(world.task, start_date="05/03/2024", due_date="04/03/2024"),
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["due_date"]
    with translation.override("vi"):
        message = gettext("The due date cannot be before the start date.")
    assert message in error_beside(response.text, "due_date")
    assert Task.objects.values().get(pk=world.task.pk) == before


def test_task_form_shows_the_vietnamese_message_beside_the_due_date(superuser_client, world):
    """The admin shows "Hạn xử lý không được trước ngày bắt đầu." in the due-date row."""
    response = superuser_client.post(
        url("task", "change", world.task.pk),
        task_form_data(world.task, start_date="05/03/2024", due_date="04/03/2024"),
    )
    assert response.status_code == 200
    assert "Hạn xử lý không được trước ngày bắt đầu." in error_beside(response.text, "due_date")


def test_task_form_progress_over_100_is_a_form_error(superuser_client, world):
    """Progress 150 is refused beside the field in Vietnamese, not with a server error."""
    before = Task.objects.values().get(pk=world.task.pk)
    response = superuser_client.post(
        url("task", "change", world.task.pk), task_form_data(world.task, progress=150)
    )
    assert response.status_code == 200
    assert "Tiến độ phải từ 0 đến 100%." in error_beside(response.text, "progress")
    assert Task.objects.values().get(pk=world.task.pk) == before


def test_unit_added_through_the_admin_is_stored_clean(superuser_client, world):
    """Text typed in the admin is trimmed, collapsed and NFC like any other write."""
    response = superuser_client.post(
        url("unit", "add"),
        {
            "full_name": "  Hội Cựu\u00a0chiến binh\u200b   huyện Hàm Tân ",
            "short_name": "",
            "kind": "socio_political",
            "level": "district",
            "locality": "huye\u0323\u0302n Hàm Tân",
            "parent": "",
            "is_active": "on",
            "dissolved_on": "",
            "successor": "",
            # The aliases inline, left empty.
            "aliases-TOTAL_FORMS": "0",
            "aliases-INITIAL_FORMS": "0",
            "_save": "Lưu",
        },
    )
    assert response.status_code == 302
    unit = Unit.objects.get(full_name="Hội Cựu chiến binh huyện Hàm Tân")
    assert unit.locality == "huyện Hàm Tân"


def test_unit_name_differing_only_in_case_is_refused_in_the_admin(superuser_client, world):
    """A second "UBND huyện Hàm Tân" in capitals is a form error on full_name."""
    response = superuser_client.post(
        url("unit", "add"),
        {
            "full_name": "ỦY BAN NHÂN DÂN HUYỆN HÀM TÂN",
            "short_name": "",
            "kind": "peoples_committee",
            "level": "district",
            "locality": world.committee.locality,
            "is_active": "on",
            "_save": "Lưu",
        },
    )
    assert response.status_code == 200
    assert "full_name" in response.context["adminform"].form.errors
    assert Unit.objects.count() == 2


# ---------------------------------------------------------------------------
# Query counts do not grow with the number of rows
# ---------------------------------------------------------------------------


# A ceiling well above today's counts (4–9): it catches a page that starts querying per row
# or per filter option, without failing on every new list filter.
MAX_QUERIES_PER_LIST = 15


def count_queries(client, page: str) -> tuple[int, int]:
    """(queries, rows shown) for one GET of a changelist."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page)
    assert response.status_code == 200
    return len(queries), len(response.context["cl"].result_list)


@pytest.mark.parametrize("model", MODELS)
def test_changelist_query_count_does_not_grow_with_rows(superuser_client, model):
    """The same number of queries renders 5 rows and 50 rows, and it stays small."""
    page = url(model, "changelist")
    superuser_client.get(page)  # warm-up: session and per-process caches
    BUILDERS[model](5)
    few, few_rows = count_queries(superuser_client, page)
    BUILDERS[model](45)
    many, many_rows = count_queries(superuser_client, page)
    assert few_rows >= 5
    assert many_rows == 50
    assert many == few
    assert many <= MAX_QUERIES_PER_LIST


# ---------------------------------------------------------------------------
# Records still in use cannot be deleted, by any admin path (RELIABILITY 45)
# ---------------------------------------------------------------------------

#: A world record still in use, and the world records that use it (on_delete=PROTECT).
IN_USE = {
    "unit": ("committee", ["front", "chair", "party", "signatory", "indicator", "task"]),
    "person": ("chair", ["signatory", "task"]),
    "agreement": ("agreement", ["indicator", "task", "followup"]),
    "meeting": ("meeting", ["task", "followup"]),
}


def in_use(world, model: str):
    """(the record, the records that use it) of the world."""
    name, users = IN_USE[model]
    return getattr(world, name), [getattr(world, user) for user in users]


def cannot_delete(record, count: int = 1) -> str:
    """Django's Vietnamese title of a delete page that refuses: "Không thể xóa …"."""
    with translation.override("vi"):
        opts = record._meta
        name = opts.verbose_name if count == 1 else opts.verbose_name_plural
        return gettext("Cannot delete %(name)s") % {"name": name}


def refusal(record, count: int | None = None) -> str:
    """The Vietnamese sentence above the list of records in use: of the delete page, or of
    the delete action on `count` selected records."""
    with translation.override("vi"):
        opts = record._meta
        if count is None:
            return gettext(
                "Deleting the %(object_name)s '%(escaped_object)s' would require deleting "
                "the following protected related objects:"
            ) % {"object_name": opts.verbose_name, "escaped_object": escape(str(record))}
        name = opts.verbose_name if count == 1 else opts.verbose_name_plural
        return gettext(
            "Deleting the selected %(objects_name)s would require deleting the following "
            "protected related objects:"
        ) % {"objects_name": name}


def protected_entry(record) -> str:
    """How Django's delete page names a record that blocks the deletion: "Kind: name"."""
    with translation.override("vi"):
        return f"{capfirst(record._meta.verbose_name)}: {record}"


def protected_shown(response) -> list[str]:
    """The protected records a delete page lists, as text."""
    return sorted(html.unescape(strip_tags(entry)) for entry in response.context["protected"])


def assert_refused_naming(response, record, users, count: int | None = None) -> None:
    """A delete page that refuses, with the records in use listed by name (`count`: the
    number of records selected for the delete action)."""
    assert response.status_code == 200
    assert response.context["title"] == cannot_delete(record, count or 1)
    assert refusal(record, count) in response.text
    assert protected_shown(response) == sorted(protected_entry(user) for user in users)
    for user in users:
        assert escape(str(user)) in response.text


@pytest.mark.parametrize("model", IN_USE)
def test_delete_page_of_a_record_in_use_lists_what_uses_it(superuser_client, world, model):
    """Opening "Xóa" on a unit, person, agreement or meeting that other records use shows
    "Không thể xóa …" and lists each of those records, and writes nothing."""
    record, users = in_use(world, model)
    before = db_state()
    response = superuser_client.get(url(model, "delete", record.pk))
    assert_refused_naming(response, record, users)
    assert db_state() == before


@pytest.mark.parametrize("model", IN_USE)
def test_confirming_the_deletion_of_a_record_in_use_deletes_nothing(superuser_client, world, model):
    """Posting the confirmation anyway (a stale page, a forged request) is refused the same
    way: the refusal page again, no server error, and not a row of the database changes."""
    record, users = in_use(world, model)
    before = db_state()
    response = superuser_client.post(url(model, "delete", record.pk), {"post": "yes"})
    assert_refused_naming(response, record, users)
    assert type(record).objects.filter(pk=record.pk).exists()
    assert db_state() == before


@pytest.mark.parametrize("model", IN_USE)
def test_delete_selected_on_a_record_in_use_deletes_nothing(superuser_client, world, model):
    """The list's "Xóa … đã chọn" action, confirmed, on a record in use: refused with the
    records that use it listed; nothing is deleted and nothing is written."""
    record, users = in_use(world, model)
    before = db_state()
    response = superuser_client.post(
        url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
    )
    assert_refused_naming(response, record, users, count=1)
    assert type(record).objects.filter(pk=record.pk).exists()
    assert db_state() == before


def test_delete_selected_with_one_unit_in_use_deletes_none_of_the_selection(
    superuser_client, world
):
    """Selecting an unused unit together with one in use deletes neither: the whole action
    is refused, not carried out for the units that could go."""
    unused = make_unit(full_name="Tổ công tác lâm thời đã giải tán")
    record, users = in_use(world, "unit")
    before = db_state()
    response = superuser_client.post(
        url("unit", "changelist"),
        {"action": "delete_selected", "_selected_action": [record.pk, unused.pk], "post": "yes"},
    )
    assert_refused_naming(response, record, users, count=2)
    assert set(Unit.objects.filter(pk__in=[record.pk, unused.pk])) == {record, unused}
    assert db_state() == before


# ---------------------------------------------------------------------------
# Guards for policies other tests rely on (RELIABILITY 4, 5 and 42)
# ---------------------------------------------------------------------------


def coordination_admins() -> dict:
    return {
        model._meta.model_name: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "coordination"
    }


@pytest.mark.parametrize("model", MODELS)
def test_no_list_edits_rows_in_place(superuser_client, world, model):
    """No list of the admin is editable in place (`list_editable`): the change form, which
    refuses a save over somebody else's newer change, is the only form that edits a record
    (README, "No lost updates"). A list that edits rows would save without that check."""
    assert not coordination_admins()[model].list_editable
    response = superuser_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].formset is None
    assert 'name="form-TOTAL_FORMS"' not in response.text


@pytest.mark.parametrize("model", MODELS)
def test_no_export_button_or_action_outside_the_filtered_list(superuser_client, world, model):
    """Export is the filtered list's "Xuất" page only: no admin uses django-import-export's
    ExportActionMixin, which adds an export button to every change form whatever the
    user's export permission (django-import-export issue #1942) and an export action."""
    model_admin = coordination_admins()[model]
    assert not isinstance(model_admin, ExportActionMixin)
    record = getattr(world, {"unit": "committee", "person": "chair"}.get(model, model))
    response = superuser_client.get(url(model, "change", record.pk))
    assert response.status_code == 200
    assert "_export-item" not in response.text
    assert "export_admin_action" not in model_admin.get_actions(response.wsgi_request)
    assert not response.context.get("show_change_form_export")
