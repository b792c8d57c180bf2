"""Unit mergers: units dissolved into a successor, their outstanding work handed over.

Only outstanding work moves: the tasks the dissolved units lead or coordinate and the
follow-up items they answer for (as the responsible unit or a co-responsible one). Each such
record goes to the default successor (the one the dissolved units name as `successor`) unless
the merger assigns it to another successor: a district's work often goes to several communes.
`services.unit_merge` is the entry point; `merger_records` and `work_fingerprint` are the
reads the admin's preview shows and guards.
"""

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from coordination.history import CHANGED, record_history
from coordination.models import FollowUp, Task, Unit, UnitAlias


@dataclass(frozen=True)
class WorkKind:
    """A kind of work a merger hands over: the unit that leads it and the units linked to it."""

    name: str
    model: type
    lead: str
    links: str


#: The kinds of outstanding work, by registry name, in the order the preview lists them.
WORK_KINDS = {
    "tasks": WorkKind("tasks", Task, "lead_unit", "coordinating_units"),
    "followups": WorkKind("followups", FollowUp, "responsible_unit", "co_responsible_units"),
}


@dataclass(frozen=True)
class MergeShare:
    """The outstanding records one successor took over."""

    successor: Unit
    tasks: int
    followups: int


@dataclass(frozen=True)
class MergeResult:
    """What a unit merger did: units dissolved, outstanding records handed to the successors.

    `coordinations_moved` counts tasks, not links: a task two merged units coordinated is one;
    `co_responsibilities_moved` counts the follow-up items they answered for jointly likewise.
    `shares` says what each successor took over (the default successor first).
    """

    units: int
    tasks_moved: int
    coordinations_moved: int
    followups_moved: int
    aliases_moved: int = 0
    co_responsibilities_moved: int = 0
    shares: tuple[MergeShare, ...] = field(default=(), compare=False)


#: A record of the dissolved units' outstanding work (kind name, pk) → the successor taking it.
Assignments = Mapping[tuple[str, int], "Unit | int"]


@transaction.atomic
def unit_merge(
    *,
    units,
    successor: Unit,
    dissolved_on: datetime.date,
    user=None,
    assignments: Assignments | None = None,
) -> MergeResult:
    """Dissolve `units` on `dissolved_on`, handing their outstanding work to the successors.

    Every outstanding record goes to `successor` (which the dissolved units then name as
    theirs) unless `assignments` gives it to another successor. Done and cancelled tasks,
    finished items, indicators, agreement parties, signatures, people and staff stay with the
    old units, so that reports on past years still show who did the work then. Their aliases
    move to `successor`: a list written the old way now means it. A ValidationError lists
    every reason the merger cannot be done, and nothing is written. The statements are one per
    successor and kind of write, however many records move.
    """
    pks = set(
        units.values_list("pk", flat=True)
        if isinstance(units, QuerySet)
        else [unit.pk for unit in units]
    )
    assigned = {
        (kind, int(pk)): getattr(target, "pk", target)
        for (kind, pk), target in (assignments or {}).items()
    }
    successor_pks = {successor.pk, *assigned.values()}
    # Locked, and read again, so that a concurrent merger or edit cannot slip in between the
    # checks and the writes (a unit merged twice, a successor dissolved meanwhile).
    locked = {
        unit.pk: unit
        for unit in Unit.objects.filter(pk__in=[*pks, *successor_pks])
        .select_for_update()
        .order_by("pk")
    }
    errors = _merge_errors(pks, locked, successor.pk, dissolved_on)
    _successor_errors(errors, pks, locked, successor_pks - {successor.pk})
    # Locked too: a record closed or reassigned meanwhile is not moved against its new state.
    work = {name: _work_of(kind, pks) for name, kind in WORK_KINDS.items()}
    _assignment_errors(errors, assigned, work)
    if errors:
        raise ValidationError(errors)

    successor = locked[successor.pk]
    now = timezone.now()
    Unit.objects.filter(pk__in=pks).update(
        is_active=False, dissolved_on=dissolved_on, successor=successor, updated_at=now
    )
    moved: dict[str, dict[int, set[int]]] = {}
    for name, kind in WORK_KINDS.items():
        led, linked = work[name]
        target_of = {pk: assigned.get((name, pk), successor.pk) for pk in led | linked}
        for target, group in _grouped(led, target_of).items():
            kind.model.objects.filter(pk__in=group).update(**{kind.lead: target}, updated_at=now)
        # After the leads moved, so that a record its successor now leads is not also linked.
        _hand_over_links(kind, pks, {pk: target_of[pk] for pk in linked}, now)
        moved[name] = _grouped(led | linked, target_of)
    aliases = UnitAlias.objects.filter(unit__in=pks).update(unit=successor, updated_at=now)

    date = formats.date_format(dissolved_on, "SHORT_DATE_FORMAT")
    order = [successor.pk, *sorted(successor_pks - {successor.pk})]
    for target in order:
        unit = locked[target]
        reason = _("Unit merger on %(date)s: handed over to %(successor)s") % {
            "date": date,
            "successor": unit.short_name or unit.full_name,
        }
        if len(reason) > 100:
            reason = f"{reason[:99]}…"
        for name, kind in WORK_KINDS.items():
            group = moved[name].get(target, ())
            record_history(kind.model, group, history_type=CHANGED, user=user, reason=reason)
    return MergeResult(
        units=len(pks),
        tasks_moved=len(work["tasks"][0]),
        coordinations_moved=len(work["tasks"][1]),
        followups_moved=len(work["followups"][0]),
        aliases_moved=aliases,
        co_responsibilities_moved=len(work["followups"][1]),
        shares=tuple(
            MergeShare(
                successor=locked[target],
                tasks=len(moved["tasks"].get(target, ())),
                followups=len(moved["followups"].get(target, ())),
            )
            for target in order
        ),
    )


def merger_records(units) -> dict[str, QuerySet]:
    """The outstanding records of each kind that merging `units` hands over, as the preview
    lists them: the lead unit joined, `merged_links` the units among `units` linked to each."""
    pks = units.values("pk") if isinstance(units, QuerySet) else [unit.pk for unit in units]
    records = {}
    for name, kind in WORK_KINDS.items():
        involved = Q(**{f"{kind.lead}__in": pks}) | Q(**{f"{kind.links}__in": pks})
        ids = kind.model.objects.outstanding().filter(involved).values("pk")
        records[name] = (
            kind.model.objects.filter(pk__in=ids)
            .select_related(kind.lead)
            .prefetch_related(
                Prefetch(
                    kind.links,
                    queryset=Unit.objects.filter(pk__in=pks).order_by("pk"),
                    to_attr="merged_links",
                )
            )
            .order_by("year", "due_date", "pk")
        )
    return records


def work_fingerprint(records: Iterable) -> str:
    """A digest of the listed records and their versions: it changes when a record is added,
    dropped or edited between a preview and its confirmation."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda record: (record._meta.model_name, record.pk)):
        version = record.updated_at.isoformat() if record.updated_at else ""
        digest.update(f"{record._meta.model_name}:{record.pk}:{version};".encode())
    return digest.hexdigest()


def _work_of(kind: WorkKind, pks: set[int]) -> tuple[set[int], set[int]]:
    """The outstanding records of `kind` that the units `pks` lead, and those they are linked
    to (one query each, the rows locked)."""
    outstanding = kind.model.objects.outstanding()
    led = set(
        outstanding.filter(**{f"{kind.lead}__in": pks})
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # A join with the link table: duplicates when two merged units share a record.
    linked = set(
        outstanding.filter(**{f"{kind.links}__in": pks})
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return led, linked


def _grouped(pks: Iterable[int], target_of: Mapping[int, int]) -> dict[int, set[int]]:
    groups: dict[int, set[int]] = defaultdict(set)
    for pk in pks:
        groups[target_of[pk]].add(pk)
    return dict(groups)


def _hand_over_links(kind: WorkKind, pks: set[int], targets: Mapping[int, int], now) -> None:
    """Replace the links the merged units `pks` hold on outstanding records (a task's
    coordinating units, an item's co-responsible units) by one to each record's successor in
    `targets`, unless that successor already leads the record or is linked to it."""
    if not targets:
        return
    m2m = kind.model._meta.get_field(kind.links)
    links = m2m.remote_field.through.objects
    owner, target = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
    leads = dict(kind.model.objects.filter(pk__in=targets).values_list("pk", f"{kind.lead}_id"))
    held = set(
        links.filter(
            **{f"{owner}__in": targets, f"{target}__in": set(targets.values())}
        ).values_list(owner, target)
    )
    links.filter(**{f"{owner}__in": targets, f"{target}__in": pks}).delete()
    links.bulk_create(
        [
            links.model(**{f"{owner}_id": pk, f"{target}_id": unit})
            for pk, unit in sorted(targets.items())
            if leads.get(pk) != unit and (pk, unit) not in held
        ],
        ignore_conflicts=True,
    )
    kind.model.objects.filter(pk__in=targets).update(updated_at=now)


def _merge_errors(pks: set[int], locked: dict, successor_pk: int, dissolved_on) -> dict:
    """Every reason the units, the default successor or the date forbid the merger."""
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
    return errors


def _successor_errors(errors: dict, pks: set[int], locked: dict, others: set[int]) -> None:
    """The successors records are assigned to, besides the default: active, not merged."""
    for pk in sorted(others, key=lambda pk: str(locked.get(pk, ""))):
        unit = locked.get(pk)
        if unit is None:
            message = _("One of the chosen successors no longer exists.")
        elif pk in pks:
            message = _("“%(unit)s” is one of the units being merged and cannot take over work.")
        elif not unit.is_active or unit.dissolved_on is not None:
            message = _(
                "“%(unit)s” cannot take over work: it is not an active unit, or it was dissolved."
            )
        else:
            continue
        errors.setdefault("successors", []).append(message % {"unit": unit})


def _assignment_errors(errors: dict, assigned: dict, work: dict) -> None:
    """Each assigned record must be outstanding work of the units being merged."""
    wrong: dict[str, list[int]] = defaultdict(list)
    for kind, pk in sorted(assigned):
        if kind not in WORK_KINDS:
            errors.setdefault("assignments", []).append(
                _("“%(kind)s” is not a kind of work a merger hands over.") % {"kind": kind}
            )
        elif pk not in work[kind][0] | work[kind][1]:
            wrong[kind].append(pk)
    for kind, pks in wrong.items():
        model = WORK_KINDS[kind].model
        found = model._base_manager.in_bulk(pks)
        label = capfirst(model._meta.verbose_name)
        for pk in pks:
            record = found.get(pk)
            if record is None:
                message = _("%(kind)s number %(pk)d does not exist.")
            else:
                message = _(
                    "%(kind)s “%(record)s” (number %(pk)d) is not outstanding work of the units "
                    "being merged."
                )
            errors.setdefault("assignments", []).append(
                message % {"kind": label, "record": record, "pk": pk}
            )
