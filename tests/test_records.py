"""The /records/ pages: lists, exports, detail with history, outstanding table, yearly report."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coordination import kinds, services
from coordination.choices import FollowUpKind, FollowUpStatus, PartyRole, TaskStatus
from coordination.models import FollowUp, Task
from tests.factories import (
    BUILDERS,
    days,
    make_agreement,
    make_followup,
    make_indicator,
    make_member,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    shared_ids_reads,
    today,
    xlsx_values,
)

pytestmark = pytest.mark.django_db

AUDITOR_GROUP = "Kiểm tra – giám sát"
STAFF_GROUP = "Cán bộ đơn vị"


def auditor():
    user = make_user(username="kiemtra", first_name="An", last_name="Nguyễn Văn")
    user.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    return user


@pytest.fixture
def auditor_client(client):
    client.force_login(auditor())
    return client


@pytest.fixture
def world():
    a = make_unit(full_name="Ủy ban nhân dân xã Tân Phúc", short_name="UBND xã Tân Phúc")
    b = make_unit(full_name="Hội Nông dân huyện Hàm Tân", short_name="HND huyện")
    agreement = make_agreement(parties=[a, b], start_year=2024, end_year=2026)
    return {
        "a": a,
        "b": b,
        "agreement": agreement,
        "overdue_a": make_followup(
            responsible_unit=a, year=2025, due_date=days(-45), content="Sửa đường liên xã"
        ),
        "open_a": make_followup(responsible_unit=a, year=2025, due_date=days(5)),
        "overdue_b": make_followup(responsible_unit=b, year=2025, due_date=days(-2)),
        "resolved_a": make_followup(
            responsible_unit=a,
            year=2025,
            due_date=days(-20),
            status=FollowUpStatus.RESOLVED,
            resolved_on=days(-25),
        ),
    }


def listed_links(response, kind) -> set[int]:
    return {
        int(pk) for pk in re.findall(rf'href="/records/{kind}/(\d+)/"', response.content.decode())
    }


class TestListPage:
    def test_anonymous_is_sent_to_log_in(self, client, world):
        response = client.get("/records/followups/")
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")

    def test_the_auditors_question(self, auditor_client, world):
        """One unit's overdue items of one year, with their age and count."""
        response = auditor_client.get(
            "/records/followups/", {"year": 2025, "unit": world["a"].pk, "overdue": "yes"}
        )
        assert response.status_code == 200
        assert listed_links(response, "followups") == {world["overdue_a"].pk}
        page = response.content.decode()
        assert "1 dòng khớp điều kiện lọc" in page
        assert '<td class="number overdue age-30">45</td>' in page

    def test_sort_and_pagination_keep_the_filters(self, auditor_client, world, settings):
        for n in range(55):
            make_followup(responsible_unit=world["b"], year=2024, content=f"Mục {n:02d}")
        response = auditor_client.get("/records/followups/", {"year": 2024, "sort": "-due_date"})
        page = response.content.decode()
        assert len(listed_links(response, "followups")) == 50
        assert "page=2" in page and "year=2024&amp;sort=-due_date&amp;page=2" in page
        response = auditor_client.get(
            "/records/followups/", {"year": 2024, "sort": "-due_date", "page": 2}
        )
        assert len(listed_links(response, "followups")) == 5

    def test_bad_filters_show_errors_and_no_rows(self, auditor_client, world):
        response = auditor_client.get("/records/followups/", {"year": "hai nghìn", "unit": "x"})
        assert response.status_code == 400
        assert listed_links(response, "followups") == set()
        assert "Một số điều kiện lọc không hợp lệ" in response.content.decode()

    def test_unknown_kind_is_not_found(self, auditor_client):
        assert auditor_client.get("/records/passwords/").status_code == 404

    def test_list_shows_who_changed_a_record_last(self, client, world):
        user = auditor()
        admin = make_superuser(first_name="Bình", last_name="Trần Thị")
        services.followup_resolve(
            followups=FollowUp.objects.filter(pk=world["open_a"].pk), user=admin
        )
        client.force_login(user)
        response = client.get("/records/followups/", {"status": "resolved", "unit": world["a"].pk})
        assert "Trần Thị Bình" in response.content.decode()

    @pytest.mark.parametrize("kind", kinds.names())
    def test_every_list_opens(self, auditor_client, world, kind):
        make_task(agreement=world["agreement"], lead_unit=world["a"], year=2025)
        assert auditor_client.get(f"/records/{kind}/").status_code == 200


class TestExport:
    def test_export_holds_exactly_the_filtered_rows(self, auditor_client, world):
        params = {"year": 2025, "unit": world["a"].pk, "overdue": "yes", "format": "xlsx"}
        response = auditor_client.get("/records/followups/export/", params)
        assert response.status_code == 200
        rows = xlsx_values(b"".join(response.streaming_content))
        assert len(rows) == 2
        assert "Sửa đường liên xã" in rows[1]

    def test_csv_export(self, auditor_client, world):
        response = auditor_client.get(
            "/records/followups/export/", {"unit": world["b"].pk, "format": "csv"}
        )
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        assert len(text.strip().splitlines()) == 2

    def test_export_needs_the_export_permission(self, client, world):
        viewer = make_user(permissions=["coordination.view_followup"])
        client.force_login(viewer)
        assert client.get("/records/followups/").status_code == 200
        assert client.get("/records/followups/export/?format=xlsx").status_code == 403

    def test_export_with_bad_filters_is_refused_not_widened(self, auditor_client, world):
        response = auditor_client.get("/records/followups/export/", {"year": "x", "format": "xlsx"})
        assert response.status_code == 400
        assert not response.get("Content-Disposition")
        # The page shows the form's error; filtering again goes back to the list, not a file.
        assert 'action="/records/followups/"' in response.content.decode()

    def test_unit_staff_export_only_their_units(self, client, world):
        staff = make_user()
        staff.groups.add(Group.objects.get(name=STAFF_GROUP))
        make_member(staff, world["b"])
        client.force_login(staff)
        response = client.get("/records/followups/export/", {"format": "xlsx"})
        rows = xlsx_values(b"".join(response.streaming_content))
        assert len(rows) == 2  # the header and B's one item


class TestDetailPage:
    def test_detail_shows_fields_and_history_with_who_and_what(self, client, world):
        admin = make_superuser(first_name="Bình", last_name="Trần Thị")
        services.followup_resolve(
            followups=FollowUp.objects.filter(pk=world["open_a"].pk), user=admin
        )
        client.force_login(auditor())
        response = client.get(f"/records/followups/{world['open_a'].pk}/")
        page = response.content.decode()
        assert response.status_code == 200
        assert "Trần Thị Bình" in page
        assert "Đánh dấu đã giải quyết" in page
        assert "Chưa giải quyết → Đã giải quyết" in page

    def test_times_are_shown_in_local_time(self, client, world):
        """A change stored at 01:30 UTC happened at 08:30 in Hà Nội: the list's "last
        changed", the detail's fields and its history all say 08:30."""
        item = world["open_a"]
        moment = datetime.datetime(2026, 11, 20, 1, 30, tzinfo=datetime.UTC)
        FollowUp.objects.filter(pk=item.pk).update(updated_at=moment)
        item.history.update(history_date=moment)
        client.force_login(auditor())
        listing = client.get("/records/followups/", {"unit": world["a"].pk}).content.decode()
        detail = client.get(f"/records/followups/{item.pk}/").content.decode()
        assert "08:30 20/11/2026" in listing
        assert "08:30 20/11/2026" in detail
        assert "01:30 20/11/2026" not in listing + detail

    def test_another_units_record_is_not_found(self, client, world):
        staff = make_user()
        staff.groups.add(Group.objects.get(name=STAFF_GROUP))
        make_member(staff, world["a"])
        client.force_login(staff)
        assert client.get(f"/records/followups/{world['overdue_a'].pk}/").status_code == 200
        assert client.get(f"/records/followups/{world['overdue_b'].pk}/").status_code == 404

    def test_agreement_detail_lists_parties(self, auditor_client, world):
        response = auditor_client.get(f"/records/agreements/{world['agreement'].pk}/")
        assert "Hội Nông dân huyện Hàm Tân" in response.content.decode()


class TestOutstanding:
    def test_counts_ageing_and_rate_per_unit_and_year(self, auditor_client, world):
        """A, 2025: 3 items; 2 open (outstanding); 1 overdue by 45 days; 1 resolved on time.

        Due in the period: the overdue item and the resolved one; on time 1 of 2 = 50%.
        The columns: total; open, in progress, resolved, carried over, closed (adding up to
        the total); outstanding, overdue, its ageing, the on-time rate and the outstanding
        items raised more than once.
        """
        response = auditor_client.get("/records/outstanding/", {"year": 2025})
        assert response.status_code == 200
        rows = {row.unit.pk: row for row in response.context["table"].rows}
        cells = [cell.text for cell in rows[world["a"].pk].cells]
        assert cells == ["3", "2", "0", "1", "0", "0", "2", "1", "0", "1", "0", "50,0%", "0"]
        cells_b = [cell.text for cell in rows[world["b"].pk].cells]
        assert cells_b == ["1", "1", "0", "0", "0", "0", "1", "1", "1", "0", "0", "0,0%", "0"]
        total = [cell.text for cell in response.context["table"].total.cells]
        assert total == ["4", "3", "0", "1", "0", "0", "3", "2", "1", "1", "0", "33,3%", "0"]

    def test_every_number_links_to_its_list(self, auditor_client, world):
        response = auditor_client.get("/records/outstanding/", {"year": 2025})
        row = next(r for r in response.context["table"].rows if r.unit == world["a"])
        bucket = row.cells[9]  # overdue 31–90 days
        listed = auditor_client.get(bucket.url)
        assert listed_links(listed, "followups") == {world["overdue_a"].pk}
        late = auditor_client.get(row.cells[11].url)
        assert listed_links(late, "followups") == {world["overdue_a"].pk}
        resolved = auditor_client.get(row.cells[3].url)
        assert listed_links(resolved, "followups") == {world["resolved_a"].pk}

    def test_chart_is_drawn_on_the_server(self, auditor_client, world):
        page = auditor_client.get("/records/outstanding/", {"year": 2025}).content.decode()
        assert "<svg" in page and "<script" not in page

    def test_tasks_are_counted_by_lead_unit(self, auditor_client, world):
        make_task(lead_unit=world["a"], year=2025, due_date=days(-100))
        make_task(lead_unit=world["b"], coordinating_units=[world["a"]], year=2025)
        response = auditor_client.get("/records/outstanding/", {"records": "tasks", "year": ""})
        rows = {
            row.unit.pk: [cell.text for cell in row.cells] for row in response.context["table"].rows
        }
        # Total; not started, in progress, done, carried over, cancelled; outstanding,
        # overdue, ageing.
        assert rows[world["a"].pk][:11] == ["1", "1", "0", "0", "0", "0", "1", "1", "0", "0", "1"]
        assert rows[world["b"].pk][:8] == ["1", "1", "0", "0", "0", "0", "1", "0"]


class TestReport:
    def test_unit_report(self, auditor_client, world):
        make_indicator(
            unit=world["a"], agreement=world["agreement"], year=2025, target=10, actual=12
        )
        make_task(lead_unit=world["a"], agreement=world["agreement"], year=2025)
        make_task(
            lead_unit=world["a"],
            agreement=world["agreement"],
            year=2025,
            status=TaskStatus.DONE,
            completed_on=days(-1),
        )
        response = auditor_client.get("/records/report/", {"year": 2025, "unit": world["a"].pk})
        assert response.status_code == 200
        report = response.context["report"]
        assert (report.tasks.total, report.tasks.completed) == (2, 1)
        assert (report.followups.total, report.followups.completed) == (3, 1)
        assert len(report.indicators) == 1
        assert len(report.outstanding_followups) == 2
        page = response.content.decode()
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page
        issuer = '<div class="issuer">ỦY BAN NHÂN DÂN</div><div class="issuer">XÃ TÂN PHÚC</div>'
        assert issuer in page
        assert "Kết quả thực hiện công tác phối hợp năm 2025" in page

    def test_agreement_report_as_xlsx(self, auditor_client, world):
        world["overdue_a"].agreement = world["agreement"]
        world["overdue_a"].save()
        response = auditor_client.get(
            "/records/report/", {"year": 2025, "agreement": world["agreement"].pk, "format": "xlsx"}
        )
        assert response.status_code == 200
        values = xlsx_values(b"".join(response.streaming_content))
        flat = [value for row in values for value in row if value is not None]
        assert "BÁO CÁO" in flat
        assert "ỦY BAN NHÂN DÂN XÃ TÂN PHÚC" in flat  # the lead party issues it
        assert "Sửa đường liên xã" in flat

    def test_unit_and_agreement_together_is_an_error(self, auditor_client, world):
        response = auditor_client.get(
            "/records/report/",
            {"year": 2025, "unit": world["a"].pk, "agreement": world["agreement"].pk},
        )
        assert response.status_code == 400
        assert "Chọn một đơn vị hoặc một văn bản phối hợp" in response.content.decode()

    def test_report_without_parameters_shows_the_form(self, auditor_client):
        assert auditor_client.get("/records/report/").status_code == 200

    def test_dissolved_units_report_for_a_past_year_keeps_its_closed_records(
        self, auditor_client, world
    ):
        successor = make_unit()
        services.unit_merge(
            units=[world["a"]], successor=successor, dissolved_on=today(), user=None
        )
        response = auditor_client.get("/records/report/", {"year": 2025, "unit": world["a"].pk})
        report = response.context["report"]
        assert report.followups.total == 1  # the resolved item stays; the open ones moved
        assert report.notes


# ---------------------------------------------------------------------------
# Query budgets: the same number of queries for 3 rows as for 40
# ---------------------------------------------------------------------------


def grow(world, n):
    unit = world["a"]
    other = make_unit()
    for index in range(n):
        make_followup(responsible_unit=unit, year=2025, due_date=days(-index))
        make_followup(
            responsible_unit=other,
            year=2024,
            kind=FollowUpKind.CONCLUSION,
            status=FollowUpStatus.RESOLVED,
            due_date=days(-index - 5),
            resolved_on=days(-index),
        )
        task = make_task(
            lead_unit=unit, agreement=world["agreement"], year=2025, due_date=days(-index)
        )
        task.coordinating_units.add(other)
        make_indicator(unit=unit, agreement=world["agreement"], year=2025)
        agreement = make_agreement(start_year=2024, end_year=2026)
        agreement.party_links.create(unit=unit, role=PartyRole.LEAD)


BUDGET_URLS = [
    "/records/followups/?year=2025",
    "/records/tasks/?unit_role=lead",
    "/records/agreements/",
    "/records/meetings/",
    "/records/outstanding/",
    "/records/outstanding/?records=tasks",
    "/records/report/?year=2025&unit={a}",
    "/records/report/?year=2025&agreement={agreement}",
    "/records/followups/export/?format=xlsx",
    "/records/tasks/export/?format=csv",
    "/admin/coordination/followup/?year=2025&overdue=yes",
    "/admin/coordination/task/?unit={a}&unit_role=lead",
    "/admin/coordination/agreement/?year=2025",
]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    # The statements of the page, and the scope's reads of shared ids, one per scoped kind
    # at most (PostgreSQL), counted apart: neither grows with the rows.
    reads = shared_ids_reads(queries.captured_queries)
    assert reads <= 4, url
    return len(queries) - reads


@pytest.mark.parametrize("url", BUDGET_URLS)
@pytest.mark.parametrize("who", ["superuser", "auditor", "staff"])
def test_query_count_does_not_grow_with_rows(client, world, url, who):
    """Every list, export, outstanding and report page: fixed queries whatever the rows."""
    if who == "superuser":
        user = make_superuser()
    elif who == "auditor":
        user = auditor()
    else:
        user = make_user()
        user.groups.add(Group.objects.get(name=STAFF_GROUP))
        make_member(user, world["a"])
    client.force_login(user)
    url = url.format(a=world["a"].pk, agreement=world["agreement"].pk)
    grow(world, 2)
    few = count_queries(client, url)
    grow(world, 30)
    many = count_queries(client, url)
    assert many == few, url
    # The yearly report's báo cáo asks five more: its signers, the last issued version, the
    # most overdue tasks and items of each unit (which its drafted text names) and the first
    # outstanding conclusions (its directions).
    assert few <= (21 if url.startswith("/records/report/") else 16), url


def test_follow_up_is_not_counted_twice_after_carry_over(auditor_client, world):
    """A carried-over item lives on in its successor; only the successor is outstanding."""
    services.followup_carry_over(followups=FollowUp.objects.filter(pk=world["overdue_a"].pk))
    response = auditor_client.get("/records/outstanding/", {"unit": world["a"].pk, "year": ""})
    table = response.context["table"]
    assert table.total.outstanding == 2
    years = {row.year for row in table.rows}
    assert years == {2025, 2026}


def test_today_is_the_local_date(auditor_client, world, settings):
    """Overdue is judged on Asia/Ho_Chi_Minh's date, not the server's UTC date."""
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    response = auditor_client.get("/records/outstanding/")
    assert response.context["table"].today == today()
    assert isinstance(response.context["table"].today, datetime.date)


def test_task_list_filters_by_agreement(auditor_client, world):
    task = make_task(agreement=world["agreement"], lead_unit=world["a"])
    make_task(lead_unit=world["a"])
    response = auditor_client.get("/records/tasks/", {"agreement": world["agreement"].pk})
    assert listed_links(response, "tasks") == {task.pk}
    assert Task.objects.count() == 2


@pytest.mark.parametrize("kind", kinds.names())
def test_every_kinds_list_and_export_issue_the_same_queries_for_5_and_50_rows(
    superuser_client, kind
):
    """Each kind's /records/ list and its .xlsx export: fixed queries whatever the rows."""
    build = BUILDERS[kinds.get(kind).model._meta.model_name]
    pages = [f"/records/{kind}/", f"/records/{kind}/export/?format=xlsx"]
    for page in pages:
        superuser_client.get(page)  # warm-up: session and per-process caches
    build(5)
    few = [count_queries(superuser_client, page) for page in pages]
    build(45)
    many = [count_queries(superuser_client, page) for page in pages]
    assert many == few
    assert max(few) <= 16
