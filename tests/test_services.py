"""Status changes in services.py: marking tasks done, resolving and carrying over items."""

import datetime

import pytest

from coordination import services
from coordination.choices import FollowUpKind, FollowUpStatus, TaskStatus
from coordination.models import FollowUp, Task
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_meeting,
    make_task,
    today,
)

pytestmark = pytest.mark.django_db


def reload(record):
    return type(record).objects.get(pk=record.pk)


class TestTaskMarkDone:
    def test_outstanding_tasks_become_done_today_at_full_progress(self):
        """Not started and in-progress tasks are done today, at 100%."""
        waiting = make_task(status=TaskStatus.NOT_STARTED, due_date=days(-3))
        running = make_task(status=TaskStatus.IN_PROGRESS, progress=60)
        result = services.task_mark_done(tasks=Task.objects.filter(pk__in=[waiting.pk, running.pk]))
        assert result == services.BulkResult(changed=2, skipped=0)
        for task in (reload(waiting), reload(running)):
            assert (task.status, task.completed_on, task.progress) == (
                TaskStatus.DONE,
                today(),
                100,
            )
        assert not Task.objects.overdue().exists()

    def test_given_completion_date_is_used(self):
        """completed_on= overrides today."""
        task = make_task()
        services.task_mark_done(tasks=Task.objects.all(), completed_on=datetime.date(2024, 6, 30))
        assert reload(task).completed_on == datetime.date(2024, 6, 30)

    def test_done_and_cancelled_tasks_are_skipped_and_left_unchanged(self):
        """A done task keeps its own completion date; a cancelled one stays cancelled."""
        done = make_task(
            status=TaskStatus.DONE, completed_on=datetime.date(2024, 1, 5), progress=90
        )
        cancelled = make_task(status=TaskStatus.CANCELLED)
        waiting = make_task()
        result = services.task_mark_done(tasks=Task.objects.all())
        assert result == services.BulkResult(changed=1, skipped=2)
        done, cancelled = reload(done), reload(cancelled)
        assert (done.completed_on, done.progress) == (datetime.date(2024, 1, 5), 90)
        assert (cancelled.status, cancelled.completed_on) == (TaskStatus.CANCELLED, None)
        assert reload(waiting).status == TaskStatus.DONE

    def test_tasks_outside_the_selection_are_untouched(self):
        """Only the given queryset is changed."""
        chosen, other = make_task(), make_task()
        services.task_mark_done(tasks=Task.objects.filter(pk=chosen.pk))
        assert reload(other).status == TaskStatus.NOT_STARTED

    def test_updated_at_moves_on(self):
        """The change is visible in the record's timestamp."""
        task = make_task()
        before = reload(task).updated_at
        services.task_mark_done(tasks=Task.objects.all())
        assert reload(task).updated_at > before


class TestFollowUpResolve:
    def test_open_and_in_progress_items_are_resolved_today(self):
        """Outstanding items get status resolved and today's date."""
        opened = make_followup(status=FollowUpStatus.OPEN, due_date=days(-5))
        handling = make_followup(status=FollowUpStatus.IN_PROGRESS, raised_on=today())
        result = services.followup_resolve(followups=FollowUp.objects.all())
        assert result == services.BulkResult(changed=2, skipped=0)
        for item in (reload(opened), reload(handling)):
            assert (item.status, item.resolved_on) == (FollowUpStatus.RESOLVED, today())

    def test_given_resolution_date_is_used(self):
        """resolved_on= overrides today."""
        item = make_followup(raised_on=datetime.date(2024, 3, 13))
        services.followup_resolve(
            followups=FollowUp.objects.all(), resolved_on=datetime.date(2024, 9, 1)
        )
        assert reload(item).resolved_on == datetime.date(2024, 9, 1)

    @pytest.mark.parametrize(
        ("status", "resolved_on"),
        [
            (FollowUpStatus.RESOLVED, datetime.date(2024, 1, 2)),
            (FollowUpStatus.CLOSED, None),
            (FollowUpStatus.CARRIED_OVER, None),
        ],
    )
    def test_items_no_longer_outstanding_are_skipped(self, status, resolved_on):
        """Resolved, closed and carried-over items keep their status and date."""
        item = make_followup(status=status, resolved_on=resolved_on)
        result = services.followup_resolve(followups=FollowUp.objects.all())
        assert result == services.BulkResult(changed=0, skipped=1)
        item = reload(item)
        assert (item.status, item.resolved_on) == (status, resolved_on)

    def test_item_raised_after_the_resolution_date_is_skipped(self):
        """An item cannot be resolved before it was raised."""
        later = make_followup(raised_on=datetime.date(2024, 5, 2))
        same_day = make_followup(raised_on=datetime.date(2024, 5, 1))
        result = services.followup_resolve(
            followups=FollowUp.objects.all(), resolved_on=datetime.date(2024, 5, 1)
        )
        assert result == services.BulkResult(changed=1, skipped=1)
        assert reload(later).status == FollowUpStatus.OPEN
        assert reload(same_day).resolved_on == datetime.date(2024, 5, 1)


class TestFollowUpCarryOver:
    def test_carried_item_continues_next_year_with_the_same_content(self):
        """The successor copies kind, content, unit, agreement, meeting and source; year + 1."""
        agreement = make_agreement()
        meeting = make_meeting()
        old = make_followup(
            kind=FollowUpKind.VOTER_PETITION,
            year=2023,
            content="Cử tri kiến nghị sửa chữa đường liên xã.",
            agreement=agreement,
            meeting=meeting,
            raised_on=datetime.date(2023, 6, 20),
            source_reference="Báo cáo 45/BC-HĐND",
            due_date=datetime.date(2023, 12, 31),
            status=FollowUpStatus.IN_PROGRESS,
            resolution="Đang khảo sát",
        )
        result = services.followup_carry_over(followups=FollowUp.objects.filter(pk=old.pk))
        assert result == services.BulkResult(changed=1, skipped=0)
        new = FollowUp.objects.get(carried_over_from=old)
        assert new.kind == FollowUpKind.VOTER_PETITION
        assert new.year == 2024
        assert new.content == old.content
        assert new.responsible_unit == old.responsible_unit
        assert (new.agreement, new.meeting) == (agreement, meeting)
        assert new.raised_on == datetime.date(2023, 6, 20)
        assert new.source_reference == "Báo cáo 45/BC-HĐND"
        assert new.due_date == datetime.date(2024, 12, 31)
        assert (new.status, new.resolved_on, new.resolution) == (FollowUpStatus.OPEN, None, "")
        assert reload(old).status == FollowUpStatus.CARRIED_OVER
        assert reload(old).carried_over_to == new

    def test_a_29_february_deadline_moves_to_28_february(self):
        """A leap-day due date lands on the last day of February next year."""
        old = make_followup(year=2024, due_date=datetime.date(2024, 2, 29))
        services.followup_carry_over(followups=FollowUp.objects.all())
        assert FollowUp.objects.get(carried_over_from=old).due_date == datetime.date(2025, 2, 28)

    def test_an_item_without_deadline_carries_over_without_one(self):
        """No due date stays no due date."""
        old = make_followup(due_date=None)
        services.followup_carry_over(followups=FollowUp.objects.all())
        assert FollowUp.objects.get(carried_over_from=old).due_date is None

    def test_the_carried_item_is_outstanding_and_the_old_one_is_not(self):
        """The outstanding count stays the same: one item left, one item taken over."""
        old = make_followup(due_date=days(-1))
        services.followup_carry_over(followups=FollowUp.objects.all())
        assert list(FollowUp.objects.outstanding()) == [old.carried_over_to]
        assert not FollowUp.objects.overdue().exists()

    def test_carrying_over_twice_creates_nothing_new(self):
        """The second run skips the item already carried over."""
        make_followup()
        services.followup_carry_over(followups=FollowUp.objects.all())
        old = FollowUp.objects.get(status=FollowUpStatus.CARRIED_OVER)
        result = services.followup_carry_over(followups=FollowUp.objects.filter(pk=old.pk))
        assert result == services.BulkResult(changed=0, skipped=1)
        assert FollowUp.objects.count() == 2

    def test_an_open_item_that_already_has_a_successor_is_skipped(self):
        """An item reopened after being carried over is not carried a second time."""
        old = make_followup(status=FollowUpStatus.OPEN)
        make_followup(carried_over_from=old, year=old.year + 1)
        result = services.followup_carry_over(followups=FollowUp.objects.filter(pk=old.pk))
        assert result == services.BulkResult(changed=0, skipped=1)
        assert FollowUp.objects.count() == 2
        assert reload(old).status == FollowUpStatus.OPEN

    @pytest.mark.parametrize(
        ("status", "resolved_on"),
        [(FollowUpStatus.RESOLVED, datetime.date(2024, 4, 1)), (FollowUpStatus.CLOSED, None)],
    )
    def test_finished_items_are_not_carried_over(self, status, resolved_on):
        """Resolved and closed items stay where they are."""
        make_followup(status=status, resolved_on=resolved_on)
        result = services.followup_carry_over(followups=FollowUp.objects.all())
        assert result == services.BulkResult(changed=0, skipped=1)
        assert FollowUp.objects.count() == 1

    def test_a_carried_item_can_be_carried_again_the_year_after(self):
        """Each year's item links back to the previous year's."""
        first = make_followup(year=2023)
        services.followup_carry_over(followups=FollowUp.objects.all())
        second = FollowUp.objects.get(carried_over_from=first)
        services.followup_carry_over(followups=FollowUp.objects.filter(pk=second.pk))
        third = FollowUp.objects.get(carried_over_from=second)
        assert [first.year, second.year, third.year] == [2023, 2024, 2025]

    def test_several_items_are_carried_over_at_once(self):
        """Each selected outstanding item gets its own successor."""
        items = [make_followup(), make_followup(), make_followup(status=FollowUpStatus.CLOSED)]
        result = services.followup_carry_over(followups=FollowUp.objects.all())
        assert result == services.BulkResult(changed=2, skipped=1)
        successors = FollowUp.objects.filter(carried_over_from__in=items)
        assert {item.carried_over_from_id for item in successors} == {items[0].pk, items[1].pk}
