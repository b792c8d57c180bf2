"""Read queries shared by the admin and the views, with the joins their pages need."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from coordination import registry
from coordination.choices import AgreementStatus, FollowUpStatus, TaskStatus
from coordination.history import m2m_fields
from coordination.importing import ImportLookups
from coordination.models import Agreement, FollowUp, Meeting, Task
from coordination.models.base import SEARCH_TEXT
from coordination.scoping import involving_units, visible_to
from coordination.widgets import CellError, ChoiceWidget, UnitWidget


def record_filterset(kind: str, data, *, request, today=None):
    """The FilterSet of `kind` bound to `data`, over the records the request's user may see.

    The /records/ pages, their exports and the reports read lists through here, so that a
    parameter means the same thing everywhere and no page shows another unit's records.
    """
    record_kind = registry.get(kind)
    queryset = visible_to(record_kind.records(), request.user)
    return record_kind.filterset(data, queryset, request=request, today=today)


class ExportFilterError(ValueError):
    """A filter of `export_queryset` that does not apply or names nothing."""


def export_queryset(
    kind: str,
    *,
    year: int | None = None,
    unit: str | None = None,
    status: str | None = None,
    outstanding: bool = False,
) -> QuerySet:
    """The records of `kind` matching the command line's export filters."""
    model = registry.get(kind).model
    field_names = {field.name for field in model._meta.get_fields()}
    queryset = model.objects.all()
    if year is not None:
        if model is Agreement:
            queryset = queryset.in_year(year)
        elif model is Meeting:
            queryset = queryset.filter(held_on__year=year)
        elif "year" in field_names:
            queryset = queryset.filter(year=year)
        else:
            raise ExportFilterError(_("--year does not apply to %(kind)s.") % {"kind": kind})
    if unit:
        try:
            found = UnitWidget().find(unit, ImportLookups(), {})
        except CellError as error:
            raise ExportFilterError(str(error)) from None
        queryset = involving_units(queryset, [found.pk])
    if status:
        status_field = model._meta.get_field("status") if "status" in field_names else None
        if status_field is None:
            raise ExportFilterError(_("--status does not apply to %(kind)s.") % {"kind": kind})
        choices = {Task: TaskStatus, FollowUp: FollowUpStatus, Agreement: AgreementStatus}[model]
        try:
            queryset = queryset.filter(status=ChoiceWidget(choices).clean(status))
        except CellError as error:
            raise ExportFilterError(str(error)) from None
    if outstanding:
        if not hasattr(queryset, "outstanding"):
            raise ExportFilterError(_("--outstanding applies to tasks and followups only."))
        queryset = queryset.outstanding()
    return queryset


@dataclass(frozen=True)
class HistoryEntry:
    """One change of a record: when, by whom, why, and each field from what to what."""

    date: datetime.datetime
    user: str
    action: str
    reason: str
    changes: list[tuple[str, str, str]]
    #: The record's "updated at" after this change: the version the change produced.
    version: datetime.datetime | None = None


HISTORY_ACTIONS = {
    "+": gettext_lazy("Created"),
    "~": gettext_lazy("Changed"),
    "-": gettext_lazy("Deleted"),
}


def record_history_entries(record) -> list[HistoryEntry]:
    """The record's history, newest first, with readable values (a query per related model)."""
    rows = list(
        record.history.select_related("history_user").order_by("history_date", "history_id")
    )
    fields = [
        model_field
        for model_field in type(record)._meta.concrete_fields
        if model_field.name not in ("id", "created_at", "updated_at", SEARCH_TEXT)
    ]
    # The links each entry keeps (coordinating units, parties): one query per set.
    sets = m2m_fields(type(record))
    links = {m2m_field: history_links(m2m_field, rows) for m2m_field in sets}
    raw_changes = []
    wanted: dict[type, set] = {}
    previous = None
    for row in rows:
        changes = []
        for model_field in fields:
            new = getattr(row, model_field.attname)
            old = getattr(previous, model_field.attname) if previous is not None else None
            if previous is not None and old == new:
                continue
            if previous is None and new in (None, ""):
                continue
            if model_field.is_relation:
                wanted.setdefault(model_field.related_model, set()).update(
                    value for value in (old, new) if value is not None
                )
            changes.append((model_field, old, new))
        for m2m_field in sets:
            new = links[m2m_field].get(row.history_id, frozenset())
            old = links[m2m_field].get(previous.history_id, frozenset()) if previous else None
            if old == new or (previous is None and not new):
                continue
            wanted.setdefault(m2m_field.related_model, set()).update(
                link[0] for link in (old or set()) | new
            )
            changes.append((m2m_field, old, new))
        raw_changes.append((row, changes))
        previous = row
    names = {
        related: {obj.pk: str(obj) for obj in related._base_manager.filter(pk__in=ids)}
        for related, ids in wanted.items()
    }

    def show(model_field, value) -> str:
        if model_field.many_to_many and value is not None:
            return show_links(model_field, value, names[model_field.related_model])
        if value is None or value == "":
            return "—"
        if model_field.is_relation:
            return names[model_field.related_model].get(value, f"#{value}")
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(value, datetime.date):
            return formats.date_format(value, "SHORT_DATE_FORMAT")
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        return str(value)

    entries = []
    for row, changes in raw_changes:
        user = row.history_user
        who = ""
        if user is not None:
            who = f"{user.last_name} {user.first_name}".strip() or user.get_username()
        entries.append(
            HistoryEntry(
                version=row.updated_at,
                date=row.history_date,
                user=who,
                action=str(HISTORY_ACTIONS.get(row.history_type, row.history_type)),
                reason=row.history_change_reason or "",
                changes=[
                    (str(model_field.verbose_name), show(model_field, old), show(model_field, new))
                    for model_field, old, new in changes
                ],
            )
        )
    entries.reverse()
    return entries


def history_links(m2m_field, rows) -> dict[int, frozenset]:
    """history_id → the links the entry kept: (unit id,) or (unit id, role) for parties."""
    links_model = HistoricalRecords.m2m_models[m2m_field]
    target = m2m_field.m2m_reverse_field_name()
    extra = [
        model_field.attname
        for model_field in links_model._meta.concrete_fields
        if not model_field.is_relation
        and model_field.name not in ("id", "m2m_history_id", "created_at", "updated_at")
    ]
    found: dict[int, set] = {}
    values = links_model.objects.filter(history__in=[row.history_id for row in rows])
    for history_id, *link in values.values_list("history_id", f"{target}_id", *extra):
        found.setdefault(history_id, set()).add(tuple(link))
    return {history_id: frozenset(links) for history_id, links in found.items()}


def show_links(m2m_field, links, names) -> str:
    """The linked units by name, with their role where the link has one."""
    if not links:
        return "—"
    links_model = HistoricalRecords.m2m_models[m2m_field]
    shown = []
    for target, *extra in sorted(links):
        name = names.get(target, f"#{target}")
        if extra:
            role = links_model._meta.get_field("role")
            name = f"{name} ({dict(role.flatchoices).get(extra[0], extra[0])})"
        shown.append(name)
    return ", ".join(shown)
