"""Checks across rows: versions (no silent overwrite), unique rules, and unit scope."""

from django.db import connection, models
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from coordination.constraints import FieldUniqueConstraint, q_truth
from coordination.db_functions import UnicodeLower
from coordination.history import has_history, with_last_change
from coordination.importing.keys import filter_by_keys
from coordination.importing.report import ERROR, UNCHANGED, UPDATED, ParsedRow, Problem

#: The column holding the version of each record in an exported file.
VERSION = "updated_at"
LOCK_BATCH = 10000
#: Rows refused for a newer change say who made it; beyond these, only when.
MAX_DESCRIBED = 1000


class Checks:
    """Versions, uniqueness and scope, checked across all rows (`Importer`)."""

    def check_versions(self, rows: list[ParsedRow]):
        """A row would overwrite changes made after its file was exported: refuse it.

        Only rows that change something are compared: a row the user left as exported
        writes nothing, however old its version. A row without a version (a list kept by
        hand, or a cell emptied on purpose) updates the record as it is now.
        """
        stale = [
            (row, row.values[VERSION], row.instance.updated_at)
            for row in rows
            if not row.outcome.problems
            and row.outcome.status == UPDATED
            and row.values.get(VERSION) is not None
            and row.values[VERSION] != row.instance.updated_at
        ]
        self.refuse_changed(stale, during_import=False)

    def lock_updated(self, rows: list[ParsedRow]):
        """Lock the records about to be updated and refuse rows whose record changed meanwhile.

        The rows were compared with the records as read at the start of this confirmation;
        another save may have committed since (PostgreSQL reads committed data). The lock
        holds until the import's transaction ends, so nothing changes between this check and
        the write. On SQLite the transaction already holds the database's write lock.
        """
        updating = {row.instance.pk: row for row in rows if row.outcome.status == UPDATED}
        current = {}
        pks = list(updating)
        for start in range(0, len(pks), LOCK_BATCH):
            current.update(
                self.model._base_manager.select_for_update()
                .filter(pk__in=pks[start : start + LOCK_BATCH])
                .values_list("pk", "updated_at")
            )
        stale = [
            (row, row.instance.updated_at, current.get(pk))
            for pk, row in updating.items()
            if current.get(pk) != row.instance.updated_at
        ]
        self.refuse_changed(stale, during_import=True)

    def refuse_changed(self, stale: list[tuple], *, during_import: bool):
        """Refuse each (row, version it was based on, version now) with who changed it, when.

        The time is the record's version now; the person is the author of its last history
        entry when that entry is newer than the row's version (a save that changed no field
        writes no entry), otherwise "somebody".
        """
        if not stale:
            return
        changed_by = {}
        if has_history(self.model):
            described = with_last_change(
                self.model._base_manager.filter(
                    pk__in=[row.instance.pk for row, _since, _now in stale][:MAX_DESCRIBED]
                )
            ).values_list("pk", "last_changed_by", "last_changed_by_name", "last_changed_at")
            changed_by = {
                # People by their name, as the change form's conflict message names them.
                pk: ((name or "").strip() or username, moment)
                for pk, username, name, moment in described
            }
        column = self.column_for(VERSION)
        header = str(column.column_name) if column is not None else ""
        for row, since, now in stale:
            if now is None:
                message = _(
                    "The record was deleted while this import ran; nothing was written. "
                    "Import the file again."
                )
                row.outcome.problems.append(Problem(message, row.outcome.row, header))
                row.outcome.status = ERROR
                continue
            who, entry_date = changed_by.get(row.instance.pk, (None, None))
            if entry_date is None or since is None or entry_date <= since:
                who = None
            details = {
                "who": who or _("somebody"),
                "when": formats.date_format(timezone.localtime(now), "SHORT_DATETIME_FORMAT"),
                "column": header,
            }
            if during_import:
                message = _(
                    "The record was changed by %(who)s at %(when)s while this import ran; "
                    "nothing was written. Import the file again."
                )
            else:
                message = _(
                    "The record was changed after this file was exported, by %(who)s at "
                    "%(when)s; importing this row would overwrite that change. Export the "
                    "records again and make your changes in the new file, or empty the "
                    "“%(column)s” cell of this row to overwrite them on purpose."
                )
            row.outcome.problems.append(Problem(message % details, row.outcome.row, header))
            row.outcome.status = ERROR

    def check_unique(self, rows: list[ParsedRow]):
        """The model's unique constraints, checked for the whole file with one query each."""
        valid = [row for row in rows if not row.outcome.problems]
        for constraint in unique_constraints(self.model):
            parts = unique_parts(constraint)
            keyed = {}
            for row in valid:
                if constraint.condition is not None and not q_allows(constraint.condition, row):
                    continue
                key = unique_key(parts, row.instance)
                if key is None:
                    continue
                other = keyed.get(key)
                if other is not None and (
                    row.instance.pk is None or other.instance.pk != row.instance.pk
                ):
                    self.unique_problem(row, constraint, other.outcome.row)
                    continue
                keyed[key] = row
            if not keyed:
                continue
            # The file's keys themselves, a few queries (`importing.keys`): the records that
            # share a first component with some row may be most of the table.
            expressions = [expression for _name, expression in parts]
            prepare = [
                unique_value_preparer(self.model, name, expression) for name, expression in parts
            ]
            sent = [tuple(p(value) for p, value in zip(prepare, key, strict=True)) for key in keyed]
            updating = {row.instance.pk for row in valid if row.instance.pk}
            for queryset in filter_by_keys(self.model.objects.all(), expressions, sent):
                for pk, *key in queryset.annotate(
                    **{f"_u{i}": expression for i, expression in enumerate(expressions)}
                ).values_list("pk", *[f"_u{i}" for i in range(len(expressions))]):
                    row = keyed.get(tuple(key))
                    if row is not None and row.instance.pk != pk and pk not in updating:
                        self.unique_problem(row, constraint, None)

    def unique_problem(self, row, constraint, other_row):
        message = str(constraint.get_violation_error_message())
        if other_row is not None:
            message = f"{message} " + _("(also in row %(row)d)") % {"row": other_row}
        row.outcome.problems.append(
            Problem(message, row.outcome.row, self.header_for(constraint.error_field or ""))
        )
        row.outcome.status = ERROR

    def check_scope(self, rows: list[ParsedRow], current_many):
        """Unit staff may only import rows of their own units, and only change their own."""
        if self.allowed is None:
            return
        for row in rows:
            # An unchanged row writes nothing: re-importing one's own export must pass even
            # where it shows records the user may read but not change (coordinated tasks).
            if row.outcome.problems or row.outcome.status == UNCHANGED:
                continue
            new_units = self.scope_units(row, current_many, new=True)
            old_units = self.scope_units(row, current_many, new=False) if row.instance.pk else None
            if not (new_units & self.allowed) or (
                old_units is not None and not old_units & self.allowed
            ):
                row.outcome.problems.append(
                    Problem(
                        _("You may only import records of your own units."),
                        row.outcome.row,
                        self.scope_header(),
                    )
                )

    def scope_header(self) -> str:
        """The column that decides a row's units ("self": a unit's own name)."""
        first = self.scope_attributes[0]
        if first == "self":
            first = self.resource_class._meta.import_id_fields[-1]
        return self.header_for(first)

    def scope_units(self, row: ParsedRow, current_many, *, new: bool) -> set[int]:
        """The units a row's record belongs to, after the import (`new`) or before it."""
        instance, units = row.instance, set()
        for attribute in self.scope_attributes:
            if attribute == "self":
                if instance.pk:
                    units.add(instance.pk)
                continue
            if self.is_many(attribute):
                if new and attribute in row.values:
                    units |= {unit.pk for unit in row.values[attribute]}
                else:
                    units |= current_many.get((instance.pk, attribute), set())
                continue
            attname = self.model._meta.get_field(attribute).attname
            unit_id = getattr(instance, attname) if new else row.before.get(attname)
            if unit_id:
                units.add(unit_id)
        return units


def unique_constraints(model) -> list[models.UniqueConstraint]:
    """The model's unique constraints, with its `unique=True` fields (one-to-one links) as such."""
    constraints = [c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    for model_field in model._meta.concrete_fields:
        if model_field.unique and not model_field.primary_key:
            message = model_field.error_messages["unique"] % {
                "model_name": capfirst(model._meta.verbose_name),
                "field_label": capfirst(model_field.verbose_name),
            }
            constraints.append(
                FieldUniqueConstraint(
                    fields=[model_field.name],
                    name=f"{model._meta.db_table}_{model_field.name}_unique",
                    error_field=model_field.name,
                    violation_error_message=message,
                )
            )
    return constraints


def unique_parts(constraint) -> list[tuple[str, models.Expression]]:
    """(attribute, SQL expression) for each component of a unique constraint."""
    parts = []
    for name in constraint.fields:
        parts.append((name, models.F(name)))
    for expression in constraint.expressions:
        source = (
            expression.source_expressions[0] if isinstance(expression, UnicodeLower) else expression
        )
        parts.append((source.name, expression))
    return parts


def unique_key(parts, instance):
    key = []
    for name, expression in parts:
        model_field = instance._meta.get_field(name)
        value = getattr(instance, model_field.attname)
        if value is None:
            return None
        if isinstance(expression, UnicodeLower):
            value = value.lower()
        key.append(value)
    return tuple(key)


def unique_value_preparer(model, name, expression):
    """How a component of a unique key is sent in a query: as its column stores it."""
    if isinstance(expression, UnicodeLower):
        return lambda value: value
    model_field = model._meta.get_field(name)
    if model_field.is_relation:
        model_field = model_field.target_field
    return lambda value: model_field.get_db_prep_value(value, connection)


def q_allows(condition, row) -> bool:
    return q_truth(condition, row.instance) is not False
