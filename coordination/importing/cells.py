"""Converting cells by their columns' widgets, each distinct cell once where it can be.

A 10,000-row file names the same few dozen units, kinds, statuses and years on every row:
a column whose widget gives the same value for the same cell on every row
(`CellWidget.repeats_values`) converts each distinct cell once and reuses the value, with
the notes its conversion gave (a legacy encoding converted). A cell that fails is converted
again on every row it appears in, so that each row gets its own message and each unresolved
name its count.
"""

from coordination.resources import Column
from coordination.widgets import PersonWidget

#: Distinct cells remembered per column: a province's file names its 4,000 units and 5,000
#: agreements; a column of dates holds a few thousand.
MEMO_CELLS = 16384


class ColumnCells:
    """Cleans the cells of one column of one import (`Reading.parse_rows`)."""

    def __init__(self, column: Column, lookups, legacy=None):
        self.widget, self.lookups, self.legacy = column.widget, lookups, legacy
        self.memo = {} if column.widget.repeats_values else None
        self.revision = lookups.revision

    def clean(self, raw, row_values: dict, notes: list):
        """The cell's value (or `CellError`), as `widget.clean()` gives it."""
        memo = self.memo
        if memo is None:
            return self.widget.clean(
                raw, lookups=self.lookups, row_values=row_values, notes=notes, legacy=self.legacy
            )
        if self.revision != self.lookups.revision:
            # A table was read again, whole: names may find other records now.
            memo.clear()
            self.revision = self.lookups.revision
        key = (type(raw), raw)
        try:
            found = memo.get(key)
        except TypeError:  # not a value a reader gives: converted, never remembered
            found, key = None, None
        if found is None:
            own_notes = []
            value = self.widget.clean(
                raw,
                lookups=self.lookups,
                row_values=row_values,
                notes=own_notes,
                legacy=self.legacy,
            )
            found = (value, tuple(own_notes))
            if (
                key is not None
                and len(memo) < MEMO_CELLS
                and self.revision == self.lookups.revision
            ):
                memo[key] = found
        value, own_notes = found
        for note in own_notes:
            if note not in notes:
                notes.append(note)
        return value


def resolve_order(column: Column) -> int:
    """References are resolved after the columns that narrow them (a person by the unit)."""
    widget = column.widget.inner if column.is_many else column.widget
    return 1 if isinstance(widget, PersonWidget) else 0
