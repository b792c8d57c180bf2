"""Reminders: each unit's near-due and overdue work, and who changed it lately.

The one place that says what a unit is reminded of, for the landing page *Việc của đơn vị
tôi* (`views.my_work`) and the daily e-mail (`manage.py send_reminders`):

- **overdue**: outstanding and due before today (the models' `DeadlineRules`);
- **near due**: outstanding and due from today to `REMINDER_DAYS` days after it, both included;
- **changed by others** (the page only): records changed in the last `REMINDER_DAYS` days by
  someone other than the reader (an import, a colleague, a merger made by the system).

A unit's records are those its kind's `involving` paths reach (a task the unit leads or
coordinates, an item it answers for or shares), as the /records/ lists' `unit` parameter
reads them. A province's unit can have thousands of overdue items: each list is a count and
the `ROWS` most urgent records (the longest overdue, the soonest due, the latest changed),
with the address of the /records/ list of them all. A few queries per unit and kind, however
many records there are.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.collation import sort_key
from coordination.models import Unit
from coordination.scoping import (
    MANAGE_ALL_UNITS,
    VIEW_ALL_UNITS,
    involving_units,
    member_unit_ids,
    scoped_count,
    scoped_counts,
    scoped_first,
)
from coordination.text import person_name

#: The records each list shows; the rest are behind its link.
ROWS = 10
#: The order of the overdue and near-due lists: the longest overdue, the soonest due first.
BY_DUE_DATE = ["due_date", "pk"]


@dataclass
class RecordList:
    """Some of a unit's records of one kind: how many, the first `ROWS`, and the list of all."""

    count: int = 0
    records: list = field(default_factory=list)
    url: str = ""


@dataclass
class KindWork:
    """A unit's overdue, near-due and recently changed records of one kind."""

    kind: registry.RecordKind
    overdue: RecordList
    near_due: RecordList
    changed: RecordList | None = None

    @property
    def due_count(self) -> int:
        return self.overdue.count + self.near_due.count

    @property
    def digest_lists(self) -> list[tuple[RecordList, str, bool]]:
        """The e-mail's lists of this kind that hold something: (list, heading, overdue)."""
        lists = ((self.overdue, _("Overdue"), True), (self.near_due, _("Due soon"), False))
        return [entry for entry in lists if entry[0].count]


@dataclass
class UnitWork:
    """What one unit is reminded of, kind by kind."""

    unit: Unit
    kinds: list[KindWork]
    today: datetime.date
    until: datetime.date

    @property
    def due_count(self) -> int:
        return sum(work.due_count for work in self.kinds)

    @property
    def overdue_count(self) -> int:
        return sum(work.overdue.count for work in self.kinds)

    @property
    def near_due_count(self) -> int:
        return sum(work.near_due.count for work in self.kinds)


def reminder_days() -> int:
    return max(settings.REMINDER_DAYS, 0)


def deadline_kinds(user=None) -> list[registry.RecordKind]:
    """The kinds with deadlines (tasks, follow-up items) that `user` may read, if given."""
    return [
        kind
        for kind in registry.all_kinds()
        if hasattr(kind.model, "deadline_rules")
        and kind.has_pages
        and (user is None or user.has_perm(kind.permission("view")))
    ]


def list_url(kind, unit, **params) -> str:
    """The /records/ list of `kind` for `unit` with `params` (the lists' own parameters)."""
    return f"{kind.list_url()}?{urlencode({'unit': unit.pk, **params})}"


def unit_work(
    unit: Unit,
    *,
    kinds: list[registry.RecordKind],
    today: datetime.date | None = None,
    reader=None,
    rows: int = ROWS,
) -> UnitWork:
    """`unit`'s overdue and near-due records of `kinds`; with `reader`, also the records
    others than the reader changed lately."""
    today = today or timezone.localdate()
    until = today + datetime.timedelta(days=reminder_days())
    work = []
    for kind in kinds:
        model = kind.model
        outstanding = involving_units(model.objects.outstanding(), {unit.pk}, kind.involving)
        # Both counts in one query a path (`scoped_counts`: a big unit's ten thousand
        # overdue items are counted from its unit column's index, not read row by row).
        counts = scoped_counts(
            outstanding,
            # Counted by the deadline (never NULL in either), not by id: the unit's deadline
            # index then answers alone.
            overdue=Count("due_date", filter=Q(due_date__lt=today)),
            near_due=Count("due_date", filter=Q(due_date__gte=today, due_date__lte=until)),
        )
        records = involving_units(kind.records().outstanding(), {unit.pk}, kind.involving)
        overdue = RecordList(
            counts["overdue"],
            url=list_url(kind, unit, overdue="yes", sort="due_date"),
        )
        if overdue.count:
            overdue.records = _with_urls(
                kind, scoped_first(records.filter(due_date__lt=today), BY_DUE_DATE, rows), today
            )
        near_due = RecordList(
            counts["near_due"],
            url=list_url(
                kind,
                unit,
                outstanding="yes",
                due_after=today.isoformat(),
                due_before=until.isoformat(),
                sort="due_date",
            ),
        )
        if near_due.count:
            near_due.records = _with_urls(
                kind,
                scoped_first(
                    records.filter(due_date__gte=today, due_date__lte=until), BY_DUE_DATE, rows
                ),
                today,
            )
        changed = _changed_by_others(kind, unit, reader, today, rows) if reader else None
        work.append(KindWork(kind, overdue, near_due, changed))
    return UnitWork(unit, work, today, until)


def _with_urls(kind, records, today) -> list:
    records = list(records)
    for record in records:
        record.reminder_url = kind.detail_url(record)
        record.reminder_days_overdue = record.days_overdue(today)
    return records


def _changed_by_others(kind, unit, reader, today, rows) -> RecordList:
    """`unit`'s records of `kind` with a history entry of the last `REMINDER_DAYS` days made
    by anyone but `reader` (or by the system), the latest first."""
    url = list_url(kind, unit, sort="-updated")
    if not kind.has_history:
        return RecordList(url=url)
    since = timezone.now() - datetime.timedelta(days=reminder_days())
    # A NULL user (the system) is someone other than the reader: exclude() keeps it.
    entries = kind.model.history.model.objects.filter(history_date__gte=since).exclude(
        history_user_id=reader.pk
    )
    records = involving_units(kind.records(), {unit.pk}, kind.involving).filter(
        pk__in=entries.values("id")
    )
    result = RecordList(scoped_count(records), url=url)
    if not result.count:
        return result
    latest = entries.filter(id=OuterRef("pk")).order_by("-history_date", "-history_id")
    changes = records.annotate(
        changed_at=Subquery(latest.values("history_date")[:1]),
        changed_by_last=Subquery(latest.values("history_user__last_name")[:1]),
        changed_by_first=Subquery(latest.values("history_user__first_name")[:1]),
        changed_by_username=Subquery(latest.values("history_user__username")[:1]),
    ).order_by("-changed_at", "-pk")[:rows]
    result.records = _with_urls(kind, changes, today)
    for record in result.records:
        record.changed_by = _name(
            record.changed_by_last, record.changed_by_first, record.changed_by_username
        )
    return result


def _name(last_name, first_name, username) -> str:
    if not username:
        return ""
    return person_name(_Named(last_name or "", first_name or "", username))


@dataclass
class _Named:
    last_name: str
    first_name: str
    username: str

    def get_username(self) -> str:
        return self.username


def user_units(user) -> list[Unit]:
    """The units `user` works for (`UnitMember`), in Vietnamese order of their names."""
    units = Unit.objects.filter(pk__in=member_unit_ids(user))
    return sorted(units, key=lambda unit: sort_key(unit.full_name))


def user_work(user, *, today: datetime.date | None = None, changes: bool = True) -> list[UnitWork]:
    """What each of `user`'s units is reminded of, for the kinds `user` may read."""
    kinds = deadline_kinds(user)
    return [
        unit_work(unit, kinds=kinds, today=today, reader=user if changes else None)
        for unit in user_units(user)
    ]


def landing_url(user) -> str:
    """The page `user` lands on after logging in: administrators the admin's index, auditors
    the province's outstanding table, unit staff their units' work."""
    if not (user.is_active and user.is_staff):
        return reverse("admin:login")
    if user.is_superuser or user.has_perm(MANAGE_ALL_UNITS):
        return reverse("admin:index")
    if user.has_perm(VIEW_ALL_UNITS):
        return reverse("coordination:outstanding")
    if member_unit_ids(user):
        return reverse("coordination:my-work")
    return reverse("admin:index")
