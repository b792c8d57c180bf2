"""Splitting a dissolved unit's work: each outstanding record to one of several successors."""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.contrib import messages
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordination import services
from coordination.choices import FollowUpStatus, TaskStatus
from coordination.models import FollowUp, Task, Unit
from tests.factories import (
    db_state,
    make_agreement,
    make_followup,
    make_member,
    make_superuser,
    make_task,
    make_unit,
    make_user,
)

pytestmark = pytest.mark.django_db

MERGED_ON = datetime.date(2025, 7, 1)
CHANGELIST = "/admin/coordination/unit/"
UNIT_STAFF = "Cán bộ đơn vị"


def reload(record):
    return type(record).objects.get(pk=record.pk)


def coordinators(record, field="coordinating_units") -> set[int]:
    return set(getattr(reload(record), field).values_list("pk", flat=True))


@pytest.fixture
def district():
    """A district dissolved into three communes, with outstanding and closed work."""
    district = make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân", short_name="UBND huyện")
    communes = [
        make_unit(full_name=f"Ủy ban nhân dân xã {name}", short_name=f"UBND xã {name}")
        for name in ("Tân Minh", "Sơn Mỹ", "Tân Thắng")
    ]
    bystander = make_unit(full_name="Hội Nông dân tỉnh Lâm Đồng", short_name="HND tỉnh")
    agreement = make_agreement(parties=[district, bystander])
    task = lambda **fields: make_task(agreement=agreement, **fields)  # noqa: E731
    jointly = make_followup(responsible_unit=bystander)
    jointly.co_responsible_units.set([district])
    return SimpleNamespace(
        district=district,
        default=communes[0],
        second=communes[1],
        third=communes[2],
        bystander=bystander,
        led=[task(lead_unit=district, content=f"Nhiệm vụ chủ trì {n}") for n in range(3)],
        coordinated=task(lead_unit=bystander, coordinating_units=[district]),
        done=task(
            lead_unit=district, status=TaskStatus.DONE, completed_on=datetime.date(2024, 12, 1)
        ),
        other=task(lead_unit=bystander),
        items=[make_followup(responsible_unit=district) for _ in range(3)],
        jointly=jointly,
        resolved=make_followup(
            responsible_unit=district,
            status=FollowUpStatus.RESOLVED,
            resolved_on=datetime.date(2024, 10, 1),
        ),
    )


def split(scene, assignments, **overrides):
    arguments = {
        "units": Unit.objects.filter(pk=scene.district.pk),
        "successor": scene.default,
        "dissolved_on": MERGED_ON,
        "assignments": assignments,
    }
    arguments.update(overrides)
    return services.unit_merge(**arguments)


# ---------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------


class TestSplitMerger:
    def test_assigned_records_go_to_their_successor_and_the_rest_to_the_default(self, district):
        """Tasks and items named in the assignments move there; the others to the default."""
        split(
            district,
            {
                ("tasks", district.led[0].pk): district.second,
                ("tasks", district.led[1].pk): district.third,
                ("followups", district.items[0].pk): district.third,
                ("followups", district.items[1].pk): district.second.pk,
            },
        )
        assert reload(district.led[0]).lead_unit == district.second
        assert reload(district.led[1]).lead_unit == district.third
        assert reload(district.led[2]).lead_unit == district.default
        assert reload(district.items[0]).responsible_unit == district.third
        assert reload(district.items[1]).responsible_unit == district.second
        assert reload(district.items[2]).responsible_unit == district.default

    def test_the_dissolved_unit_names_the_default_successor(self, district):
        """The unit's own successor is the default one, however the work was split."""
        split(district, {("tasks", district.led[0].pk): district.second})
        unit = reload(district.district)
        assert (unit.is_active, unit.dissolved_on, unit.successor) == (
            False,
            MERGED_ON,
            district.default,
        )

    def test_a_coordinating_or_co_responsible_link_goes_to_the_assigned_successor(self, district):
        """The dissolved unit's link on another unit's record is replaced by the chosen one."""
        split(
            district,
            {
                ("tasks", district.coordinated.pk): district.third,
                ("followups", district.jointly.pk): district.second,
            },
        )
        assert coordinators(district.coordinated) == {district.third.pk}
        assert reload(district.coordinated).lead_unit == district.bystander
        assert coordinators(district.jointly, "co_responsible_units") == {district.second.pk}

    def test_closed_and_other_units_records_stay_as_they_were(self, district):
        """Done tasks, resolved items and bystanders' records are not touched."""
        before = {record: reload(record).updated_at for record in (district.done, district.other)}
        split(district, {("tasks", district.led[0].pk): district.second})
        assert reload(district.done).lead_unit == district.district
        assert reload(district.resolved).responsible_unit == district.district
        for record, stamp in before.items():
            assert reload(record).updated_at == stamp

    def test_the_result_counts_each_successors_share(self, district):
        """The shares list the default first, then the others, with what each took."""
        result = split(
            district,
            {
                ("tasks", district.led[0].pk): district.second,
                ("tasks", district.coordinated.pk): district.second,
                ("followups", district.items[0].pk): district.third,
            },
        )
        assert result == services.MergeResult(
            units=1,
            tasks_moved=3,
            coordinations_moved=1,
            followups_moved=3,
            co_responsibilities_moved=1,
        )
        shares = {share.successor: (share.tasks, share.followups) for share in result.shares}
        assert result.shares[0].successor == district.default
        assert shares == {
            district.default: (2, 3),
            district.second: (2, 0),
            district.third: (0, 1),
        }

    def test_history_names_the_merger_and_the_successor_each_record_went_to(self, district):
        """One entry per moved record, by the user, naming its own successor and the date."""
        user = make_superuser()
        split(
            district,
            {
                ("tasks", district.led[0].pk): district.second,
                ("followups", district.items[0].pk): district.third,
            },
            user=user,
        )
        expected = [
            (district.led[0], "UBND xã Sơn Mỹ"),
            (district.led[1], "UBND xã Tân Minh"),
            (district.items[0], "UBND xã Tân Thắng"),
            (district.items[1], "UBND xã Tân Minh"),
        ]
        for record, successor in expected:
            entries = list(record.history.order_by("history_id"))
            assert [entry.history_type for entry in entries] == ["+", "~"]
            assert entries[-1].history_user_id == user.pk
            assert successor in entries[-1].history_change_reason
            assert "01/07/2025" in entries[-1].history_change_reason
        assert district.led[0].history.latest("history_id").lead_unit_id == district.second.pk

    def test_an_assignment_to_the_default_successor_is_allowed(self, district):
        """Naming the default explicitly is the same as leaving the record alone."""
        split(district, {("tasks", district.led[0].pk): district.default})
        assert reload(district.led[0]).lead_unit == district.default


def _closed_task(scene):
    return {("tasks", scene.done.pk): scene.second}, "assignments", "Nhiệm vụ"


def _resolved_item(scene):
    return {("followups", scene.resolved.pk): scene.second}, "assignments", "Nội dung"


def _other_units_task(scene):
    return {("tasks", scene.other.pk): scene.second}, "assignments", scene.other.content


def _missing_record(scene):
    return {("followups", 987654): scene.second}, "assignments", "987654"


def _inactive_successor(scene):
    Unit.objects.filter(pk=scene.third.pk).update(is_active=False)
    return {("tasks", scene.led[0].pk): scene.third}, "successors", "Tân Thắng"


def _dissolved_successor(scene):
    Unit.objects.filter(pk=scene.third.pk).update(
        is_active=False, dissolved_on=datetime.date(2025, 1, 1), successor=scene.bystander
    )
    return {("tasks", scene.led[0].pk): scene.third}, "successors", "Tân Thắng"


def _successor_being_merged(scene):
    return {("tasks", scene.led[0].pk): scene.district}, "successors", "huyện Hàm Tân"


class TestSplitRefusals:
    @pytest.mark.parametrize(
        "setup",
        [
            _closed_task,
            _resolved_item,
            _other_units_task,
            _missing_record,
            _inactive_successor,
            _dissolved_successor,
            _successor_being_merged,
        ],
        ids=lambda setup: setup.__name__,
    )
    def test_a_wrong_assignment_is_refused_and_nothing_is_written(self, district, setup, vi):
        """A Vietnamese message names the record or the unit; not a row changes."""
        assignments, key, named = setup(district)
        before = db_state()
        with pytest.raises(ValidationError) as raised:
            split(district, {**assignments, ("tasks", district.led[1].pk): district.second})
        assert key in raised.value.message_dict
        message = " ".join(raised.value.message_dict[key])
        assert named in message
        assert "không" in message
        assert db_state() == before
        assert reload(district.district).is_active

    def test_a_record_of_another_unit_is_named_with_its_kind_and_number(self, district, vi):
        """The message says which record is wrong, so the user can find it."""
        with pytest.raises(ValidationError) as raised:
            split(district, {("followups", district.resolved.pk): district.second})
        [message] = raised.value.message_dict["assignments"]
        assert message.startswith("Nội dung")
        assert f"(số {district.resolved.pk})" in message
        assert "không phải việc chưa hoàn thành" in message


def _split_world(n: int):
    """A district with `n` led tasks, `n` coordinated tasks and `n` items, and 3 communes."""
    district, lead = make_unit(), make_unit()
    communes = [make_unit() for _ in range(3)]
    agreement = make_agreement()
    records = []
    for _ in range(n):
        records.append(("tasks", make_task(agreement=agreement, lead_unit=district).pk))
        records.append(
            (
                "tasks",
                make_task(agreement=agreement, lead_unit=lead, coordinating_units=[district]).pk,
            )
        )
        records.append(("followups", make_followup(responsible_unit=district).pk))
    # Every successor takes some of each kind; the default (communes[0]) takes the rest.
    assignments = {record: communes[1 + i % 2] for i, record in enumerate(records) if i % 3}
    return Unit.objects.filter(pk=district.pk), communes[0], assignments


def test_the_number_of_queries_does_not_grow_with_the_records():
    """5 and 50 records of each kind split among three successors take the same queries."""
    counts = []
    user = make_superuser()
    for n in (5, 50):
        units, default, assignments = _split_world(n)
        with CaptureQueriesContext(connection) as queries:
            result = services.unit_merge(
                units=units,
                successor=default,
                dissolved_on=MERGED_ON,
                user=user,
                assignments=assignments,
            )
        assert (result.tasks_moved, result.coordinations_moved, result.followups_moved) == (n,) * 3
        assert len(result.shares) == 3
        counts.append(len(queries))
    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------
# The admin: step 1, the preview, the confirmation
# ---------------------------------------------------------------------------


def step_one(client, scene, **data):
    """The merger page's form posted with the split button (or other successors chosen)."""
    return client.post(
        CHANGELIST,
        {
            "action": "merge_units",
            "_selected_action": [scene.district.pk],
            "post": "yes",
            "successor": scene.default.pk,
            "dissolved_on": "01/07/2025",
            **data,
        },
    )


def step_two(client, preview, choices: dict, **extra):
    """Post the preview's form back as the browser would: its hidden fields and selects, with
    `choices` (record → unit) changed."""
    html = preview.content.decode()
    form = html[html.index('id="merge-units-split-form"') :]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        data.setdefault(name, []).append(value)
    for row in preview.context["rows"]:
        data[row.field] = [str(row.target.pk)]
    for (kind, record), unit in choices.items():
        data[f"assign-{kind}-{record.pk}"] = [str(unit.pk)]
    data.update(extra)
    return client.post(CHANGELIST, data)


def messages_of(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in get_messages(response.wsgi_request)]


class TestSplitPages:
    def test_the_first_step_offers_the_split_and_the_other_successors(self, superuser_client):
        """The merger page has the split button and an autocomplete of other successors."""
        district = make_unit()
        response = superuser_client.post(
            CHANGELIST, {"action": "merge_units", "_selected_action": [district.pk]}
        )
        html = response.content.decode()
        assert 'name="split"' in html
        assert 'name="other_successors"' in html
        assert "admin-autocomplete" in html
        assert "Chia việc cho nhiều đơn vị kế thừa" in html

    def test_the_preview_lists_every_outstanding_record_and_writes_nothing(
        self, superuser_client, district
    ):
        """Tasks led and coordinated, items responsible and co-responsible, each with a select
        of the successors, the default preselected; the counts per successor; no write."""
        before = db_state()
        response = step_one(
            superuser_client,
            district,
            split="1",
            other_successors=[district.second.pk, district.third.pk],
        )
        assert response.status_code == 200
        assert response.templates[0].name == "admin/coordination/merge_units_split.html"
        rows = response.context["rows"]
        listed = {(row.kind, row.record.pk) for row in rows}
        assert listed == {
            *(("tasks", task.pk) for task in [*district.led, district.coordinated]),
            *(("followups", item.pk) for item in [*district.items, district.jointly]),
        }
        assert {row.target for row in rows} == {district.default}
        html = response.content.decode()
        assert "Nhiệm vụ chủ trì 0" in html
        assert html.count(f'<option value="{district.second.pk}"') == len(rows)
        assert html.count(f'<option value="{district.default.pk}" selected') == len(rows)
        assert "Số việc mỗi đơn vị kế thừa nhận" in html
        shares = {
            share["successor"]: (share["tasks"], share["followups"])
            for share in response.context["shares"]
        }
        assert shares == {district.default: (4, 4), district.second: (0, 0), district.third: (0, 0)}
        assert db_state() == before

    def test_choosing_other_successors_leads_to_the_preview_too(self, superuser_client, district):
        """The plain merge button with other successors chosen cannot skip the choice."""
        before = db_state()
        response = step_one(superuser_client, district, other_successors=[district.second.pk])
        assert response.templates[0].name == "admin/coordination/merge_units_split.html"
        assert db_state() == before

    def test_counting_again_shows_the_chosen_shares_and_writes_nothing(
        self, superuser_client, district
    ):
        """The counts follow the selects; the page keeps the choices."""
        preview = step_one(
            superuser_client, district, split="1", other_successors=[district.second.pk]
        )
        before = db_state()
        response = step_two(
            superuser_client,
            preview,
            {
                ("tasks", district.led[0]): district.second,
                ("followups", district.jointly): district.second,
            },
            recount="1",
        )
        assert response.status_code == 200
        shares = {
            share["successor"]: (share["tasks"], share["followups"])
            for share in response.context["shares"]
        }
        assert shares == {district.default: (3, 3), district.second: (1, 1)}
        html = response.content.decode()
        assert f'<option value="{district.second.pk}" selected' in html
        assert db_state() == before

    def test_confirming_moves_each_record_to_its_successor(
        self, superuser_client, superuser, district
    ):
        """The merger is done as chosen, reported per successor, with history by the user."""
        preview = step_one(
            superuser_client,
            district,
            split="1",
            other_successors=[district.second.pk, district.third.pk],
        )
        response = step_two(
            superuser_client,
            preview,
            {
                ("tasks", district.led[0]): district.second,
                ("tasks", district.coordinated): district.third,
                ("followups", district.items[2]): district.third,
            },
            confirm="1",
        )
        assert response.status_code == 302
        assert reload(district.led[0]).lead_unit == district.second
        assert reload(district.led[1]).lead_unit == district.default
        assert coordinators(district.coordinated) == {district.third.pk}
        assert reload(district.items[2]).responsible_unit == district.third
        assert reload(district.items[0]).responsible_unit == district.default
        unit = reload(district.district)
        assert (unit.is_active, unit.successor) == (False, district.default)
        entry = district.items[2].history.latest("history_id")
        assert entry.history_user_id == superuser.pk
        assert "UBND xã Tân Thắng" in entry.history_change_reason
        [(level, text)] = messages_of(response)
        assert level == messages.SUCCESS
        assert "Ủy ban nhân dân xã Sơn Mỹ nhận 1 nhiệm vụ và 0 nội dung theo dõi" in text

    def test_a_list_changed_since_the_preview_is_shown_again_and_nothing_is_written(
        self, superuser_client, district
    ):
        """A record added (or edited) after the preview: its fingerprint differs, the preview
        comes back with the new list and a message, and nothing is merged."""
        preview = step_one(
            superuser_client, district, split="1", other_successors=[district.second.pk]
        )
        added = make_followup(responsible_unit=district.district, content="Kiến nghị mới thêm")
        before = db_state()
        response = step_two(
            superuser_client, preview, {("tasks", district.led[0]): district.second}, confirm="1"
        )
        assert response.status_code == 200
        assert response.templates[0].name == "admin/coordination/merge_units_split.html"
        html = response.content.decode()
        assert "đã thay đổi sau khi hiển thị" in html
        assert "Kiến nghị mới thêm" in html
        assert ("followups", added.pk) in {
            (row.kind, row.record.pk) for row in response.context["rows"]
        }
        assert db_state() == before
        # Confirmed again over the list as now shown, the merger is done.
        again = step_two(superuser_client, response, {}, confirm="1")
        assert again.status_code == 302
        assert reload(district.led[0]).lead_unit == district.second
        assert reload(added).responsible_unit == district.default

    def test_an_edited_record_changes_the_fingerprint(self, superuser_client, district):
        """A record saved in between (a new version) is caught as well."""
        preview = step_one(
            superuser_client, district, split="1", other_successors=[district.second.pk]
        )
        task = reload(district.led[2])
        task.progress = 40
        task.save()
        before = db_state()
        response = step_two(superuser_client, preview, {}, confirm="1")
        assert response.status_code == 200
        assert "đã thay đổi sau khi hiển thị" in response.content.decode()
        assert db_state() == before

    def test_a_forged_successor_in_a_select_is_refused(self, superuser_client, district):
        """A unit not among the listed successors is an error naming the record; no write."""
        preview = step_one(
            superuser_client, district, split="1", other_successors=[district.second.pk]
        )
        before = db_state()
        response = step_two(
            superuser_client, preview, {("tasks", district.led[0]): district.bystander}, confirm="1"
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "Hãy chọn một trong các đơn vị kế thừa" in html
        assert "Nhiệm vụ chủ trì 0" in html
        assert db_state() == before

    def test_a_user_who_may_not_merge_gets_403_and_nothing_is_written(self, client, district):
        """Unit staff posting the split step, or its confirmation, are refused."""
        user = make_user()
        user.groups.add(Group.objects.get(name=UNIT_STAFF))
        make_member(user, district.district)
        make_member(user, district.default)
        client.force_login(user)
        before = db_state()
        response = step_one(client, district, split="1", other_successors=[district.second.pk])
        assert response.status_code == 403
        response = client.post(
            CHANGELIST,
            {
                "action": "merge_units",
                "_selected_action": [district.district.pk],
                "post": "yes",
                "step": "split",
                "confirm": "1",
                "successor": district.default.pk,
                "dissolved_on": "01/07/2025",
            },
        )
        assert response.status_code == 403
        assert db_state() == before


def test_merger_records_lists_distinct_records_once(district):
    """A record two merged units share is listed once."""
    from coordination.mergers import merger_records

    other = make_unit()
    Task.coordinating_units.through.objects.create(task=district.led[0], unit=other)
    FollowUp.co_responsible_units.through.objects.create(followup=district.items[0], unit=other)
    records = merger_records(Unit.objects.filter(pk__in=[district.district.pk, other.pk]))
    assert sorted(t.pk for t in records["tasks"]) == sorted(
        t.pk for t in [*district.led, district.coordinated]
    )
    assert len(records["followups"]) == 4


def test_the_preview_takes_the_same_queries_for_5_and_50_records(superuser_client):
    """The list is read kind by kind with its units joined, never record by record."""
    counts = []
    for n in (5, 50):
        units, default, assignments = _split_world(n)
        others = sorted({unit.pk for unit in assignments.values()})
        with CaptureQueriesContext(connection) as queries:
            response = superuser_client.post(
                CHANGELIST,
                {
                    "action": "merge_units",
                    "_selected_action": [unit.pk for unit in units],
                    "post": "yes",
                    "split": "1",
                    "successor": default.pk,
                    "other_successors": others,
                    "dissolved_on": "01/07/2025",
                },
            )
        assert len(response.context["rows"]) == 3 * n
        counts.append(len(queries))
    assert counts[0] == counts[1]
