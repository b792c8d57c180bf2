"""The name tables an import resolves references with, loaded once per import."""

from coordination.scoping import member_unit_ids, visible_to
from coordination.suggestions import CloseNames

#: Unknown names of one import for which close matches are searched, and how many each gets.
MAX_SUGGESTED_NAMES = 200
MAX_SUGGESTIONS = 3
#: Close names searched for each unknown one: several may be names of one record.
CLOSE_NAMES = 10


class ImportLookups:
    """Name → records tables, each loaded with one query the first time a widget needs it
    (the widget says how: `ReferenceWidget.build_table`).

    Units and people are reference data anyone may name. Agreements and meetings are
    records: given a user, the tables hold only those the user may see, so a row cannot
    link to (or even confirm the existence of) another unit's record.
    """

    def __init__(self, user=None):
        self.user = user
        self._tables = {}
        self._close = {}
        self._suggested = {}
        self._members = None

    def table(self, widget) -> dict:
        if widget.table not in self._tables:
            self._tables[widget.table] = widget.build_table(self)
        return self._tables[widget.table]

    def suggestions(self, widget, key: str) -> list:
        """Distinct records whose names are close to `key`, closest and most favoured
        (`widget.preference`) first; searched once per name and for at most
        `MAX_SUGGESTED_NAMES` names per import (a file of thousands of unknown names is
        answered in seconds; the rest get no suggestion)."""
        if (widget.table, key) not in self._suggested:
            if len(self._suggested) >= MAX_SUGGESTED_NAMES:
                return []
            names = self.table(widget)
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

    def member_unit_ids(self) -> set[int]:
        """The units the importing user works for (none without a user)."""
        if self._members is None:
            self._members = member_unit_ids(self.user) if self.user is not None else set()
        return self._members

    def visible(self, queryset):
        return queryset if self.user is None else visible_to(queryset, self.user)
