"""Next year's programme drafted from this year's: the draft (read only) and its creation.

A district office signs next year's programme at the review meeting: this year's recurring
tasks again, the open ones carried, the meeting's conclusions turned into tasks. The rules:

- A recurring task of the year is repeated for the next year, whatever its status (except
  cancelled): dates moved a year (29 February → 28 February), not started, no progress, no
  result, linked through `repeats`. It is never carried as well: next year's copy starts afresh.
- Every other outstanding task is carried: the same work, status and progress, dates moved a
  year, linked through `carried_over_from`. The source becomes "carried over to next year"
  (`TaskStatus.CARRIED_OVER`) and keeps its progress and result (what was done this year stays
  as it was): it is no longer outstanding this year, so the year's report counts it in its
  own column and the outstanding table does not count it twice. A task someone marked carried
  over by hand, not yet in next year's programme, is carried too.
- Each conclusion (a follow-up item of kind conclusion) of the chosen meeting that is not
  resolved or closed becomes a task: its content, its responsible unit as lead, its
  co-responsible units as coordinating units, due at the end of the next year, `meeting` the
  meeting; the conclusion then names it (`FollowUp.task`, its history saying so) and stays
  open until it is resolved.
- Nothing is created twice: a task already repeated or carried, a conclusion that already
  names its task, or whose content a task of the next year already has (the import's natural
  key), is skipped, and the draft says why.
- The next year must fall within the agreement's years; past its end year, the tasks go to the
  one agreement superseding it that covers the next year, or the draft is refused.
- Unit staff draft only the tasks and conclusions their units lead, and only for an agreement
  one of their units leads; users managing every unit draft all.
"""

import datetime
import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coordination import scoping
from coordination.choices import FollowUpKind, FollowUpStatus, PartyRole, TaskStatus
from coordination.history import CHANGED, CREATED, record_history
from coordination.models import Agreement, FollowUp, Meeting, Task
from coordination.models.base import YEAR_MAX

REPEATED, CARRIED, CONCLUSION = "repeated", "carried", "conclusion"
GROUPS = (REPEATED, CARRIED, CONCLUSION)
GROUP_LABELS = {
    REPEATED: gettext_lazy("Recurring tasks repeated"),
    CARRIED: gettext_lazy("Open tasks carried over"),
    CONCLUSION: gettext_lazy("Conclusions of the meeting turned into tasks"),
}


def shift_year(day: datetime.date | None) -> datetime.date | None:
    """The same day a year later; 29 February becomes 28 February."""
    if day is None:
        return None
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _content_key(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class Planned:
    """A task the draft would create, from its source (a task or a conclusion)."""

    group: str
    source: Task | FollowUp
    task: Task
    coordinating_unit_ids: list[int] = field(default_factory=list)


@dataclass
class Skipped:
    """A source the draft leaves alone, and why."""

    group: str
    source: Task | FollowUp
    reason: str
    existing: Task | None = None


@dataclass
class Draft:
    """What `create_next_year` would write: nothing is written while drafting."""

    agreement: Agreement
    target: Agreement
    year: int
    meeting: Meeting | None
    planned: list[Planned]
    skipped: list[Skipped]

    @property
    def next_year(self) -> int:
        return self.year + 1

    @property
    def reason(self) -> str:
        """The change reason of the history entries: the action, named."""
        return _("Next year's programme %(next)s from %(year)s") % {
            "next": self.next_year,
            "year": self.year,
        }

    @property
    def fingerprint(self) -> str:
        """Names exactly what would be created: the preview's and the confirmation's match."""
        keys = sorted(
            f"{item.group}:{type(item.source).__name__}:{item.source.pk}:{item.task.content}"
            for item in self.planned
        )
        text = f"{self.target.pk}:{self.next_year}:" + "\n".join(keys)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def group(self, name: str) -> list[Planned]:
        return [item for item in self.planned if item.group == name]

    def skipped_in(self, name: str) -> list[Skipped]:
        return [item for item in self.skipped if item.group == name]

    def counts(self) -> dict[str, int]:
        return {name: len(self.group(name)) for name in GROUPS}


@dataclass(frozen=True)
class Created:
    """What `create_next_year` wrote: the tasks by group, in the target agreement."""

    target: Agreement
    year: int
    counts: dict[str, int]
    pks: list[int]

    @property
    def total(self) -> int:
        return len(self.pks)


def may_draft(user, agreement: Agreement) -> bool:
    """Users who may add tasks, and whose units lead the agreement (or who manage all)."""
    if user is None:
        return True
    if not user.has_perm("coordination.add_task"):
        return False
    allowed = scoping.allowed_unit_ids(user)
    if allowed is None:
        return True
    leads = agreement.party_links.filter(role=PartyRole.LEAD).values_list("unit_id", flat=True)
    return bool(allowed & set(leads))


def meetings_of(agreement: Agreement):
    """The meetings whose conclusions may be turned into the agreement's tasks."""
    return agreement.meetings.order_by("-held_on", "pk")


def default_year(agreement: Agreement) -> int | None:
    """The latest year the agreement has tasks for."""
    return agreement.tasks.order_by("-year").values_list("year", flat=True).first()


def target_agreement(agreement: Agreement, next_year: int) -> Agreement:
    """The agreement next year's tasks belong to: this one while in force, else its successor."""
    if next_year > YEAR_MAX:
        raise ValidationError(
            _("The year %(next)s is beyond the years the register holds.") % {"next": next_year}
        )
    if agreement.start_year <= next_year <= agreement.end_year:
        return agreement
    successors = list(
        Agreement.objects.filter(supersedes=agreement).in_year(next_year).order_by("pk")
    )
    if len(successors) == 1:
        return successors[0]
    if successors:
        raise ValidationError(
            _("Several agreements supersede %(number)s in %(next)s (%(numbers)s): keep one.")
            % {
                "number": agreement.number,
                "next": next_year,
                "numbers": ", ".join(s.number for s in successors),
            }
        )
    raise ValidationError(
        _(
            "Agreement %(number)s is in force until %(end)s: the programme for %(next)s needs "
            "the agreement that supersedes it, covering %(next)s. Add it (its field "
            "“supersedes” naming %(number)s), then draft again."
        )
        % {"number": agreement.number, "end": agreement.end_year, "next": next_year}
    )


def draft_next_year(
    agreement: Agreement, year: int, *, meeting: Meeting | None = None, user=None, lock=False
) -> Draft:
    """What next year's programme would hold, from `agreement`'s tasks of `year` and the
    conclusions of `meeting`; writes nothing. `user` limits it to their units' records."""
    if user is not None and not may_draft(user, agreement):
        raise PermissionDenied
    target = target_agreement(agreement, year + 1)
    if meeting is not None and not meeting.agreements.filter(pk=agreement.pk).exists():
        raise ValidationError(
            {
                "meeting": _("The meeting does not review agreement %(number)s.")
                % {"number": agreement.number}
            }
        )
    allowed = scoping.allowed_unit_ids(user) if user is not None else None

    existing = {}
    for task in Task.objects.filter(agreement=target, year=year + 1).order_by("pk"):
        existing.setdefault(_content_key(task.content), task)
    sources = Task.objects.filter(agreement=agreement, year=year).select_related(
        "lead_unit", "repeated_by", "carried_over_to"
    )
    if allowed is not None:
        sources = sources.filter(lead_unit__in=allowed)
    if lock:
        sources = sources.select_for_update(of=("self",))
    sources = list(sources.order_by("due_date", "pk"))
    links = Task.coordinating_units.through.objects.filter(task__in=[t.pk for t in sources])
    coordinating: dict[int, list[int]] = {}
    for task_id, unit_id in links.order_by("unit_id").values_list("task_id", "unit_id"):
        coordinating.setdefault(task_id, []).append(unit_id)

    planned: list[Planned] = []
    skipped: list[Skipped] = []

    def plan(group, source, task, units):
        key = _content_key(task.content)
        if key in existing:
            skipped.append(
                Skipped(
                    group,
                    source,
                    _("a task of %(next)s already has this content") % {"next": year + 1},
                    existing[key],
                )
            )
            return
        existing[key] = task
        planned.append(Planned(group, source, task, units))

    for source in sources:
        if source.recurring:
            group = REPEATED
            done = getattr(source, "repeated_by", None)
            if source.status == TaskStatus.CANCELLED:
                skipped.append(Skipped(group, source, _("cancelled this year")))
                continue
        elif source.is_outstanding or source.status == TaskStatus.CARRIED_OVER:
            group = CARRIED
            done = getattr(source, "carried_over_to", None)
        else:
            continue
        if done is not None:
            skipped.append(
                Skipped(group, source, _("already in %(next)s") % {"next": done.year}, done)
            )
            continue
        task = Task(
            agreement=target,
            year=year + 1,
            content=source.content,
            lead_unit=source.lead_unit,
            assignee_id=source.assignee_id,
            meeting_id=source.meeting_id,
            start_date=shift_year(source.start_date),
            due_date=shift_year(source.due_date),
            recurring=source.recurring,
        )
        if group == REPEATED:
            task.repeats = source
        else:
            task.carried_over_from = source
            task.status, task.progress = source.status, source.progress
            if source.status == TaskStatus.CARRIED_OVER:  # marked by hand, not yet carried
                task.status = TaskStatus.IN_PROGRESS if source.progress else TaskStatus.NOT_STARTED
        plan(group, source, task, coordinating.get(source.pk, []))

    if meeting is not None:
        conclusions = (
            FollowUp.objects.filter(
                Q(agreement=agreement) | Q(agreement__isnull=True),
                meeting=meeting,
                kind=FollowUpKind.CONCLUSION,
            )
            .select_related("responsible_unit", "task")
            .prefetch_related("co_responsible_units")
        )
        if allowed is not None:
            conclusions = conclusions.filter(responsible_unit__in=allowed)
        if lock:
            conclusions = conclusions.select_for_update(of=("self",))
        for item in conclusions.order_by("pk"):
            if item.status in (FollowUpStatus.RESOLVED, FollowUpStatus.CLOSED):
                skipped.append(Skipped(CONCLUSION, item, _("already resolved or closed")))
                continue
            if item.task is not None:
                skipped.append(
                    Skipped(
                        CONCLUSION,
                        item,
                        _("already carried out by a task of %(year)s") % {"year": item.task.year},
                        item.task,
                    )
                )
                continue
            task = Task(
                agreement=target,
                year=year + 1,
                content=item.content,
                lead_unit=item.responsible_unit,
                meeting=meeting,
                due_date=datetime.date(year + 1, 12, 31),
            )
            units = sorted(u.pk for u in item.co_responsible_units.all())
            plan(CONCLUSION, item, task, [u for u in units if u != item.responsible_unit_id])
    return Draft(agreement, target, year, meeting, planned, skipped)


def create_next_year(draft: Draft, user=None) -> Created:
    """Write `draft` in one transaction, all or nothing, with history naming the action.

    The draft is computed again under lock: if anything changed since it was shown, nothing
    is written (ValidationError), so what is created is exactly what was previewed."""
    try:
        with transaction.atomic():
            # One run at a time per target agreement: a second run waits, then finds the
            # first one's tasks and creates nothing.
            Agreement.objects.select_for_update().filter(pk=draft.target.pk).exists()
            fresh = draft_next_year(
                draft.agreement, draft.year, meeting=draft.meeting, user=user, lock=True
            )
            if fresh.fingerprint != draft.fingerprint:
                raise ValidationError(
                    _("The records changed since the preview: nothing was created. Review again.")
                )
            tasks = Task.objects.bulk_create([item.task for item in fresh.planned])
            through = Task.coordinating_units.through
            through.objects.bulk_create(
                through(task_id=task.pk, unit_id=unit_id)
                for item, task in zip(fresh.planned, tasks, strict=True)
                for unit_id in item.coordinating_unit_ids
            )
            pks = [task.pk for task in tasks]
            record_history(Task, pks, history_type=CREATED, user=user, reason=fresh.reason)
            # The carried sources are no longer outstanding this year: their successors are.
            carried = [
                item.source.pk
                for item in fresh.planned
                if item.group == CARRIED and item.source.status != TaskStatus.CARRIED_OVER
            ]
            Task.objects.filter(pk__in=carried).update(
                status=TaskStatus.CARRIED_OVER, updated_at=timezone.now()
            )
            record_history(Task, carried, history_type=CHANGED, user=user, reason=fresh.reason)
            # Each conclusion names the task that carries it out.
            now = timezone.now()
            conclusions = []
            for item, task in zip(fresh.planned, tasks, strict=True):
                if item.group == CONCLUSION:
                    item.source.task, item.source.updated_at = task, now
                    conclusions.append(item.source)
            FollowUp.objects.bulk_update(conclusions, ["task", "updated_at"], batch_size=1000)
            record_history(
                FollowUp,
                [item.pk for item in conclusions],
                history_type=CHANGED,
                user=user,
                reason=fresh.reason,
            )
    except IntegrityError:
        # Another run linked the same sources meanwhile.
        raise ValidationError(
            _("The records changed since the preview: nothing was created. Review again.")
        ) from None
    return Created(target=fresh.target, year=fresh.next_year, counts=fresh.counts(), pks=pks)
