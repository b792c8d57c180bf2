"""Read queries shared by the admin, the views and the commands, with the joins they need."""

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from coordination import registry
from coordination.history import m2m_fields
from coordination.models.base import SEARCH_TEXT
from coordination.scoping import visible_to
from coordination.text import person_name


def record_filterset(kind: str, data, *, request, today=None):
    """The FilterSet of `kind` bound to `data`, over the records the request's user may see
    (every record without a request: the command line).

    The /records/ pages, their exports, the reports and the command line's export read lists
    through here, so that a parameter means the same thing everywhere and no page shows
    another unit's records.
    """
    record_kind = registry.get(kind)
    queryset = record_kind.records()
    if request is not None:
        queryset = visible_to(queryset, request.user)
    return record_kind.filterset(data, queryset, request=request, today=today)


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
    # The fields each entry keeps (derived ones, such as search_text, are not kept).
    tracked = {model_field.name for model_field in record.history.model.tracked_fields}
    fields = [
        model_field
        for model_field in type(record)._meta.concrete_fields
        if model_field.name in tracked
        and model_field.name not in ("id", "created_at", "updated_at", SEARCH_TEXT)
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
        # No user: written by a command or a migration, not by a person.
        who = person_name(row.history_user) or _("System")
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


#: How many related records a detail page lists in each table (the newest); the table's
#: heading counts them all and links to the list of them all.
RELATED_ROWS = 50


@dataclass(frozen=True)
class RelatedSection:
    """One table of a detail page's related records, as the page shows it."""

    label: str
    count: int
    headers: list
    rows: list
    #: The /records/ list of them all, when there are more than the table shows.
    list_url: str | None


def related_sections(record, kind, links) -> list[RelatedSection]:
    """The related tables of `kind` for `record`, limited to what `links.user` may read:
    two queries per table (the count and the newest rows), one per model linked in them."""
    user = links.user
    sections = []
    for table in kind.related:
        listed = registry.get(table.kind) if table.kind else None
        if listed is not None and not user.has_perm(listed.permission("view")):
            continue
        columns = table.columns or listed.summary
        queryset = table.rows(record)
        # The records the cells link to come with the rows: no query per row.
        joined = [column.link for column in columns if column.link]
        if joined:
            queryset = queryset.select_related(*joined)
        scoped = registry.for_model(queryset.model) is not None
        if scoped:
            queryset = visible_to(queryset, user)
        count = queryset.count()
        rows = list(queryset[:RELATED_ROWS]) if count else []
        if scoped:
            links.grant(rows)
        links.prime(
            linked
            for column in columns
            for row in rows
            if (linked := column.linked(row)) is not None
        )
        list_url = None
        if count and listed is not None and table.list_params is not None:
            list_url = f"{listed.list_url()}?{urlencode(table.list_params(record))}"
        sections.append(
            RelatedSection(
                label=str(table.label),
                count=count,
                headers=[column.label for column in columns],
                rows=[[column.cell(row, links) for column in columns] for row in rows],
                list_url=list_url,
            )
        )
    return sections
