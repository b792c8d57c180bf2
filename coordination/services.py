"""Writes that span several records or change a status, each in one transaction."""

import datetime
from dataclasses import dataclass

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from coordination.choices import FollowUpStatus, TaskStatus
from coordination.history import CHANGED, CREATED, record_history
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


@dataclass(frozen=True)
class MergeResult:
    """What a unit merger did: units dissolved, outstanding records handed to the successor.

    `coordinations_moved` counts tasks, not links: a task two merged units coordinated is one;
    `co_responsibilities_moved` counts the follow-up items they answered for jointly likewise.
    """

    units: int
    tasks_moved: int
    coordinations_moved: int
    followups_moved: int
    aliases_moved: int = 0
    co_responsibilities_moved: int = 0


@transaction.atomic
def unit_merge(*, units, successor: Unit, dissolved_on: datetime.date, user=None) -> MergeResult:
    """Dissolve `units` into `successor` on `dissolved_on`, handing over their outstanding work.

    Only work still outstanding moves: tasks they lead or coordinate and follow-up items they
    answer for (as the responsible unit or a co-responsible one). Done and cancelled tasks,
    finished items, indicators, agreement parties, signatures, people and staff stay with the
    old units, so that reports on past years still show who did the work then. Their aliases
    move: a list written the old way now means the successor. Every write is one statement,
    however many records move.
    """
    pks = set(
        units.values_list("pk", flat=True)
        if isinstance(units, QuerySet)
        else [unit.pk for unit in units]
    )
    # Locked, and read again, so that a concurrent merger or edit cannot slip in between the
    # checks and the writes (a unit merged twice, a successor dissolved meanwhile).
    locked = {
        unit.pk: unit
        for unit in Unit.objects.filter(pk__in=[*pks, successor.pk])
        .select_for_update()
        .order_by("pk")
    }
    _validate_merge(pks, locked, successor.pk, dissolved_on)
    successor = locked[successor.pk]
    now = timezone.now()

    Unit.objects.filter(pk__in=pks).update(
        is_active=False, dissolved_on=dissolved_on, successor=successor, updated_at=now
    )

    outstanding = Task.objects.outstanding()
    led = list(
        outstanding.filter(lead_unit__in=pks)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Task.objects.filter(pk__in=led).update(lead_unit=successor, updated_at=now)

    coordinated = _hand_over_links(Task, "coordinating_units", "lead_unit", pks, successor, now)

    followups = list(
        FollowUp.objects.outstanding()
        .filter(responsible_unit__in=pks)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    FollowUp.objects.filter(pk__in=followups).update(responsible_unit=successor, updated_at=now)
    aliases = UnitAlias.objects.filter(unit__in=pks).update(unit=successor, updated_at=now)
    jointly = _hand_over_links(
        FollowUp, "co_responsible_units", "responsible_unit", pks, successor, now
    )

    reason = _("Unit merger on %(date)s: handed over to %(successor)s") % {
        "date": formats.date_format(dissolved_on, "SHORT_DATE_FORMAT"),
        "successor": successor.short_name or successor.full_name,
    }
    if len(reason) > 100:
        reason = f"{reason[:99]}…"
    record_history(Task, {*led, *coordinated}, history_type=CHANGED, user=user, reason=reason)
    record_history(FollowUp, {*followups, *jointly}, history_type=CHANGED, user=user, reason=reason)
    return MergeResult(
        units=len(pks),
        tasks_moved=len(led),
        coordinations_moved=len(coordinated),
        followups_moved=len(followups),
        aliases_moved=aliases,
        co_responsibilities_moved=len(jointly),
    )


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


def _hand_over_links(model, field: str, lead: str, pks, successor: Unit, now) -> set[int]:
    """Give `successor` the links of `field` (a task's coordinating units, an item's co-
    responsible units) that the merged units `pks` hold on outstanding records of `model`;
    the records changed. Called after the lead units moved, so that a record the successor
    now leads, or is already linked to, is not given it a second time."""
    # A join with the link table: duplicates when two merged units share a record.
    linked = set(
        model.objects.outstanding()
        .filter(**{f"{field}__in": pks})
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    m2m = model._meta.get_field(field)
    links = m2m.remote_field.through.objects
    owner, target = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
    involved = set(
        model.objects.filter(pk__in=linked)
        .filter(Q(**{lead: successor}) | Q(**{field: successor}))
        .values_list("pk", flat=True)
    )
    links.filter(**{f"{owner}__in": linked, f"{target}__in": pks}).delete()
    links.bulk_create(
        [
            links.model(**{f"{owner}_id": pk, f"{target}_id": successor.pk})
            for pk in sorted(linked - involved)
        ],
        ignore_conflicts=True,
    )
    model.objects.filter(pk__in=linked).update(updated_at=now)
    return linked


def _validate_merge(pks: set[int], locked: dict, successor_pk: int, dissolved_on) -> None:
    """Raise one ValidationError listing every reason the merger cannot be done."""
    errors: dict[str, list[str]] = {}
    if not pks:
        errors.setdefault("units", []).append(_("Select at least one unit to merge."))
    for pk in sorted(pks - {successor_pk}, key=lambda pk: str(locked.get(pk, ""))):
        unit = locked.get(pk)
        if unit is None:
            errors.setdefault("units", []).append(_("One of the selected units no longer exists."))
        elif unit.dissolved_on is not None:
            errors.setdefault("units", []).append(
                _("“%(unit)s” was already dissolved on %(date)s.")
                % {
                    "unit": unit,
                    "date": formats.date_format(unit.dissolved_on, "SHORT_DATE_FORMAT"),
                }
            )
        elif not unit.is_active:
            errors.setdefault("units", []).append(
                _("“%(unit)s” is not active and cannot be merged.") % {"unit": unit}
            )
    successor = locked.get(successor_pk)
    if successor_pk in pks:
        errors.setdefault("successor", []).append(
            _("The successor cannot be one of the units being merged.")
        )
    elif successor is None or not successor.is_active or successor.dissolved_on is not None:
        errors.setdefault("successor", []).append(
            _("The successor must be an active unit that has not been dissolved.")
        )
    if dissolved_on is None:
        errors.setdefault("dissolved_on", []).append(_("Enter the dissolution date."))
    elif dissolved_on > timezone.localdate():
        errors.setdefault("dissolved_on", []).append(
            _("The dissolution date cannot be in the future.")
        )
    if errors:
        raise ValidationError(errors)
