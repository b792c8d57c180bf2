"""What an update changes: for each updated row, each field from its value now to the file's,
as the user reads them (names of related records, labels of choices, dd/mm/yyyy dates)."""

from collections import defaultdict
from dataclasses import dataclass

from coordination.importing.report import UPDATED, ParsedRow, shown

#: Updated rows whose changes are described (the preview and the command line list them).
CHANGES_LISTED = 500


@dataclass(slots=True)
class Change:
    """One field an update changes: its column, the value now, the value after."""

    column: str
    old: str
    new: str


class Changes:
    """Describing updated rows' changes (`Importer`); a query per related model, whatever
    the number of rows."""

    def describe_changes(self, rows: list[ParsedRow], current_many: dict) -> None:
        updated = [
            row for row in rows if row.outcome.status == UPDATED and not row.outcome.problems
        ][:CHANGES_LISTED]
        if not updated:
            return
        attnames = {
            model_field.attname: model_field
            for model_field in self.model._meta.concrete_fields
            if model_field.is_relation
        }
        # The records the values point to now, which the rows' records do not hold.
        wanted = defaultdict(set)
        for row in updated:
            for name in row.changed:
                if name in attnames and row.before.get(name) is not None:
                    wanted[attnames[name].related_model].add(row.before[name])
                elif self.is_many(name):
                    target = self.many_target(name)
                    wanted[target] |= current_many.get((row.instance.pk, name), set())
        found = {model: model._base_manager.in_bulk(ids) for model, ids in wanted.items()}
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        for row in updated:
            row.outcome.changes = [
                change
                for column in self.columns
                if (change := self.change_of(row, column, fields, current_many, found))
            ]

    def change_of(self, row, column, fields, current_many, found) -> Change | None:
        widget, attribute = column.widget, column.attribute
        if self.is_many(attribute):
            if attribute not in row.changed:
                return None
            target = found.get(self.many_target(attribute), {})
            old = [target[pk] for pk in current_many.get((row.instance.pk, attribute), ())]
            old_text = shown(widget.render(tuple(sorted(old, key=widget.inner.describe))))
            new_text = shown(widget.render(tuple(row.values.get(attribute, ()))))
            return Change(str(column.column_name), old_text, new_text)
        model_field = fields.get(attribute)
        if model_field is None or model_field.attname not in row.changed:
            return None
        before = row.before.get(model_field.attname)
        after = getattr(row.instance, attribute)
        if model_field.is_relation and not hasattr(widget, "describe"):
            # A record named by its number (carried over from): the numbers.
            after = getattr(row.instance, model_field.attname)
            return Change(str(column.column_name), shown(before), shown(after))
        if model_field.is_relation:
            before = found.get(model_field.related_model, {}).get(before)
        return Change(
            str(column.column_name), shown(widget.render(before)), shown(widget.render(after))
        )

    def many_target(self, attribute: str):
        column = self.column_for(attribute)
        if column.link is not None:
            return column.link.target_model
        return self.model._meta.get_field(attribute).related_model
