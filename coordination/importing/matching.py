"""Matching rows to records (record number, else natural key) and building the records."""

import functools
from collections import defaultdict

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models.base import ModelState
from django.utils.translation import gettext as _

from coordination.constraints import violated_checks
from coordination.importing.checks import VERSION
from coordination.importing.keys import chunks, filter_by_keys, key_expression
from coordination.importing.report import PROGRESS_EVERY, UNCHANGED, UPDATED, ParsedRow, Problem
from coordination.resources import Column
from coordination.widgets import CaselessText, caseless_value

LABELLED_ROWS = 200
#: Record numbers per query when they are read again.
IDS_PER_QUERY = 10000


def blank_records(model):
    """A maker of new unsaved `model` records holding the field defaults, each a copy of one
    made with `model()`: Model.__init__ asks every field for its default, a cost paid 10,000
    times for a 10,000-row file. The models' defaults are immutable values (no JSON or list
    field is imported), so the copies share nothing that changes.

    The attributes are set one by one, in the order `model()` sets them, so that each record
    keeps CPython's compact shared-key attribute storage: `record.__dict__.update(values)`
    is no faster and makes each record twice as large (970 bytes instead of 424 for a
    follow-up item, 55 MB more for a 100,000-row file)."""
    template = model()
    values = [(name, value) for name, value in template.__dict__.items() if name != "_state"]

    def new_record():
        record = model.__new__(model)
        record._state = ModelState()
        for name, value in values:
            setattr(record, name, value)
        return record

    return new_record


class Matching:
    """Finding each row's record and applying the row to it (`Importer`)."""

    # -- matching and validating ------------------------------------------------------------

    @functools.cached_property
    def key_parts(self) -> list[tuple]:
        """(attribute, attname, how its value compares) of each part of the natural key."""
        return [
            (name, self.model._meta.get_field(name).attname, self.column_for(name).widget.key_of)
            for name in self.resource_class._meta.import_id_fields
        ]

    def natural_key(self, source, from_instance=False):
        parts = []
        for name, attname, key_of in self.key_parts:
            if from_instance:
                value = getattr(source, attname)
            else:
                value = source.get(name)
                if isinstance(value, models.Model):
                    value = value.pk
            if value is None or value == "":
                return None
            parts.append(key_of(value))
        return tuple(parts)

    def record_queries(self, rows: list[ParsedRow]):
        """(the records the user may see, the record numbers the rows give, the querysets of
        the records whose natural key is one of the rows' keys)."""
        candidates = self.lookups.visible(self.model.objects.all())
        ids = {row.values["id"] for row in rows if row.values.get("id")}
        # The rows' own keys, sent to the database (`importing.keys`): the records found
        # are those the file names, however many the table holds.
        parts = [
            key_expression(self.model._meta.get_field(name), self.column_for(name).widget)
            for name in self.resource_class._meta.import_id_fields
        ]
        keys = set()
        for row in rows:
            values = [row.values.get(name) for name in self.resource_class._meta.import_id_fields]
            if any(value is None or value == "" for value in values):
                continue
            keys.add(
                tuple(convert(value) for (_sql, convert), value in zip(parts, values, strict=True))
            )
        return candidates, ids, filter_by_keys(candidates, [sql for sql, _convert in parts], keys)

    def existing_records(self, rows: list[ParsedRow]):
        """The records the file may name, by id and by natural key (all matches of a key).

        Only records the user may see are candidates: for unit staff an import behaves
        exactly as if other units' records did not exist, so no message can tell a hidden
        record from a missing one.

        Also keeps `records_read`: the version of each record found (`read_now`).
        """
        candidates, ids, querysets = self.record_queries(rows)
        by_id = candidates.in_bulk(ids) if ids else {}
        read = {(record.pk, record.updated_at) for record in by_id.values()}
        by_key = defaultdict(list)
        for queryset in querysets:
            for record in queryset.order_by("pk"):
                read.add((record.pk, record.updated_at))
                key = self.natural_key(record, from_instance=True)
                if key is not None:
                    by_key[key].append(record)
        for matches in by_key.values():
            matches.sort(key=lambda record: record.pk)
            by_id.update({record.pk: record for record in matches})
        self.records_read = read
        return by_id, by_key

    def read_now(self, rows: list[ParsedRow]) -> set:
        """(pk, version) of the records of this kind the rows' check read, as they are now:
        those `existing_records` and `numbered_records` found. The same set as when the rows
        were checked means that no record the check depended on was written since."""
        candidates, ids, querysets = self.record_queries(rows)
        read = set()
        numbered = self.numbered_ids(rows, self.model)
        for chunk in chunks(sorted(ids | numbered), IDS_PER_QUERY):
            read |= set(candidates.filter(pk__in=chunk).values_list("pk", "updated_at"))
        for queryset in querysets:
            read |= set(queryset.values_list("pk", "updated_at"))
        return read

    def match(self, rows: list[ParsedRow]):
        by_id, by_key = self.existing_records(rows)
        seen_ids, seen_keys = {}, {}
        id_header = str(self.resource_class.fields["id"].column_name)
        for row in rows:
            if row.outcome.problems:
                continue
            record_id = row.values.get("id")
            key = self.natural_key(row.values)
            if record_id:
                row.instance = by_id.get(record_id)
                if row.instance is None:
                    row.outcome.problems.append(
                        Problem(
                            _("No record has the number %(id)s.") % {"id": record_id},
                            row.outcome.row,
                            id_header,
                            str(record_id),
                        )
                    )
                    continue
            elif key is not None and key in by_key:
                matches = by_key[key]
                if len(matches) > 1:
                    row.outcome.problems.append(
                        Problem(
                            _(
                                "%(count)d records match this row (%(key)s): add the "
                                "“%(column)s” column of an export to say which one."
                            )
                            % {
                                "count": len(matches),
                                "key": self.key_headers(),
                                "column": id_header,
                            },
                            row.outcome.row,
                        )
                    )
                    continue
                row.instance = matches[0]
            duplicate_of = seen_ids.get(row.instance.pk) if row.instance else None
            if duplicate_of is None and key is not None:
                duplicate_of = seen_keys.get(key)
            if duplicate_of is not None:
                row.outcome.problems.append(
                    Problem(
                        _("Rows %(first)d and %(second)d describe the same record (%(key)s).")
                        % {
                            "first": duplicate_of,
                            "second": row.outcome.row,
                            "key": self.key_headers(),
                        },
                        row.outcome.row,
                    )
                )
                continue
            if row.instance is not None:
                seen_ids[row.instance.pk] = row.outcome.row
            if key is not None:
                seen_keys[key] = row.outcome.row

    def key_headers(self) -> str:
        return ", ".join(
            str(self.column_for(name).column_name)
            for name in self.resource_class._meta.import_id_fields
        )

    def column_for(self, attribute: str) -> Column | None:
        return self.by_attribute.get(attribute)

    def header_for(self, attribute: str) -> str:
        column = self.column_for(attribute)
        if column is not None:
            return str(column.column_name)
        if attribute == NON_FIELD_ERRORS:
            return ""
        try:
            return str(self.model._meta.get_field(attribute).verbose_name)
        except Exception:
            return attribute

    def build(self, rows: list[ParsedRow], present: set[str]):
        """Apply each row's values to its record (new or existing) and validate it."""
        many_present = [c for c in self.columns if c.attribute in present and c.is_many]
        current_many = self.current_many(rows, many_present)
        numbered = self.numbered_records(rows)
        live = [row for row in rows if not row.outcome.problems]
        new_record = blank_records(self.model)
        for row in live:
            row.instance = row.instance or new_record()
            row.before = model_values(row.instance) if row.instance.pk else {}
            self.apply(row, current_many, numbered)
        self.resolve_pending(live)
        for row in live:
            if row.outcome.problems:
                continue
            instance = row.instance
            instance.prepare_for_save()
            if instance.pk:
                after = model_values(instance)
                row.changed |= {name for name, value in after.items() if row.before[name] != value}
                row.outcome.status = UPDATED if row.changed else UNCHANGED
        # Scope first: a row the user may not import is refused for that alone, before any
        # check (fields, version, uniqueness) whose answer could describe a record.
        self.check_scope(live, current_many)
        labelled = 0
        for checked, row in enumerate(live):
            if checked % PROGRESS_EVERY == 0:
                self.tell("checking", checked, len(live))
            if row.outcome.problems:
                continue
            self.validate(row)
            # Only the preview's first rows show a label; 100,000 of them cost 20 MB.
            if not row.outcome.problems and labelled < LABELLED_ROWS:
                row.outcome.label = str(row.instance)
                labelled += 1
        self.check_versions(live)
        self.check_unique(live)
        self.describe_changes(live, current_many)
        self.tell("checking", len(live), len(live))

    @functools.cached_property
    def not_null(self) -> dict[str, bool]:
        """The model's columns that cannot hold NULL → whether they have a default."""
        return {
            field.name: field.has_default()
            for field in self.model._meta.concrete_fields
            if not field.null and not field.primary_key
        }

    def apply(self, row: ParsedRow, current_many, numbered):
        instance = row.instance
        for attribute, value in row.values.items():
            if attribute.startswith("_") or attribute in ("id", VERSION):
                continue
            if self.is_many(attribute):
                old = current_many.get((instance.pk, attribute), set())
                if instance.pk is None or {obj.pk for obj in value} != old:
                    row.changed.add(attribute)
                continue
            if attribute in numbered and value:
                source = numbered[attribute].get(value)
                if source is None:
                    model = self.model._meta.get_field(attribute).related_model
                    row.outcome.problems.append(
                        Problem(
                            _("No %(record)s has the number %(id)s.")
                            % {"record": model._meta.verbose_name, "id": value},
                            row.outcome.row,
                            self.header_for(attribute),
                            str(value),
                        )
                    )
                    continue
                value = source
            if value is None and attribute in self.not_null:
                if self.not_null[attribute]:
                    continue  # an empty cell keeps the record's value (a new one: the default)
                row.outcome.problems.append(
                    Problem(_("Required, but empty."), row.outcome.row, self.header_for(attribute))
                )
                continue
            if isinstance(value, CaselessText):
                value = caseless_value(value, getattr(instance, attribute, None))
            setattr(instance, attribute, value)
        for attribute, message in self.resource_class.row_problems(row.values):
            row.outcome.problems.append(
                Problem(message, row.outcome.row, self.header_for(attribute))
            )

    def resolve_pending(self, rows: list[ParsedRow]):
        """Point references to records defined elsewhere in the same file at those records."""
        attribute = self.self_named_by
        if attribute is None:
            return
        by_name = {}
        for row in rows:
            name = row.values.get(attribute)
            if name and not row.outcome.problems:
                by_name.setdefault(self.self_key(name), row.instance)
        for row in rows:
            for reference, key in row.pending.items():
                target = by_name.get(key)
                if target is None:
                    row.outcome.problems.append(
                        Problem(
                            _("“%(value)s” is neither in the system nor a valid row of this file.")
                            % {"value": key},
                            row.outcome.row,
                            self.header_for(reference),
                        )
                    )
                    continue
                setattr(row.instance, reference, target)

    def validate(self, row: ParsedRow):
        instance = row.instance
        errors = {}
        for step in (
            lambda: instance.clean_fields(exclude=self.unchecked),
            instance.clean,
        ):
            try:
                step()
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        for constraint in violated_checks(instance):
            errors.setdefault(constraint.error_field or NON_FIELD_ERRORS, []).append(
                constraint.get_violation_error_message()
            )
        for attribute, messages in errors.items():
            for message in messages:
                text = (
                    " ".join(message.messages) if isinstance(message, ValidationError) else message
                )
                row.outcome.problems.append(
                    Problem(str(text), row.outcome.row, self.header_for(attribute))
                )


def model_values(instance) -> dict:
    return {
        model_field.attname: getattr(instance, model_field.attname)
        for model_field in instance._meta.concrete_fields
        # Fields no one edits (the timestamps, search_text, a follow-up item's thread) are
        # derived, never a change of their own.
        if model_field.editable
    }
