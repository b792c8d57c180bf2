"""Unit mergers: outstanding work moves to the successor, the past stays with the old units."""

import datetime
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from coordination import services
from coordination.admin.actions import merge_units
from coordination.choices import FollowUpStatus, TaskStatus
from coordination.models import (
    AgreementParty,
    Indicator,
    Person,
    Signatory,
    Task,
    Unit,
    UnitMember,
)
from tests.factories import (
    days,
    db_state,
    make_agreement,
    make_followup,
    make_indicator,
    make_meeting,
    make_member,
    make_person,
    make_signatory,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    today,
)

pytestmark = pytest.mark.django_db

MERGED_ON = datetime.date(2024, 7, 1)
UNIT_STAFF, ADMIN = "Cán bộ đơn vị", "Quản trị"
CHANGELIST = "/admin/coordination/unit/"


def reload(record):
    return type(record).objects.get(pk=record.pk)


def coordinators(task) -> set[int]:
    return set(Task.objects.get(pk=task.pk).coordinating_units.values_list("pk", flat=True))


def record_counts() -> dict[str, int]:
    """Rows of every coordination model (not history, not link tables, not the outstanding
    table's stored counts and marks, which the database keeps)."""
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_app_config("coordination").get_models()
        if not model._meta.model_name.startswith("historical")
        and model.__module__ != "coordination.models.tallies"
    }


@pytest.fixture
def scene():
    """Two units merged into a third, with outstanding and closed work of every kind."""
    old = make_unit(full_name="Phòng Văn hóa và Thông tin huyện Hàm Tân", short_name="Phòng VHTT")
    other_old = make_unit(full_name="Trung tâm Văn hóa huyện Hàm Tân", short_name="TTVH")
    successor = make_unit(
        full_name="Phòng Văn hóa, Khoa học và Thông tin huyện Hàm Tân", short_name="Phòng VHKHTT"
    )
    bystander = make_unit(full_name="Hội Nông dân huyện Hàm Tân", short_name="HND huyện")
    agreement = make_agreement(parties=[old, bystander])
    person = make_person(full_name="Nguyễn Văn An", unit=old)
    meeting = make_meeting()
    meeting.attending_units.add(old)
    staff = make_user()
    make_member(staff, old)
    task = lambda **fields: make_task(agreement=agreement, **fields)  # noqa: E731
    return SimpleNamespace(
        old=old,
        other_old=other_old,
        successor=successor,
        bystander=bystander,
        agreement=agreement,
        person=person,
        meeting=meeting,
        staff=staff,
        child=make_unit(full_name="Thư viện huyện Hàm Tân", parent=old),
        party=AgreementParty.objects.get(agreement=agreement, unit=old),
        signatory=make_signatory(agreement=agreement, person=person, unit=old),
        indicator=make_indicator(agreement=agreement, unit=old, year=2023),
        led=task(lead_unit=old, status=TaskStatus.IN_PROGRESS, coordinating_units=[bystander]),
        led_by_other=task(lead_unit=other_old, year=2023),
        led_done=task(
            lead_unit=old, status=TaskStatus.DONE, completed_on=datetime.date(2023, 12, 1)
        ),
        led_cancelled=task(lead_unit=old, status=TaskStatus.CANCELLED),
        coordinated=task(lead_unit=bystander, coordinating_units=[old]),
        coordinated_by_both=task(lead_unit=bystander, coordinating_units=[old, other_old]),
        with_successor=task(lead_unit=bystander, coordinating_units=[old, successor]),
        led_by_successor=task(lead_unit=successor, coordinating_units=[old]),
        led_and_coordinated=task(lead_unit=old, coordinating_units=[other_old, bystander]),
        coordinated_done=task(
            lead_unit=bystander,
            coordinating_units=[old],
            status=TaskStatus.DONE,
            completed_on=datetime.date(2023, 6, 1),
        ),
        untouched=task(lead_unit=bystander, coordinating_units=[successor]),
        item=make_followup(responsible_unit=old, status=FollowUpStatus.OPEN),
        item_in_progress=make_followup(
            responsible_unit=other_old, status=FollowUpStatus.IN_PROGRESS
        ),
        item_resolved=make_followup(
            responsible_unit=old,
            status=FollowUpStatus.RESOLVED,
            resolved_on=datetime.date(2023, 10, 1),
        ),
        item_closed=make_followup(responsible_unit=old, status=FollowUpStatus.CLOSED),
        item_carried=make_followup(
            responsible_unit=old, year=2023, status=FollowUpStatus.CARRIED_OVER
        ),
        item_other=make_followup(responsible_unit=bystander),
    )


def merge(scene, **overrides):
    arguments = {
        "units": Unit.objects.filter(pk__in=[scene.old.pk, scene.other_old.pk]),
        "successor": scene.successor,
        "dissolved_on": MERGED_ON,
    }
    arguments.update(overrides)
    return services.unit_merge(**arguments)


# ---------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------


class TestUnitMerge:
    def test_merged_units_are_dissolved_into_the_successor_on_the_date(self, scene):
        """Each merged unit becomes inactive, with its dissolution date and successor."""
        merge(scene)
        for unit in (reload(scene.old), reload(scene.other_old)):
            assert (unit.is_active, unit.dissolved_on, unit.successor) == (
                False,
                MERGED_ON,
                scene.successor,
            )
        successor = reload(scene.successor)
        assert (successor.is_active, successor.dissolved_on, successor.successor) == (
            True,
            None,
            None,
        )
        assert reload(scene.bystander).is_active

    def test_the_result_counts_what_moved(self, scene):
        """Units, tasks led, tasks coordinated (once per task) and items are counted."""
        result = merge(scene)
        assert result == services.MergeResult(
            units=2, tasks_moved=3, coordinations_moved=5, followups_moved=2
        )

    def test_outstanding_tasks_they_lead_move_to_the_successor(self, scene):
        """Not started and in-progress tasks get the successor as lead unit."""
        merge(scene)
        for task in (scene.led, scene.led_by_other, scene.led_and_coordinated):
            assert reload(task).lead_unit == scene.successor
        assert coordinators(scene.led) == {scene.bystander.pk}

    def test_done_and_cancelled_tasks_stay_with_the_old_unit(self, scene):
        """Closed tasks keep their lead and coordinating units, as past reports showed them."""
        merge(scene)
        assert reload(scene.led_done).lead_unit == scene.old
        assert reload(scene.led_cancelled).lead_unit == scene.old
        assert coordinators(scene.coordinated_done) == {scene.old.pk}

    def test_the_successor_takes_over_their_coordinating_roles(self, scene):
        """The merged unit's link is replaced by one to the successor."""
        merge(scene)
        assert coordinators(scene.coordinated) == {scene.successor.pk}
        assert reload(scene.coordinated).lead_unit == scene.bystander

    def test_two_merged_coordinators_of_one_task_become_one_successor_link(self, scene):
        """A task both merged units coordinated gets the successor once."""
        merge(scene)
        assert coordinators(scene.coordinated_by_both) == {scene.successor.pk}

    def test_a_successor_already_coordinating_is_not_added_twice(self, scene):
        """Only the merged unit's link goes; the successor's own link stays as it was."""
        merge(scene)
        assert coordinators(scene.with_successor) == {scene.successor.pk}

    def test_a_successor_leading_the_task_is_not_added_as_coordinating_unit(self, scene):
        """Leading already covers the work: the merged coordinator's link is simply removed."""
        merge(scene)
        assert coordinators(scene.led_by_successor) == set()
        assert reload(scene.led_by_successor).lead_unit == scene.successor

    def test_a_task_led_and_coordinated_by_merged_units_is_led_by_the_successor(self, scene):
        """The lead moves first, so the successor is not also made a coordinating unit."""
        merge(scene)
        assert reload(scene.led_and_coordinated).lead_unit == scene.successor
        assert coordinators(scene.led_and_coordinated) == {scene.bystander.pk}

    def test_other_units_tasks_are_untouched(self, scene):
        """Tasks not involving a merged unit keep everything, their timestamp included."""
        before = reload(scene.untouched).updated_at
        merge(scene)
        untouched = reload(scene.untouched)
        assert (untouched.lead_unit, untouched.updated_at) == (scene.bystander, before)
        assert coordinators(untouched) == {scene.successor.pk}

    def test_outstanding_follow_up_items_move_to_the_successor(self, scene):
        """Open and in-progress items are now the successor's to resolve."""
        merge(scene)
        assert reload(scene.item).responsible_unit == scene.successor
        assert reload(scene.item_in_progress).responsible_unit == scene.successor
        assert reload(scene.item_other).responsible_unit == scene.bystander

    @pytest.mark.parametrize("name", ["item_resolved", "item_closed", "item_carried"])
    def test_finished_follow_up_items_stay_with_the_old_unit(self, scene, name):
        """Resolved, closed and carried-over items keep their unit and their timestamp."""
        before = reload(getattr(scene, name))
        merge(scene)
        after = reload(getattr(scene, name))
        assert (after.responsible_unit, after.status, after.updated_at) == (
            scene.old,
            before.status,
            before.updated_at,
        )

    def test_indicators_parties_signatures_people_and_staff_stay_with_the_old_unit(self, scene):
        """What the old unit was and signed is history: none of it is reassigned."""
        merge(scene)
        assert reload(scene.indicator).unit == scene.old
        assert reload(scene.party).unit == scene.old
        signatory = reload(scene.signatory)
        assert (signatory.unit, signatory.person) == (scene.old, scene.person)
        assert reload(scene.person).unit == scene.old
        assert UnitMember.objects.get(user=scene.staff).unit == scene.old
        assert reload(scene.child).parent == scene.old
        assert list(scene.meeting.attending_units.all()) == [scene.old]

    def test_nothing_is_created_or_deleted(self, scene):
        """Every record count is the same afterwards; only links and history rows change."""
        before = record_counts()
        merge(scene)
        assert record_counts() == before
        assert Indicator.objects.filter(unit=scene.old).count() == 1
        assert Signatory.objects.filter(unit=scene.old).count() == 1
        assert Person.objects.filter(unit=scene.old).count() == 1

    def test_moved_records_get_a_new_timestamp(self, scene):
        """Moved tasks (lead or coordinating unit) and items show when they changed."""
        moved = [scene.led, scene.coordinated, scene.led_by_successor, scene.item]
        before = {record: reload(record).updated_at for record in moved}
        merge(scene)
        for record in moved:
            assert reload(record).updated_at > before[record]

    def test_history_records_every_moved_record_with_the_user_and_reason(self, scene):
        """One history entry per moved task or item, naming the acting user and the merger."""
        user = make_superuser()
        merge(scene, user=user)
        moved = [scene.led, scene.led_by_other, scene.coordinated, scene.with_successor, scene.item]
        for record in moved:
            entry = record.history.latest("history_id")
            assert entry.history_type == "~"
            assert entry.history_user_id == user.pk
            assert "Phòng VHKHTT" in entry.history_change_reason
            assert "01/07/2024" in entry.history_change_reason
        assert scene.led.history.latest("history_id").lead_unit_id == scene.successor.pk
        item_entry = scene.item.history.latest("history_id")
        assert item_entry.responsible_unit_id == scene.successor.pk

    def test_records_left_alone_get_no_history_entry(self, scene):
        """Closed records and other units' records have only their creation entry."""
        merge(scene, user=make_superuser())
        for record in (
            scene.led_done,
            scene.coordinated_done,
            scene.item_resolved,
            scene.untouched,
        ):
            assert [entry.history_type for entry in record.history.all()] == ["+"]

    def test_a_long_successor_name_keeps_the_reason_within_100_characters(self, scene):
        """The history reason column holds 100 characters; the name is cut, not the write."""
        successor = make_unit(full_name="Ủy ban nhân dân " + "rất dài " * 25)
        merge(scene, successor=successor)
        reason = scene.led.history.latest("history_id").history_change_reason
        assert len(reason) == 100 and reason.endswith("…")

    def test_units_can_be_given_as_a_list_of_objects(self, scene):
        """Any iterable of units works, not only a queryset."""
        result = merge(scene, units=[scene.old])
        assert result.units == 1
        assert reload(scene.old).successor == scene.successor
        assert reload(scene.other_old).is_active

    def test_a_merger_dated_today_is_allowed(self, scene):
        """Today is not the future."""
        merge(scene, dissolved_on=today())
        assert reload(scene.old).dissolved_on == today()


def _among_units(scene):
    return {"successor": scene.old}


def _dissolved_successor(scene):
    gone = make_unit(is_active=False, dissolved_on=datetime.date(2020, 1, 1))
    return {"successor": gone}


def _inactive_successor(scene):
    return {"successor": make_unit(is_active=False)}


def _dissolved_unit(scene):
    Unit.objects.filter(pk=scene.other_old.pk).update(
        is_active=False, dissolved_on=datetime.date(2020, 1, 1), successor=scene.bystander
    )
    return {}


def _inactive_unit(scene):
    Unit.objects.filter(pk=scene.other_old.pk).update(is_active=False)
    return {}


def _future_date(scene):
    return {"dissolved_on": days(1)}


def _no_units(scene):
    return {"units": Unit.objects.none()}


class TestUnitMergeRefusals:
    @pytest.mark.parametrize(
        ("setup", "field"),
        [
            (_among_units, "successor"),
            (_dissolved_successor, "successor"),
            (_inactive_successor, "successor"),
            (_dissolved_unit, "units"),
            (_inactive_unit, "units"),
            (_future_date, "dissolved_on"),
            (_no_units, "units"),
        ],
        ids=lambda value: getattr(value, "__name__", value),
    )
    def test_an_invalid_merger_raises_and_changes_nothing(self, scene, setup, field):
        """The error names the argument at fault; not a single row is written."""
        overrides = setup(scene)
        before = db_state()
        with pytest.raises(ValidationError) as raised:
            merge(scene, **overrides)
        assert field in raised.value.message_dict
        assert db_state() == before

    def test_every_problem_is_reported_at_once(self, scene):
        """A dissolved unit, a successor among the units and a future date: three errors."""
        _dissolved_unit(scene)
        with pytest.raises(ValidationError) as raised:
            merge(
                scene,
                units=Unit.objects.filter(pk__in=[scene.old.pk, scene.other_old.pk]),
                successor=scene.old,
                dissolved_on=days(5),
            )
        assert set(raised.value.message_dict) == {"units", "successor", "dissolved_on"}
        assert "Trung tâm Văn hóa huyện Hàm Tân" in " ".join(raised.value.message_dict["units"])


def _merger_world(n: int):
    """`n` units to merge, each leading, coordinating and answering for one record."""
    successor = make_unit()
    lead = make_unit()
    agreement = make_agreement()
    units = [make_unit() for _ in range(n)]
    for unit in units:
        make_task(agreement=agreement, lead_unit=unit)
        make_task(agreement=agreement, lead_unit=lead, coordinating_units=[unit, successor])
        make_task(agreement=agreement, lead_unit=lead, coordinating_units=[unit])
        make_followup(responsible_unit=unit)
    return Unit.objects.filter(pk__in=[unit.pk for unit in units]), successor


def test_the_number_of_queries_does_not_grow_with_units_or_records():
    """2 units with 8 records and 20 units with 80 records take the same queries."""
    counts = []
    user = make_superuser()
    for n in (2, 20):
        units, successor = _merger_world(n)
        with CaptureQueriesContext(connection) as queries:
            result = services.unit_merge(
                units=units, successor=successor, dissolved_on=MERGED_ON, user=user
            )
        assert result == services.MergeResult(
            units=n, tasks_moved=n, coordinations_moved=2 * n, followups_moved=n
        )
        counts.append(len(queries))
    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------
# The admin action
# ---------------------------------------------------------------------------


def select(client, units, **data):
    """POST the changelist's action form with `units` selected, as the browser does."""
    return client.post(
        CHANGELIST,
        {"action": "merge_units", "_selected_action": [unit.pk for unit in units], **data},
    )


def confirm(client, units, **data):
    """POST the confirmation page back: the selection, `post=yes` and the form's fields."""
    return select(client, units, post="yes", **data)


def messages_of(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in get_messages(response.wsgi_request)]


def action_names(client) -> set[str]:
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    action_form = response.context["action_form"]  # None when no action is offered at all
    return {name for name, _label in action_form.fields["action"].choices} if action_form else set()


class TestMergeUnitsAction:
    def test_the_action_is_offered_to_superusers(self, superuser_client):
        """It is listed on the unit changelist's action menu."""
        assert "merge_units" in action_names(superuser_client)

    def test_selecting_units_shows_the_confirmation_page_and_changes_nothing(
        self, superuser_client, scene
    ):
        """The page lists the units with what will move, and offers only valid successors."""
        before = db_state()
        response = select(superuser_client, [scene.old, scene.other_old])
        assert response.status_code == 200
        assert response.templates[0].name == "admin/coordination/merge_units.html"
        html = response.content.decode()
        assert "Phòng Văn hóa và Thông tin huyện Hàm Tân" in html
        assert "Trung tâm Văn hóa huyện Hàm Tân" in html
        assert html.count('name="_selected_action"') == 2
        assert 'name="action" value="merge_units"' in html
        assert 'name="post" value="yes"' in html
        assert response.context["totals"] == {"led": 3, "coordinated": 5, "followups": 2}
        choices = set(response.context["form"].fields["successor"].queryset)
        assert scene.successor in choices and scene.bystander in choices
        assert not {scene.old, scene.other_old} & choices
        assert db_state() == before

    def test_confirming_merges_the_units(self, superuser_client, superuser, scene):
        """With successor and date (dd/mm/yyyy) the merger is done and reported."""
        response = confirm(
            superuser_client,
            [scene.old, scene.other_old],
            successor=scene.successor.pk,
            dissolved_on="01/07/2024",
        )
        assert response.status_code == 302
        old = reload(scene.old)
        assert (old.is_active, old.dissolved_on, old.successor) == (
            False,
            MERGED_ON,
            scene.successor,
        )
        assert reload(scene.led).lead_unit == scene.successor
        assert reload(scene.item).responsible_unit == scene.successor
        assert reload(scene.led_done).lead_unit == scene.old
        assert scene.item.history.latest("history_id").history_user_id == superuser.pk
        [(level, text)] = messages_of(response)
        assert level == messages.SUCCESS
        assert scene.successor.full_name in text

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("successor", None),
            ("successor", ""),
            ("successor", "999999"),
            ("dissolved_on", None),
            ("dissolved_on", "31/02/2024"),
            ("dissolved_on", "2024/07/01x"),
        ],
    )
    def test_an_incomplete_form_is_shown_again_with_its_errors(
        self, superuser_client, scene, field, value
    ):
        """Nothing is merged; the page answers 200 with the error beside the field."""
        data = {"successor": scene.successor.pk, "dissolved_on": "01/07/2024", field: value}
        if value is None:
            del data[field]
        before = db_state()
        response = confirm(superuser_client, [scene.old], **data)
        assert response.status_code == 200
        assert list(response.context["form"].errors) == [field]
        assert 'class="errornote"' in response.content.decode()
        assert db_state() == before

    def test_a_future_date_is_refused_by_the_service_and_shown_as_a_form_error(
        self, superuser_client, scene
    ):
        """The service's rule reaches the page as an error on the date field, never a 500."""
        before = db_state()
        response = confirm(
            superuser_client,
            [scene.old],
            successor=scene.successor.pk,
            dissolved_on=days(3).strftime("%d/%m/%Y"),
        )
        assert response.status_code == 200
        assert "dissolved_on" in response.context["form"].errors
        assert db_state() == before

    def test_an_already_dissolved_unit_is_shown_as_an_error_of_the_whole_form(
        self, superuser_client, scene
    ):
        """A problem with the selection itself is a non-field error naming the unit."""
        _dissolved_unit(scene)
        before = db_state()
        response = confirm(
            superuser_client,
            [scene.old, scene.other_old],
            successor=scene.successor.pk,
            dissolved_on="01/07/2024",
        )
        assert response.status_code == 200
        errors = response.context["form"].non_field_errors()
        assert any("Trung tâm Văn hóa huyện Hàm Tân" in error for error in errors)
        assert db_state() == before

    def test_a_selected_unit_cannot_be_its_own_successor(self, superuser_client, scene):
        """A forged POST naming a selected unit as successor is refused by the form."""
        before = db_state()
        response = confirm(
            superuser_client,
            [scene.old, scene.other_old],
            successor=scene.old.pk,
            dissolved_on="01/07/2024",
        )
        assert response.status_code == 200
        assert "successor" in response.context["form"].errors
        assert db_state() == before

    def test_an_administrator_managing_all_units_may_merge(self, client, scene):
        """Not only superusers: the Quản trị role manages every unit and may merge."""
        user = make_user()
        user.groups.add(Group.objects.get(name=ADMIN))
        client.force_login(user)
        assert "merge_units" in action_names(client)
        response = confirm(
            client, [scene.old], successor=scene.successor.pk, dissolved_on="01/07/2024"
        )
        assert response.status_code == 302
        assert reload(scene.old).successor == scene.successor


@pytest.fixture(params=["unit staff", "change_unit without manage_all_units"])
def restricted_client(request, client, scene):
    """A user who may see units but does not manage every unit."""
    if request.param == "unit staff":
        user = make_user()
        user.groups.add(Group.objects.get(name=UNIT_STAFF))
    else:
        user = make_user(permissions=["coordination.view_unit", "coordination.change_unit"])
    make_member(user, scene.old)
    make_member(user, scene.successor)
    client.force_login(user)
    return client


class TestMergeUnitsRefusedToUnitStaff:
    def test_the_action_is_not_offered(self, restricted_client):
        """Staff of some units do not see the merger in the action menu."""
        assert "merge_units" not in action_names(restricted_client)

    def test_a_forged_merger_changes_nothing(self, restricted_client, scene):
        """Posting the confirmation anyway merges nothing: refused, or no such action."""
        before = db_state()
        response = confirm(
            restricted_client,
            [scene.old],
            successor=scene.successor.pk,
            dissolved_on="01/07/2024",
        )
        # 200: the changelist again (no action at all), 302: "no action selected", 403: refused.
        assert response.status_code in (200, 302, 403)
        assert "admin/coordination/merge_units.html" not in [t.name for t in response.templates]
        assert db_state() == before
        assert reload(scene.old).is_active

    def test_calling_the_action_directly_is_a_permission_error(self, scene):
        """The action checks the scope itself, wherever it is attached."""
        user = make_user(permissions=["coordination.view_unit", "coordination.change_unit"])
        make_member(user, scene.old)
        request = RequestFactory().post(CHANGELIST, {"post": "yes"})
        request.user = user
        with pytest.raises(PermissionDenied):
            merge_units(admin.site._registry[Unit], request, Unit.objects.filter(pk=scene.old.pk))
        assert reload(scene.old).is_active
