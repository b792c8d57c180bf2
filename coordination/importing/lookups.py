"""The name tables an import resolves references with, loaded once per import."""

from dataclasses import dataclass, field

from coordination.scoping import member_unit_ids, visible_to
from coordination.suggestions import CloseNames
from coordination.widgets.base import is_empty

#: Unknown names of one import for which close matches are searched, and how many each gets.
MAX_SUGGESTED_NAMES = 200
MAX_SUGGESTIONS = 3
#: Close names searched for each unknown one: several may be names of one record.
CLOSE_NAMES = 10
#: Distinct unresolved names of one import offered for the user to pick a record.
MAX_UNRESOLVED = 50


@dataclass
class UnresolvedName:
    """A name of the file that named no single record: unknown, or shared by `candidates`.

    `candidates` are the records it matches (ambiguous) or the closest names (unknown), the
    most likely first; `count` the cells that wrote it (with the same key).
    """

    text: str
    key: str
    candidates: list = field(default_factory=list)
    ambiguous: bool = False
    count: int = 1


class ImportLookups:
    """Name → records tables, each loaded with one query the first time a widget needs it
    (the widget says how: `ReferenceWidget.build_table`).

    Units and people are reference data anyone may name. Agreements and meetings are
    records: given a user, the tables hold only those the user may see, so a row cannot
    link to (or even confirm the existence of) another unit's record.

    `unit_choices` (name key → unit id) are the units the user picked, in the admin's
    preview, for names the tables did not resolve: they stand for those names in this import.
    """

    def __init__(self, user=None, *, unit_choices: dict[str, int] | None = None):
        self.user = user
        self.unit_choices = dict(unit_choices or {})
        self._tables = {}
        #: The names the file holds, by table (`expect`), and the tables read for them only.
        self._expected: dict[str, set[str]] = {}
        self._partial: set[str] = set()
        self._close = {}
        self._suggested = {}
        self._members = None
        #: Names that named no single record, by table and key, in the order first met.
        self.unresolved: dict[tuple[str, str], UnresolvedName] = {}
        #: Counts the tables read again whole: what a cell came to may differ after.
        self.revision = 0

    def expect(self, widget, texts) -> None:
        """The names the file's cells give `widget`'s table, before any is resolved: a
        table that can be read for given names (`ReferenceWidget.named_records`) then holds
        the records the file names, whatever the size of the table (issue 17)."""
        self._expected.setdefault(widget.table, set()).update(texts)

    def expect_column(self, column_widget, rows, col: int, legacy=None) -> None:
        """`expect` the names of column `col` of `rows` (section rows too: a name more is
        only a record more read), if its widget's table can be read for given names."""
        widget = getattr(column_widget, "inner", column_widget)
        if getattr(widget, "name_field", None) is None:
            return
        names = set()
        for row in rows:
            raw = row[col] if col < len(row) else None
            if not is_empty(raw):
                names.update(column_widget.named_in(raw, legacy))
        self.expect(widget, names)

    def table(self, widget) -> dict:
        if widget.table not in self._tables:
            expected = self._expected.get(widget.table)
            records = None if expected is None else widget.named_records(self, expected)
            self._tables[widget.table] = widget.build_table(self, records)
            if records is not None:
                self._partial.add(widget.table)
        return self._tables[widget.table]

    def full_table(self, widget) -> dict:
        """`widget`'s table of every record the user may name: for a name the file's own
        table lacks (the closest names suggested for a typo), read once."""
        if widget.table in self._partial:
            self._partial.discard(widget.table)
            self._tables[widget.table] = widget.build_table(self, None)
            self.revision += 1
        return self.table(widget)

    def matches(self, widget, text: str, row_values) -> list:
        """The records `text` names (`ReferenceWidget.match`), in the table of the file's
        names and, when none there, in the whole table."""
        found = widget.match(text, self.table(widget), row_values)
        if not found and widget.table in self._partial:
            found = widget.match(text, self.full_table(widget), row_values)
        return found

    def suggestions(self, widget, key: str) -> list:
        """Distinct records whose names are close to `key`, closest and most favoured
        (`widget.preference`) first; searched once per name and for at most
        `MAX_SUGGESTED_NAMES` names per import (a file of thousands of unknown names is
        answered in seconds; the rest get no suggestion)."""
        if (widget.table, key) not in self._suggested:
            if len(self._suggested) >= MAX_SUGGESTED_NAMES:
                return []
            names = self.full_table(widget)
            if widget.table not in self._close:
                self._close[widget.table] = CloseNames(names)
            closeness = {}
            for ratio, name in self._close[widget.table](key, n=CLOSE_NAMES, scored=True):
                for record in names[name]:
                    # Best first: a record's first ratio is the closest of its names.
                    closeness.setdefault(record, ratio)
            ranked = sorted(
                closeness,
                key=lambda record: -(closeness[record] + widget.preference(record, key, self)),
            )
            self._suggested[(widget.table, key)] = ranked[:MAX_SUGGESTIONS]
        return self._suggested[(widget.table, key)]

    def note_unresolved(self, widget, text: str, key: str, candidates, *, ambiguous: bool):
        """Keep a name `widget` could not resolve, for the user to pick its record (the first
        `MAX_UNRESOLVED` names: the others stay errors of their rows, to fix in the file)."""
        if not widget.pickable:
            return
        found = self.unresolved.get((widget.table, key))
        if found is not None:
            found.count += 1
        elif len(self.unresolved) < MAX_UNRESOLVED:
            self.unresolved[(widget.table, key)] = UnresolvedName(
                text=text, key=key, candidates=list(candidates), ambiguous=ambiguous
            )

    def unresolved_names(self, table: str, *, resolved=()) -> list[UnresolvedName]:
        """The names of `table` left unresolved, but those in `resolved` (names of records
        of the file itself, found once every row was read)."""
        return [
            name
            for (name_table, key), name in self.unresolved.items()
            if name_table == table and key not in resolved
        ]

    def member_unit_ids(self) -> set[int]:
        """The units the importing user works for (none without a user)."""
        if self._members is None:
            self._members = member_unit_ids(self.user) if self.user is not None else set()
        return self._members

    def visible(self, queryset):
        return queryset if self.user is None else visible_to(queryset, self.user)
