"""Writes that span several records or change a status, each in one transaction (unit
mergers: `unit_merge`, from `coordination.mergers`)."""

import datetime
from dataclasses import dataclass

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from coordination.choices import FollowUpStatus, TaskStatus
from coordination.history import CHANGED, CREATED, record_history

# Unit mergers live in their own module; this is their entry point, with the other writes.
from coordination.mergers import MergeResult, MergeShare, unit_merge  # noqa: F401
from coordination.models import FollowUp, Task, Unit, UnitAlias


@dataclass(frozen=True)
class BulkResult:
    """How many of the selected records a bulk service changed, and how many it left alone."""

    changed: int
    skipped: int


def _shift_year(day: datetime.date | None) -> datetime.date | None:
    if day is None:
        return None
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


@transaction.atomic
def task_mark_done(
    *, tasks: QuerySet[Task], completed_on: datetime.date | None = None, user=None
) -> BulkResult:
    """Mark the outstanding tasks among `tasks` done on `completed_on` (today by default)."""
    completed_on = completed_on or timezone.localdate()
    selected = Task.objects.filter(pk__in=tasks.values("pk"))
    total = selected.count()
    # Locked so that a concurrent edit cannot reopen a task between the check and the write.
    pks = list(selected.outstanding().select_for_update().values_list("pk", flat=True))
    changed = Task.objects.filter(pk__in=pks).update(
        status=TaskStatus.DONE,
        completed_on=completed_on,
        progress=100,
        updated_at=timezone.now(),
    )
    record_history(Task, pks, history_type=CHANGED, user=user, reason=_("Marked done"))
    return BulkResult(changed=changed, skipped=total - changed)


@transaction.atomic
def followup_resolve(
    *, followups: QuerySet[FollowUp], resolved_on: datetime.date | None = None, user=None
) -> BulkResult:
    """Mark the outstanding items among `followups` resolved on `resolved_on` (today by default).

    Items raised after `resolved_on` are left alone: they cannot be resolved before they existed.
    """
    resolved_on = resolved_on or timezone.localdate()
    selected = FollowUp.objects.filter(pk__in=followups.values("pk"))
    total = selected.count()
    eligible = selected.outstanding().exclude(raised_on__gt=resolved_on).select_for_update()
    pks = list(eligible.values_list("pk", flat=True))
    changed = FollowUp.objects.filter(pk__in=pks).update(
        status=FollowUpStatus.RESOLVED, resolved_on=resolved_on, updated_at=timezone.now()
    )
    record_history(FollowUp, pks, history_type=CHANGED, user=user, reason=_("Marked resolved"))
    return BulkResult(changed=changed, skipped=total - changed)


@transaction.atomic
def followup_carry_over(*, followups: QuerySet[FollowUp], user=None) -> BulkResult:
    """Carry the outstanding items among `followups` over to the next year.

    Each gets a successor for year + 1 (same kind, content, unit, agreement, meeting and
    source; the due date moved one year on) linked through `carried_over_from`, and is itself
    marked carried over. Items already carried over, or no longer outstanding, are skipped.
    """
    selected = FollowUp.objects.filter(pk__in=followups.values("pk"))
    total = selected.count()
    items = list(
        selected.outstanding()
        .filter(carried_over_to__isnull=True)
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    successors = FollowUp.objects.bulk_create(
        FollowUp(
            kind=item.kind,
            year=item.year + 1,
            content=item.content,
            responsible_unit_id=item.responsible_unit_id,
            agreement_id=item.agreement_id,
            meeting_id=item.meeting_id,
            raised_on=item.raised_on,
            source_reference=item.source_reference,
            due_date=_shift_year(item.due_date),
            status=FollowUpStatus.OPEN,
            carried_over_from=item,
        )
        for item in items
    )
    FollowUp.objects.filter(pk__in=[item.pk for item in items]).update(
        status=FollowUpStatus.CARRIED_OVER, updated_at=timezone.now()
    )
    reason = _("Carried over to the next year")
    record_history(
        FollowUp, [i.pk for i in successors], history_type=CREATED, user=user, reason=reason
    )
    record_history(FollowUp, [i.pk for i in items], history_type=CHANGED, user=user, reason=reason)
    return BulkResult(changed=len(items), skipped=total - len(items))


def unit_alias_create(*, unit: Unit, name: str, user=None) -> UnitAlias:
    """Keep `name` as another spelling of `unit` (ValidationError when it cannot be: empty,
    or already naming a unit), written in the unit's admin log as its change page would."""
    alias = UnitAlias(unit=unit, name=name)
    alias.full_clean()
    try:
        with transaction.atomic():
            alias.save()
    except IntegrityError:
        # Saved by somebody else between the check and the write.
        raise ValidationError(
            {"name": UnitAlias._meta.constraints[0].violation_error_message}
        ) from None
    if user is not None:
        # Stored untranslated, as the admin stores its own messages, and shown translated.
        with translation.override(None):
            added = {"name": str(UnitAlias._meta.verbose_name), "object": str(alias)}
        LogEntry.objects.log_actions(
            user.pk, [unit], CHANGE, change_message=[{"added": added}], single_object=True
        )
    return alias
