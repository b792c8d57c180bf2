"""Next year's programme from this one: the draft writes nothing, the creation writes exactly
the draft, all or nothing, with history naming the action; a second run creates nothing."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from coordination import programme
from coordination.choices import FollowUpKind, FollowUpStatus, PartyRole, TaskStatus
from coordination.models import Task
from tests.factories import (
    make_agreement,
    make_followup,
    make_meeting,
    make_member,
    make_task,
    make_unit,
    make_user,
)

D = datetime.date


@pytest.fixture
def year_world(world):
    """The world's agreement (2021–2026) with tasks of 2025 of every sort, and a meeting
    reviewing 2025 with its conclusions."""
    w = world
    w.recurring = make_task(
        agreement=w.agreement,
        year=2025,
        content="Tuyên truyền Ngày hội Đại đoàn kết toàn dân tộc",
        lead_unit=w.front,
        coordinating_units=[w.committee],
        recurring=True,
        start_date=D(2025, 2, 1),
        due_date=D(2025, 11, 18),
        status=TaskStatus.DONE,
        completed_on=D(2025, 11, 18),
        progress=100,
        result="Tổ chức ở 100% khu dân cư",
    )
    w.open = make_task(
        agreement=w.agreement,
        year=2025,
        content="Giám sát giải quyết đơn thư tồn đọng",
        lead_unit=w.committee,
        coordinating_units=[w.front],
        status=TaskStatus.IN_PROGRESS,
        progress=60,
        start_date=D(2025, 3, 1),
        due_date=D(2025, 12, 31),
    )
    w.done = make_task(
        agreement=w.agreement,
        year=2025,
        content="Hội nghị đối thoại",
        lead_unit=w.committee,
        status=TaskStatus.DONE,
        completed_on=D(2025, 6, 1),
    )
    w.review = make_meeting(title="Hội nghị tổng kết năm 2025", held_on=D(2026, 1, 20))
    w.review.agreements.add(w.agreement)
    w.conclusion = make_followup(
        kind=FollowUpKind.CONCLUSION,
        year=2025,
        content="Nâng cao chất lượng giám sát, phản biện xã hội",
        responsible_unit=w.front,
        agreement=w.agreement,
        meeting=w.review,
    )
    w.conclusion.co_responsible_units.set([w.committee])
    w.resolved = make_followup(
        kind=FollowUpKind.CONCLUSION,
        year=2025,
        content="Kết luận đã thực hiện",
        responsible_unit=w.committee,
        meeting=w.review,
        status=FollowUpStatus.RESOLVED,
        resolved_on=D(2026, 1, 21),
        raised_on=D(2026, 1, 20),
    )
    return w


def _draft(w, **kwargs):
    return programme.draft_next_year(w.agreement, 2025, meeting=w.review, **kwargs)


def test_the_draft_writes_nothing_and_groups_what_it_would_create(year_world):
    w = year_world
    before = Task.objects.count(), Task.history.count()
    draft = _draft(w)
    assert (Task.objects.count(), Task.history.count()) == before
    assert [i.source for i in draft.group(programme.REPEATED)] == [w.recurring]
    assert [i.source for i in draft.group(programme.CARRIED)] == [w.open]
    assert [i.source for i in draft.group(programme.CONCLUSION)] == [w.conclusion]
    assert [s.source for s in draft.skipped] == [w.resolved]
    assert draft.target == w.agreement and draft.next_year == 2026


def test_creation_writes_exactly_the_draft_with_links_dates_and_history(year_world):
    w = year_world
    draft = _draft(w)
    user = make_user(is_superuser=True)
    created = programme.create_next_year(draft, user)
    assert created.counts == {"repeated": 1, "carried": 1, "conclusion": 1}
    new = Task.objects.filter(year=2026, agreement=w.agreement)
    assert set(new.values_list("pk", flat=True)) == set(created.pks)

    repeated = new.get(repeats=w.recurring)
    assert (repeated.start_date, repeated.due_date) == (D(2026, 2, 1), D(2026, 11, 18))
    assert (repeated.status, repeated.progress, repeated.result) == (TaskStatus.NOT_STARTED, 0, "")
    assert repeated.completed_on is None and repeated.recurring
    assert list(repeated.coordinating_units.all()) == [w.committee]

    carried = new.get(carried_over_from=w.open)
    assert (carried.status, carried.progress) == (TaskStatus.IN_PROGRESS, 60)
    assert (carried.start_date, carried.due_date) == (D(2026, 3, 1), D(2026, 12, 31))
    w.open.refresh_from_db()
    assert (w.open.status, w.open.progress) == (TaskStatus.CARRIED_OVER, 60)

    task = new.get(content=w.conclusion.content)
    assert (task.lead_unit, task.meeting, task.due_date) == (w.front, w.review, D(2026, 12, 31))
    assert list(task.coordinating_units.all()) == [w.committee]

    entries = Task.history.filter(id__in=created.pks)
    assert entries.count() == 3
    assert {e.history_change_reason for e in entries} == {draft.reason}
    assert {e.history_user_id for e in entries} == {user.pk}
    assert {e.history_type for e in entries} == {"+"}


def test_a_second_run_creates_nothing_and_says_why(year_world):
    w = year_world
    programme.create_next_year(_draft(w))
    again = _draft(w)
    assert again.planned == []
    assert {s.source for s in again.skipped} == {w.recurring, w.open, w.conclusion, w.resolved}
    assert programme.create_next_year(again).total == 0
    assert Task.objects.filter(year=2026, agreement=w.agreement).count() == 3


def test_a_task_of_next_year_with_the_same_content_is_not_created_again(year_world):
    w = year_world
    make_task(agreement=w.agreement, year=2026, content=" giám sát  giải quyết đơn thư tồn đọng")
    draft = _draft(w)
    assert [s.source for s in draft.skipped_in(programme.CARRIED)] == [w.open]


def test_29_february_becomes_28_february():
    assert programme.shift_year(D(2024, 2, 29)) == D(2025, 2, 28)
    assert programme.shift_year(D(2024, 3, 1)) == D(2025, 3, 1)
    assert programme.shift_year(None) is None


def test_a_changed_record_since_the_preview_writes_nothing(year_world):
    w = year_world
    draft = _draft(w)
    make_task(agreement=w.agreement, year=2025, content="Mới thêm", recurring=True)
    with pytest.raises(ValidationError):
        programme.create_next_year(draft)
    assert not Task.objects.filter(year=2026).exists()


def test_past_the_end_year_the_successor_agreement_takes_the_tasks(year_world):
    w = year_world
    make_task(agreement=w.agreement, year=2026, content="Nhiệm vụ 2026", recurring=True)
    with pytest.raises(ValidationError, match="2027"):
        programme.draft_next_year(w.agreement, 2026)
    successor = make_agreement(
        number="02/QCPH-UBND-MTTQ",
        start_year=2027,
        end_year=2031,
        supersedes=w.agreement,
        parties=[w.committee, w.front],
    )
    draft = programme.draft_next_year(w.agreement, 2026)
    assert draft.target == successor
    programme.create_next_year(draft)
    assert successor.tasks.filter(year=2027, content="Nhiệm vụ 2026").exists()


def test_unit_staff_draft_only_their_units_tasks(year_world):
    w = year_world
    staff = make_user(permissions=["coordination.add_task", "coordination.view_agreement"])
    make_member(staff, w.committee)
    assert w.agreement.party_links.get(unit=w.committee).role == PartyRole.LEAD
    draft = _draft(w, user=staff)
    assert [i.source for i in draft.planned] == [w.open]
    other = make_user(permissions=["coordination.add_task"])
    make_member(other, make_unit(full_name="Hội Nông dân huyện"))
    with pytest.raises(PermissionDenied):
        _draft(w, user=other)
    with pytest.raises(PermissionDenied):
        programme.create_next_year(draft, other)
    assert not Task.objects.filter(year=2026).exists()


def test_the_command_line_previews_and_creates(year_world, capsys):
    w = year_world
    args = ["next_year_programme", "--agreement", w.agreement.number, "--year", "2025"]
    call_command(*args, "--meeting", str(w.review.pk), "--dry-run")
    out = capsys.readouterr().out
    assert "2026" in out and not Task.objects.filter(year=2026).exists()
    call_command(*args, "--meeting", str(w.review.pk))
    assert Task.objects.filter(year=2026).count() == 3
    call_command(*args)
    assert Task.objects.filter(year=2026).count() == 3


def _url(w):
    return reverse("admin:coordination_agreement_next_year", args=[w.agreement.pk])


def test_the_admin_page_previews_then_creates_exactly_the_preview(year_world, superuser_client):
    w = year_world
    page = superuser_client.get(
        reverse("admin:coordination_agreement_change", args=[w.agreement.pk])
    )
    assert _url(w) in page.content.decode()
    first = superuser_client.get(_url(w))
    assert first.status_code == 200 and first.context["form"].initial["year"] == 2025
    preview = superuser_client.get(_url(w), {"year": 2025, "meeting": w.review.pk})
    assert preview.status_code == 200 and not Task.objects.filter(year=2026).exists()
    draft = preview.context["draft"]
    assert w.conclusion.content in preview.content.decode()
    confirmed = superuser_client.post(
        _url(w), {"year": 2025, "meeting": w.review.pk, "fingerprint": draft.fingerprint}
    )
    assert confirmed.status_code == 302
    created = Task.objects.filter(year=2026)
    assert sorted(created.values_list("content", flat=True)) == sorted(
        item.task.content for item in draft.planned
    )
    again = superuser_client.get(_url(w), {"year": 2025, "meeting": w.review.pk})
    assert again.context["draft"].planned == []


def test_the_admin_page_writes_nothing_on_a_stale_or_forged_post(year_world, superuser_client):
    w = year_world
    for data in (
        {"year": 2025, "meeting": w.review.pk, "fingerprint": "stale"},
        {"year": 2025},
        {"year": "x", "fingerprint": "x"},
        {"year": 2025, "meeting": 999999, "fingerprint": "x"},
        {"year": 3000, "fingerprint": "x"},
    ):
        response = superuser_client.post(_url(w), data)
        assert response.status_code == 200, data
    assert not Task.objects.filter(year=2026).exists()
    other = make_meeting(title="Hội nghị khác")
    response = superuser_client.get(_url(w), {"year": 2025, "meeting": other.pk})
    assert response.context["form"].errors


def test_the_admin_page_refuses_unit_staff_of_other_units(year_world, client):
    w = year_world
    staff = make_user(
        permissions=[
            "coordination.add_task",
            "coordination.view_agreement",
            "coordination.view_task",
        ]
    )
    make_member(staff, make_unit(full_name="Hội Nông dân huyện"))
    w.agreement.party_links.create(unit=staff.unit_memberships.get().unit)
    client.force_login(staff)
    assert client.get(_url(w)).status_code == 403
    assert client.post(_url(w), {"year": 2025, "fingerprint": "x"}).status_code == 403
    assert not Task.objects.filter(year=2026).exists()


def test_the_admin_page_gives_unit_staff_their_units_tasks(year_world, client):
    w = year_world
    staff = make_user(
        permissions=[
            "coordination.add_task",
            "coordination.view_agreement",
            "coordination.view_task",
        ]
    )
    make_member(staff, w.committee)
    client.force_login(staff)
    preview = client.get(_url(w), {"year": 2025, "meeting": w.review.pk})
    draft = preview.context["draft"]
    assert [item.source for item in draft.planned] == [w.open]
    client.post(_url(w), {"year": 2025, "meeting": w.review.pk, "fingerprint": draft.fingerprint})
    assert list(Task.objects.filter(year=2026)) == [w.open.carried_over_to]


def test_carried_tasks_leave_this_years_outstanding_with_their_progress(year_world):
    w = year_world
    user = make_user(is_superuser=True)
    draft = _draft(w)
    programme.create_next_year(draft, user)
    w.open.refresh_from_db()
    assert (w.open.status, w.open.progress) == (TaskStatus.CARRIED_OVER, 60)
    assert not w.open.is_outstanding
    assert not Task.objects.filter(year=2025).outstanding().filter(pk=w.open.pk).exists()
    # Outstanding once: next year's task carries it on.
    assert Task.objects.outstanding().filter(content=w.open.content).count() == 1
    entry = w.open.history.latest()
    assert (entry.history_type, entry.history_change_reason) == ("~", draft.reason)
    assert (entry.status, entry.history_user_id) == (TaskStatus.CARRIED_OVER, user.pk)
    # Done and recurring tasks keep their status.
    w.recurring.refresh_from_db()
    w.done.refresh_from_db()
    assert w.recurring.status == w.done.status == TaskStatus.DONE


def test_a_task_marked_carried_over_by_hand_is_carried_once(year_world):
    w = year_world
    Task.objects.filter(pk=w.open.pk).update(status=TaskStatus.CARRIED_OVER)
    programme.create_next_year(_draft(w))
    carried = Task.objects.get(carried_over_from=w.open)
    assert (carried.status, carried.progress) == (TaskStatus.IN_PROGRESS, 60)
    again = _draft(w)
    assert [s.source for s in again.skipped_in(programme.CARRIED)] == [w.open]
    assert again.skipped_in(programme.CARRIED)[0].existing == carried


def test_a_task_made_from_a_conclusion_is_named_by_it_and_not_made_twice(year_world):
    w = year_world
    user = make_user(is_superuser=True)
    draft = _draft(w)
    programme.create_next_year(draft, user)
    task = Task.objects.get(year=2026, content=w.conclusion.content)
    w.conclusion.refresh_from_db()
    assert w.conclusion.task == task and list(task.followups.all()) == [w.conclusion]
    assert w.conclusion.status == FollowUpStatus.OPEN  # open until resolved
    entry = w.conclusion.history.latest()
    assert (entry.history_type, entry.history_change_reason) == ("~", draft.reason)
    assert (entry.task_id, entry.history_user_id) == (task.pk, user.pk)
    # Even with its content reworded next year, the conclusion is not turned into a task again.
    Task.objects.filter(pk=task.pk).update(content="Nâng cao chất lượng giám sát (đã sửa)")
    again = _draft(w)
    assert again.group(programme.CONCLUSION) == []
    skipped = again.skipped_in(programme.CONCLUSION)
    assert [(s.source, s.existing) for s in skipped] == [(w.conclusion, task), (w.resolved, None)]
    assert "2026" in skipped[0].reason


def test_an_item_names_its_task_in_a_sheet_by_the_tasks_number(year_world, vi):
    from coordination.importing import import_records
    from tests.factories import xlsx_bytes

    w = year_world
    task = make_task(agreement=w.agreement, year=2026, content="Khắc phục hạn chế")
    rows = [
        ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Nhiệm vụ thực hiện (mã)"],
        ["Hạn chế", 2025, "Hạn chế về giám sát", w.front.full_name, task.pk],
        ["Hạn chế", 2025, "Hạn chế khác", w.front.full_name, 999999],
    ]
    report = import_records(
        kind="followups", data=xlsx_bytes(rows), file_name="h.xlsx", dry_run=False
    )
    assert [(p.row, p.column) for p in report.problems] == [(3, "Nhiệm vụ thực hiện (mã)")]
    assert not task.followups.exists()  # nothing written
    del rows[2]
    report = import_records(
        kind="followups", data=xlsx_bytes(rows), file_name="h.xlsx", dry_run=False
    )
    assert report.count_new == 1 and [f.content for f in task.followups.all()] == [
        "Hạn chế về giám sát"
    ]
