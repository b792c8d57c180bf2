"""Records that link: detail pages link every related record the user may read, an
agreement's page lists what belongs to it, the unit's role is a visible filter, and a
read-only change form says why."""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordination.choices import PartyRole
from coordination.models import FollowUp, Task
from coordination.selectors import RELATED_ROWS
from tests.factories import (
    make_followup,
    make_indicator,
    make_meeting,
    make_member,
    make_signatory,
    make_task,
    make_unit,
    make_user,
)

pytestmark = pytest.mark.django_db

STAFF_GROUP = "Cán bộ đơn vị"
AUDITOR_GROUP = "Kiểm tra – giám sát"


def staff_of(unit):
    user = make_user()
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    make_member(user, unit)
    return user


def auditor():
    user = make_user()
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    return user


def links_in(response) -> set[str]:
    return set(re.findall(r'href="(/records/[a-z]+/\d+/)"', response.content.decode()))


def field_row(response, label: str) -> str:
    """The HTML of the detail page's row for the field `label`."""
    match = re.search(
        rf"<th scope=\"row\">{label}</th><td>(.*?)</td></tr>", response.content.decode()
    )
    assert match, label
    return match.group(1)


def section(response, label: str):
    """The related table headed `label` (its Vietnamese title, capitalised)."""
    for found in response.context["related"]:
        if found.label[:1].upper() + found.label[1:] == label:
            return found
    raise AssertionError(f"no section {label}: {[s.label for s in response.context['related']]}")


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


# ---------------------------------------------------------------------------
# Detail pages: related records as links
# ---------------------------------------------------------------------------


class TestDetailLinks:
    def test_task_page_links_agreement_units_meeting_and_carried_over_from(
        self, superuser_client, world
    ):
        earlier = make_task(agreement=world.agreement, year=2023, lead_unit=world.committee)
        world.task.carried_over_from = earlier
        world.task.save()
        response = superuser_client.get(f"/records/tasks/{world.task.pk}/")
        assert f'href="/records/agreements/{world.agreement.pk}/"' in field_row(
            response, "Văn bản phối hợp"
        )
        assert f'href="/records/units/{world.committee.pk}/"' in field_row(
            response, "Đơn vị chủ trì"
        )
        assert f'href="/records/units/{world.front.pk}/"' in field_row(response, "Đơn vị phối hợp")
        assert f'href="/records/meetings/{world.meeting.pk}/"' in field_row(response, "Từ hội nghị")
        assert f'href="/records/people/{world.chair.pk}/"' in field_row(
            response, "Cán bộ thực hiện"
        )
        assert f'href="/records/tasks/{earlier.pk}/"' in field_row(response, "Chuyển tiếp từ")

    def test_follow_up_page_links_its_task(self, superuser_client, world):
        world.followup.task = world.task
        world.followup.save()
        response = superuser_client.get(f"/records/followups/{world.followup.pk}/")
        row = field_row(response, "Nhiệm vụ thực hiện")
        assert f'href="/records/tasks/{world.task.pk}/"' in row
        assert str(world.task) in row

    def test_every_link_opens_its_page(self, superuser_client, world):
        response = superuser_client.get(f"/records/agreements/{world.agreement.pk}/")
        found = links_in(response)
        assert f"/records/tasks/{world.task.pk}/" in found
        for url in found:
            assert superuser_client.get(url).status_code == 200, url

    def test_records_the_user_may_not_read_are_text(self, client, world):
        """Unit staff of the committee: its own unit linked, the Front's name as plain text,
        another unit's earlier task named without a link."""
        other = make_unit(full_name="Hội Nông dân huyện Hàm Tân")
        earlier = make_task(agreement=world.agreement, year=2023, lead_unit=other)
        world.task.carried_over_from = earlier
        world.task.save()
        client.force_login(staff_of(world.committee))
        response = client.get(f"/records/tasks/{world.task.pk}/")
        assert response.status_code == 200
        assert f'href="/records/units/{world.committee.pk}/"' in field_row(
            response, "Đơn vị chủ trì"
        )
        coordinating = field_row(response, "Đơn vị phối hợp")
        assert world.front.full_name in coordinating and "href" not in coordinating
        carried = field_row(response, "Chuyển tiếp từ")
        assert str(earlier) in carried and "href" not in carried
        # And the page it would have linked is indeed closed to them.
        assert client.get(f"/records/tasks/{earlier.pk}/").status_code == 404

    def test_no_link_to_a_kind_the_user_may_not_view(self, client, world):
        user = make_user(permissions=["coordination.view_task", "coordination.view_all_units"])
        client.force_login(user)
        response = client.get(f"/records/tasks/{world.task.pk}/")
        assert response.status_code == 200
        assert links_in(response) == set()
        assert world.agreement.number in field_row(response, "Văn bản phối hợp")


# ---------------------------------------------------------------------------
# Related tables
# ---------------------------------------------------------------------------


class TestAgreementPage:
    def test_lists_parties_signatories_tasks_meetings_followups_indicators(
        self, superuser_client, world
    ):
        make_task(agreement=world.agreement, year=2025, lead_unit=world.front)
        response = superuser_client.get(f"/records/agreements/{world.agreement.pk}/")
        counts = {s.label: s.count for s in response.context["related"]}
        assert counts == {
            "các bên tham gia": 2,
            "người ký": 1,
            "nhiệm vụ": 2,
            "hội nghị": 1,
            "nội dung theo dõi": 1,
            "chỉ tiêu": 1,
        }
        body = response.content.decode()
        for heading in (
            "Các bên tham gia (2)",
            "Người ký (1)",
            "Nhiệm vụ (2)",
            "Hội nghị (1)",
            "Nội dung theo dõi (1)",
            "Chỉ tiêu (1)",
        ):
            assert f"<h2>{heading}</h2>" in body
        for url in (
            f"/records/signatories/{world.signatory.pk}/",
            f"/records/tasks/{world.task.pk}/",
            f"/records/meetings/{world.meeting.pk}/",
            f"/records/followups/{world.followup.pk}/",
            f"/records/indicators/{world.indicator.pk}/",
            f"/records/units/{world.front.pk}/",
        ):
            assert f'href="{url}"' in body, url
        tasks = section(response, "Nhiệm vụ")
        assert tasks.list_url == f"/records/tasks/?agreement={world.agreement.pk}"
        assert section(response, "Các bên tham gia").list_url is None

    def test_list_link_gives_the_same_records(self, superuser_client, world):
        response = superuser_client.get(f"/records/agreements/{world.agreement.pk}/")
        for label, kind in (("Nhiệm vụ", "tasks"), ("Nội dung theo dõi", "followups")):
            shown = section(response, label)
            listed = superuser_client.get(shown.list_url)
            assert listed.context["count"] == shown.count, kind

    def test_a_long_table_shows_the_latest_and_links_to_all(self, superuser_client, world):
        for _index in range(RELATED_ROWS + 5):
            make_task(agreement=world.agreement, year=2025, lead_unit=world.committee)
        newest = Task.objects.order_by("-pk").first()
        response = superuser_client.get(f"/records/agreements/{world.agreement.pk}/")
        tasks = section(response, "Nhiệm vụ")
        assert tasks.count == RELATED_ROWS + 6
        assert len(tasks.rows) == RELATED_ROWS
        assert tasks.rows[0][0].url == f"/records/tasks/{newest.pk}/"
        body = response.content.decode()
        assert f"Hiển thị {RELATED_ROWS} bản ghi mới nhất." in body
        assert f'href="/records/tasks/?agreement={world.agreement.pk}"' in body

    def test_unit_staff_see_only_their_units_records_in_the_tables(self, client, world):
        other = make_unit(full_name="Hội Nông dân huyện Hàm Tân")
        make_task(agreement=world.agreement, year=2025, lead_unit=other)
        make_followup(agreement=world.agreement, year=2025, responsible_unit=other)
        client.force_login(staff_of(world.committee))
        response = client.get(f"/records/agreements/{world.agreement.pk}/")
        assert section(response, "Nhiệm vụ").count == 1
        # The Front's item does not involve the committee.
        assert section(response, "Nội dung theo dõi").count == 0
        parties = section(response, "Các bên tham gia")
        assert [cell.url for cell, _role in parties.rows] == [
            f"/records/units/{world.committee.pk}/",
            None,
        ]

    def test_queries_do_not_grow_with_related_records(self, client, world):
        for user in (auditor(), staff_of(world.committee)):
            client.force_login(user)
            url = f"/records/agreements/{world.agreement.pk}/"
            few = count_queries(client, url)
            for _index in range(8):
                unit = make_unit()
                world.agreement.party_links.create(unit=unit, role=PartyRole.PARTY)
                make_signatory(agreement=world.agreement, unit=unit)
                task = make_task(agreement=world.agreement, year=2025, lead_unit=world.committee)
                task.coordinating_units.add(unit)
                make_followup(agreement=world.agreement, year=2025, responsible_unit=unit)
                make_indicator(agreement=world.agreement, year=2025, unit=world.committee)
                make_meeting().agreements.add(world.agreement)
            many = count_queries(client, url)
            assert many == few


class TestTaskAndMeetingPages:
    def test_task_page_lists_its_follow_up_items_and_what_it_was_carried_to(
        self, superuser_client, world
    ):
        world.followup.task = world.task
        world.followup.save()
        later = make_task(
            agreement=world.agreement,
            year=2025,
            lead_unit=world.committee,
            carried_over_from=world.task,
        )
        response = superuser_client.get(f"/records/tasks/{world.task.pk}/")
        carried_out = section(response, "Nội dung theo dõi do nhiệm vụ này thực hiện")
        assert carried_out.count == 1
        assert carried_out.rows[0][0].url == f"/records/followups/{world.followup.pk}/"
        assert section(response, "Chuyển tiếp sang").rows[0][0].url == (
            f"/records/tasks/{later.pk}/"
        )

    def test_meeting_page_lists_its_follow_up_items_and_tasks(self, superuser_client, world):
        response = superuser_client.get(f"/records/meetings/{world.meeting.pk}/")
        followups = section(response, "Nội dung theo dõi")
        assert followups.count == 1
        assert followups.rows[0][0].url == f"/records/followups/{world.followup.pk}/"
        assert section(response, "Nhiệm vụ").count == 1

    def test_task_page_queries_do_not_grow_with_units_and_items(self, client, world):
        client.force_login(staff_of(world.committee))
        url = f"/records/tasks/{world.task.pk}/"
        make_followup(year=2024, responsible_unit=world.committee, task=world.task)
        few = count_queries(client, url)
        for _index in range(8):
            world.task.coordinating_units.add(make_unit())
            make_followup(year=2024, responsible_unit=world.committee, task=world.task)
        assert count_queries(client, url) == few


# ---------------------------------------------------------------------------
# The unit's role: lead, coordinating, either
# ---------------------------------------------------------------------------


@pytest.fixture
def roles(world):
    """The committee leads two tasks and coordinates three; the Front the reverse."""
    led = [
        make_task(agreement=world.agreement, year=2025, lead_unit=world.committee)
        for index in range(2)
    ]
    coordinated = [
        make_task(
            agreement=world.agreement,
            year=2025,
            lead_unit=world.front,
            coordinating_units=[world.committee],
        )
        for index in range(3)
    ]
    responsible = make_followup(year=2025, responsible_unit=world.committee)
    shared = make_followup(year=2025, responsible_unit=world.front)
    shared.co_responsible_units.add(world.committee)
    return {
        "unit": world.committee.pk,
        "lead": {task.pk for task in led},
        "coordinating": {task.pk for task in coordinated},
        "responsible": {responsible.pk},
        "co_responsible": {shared.pk},
    }


def admin_rows(client, model, params) -> set[int]:
    response = client.get(f"/admin/coordination/{model}/", {"year": 2025, **params})
    assert response.status_code == 200
    return {record.pk for record in response.context["cl"].result_list}


class TestUnitRoleFilter:
    def test_admin_task_list_by_role(self, superuser_client, roles):
        unit = roles["unit"]
        lead, coordinating = roles["lead"], roles["coordinating"]
        assert admin_rows(superuser_client, "task", {"unit": unit}) == lead | coordinating
        assert admin_rows(superuser_client, "task", {"unit": unit, "unit_role": "lead"}) == lead
        assert (
            admin_rows(superuser_client, "task", {"unit": unit, "unit_role": "coordinating"})
            == coordinating
        )

    def test_admin_follow_up_list_by_role(self, superuser_client, roles):
        unit = roles["unit"]
        assert (
            admin_rows(superuser_client, "followup", {"unit": unit, "unit_role": "lead"})
            == roles["responsible"]
        )
        assert (
            admin_rows(superuser_client, "followup", {"unit": unit, "unit_role": "co_responsible"})
            == roles["co_responsible"]
        )

    def test_admin_sidebar_shows_the_role_once_a_unit_is_chosen(self, superuser_client, roles):
        body = superuser_client.get("/admin/coordination/task/").content.decode()
        assert "Theo vai trò của đơn vị" not in body
        response = superuser_client.get("/admin/coordination/task/", {"unit": roles["unit"]})
        body = response.content.decode()
        assert "Theo vai trò của đơn vị" in body
        for label in ("Chủ trì hoặc phối hợp", "Chủ trì", "Phối hợp"):
            assert f">{label}</a>" in body
        assert f'href="?unit={roles["unit"]}&amp;unit_role=lead"' in body
        assert f'href="?unit={roles["unit"]}&amp;unit_role=coordinating"' in body
        # "Either" is the default: selected, and its link drops the parameter.
        chosen = re.search(
            r'<li class="selected">\s*<a href="([^"]*)"[^>]*>([^<]*)</a>',
            body[body.index("Theo vai trò của đơn vị") :],
        )
        assert chosen.groups() == (f"?unit={roles['unit']}", "Chủ trì hoặc phối hợp")

    def test_admin_follow_up_sidebar_names_the_responsible_roles(self, superuser_client, roles):
        response = superuser_client.get("/admin/coordination/followup/", {"unit": roles["unit"]})
        body = response.content.decode()
        for label in ("Chịu trách nhiệm (chủ trì)", "Phối hợp giải quyết"):
            assert f">{label}</a>" in body

    def test_records_form_shows_the_role(self, superuser_client, roles):
        response = superuser_client.get("/records/tasks/")
        body = response.content.decode()
        assert "<span>Vai trò của đơn vị</span>" in body
        assert '<option value="coordinating">Phối hợp</option>' in body
        response = superuser_client.get("/records/followups/")
        assert '<option value="co_responsible">Phối hợp giải quyết</option>' in (
            response.content.decode()
        )

    @pytest.mark.parametrize(
        ("kind", "role", "expected"),
        [
            ("tasks", "lead", "lead"),
            ("tasks", "coordinating", "coordinating"),
            ("tasks", "any", "lead coordinating"),
            ("followups", "lead", "responsible"),
            ("followups", "co_responsible", "co_responsible"),
            ("followups", "any", "responsible co_responsible"),
        ],
    )
    def test_records_list_by_role(self, superuser_client, roles, kind, role, expected):
        response = superuser_client.get(
            f"/records/{kind}/", {"year": 2025, "unit": roles["unit"], "unit_role": role}
        )
        listed = {
            int(pk)
            for pk in re.findall(rf'href="/records/{kind}/(\d+)/"', response.content.decode())
        }
        assert listed == set().union(*(roles[name] for name in expected.split()))


# ---------------------------------------------------------------------------
# A read-only change form says why
# ---------------------------------------------------------------------------


def reason(response) -> str | None:
    match = re.search(r'<p class="read-only-reason"[^>]*>(.*?)</p>', response.content.decode())
    return match.group(1) if match else None


class TestReadOnlyReason:
    def test_coordinating_unit_is_told_the_lead_unit_updates_the_task(self, client, world):
        client.force_login(staff_of(world.front))
        response = client.get(f"/admin/coordination/task/{world.task.pk}/change/")
        assert response.status_code == 200
        assert reason(response) == (
            "Chỉ xem: đơn vị của bạn chỉ phối hợp thực hiện nhiệm vụ này; đơn vị chủ trì "
            f"({world.committee.full_name}) cập nhật nhiệm vụ."
        )

    def test_co_responsible_unit_is_told_who_updates_the_item(self, client, world):
        item = make_followup(year=2024, responsible_unit=world.committee)
        item.co_responsible_units.add(world.front)
        client.force_login(staff_of(world.front))
        response = client.get(f"/admin/coordination/followup/{item.pk}/change/")
        assert reason(response) == (
            "Chỉ xem: đơn vị của bạn chỉ phối hợp giải quyết nội dung này; đơn vị chịu "
            f"trách nhiệm ({world.committee.full_name}) cập nhật nội dung."
        )

    def test_auditor_is_told_their_account_only_reads(self, client, world):
        client.force_login(auditor())
        response = client.get(f"/admin/coordination/task/{world.task.pk}/change/")
        assert reason(response) == (
            "Chỉ xem: tài khoản của bạn được xem nhưng không được sửa nhiệm vụ."
        )

    def test_staff_reading_an_agreement_of_their_unit(self, client, world):
        client.force_login(staff_of(world.front))
        response = client.get(f"/admin/coordination/agreement/{world.agreement.pk}/change/")
        assert response.status_code == 200
        assert reason(response) == (
            "Chỉ xem: tài khoản của bạn được xem nhưng không được sửa văn bản phối hợp."
        )

    def test_a_record_the_user_may_change_has_no_reason(self, client, world):
        client.force_login(staff_of(world.committee))
        response = client.get(f"/admin/coordination/task/{world.task.pk}/change/")
        assert response.status_code == 200
        assert reason(response) is None
        assert FollowUp.objects.count() == 1


def test_readme_how_to_names_what_the_admin_shows(superuser_client, roles, settings):
    """Every filter and choice the README's how-to names in bold is on the admin screens."""
    readme = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Finding a unit's tasks and open follow-ups for a year")
    how_to = readme[start : readme.index("The search box ignores case", start)]
    named = set(re.findall(r"\*\*([^*]+)\*\*", how_to))
    screens = [
        superuser_client.get(f"/admin/coordination/{model}/", {"unit": roles["unit"]})
        for model in ("task", "followup")
    ]
    shown = " ".join(re.sub(r"\s+", " ", response.content.decode()) for response in screens)
    records = superuser_client.get("/records/tasks/").content.decode()
    assert "Theo vai trò của đơn vị" in named
    for name in named - {"Xem trang web", "Nhiệm vụ", "Nội dung theo dõi"}:
        if " → " in name:
            title, choice = name.split(" → ")
            assert f"{title} " in shown and f">{choice}</a>" in shown, name
        elif name.startswith("Theo "):
            assert f"{name} " in shown, name
        elif name in ("Đơn vị", "Vai trò của đơn vị"):
            assert f"<span>{name}</span>" in records, name
        else:
            assert f">{name}</a>" in shown, name
