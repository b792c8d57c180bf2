"""The FilterSets shared by the admin, the /records/ pages and the exports.

Expectations are computed by hand from small worlds, with dates placed around today.
"""

import datetime

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from coordination.choices import (
    AgreementKind,
    AgreementStatus,
    FollowUpKind,
    FollowUpStatus,
    MeetingKind,
    TaskStatus,
)
from coordination.filters import ageing_dates, with_predecessors
from coordination.kinds.agreements import AgreementFilterSet
from coordination.kinds.followups import FollowUpFilterSet
from coordination.kinds.meetings import MeetingFilterSet
from coordination.kinds.tasks import TaskFilterSet
from coordination.models import Agreement, FollowUp, Meeting, Task, Unit
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_meeting,
    make_member,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    today,
)

pytestmark = pytest.mark.django_db


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.fixture
def admin_request():
    return request_for(make_superuser())


def pks(filterset) -> set[int]:
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs.values_list("pk", flat=True))


def followups(data, request, **kwargs):
    return FollowUpFilterSet(data, FollowUp.objects.all(), request=request, **kwargs)


def tasks(data, request, **kwargs):
    return TaskFilterSet(data, Task.objects.all(), request=request, **kwargs)


@pytest.fixture
def items():
    """Follow-up items around today: overdue, due today, due later, resolved, no due date."""
    a = make_unit(full_name="Ủy ban nhân dân xã Tân Phúc", short_name="UBND xã Tân Phúc")
    b = make_unit(full_name="Hội Nông dân huyện Hàm Tân", short_name="HND huyện")
    agreement = make_agreement(parties=[a, b])
    return {
        "a": a,
        "b": b,
        "agreement": agreement,
        "overdue_a": make_followup(
            responsible_unit=a,
            year=2025,
            due_date=days(-1),
            kind=FollowUpKind.VOTER_PETITION,
            content="Cử tri kiến nghị sửa đường liên xã",
            agreement=agreement,
        ),
        "due_today_a": make_followup(
            responsible_unit=a, year=2025, due_date=today(), status=FollowUpStatus.IN_PROGRESS
        ),
        "later_b": make_followup(responsible_unit=b, year=2026, due_date=days(10)),
        "resolved_late_b": make_followup(
            responsible_unit=b,
            year=2025,
            due_date=days(-40),
            status=FollowUpStatus.RESOLVED,
            resolved_on=days(-5),
            kind=FollowUpKind.CONCLUSION,
        ),
        "undated_a": make_followup(responsible_unit=a, year=2026, due_date=None),
        "carried_b": make_followup(
            responsible_unit=b, year=2024, due_date=days(-100), status=FollowUpStatus.CARRIED_OVER
        ),
    }


def ids(items, *names) -> set[int]:
    return {items[name].pk for name in names}


class TestFollowUpFilters:
    def test_year(self, items, admin_request):
        """`year` keeps the items of that year only."""
        result = pks(followups({"year": "2025"}, admin_request))
        assert result == ids(items, "overdue_a", "due_today_a", "resolved_late_b")

    def test_unit(self, items, admin_request):
        """`unit` keeps the items the unit is responsible for."""
        result = pks(followups({"unit": items["a"].pk}, admin_request))
        assert result == ids(items, "overdue_a", "due_today_a", "undated_a")

    def test_kind(self, items, admin_request):
        result = pks(followups({"kind": FollowUpKind.CONCLUSION}, admin_request))
        assert result == ids(items, "resolved_late_b")

    def test_status(self, items, admin_request):
        result = pks(followups({"status": FollowUpStatus.IN_PROGRESS}, admin_request))
        assert result == ids(items, "due_today_a")

    def test_outstanding_yes_and_no(self, items, admin_request):
        """Open and in-progress items are outstanding whatever their due date; others are not."""
        outstanding = ids(items, "overdue_a", "due_today_a", "later_b", "undated_a")
        assert pks(followups({"outstanding": "yes"}, admin_request)) == outstanding
        everything = set(FollowUp.objects.values_list("pk", flat=True))
        assert pks(followups({"outstanding": "no"}, admin_request)) == everything - outstanding

    def test_overdue_is_strictly_before_today(self, items, admin_request):
        """Due yesterday and open is overdue; due today is not yet; carried over is not."""
        assert pks(followups({"overdue": "yes"}, admin_request)) == ids(items, "overdue_a")

    def test_overdue_follows_the_given_today(self, items, admin_request):
        """Tomorrow, the item due today is overdue too."""
        result = pks(followups({"overdue": "yes"}, admin_request, today=days(1)))
        assert result == ids(items, "overdue_a", "due_today_a")

    def test_late_counts_late_resolution_and_open_past_due(self, items, admin_request):
        """Late: resolved after the due date, past due and open, or carried over past due."""
        result = pks(followups({"late": "yes"}, admin_request))
        assert result == ids(items, "overdue_a", "resolved_late_b", "carried_b")

    def test_due_dates_are_inclusive(self, items, admin_request):
        """`due_after` and `due_before` include the dates they name."""
        data = {"due_after": days(-1).isoformat(), "due_before": today().strftime("%d/%m/%Y")}
        assert pks(followups(data, admin_request)) == ids(items, "overdue_a", "due_today_a")

    def test_agreement(self, items, admin_request):
        result = pks(followups({"agreement": items["agreement"].pk}, admin_request))
        assert result == ids(items, "overdue_a")

    def test_q_ignores_case_and_diacritics(self, items, admin_request):
        """ "DUONG lien xa" finds "đường liên xã"."""
        assert pks(followups({"q": "DUONG lien xa"}, admin_request)) == ids(items, "overdue_a")

    def test_q_searches_the_unit_name(self, items, admin_request):
        result = pks(followups({"q": "nong dan"}, admin_request))
        assert result == ids(items, "later_b", "resolved_late_b", "carried_b")

    def test_combination_of_year_unit_and_overdue(self, items, admin_request):
        """The audit question: one unit's overdue items of one year."""
        data = {"year": "2025", "unit": items["a"].pk, "overdue": "yes"}
        assert pks(followups(data, admin_request)) == ids(items, "overdue_a")

    def test_combination_with_no_match(self, items, admin_request):
        data = {"year": "2026", "unit": items["b"].pk, "overdue": "yes"}
        assert pks(followups(data, admin_request)) == set()

    def test_sort_by_due_date_descending(self, items, admin_request):
        filterset = followups({"sort": "-due_date", "unit": items["a"].pk}, admin_request)
        assert filterset.is_valid()
        dated = [item.pk for item in filterset.qs if item.due_date]
        assert dated == [items["due_today_a"].pk, items["overdue_a"].pk]

    @pytest.mark.parametrize(
        "data",
        [
            {"year": "abc"},
            {"year": "20255"},
            {"unit": "not-a-number"},
            {"unit": "999999"},
            {"due_before": "31/02/2025"},
            {"overdue": "maybe"},
            {"status": "lost"},
            {"sort": "password"},
        ],
        ids=lambda data: "-".join(f"{k}={v}" for k, v in data.items()),
    )
    def test_bad_values_are_form_errors(self, items, admin_request, data):
        """A value a user can type in the URL is a form error, never a database error."""
        filterset = followups(data, admin_request)
        assert not filterset.is_valid()
        assert set(filterset.errors) == set(data)

    @pytest.mark.parametrize("value", ["1", "true", "yes", "Có"])
    def test_yes_accepts_the_spellings_of_a_url(self, items, admin_request, value):
        assert pks(followups({"overdue": value}, admin_request)) == ids(items, "overdue_a")


class TestTaskUnitRoles:
    @pytest.fixture
    def world(self):
        a, b = make_unit(), make_unit()
        return {
            "a": a,
            "b": b,
            "led_by_a": make_task(lead_unit=a),
            "coordinated_by_a": make_task(lead_unit=b, coordinating_units=[a]),
            "b_only": make_task(lead_unit=b),
        }

    def test_unit_matches_lead_or_coordinating_by_default(self, world, admin_request):
        result = pks(tasks({"unit": world["a"].pk}, admin_request))
        assert result == {world["led_by_a"].pk, world["coordinated_by_a"].pk}

    def test_unit_role_lead(self, world, admin_request):
        result = pks(tasks({"unit": world["a"].pk, "unit_role": "lead"}, admin_request))
        assert result == {world["led_by_a"].pk}

    def test_unit_role_coordinating(self, world, admin_request):
        data = {"unit": world["a"].pk, "unit_role": "coordinating"}
        assert pks(tasks(data, admin_request)) == {world["coordinated_by_a"].pk}

    def test_a_task_coordinated_by_two_matching_units_is_listed_once(self, admin_request):
        a = make_unit()
        task = make_task(coordinating_units=[a, make_unit()])
        filterset = tasks({"unit": a.pk}, admin_request)
        assert filterset.is_valid()
        assert list(filterset.qs.values_list("pk", flat=True)) == [task.pk]

    def test_task_status_outstanding_and_overdue(self, admin_request):
        late = make_task(due_date=days(-3), status=TaskStatus.IN_PROGRESS)
        make_task(due_date=days(-3), status=TaskStatus.DONE, completed_on=days(-4))
        make_task(due_date=days(-3), status=TaskStatus.CANCELLED)
        make_task(due_date=days(3))
        assert pks(tasks({"overdue": "yes"}, admin_request)) == {late.pk}
        data = {"outstanding": "yes", "status": TaskStatus.IN_PROGRESS}
        assert pks(tasks(data, admin_request)) == {late.pk}

    def test_task_late_includes_done_after_due_date(self, admin_request):
        done_late = make_task(due_date=days(-9), status=TaskStatus.DONE, completed_on=days(-2))
        make_task(due_date=days(-9), status=TaskStatus.DONE, completed_on=days(-9))
        assert pks(tasks({"late": "yes"}, admin_request)) == {done_late.pk}


class TestPredecessors:
    @pytest.fixture
    def merged(self):
        """C took over B, which had earlier taken over A."""
        c = make_unit()
        b = make_unit(successor=c, dissolved_on=datetime.date(2025, 7, 1), is_active=False)
        a = make_unit(successor=b, dissolved_on=datetime.date(2020, 1, 1), is_active=False)
        return {
            "a": a,
            "b": b,
            "c": c,
            "items": [make_followup(responsible_unit=unit) for unit in (a, b, c)],
        }

    def test_with_predecessors_walks_every_generation(self, merged):
        expected = {merged["a"].pk, merged["b"].pk, merged["c"].pk}
        assert with_predecessors([merged["c"].pk]) == expected

    def test_unit_alone_by_default(self, merged, admin_request):
        result = pks(followups({"unit": merged["c"].pk}, admin_request))
        assert result == {merged["items"][2].pk}

    def test_unit_with_predecessors(self, merged, admin_request):
        data = {"unit": merged["c"].pk, "predecessors": "yes"}
        assert pks(followups(data, admin_request)) == {item.pk for item in merged["items"]}


class TestAgreementAndMeetingFilters:
    def test_agreement_year_is_the_years_in_force(self, admin_request):
        long = make_agreement(start_year=2021, end_year=2026)
        make_agreement(start_year=2022, end_year=2022)
        filterset = AgreementFilterSet(
            {"year": "2025"}, Agreement.objects.all(), request=admin_request
        )
        assert pks(filterset) == {long.pk}

    def test_agreement_unit_kind_and_status(self, admin_request):
        unit = make_unit()
        match = make_agreement(
            parties=[unit], kind=AgreementKind.PROGRAMME, status=AgreementStatus.IN_FORCE
        )
        make_agreement(parties=[unit], kind=AgreementKind.REGULATION)
        make_agreement(kind=AgreementKind.PROGRAMME)
        data = {"unit": unit.pk, "kind": AgreementKind.PROGRAMME, "status": "in_force"}
        filterset = AgreementFilterSet(data, Agreement.objects.all(), request=admin_request)
        assert pks(filterset) == {match.pk}

    def test_agreement_q_finds_number_and_party(self, admin_request):
        unit = make_unit(full_name="Liên đoàn Lao động huyện")
        match = make_agreement(parties=[unit], number="07/QCPH-LĐLĐ")
        make_agreement()
        for text in ("qcph-ldld", "lao dong"):
            filterset = AgreementFilterSet(
                {"q": text}, Agreement.objects.all(), request=admin_request
            )
            assert pks(filterset) == {match.pk}

    def test_meeting_year_unit_kind_and_agreement(self, admin_request):
        unit = make_unit()
        agreement = make_agreement()
        match = make_meeting(held_on=datetime.date(2025, 12, 20), kind=MeetingKind.FINAL)
        match.attending_units.add(unit)
        match.agreements.add(agreement)
        other = make_meeting(held_on=datetime.date(2025, 6, 1), kind=MeetingKind.FINAL)
        other.attending_units.add(unit)
        make_meeting(held_on=datetime.date(2024, 12, 20))
        data = {"year": "2025", "unit": unit.pk, "kind": "final", "agreement": agreement.pk}
        filterset = MeetingFilterSet(data, Meeting.objects.all(), request=admin_request)
        assert pks(filterset) == {match.pk}


class TestScopedChoices:
    def test_unit_staff_choose_only_their_units_and_predecessors(self):
        """Filter choices never name a unit outside the user's scope."""
        mine = make_unit()
        old = make_unit(successor=mine, dissolved_on=datetime.date(2024, 1, 1), is_active=False)
        make_unit()
        user = make_user()
        make_member(user, mine)
        filterset = followups({}, request_for(user))
        choices = {unit.pk for unit in filterset.form.fields["unit"].queryset}
        assert choices == {mine.pk, old.pk}

    def test_another_units_id_is_refused(self):
        mine, other = make_unit(), make_unit()
        user = make_user()
        make_member(user, mine)
        filterset = followups({"unit": other.pk}, request_for(user))
        assert not filterset.is_valid()
        assert "unit" in filterset.errors

    def test_auditors_choose_every_unit(self):
        make_unit(), make_unit()
        auditor = make_user(permissions=["coordination.view_all_units"])
        filterset = followups({}, request_for(auditor))
        assert filterset.form.fields["unit"].queryset.count() == Unit.objects.count()


def test_ageing_dates_bound_each_bucket():
    """Overdue 1–30 days today: due between today − 30 and today − 1 inclusive."""
    day = datetime.date(2026, 3, 31)
    assert ageing_dates(day, 1, 30) == {"due_before": "2026-03-30", "due_after": "2026-03-01"}
    assert ageing_dates(day, 91, None) == {"due_before": "2025-12-30"}


class TestTextSearch:
    """`q`: every word must be found, each in any searched field (the record's own text, its
    unit's full or short name, its agreement's number), ignoring case and diacritics."""

    @pytest.fixture
    def found(self):
        farmers = make_unit(full_name="Hội Nông dân xã Tân Hà", short_name="HND Tân Hà")
        agreement = make_agreement(number="09/KH-ND-UBND")
        match = make_task(
            content="Tuyên truyền pháp luật cho hội viên",
            lead_unit=farmers,
            agreement=agreement,
            result="Đã tổ chức 3 buổi",
        )
        make_task(content="Tuyên truyền phòng chống cháy rừng")
        make_task(content="Kiểm tra an toàn thực phẩm", lead_unit=farmers)
        return match

    @pytest.mark.parametrize(
        "text",
        [
            "tuyen truyen nong dan",  # content + unit name
            "PHÁP LUẬT",  # content, capitals and diacritics
            "hnd tan ha tuyen",  # short name + content
            "09/kh-nd",  # agreement number
            "3 buoi",  # result
            "  luat   hoi  ",  # spacing
        ],
    )
    def test_every_word_matches_some_field(self, found, admin_request, text):
        assert pks(tasks({"q": text}, admin_request)) == {found.pk}

    def test_a_word_found_nowhere_empties_the_list(self, found, admin_request):
        assert pks(tasks({"q": "tuyen truyen khongco"}, admin_request)) == set()

    def test_the_admin_search_box_finds_the_same_rows(self, found, client):
        client.force_login(make_superuser())
        response = client.get("/admin/coordination/task/", {"q": "tuyen truyen nong dan"})
        assert response.status_code == 200
        shown = {task.pk for task in response.context["cl"].result_list}
        assert shown == {found.pk}

    def test_search_queries_do_not_grow_with_words(self, found, admin_request):
        """The units and agreements named by the words are looked up once each (two small
        queries for tasks), then one query lists the tasks, however many words."""
        counts = []
        for text in ("phap", "tuyen truyen phap luat nong dan hoi vien"):
            with CaptureQueriesContext(connection) as queries:
                assert pks(tasks({"q": text}, admin_request)) == {found.pk}
            counts.append(len(queries))
        assert counts == [3, 3]

    def test_a_word_matching_nothing_needs_no_list_query(self, found, admin_request):
        assert pks(tasks({"q": "khongco"}, admin_request)) == set()
