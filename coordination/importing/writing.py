"""Writing an import: bulk inserts and updates, related sets, history and the admin log."""

import functools
import zlib
from collections import defaultdict

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination.bulk import insert_records
from coordination.history import CHANGED, CREATED, record_history
from coordination.importing.report import NEW, UPDATED, ParsedRow
from coordination.widgets import (
    RecordIdWidget,
)

#: First key of the advisory locks taken by imports ("IMPO").
IMPORT_LOCK_NAMESPACE = 0x494D504F


class Writing:
    """Reading related sets and writing the rows in bulk (`Importer`)."""

    # -- related sets -----------------------------------------------------------------------

    def current_many(self, rows, many_columns) -> dict:
        """Current pks of each many-valued column for the existing records, one query each."""
        pks = {row.instance.pk for row in rows if row.instance is not None}
        current = defaultdict(set)
        scoped_many = [
            self.column_for(name)
            for name in self.scope_attributes
            if self.column_for(name) is not None and self.column_for(name).is_many
        ]
        for column in {*many_columns, *scoped_many}:
            for owner, target in self.many_pairs(column.attribute, pks):
                current[(owner, column.attribute)].add(target)
        return current

    def many_pairs(self, attribute, pks):
        if not pks:
            return []
        link = self.column_for(attribute).link
        if link is not None:
            return link.model.objects.filter(
                **{f"{link.owner}_id__in": pks}, **link.where
            ).values_list(f"{link.owner}_id", f"{link.target}_id")
        through = self.model._meta.get_field(attribute).remote_field.through
        owner, target = m2m_columns(self.model, attribute)
        return through.objects.filter(**{f"{owner}__in": pks}).values_list(owner, target)

    def numbered_columns(self):
        """The relation columns that name a record by its number (an item carried over from)."""
        return [
            column
            for column in self.columns
            if column.attribute != "id" and isinstance(column.widget, RecordIdWidget)
        ]

    def numbered_records(self, rows) -> dict:
        """The records named by number in relation columns (an item carried over from),
        among those the user may see: attribute → {number: record}, one query each. Those
        of this same kind join `records_read`."""
        found = {}
        for column in self.numbered_columns():
            model = self.model._meta.get_field(column.attribute).related_model
            ids = {row.values.get(column.attribute) for row in rows} - {None}
            records = self.lookups.visible(model.objects.all())
            found[column.attribute] = records.in_bulk(ids) if ids else {}
            if model is self.model:
                self.records_read |= {
                    (record.pk, record.updated_at) for record in found[column.attribute].values()
                }
        return found

    def numbered_ids(self, rows, model) -> set:
        """The numbers the rows give in relation columns to records of `model`."""
        ids = set()
        for column in self.numbered_columns():
            if self.model._meta.get_field(column.attribute).related_model is model:
                ids |= {row.values.get(column.attribute) for row in rows} - {None}
        return ids

    # -- writing ----------------------------------------------------------------------------

    def write(self, rows: list[ParsedRow], present: set[str]):
        """Create and update in bulk; the caller holds the transaction."""
        new = [row.instance for row in rows if row.outcome.status == NEW]
        changed_rows = [row for row in rows if row.outcome.status == UPDATED]
        total = len(new) + len(changed_rows)
        self.tell("writing", 0, total)
        deferred = detach_unsaved_self_references(new)
        insert_records(self.model, new)
        self.tell("writing", len(new), total)
        if deferred:
            for instance, attname, target in deferred:
                setattr(instance, attname, target.pk)
            self.model.objects.bulk_update(
                [item[0] for item in deferred], {item[1] for item in deferred}, batch_size=1000
            )
        scalar_changes = set()
        for row in changed_rows:
            scalar_changes |= {name for name in row.changed if not self.is_many(name)}
        updated = [row.instance for row in changed_rows]
        if updated:
            now = timezone.now()
            for instance in updated:
                instance.updated_at = now
            fields = sorted(scalar_changes | {"updated_at"})
            self.model.objects.bulk_update(updated, fields, batch_size=1000)
        self.tell("writing", total, total)
        self.write_many(rows, present)
        # Values derived from other records (a follow-up item's thread), written in bulk,
        # for the records whose inputs the import set or changed: a file of unlinked new
        # records costs no query more, however long.
        inputs = self.model.derived_inputs
        self.model.refresh_derived(
            [o.pk for o in new if any(getattr(o, name) for name in inputs.links)]
            + [row.instance.pk for row in changed_rows if row.changed & inputs.fields]
        )
        reason = _("Import of %(file)s") % {"file": self.file_name}
        record_history(
            self.model, [o.pk for o in new], history_type=CREATED, user=self.user, reason=reason
        )
        record_history(
            self.model, [o.pk for o in updated], history_type=CHANGED, user=self.user, reason=reason
        )
        if self.user is not None:
            self.log(new, updated)

    def is_many(self, attribute) -> bool:
        return attribute in self.many_attributes

    @functools.cached_property
    def many_attributes(self) -> frozenset[str]:
        """The attributes of the columns that hold a related set (asked for every cell)."""
        return frozenset(column.attribute for column in self.columns if column.is_many)

    def write_many(self, rows, present):
        """Replace the related sets a row changed (coordinating units, parties, ...)."""
        written = [row for row in rows if row.outcome.status in (NEW, UPDATED)]
        links = defaultdict(list)
        for column in self.columns:
            if column.link is not None:
                links[column.link.model].append(column)
        for columns in links.values():
            self.write_links(written, present, columns)
        for column in self.columns:
            if not column.is_many or column.attribute not in present or column.link:
                continue
            targets = [row for row in written if column.attribute in row.changed]
            if not targets:
                continue
            through = self.model._meta.get_field(column.attribute).remote_field.through
            owner, target = m2m_columns(self.model, column.attribute)
            through.objects.filter(
                **{
                    f"{owner}__in": [
                        row.instance.pk for row in targets if row.outcome.status == UPDATED
                    ]
                }
            ).delete()
            through.objects.bulk_create(
                through(**{owner: row.instance.pk, target: obj.pk})
                for row in targets
                for obj in row.values[column.attribute]
            )

    def write_links(self, written, present, columns):
        """Columns sharing one link table (an agreement's lead units and other parties):
        rewrite each changed record's links at once, keeping those of absent columns."""
        link_model = columns[0].link.model
        owner = f"{columns[0].link.owner}_id"
        targets = [row for row in written if row.changed & {c.attribute for c in columns}]
        if not targets:
            return
        updated = [row.instance.pk for row in targets if row.outcome.status == UPDATED]
        kept = defaultdict(list)
        for link in link_model.objects.filter(**{f"{owner}__in": updated}):
            kept[getattr(link, owner)].append(link)
        link_model.objects.filter(**{f"{owner}__in": updated}).delete()
        created = []
        for row in targets:
            claimed = []
            for column in columns:
                spec = column.link
                claimed.append(spec.where)
                if column.attribute in present:
                    created += [
                        link_model(**{spec.owner: row.instance, spec.target: obj}, **spec.where)
                        for obj in row.values[column.attribute]
                    ]
            # Links no present column rewrites stay as they were.
            created += [
                link_model(
                    **{
                        field.attname: getattr(old, field.attname)
                        for field in link_model._meta.concrete_fields
                        if not field.primary_key
                    }
                )
                for old in kept[row.instance.pk]
                if not any(
                    column.attribute in present
                    and all(getattr(old, key) == value for key, value in column.link.where.items())
                    for column in columns
                )
            ]
        link_model.objects.bulk_create(created)

    def log(self, new, updated):
        message = _("Imported from a spreadsheet.")
        for objects, flag in ((new, ADDITION), (updated, CHANGE)):
            if objects:
                LogEntry.objects.log_actions(
                    self.user.pk, objects, flag, change_message=message, single_object=False
                )


def serialize_imports(model) -> None:
    """Let one import of `model` write at a time, until the caller's transaction ends.

    Two people importing the same new rows at once would each find no existing record and
    both insert it (tasks and follow-ups have no unique constraint on their natural key).
    PostgreSQL: a transaction-scoped advisory lock per model, so the second import reads the
    records only after the first has committed, and finds its rows unchanged. SQLite's
    IMMEDIATE transactions already take the database's write lock when they begin.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [IMPORT_LOCK_NAMESPACE, zlib.crc32(model._meta.label.encode()) & 0x7FFFFFFF],
        )


def m2m_columns(model, attribute) -> tuple[str, str]:
    m2m = model._meta.get_field(attribute)
    return m2m.m2m_column_name(), m2m.m2m_reverse_name()


def detach_unsaved_self_references(instances):
    """Clear links to records of the same file not yet saved; return them to set afterwards."""
    pending = {id(instance) for instance in instances}
    deferred = []
    for instance in instances:
        for model_field in instance._meta.concrete_fields:
            if not model_field.is_relation or model_field.related_model is not type(instance):
                continue
            target = model_field.get_cached_value(instance, default=None)
            if target is not None and id(target) in pending and target.pk is None:
                deferred.append((instance, model_field.attname, target))
                setattr(instance, model_field.name, None)
    return deferred
