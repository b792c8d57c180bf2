"""Cells that name other records: a unit, a person, an agreement, a meeting, or several."""

import re
from collections import defaultdict

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from coordination.db_functions import KEY_PREFIX, Fold, KeyPrefix, number_key_prefix
from coordination.models import Agreement, Meeting, Person, Unit, UnitAlias
from coordination.spreadsheets import unescape_formula
from coordination.text import clean_text, fold
from coordination.unit_names import name_table, place_key
from coordination.widgets.base import CellError, CellWidget, shorten, to_unicode
from coordination.widgets.names import agreement_key, unit_key

LIST_SEPARATORS = re.compile(r"[;\n]+")
#: The date an exported meeting's name ends with: “Hội nghị sơ kết (15/06/2024)”.
MEETING_DATE = re.compile(r"\s*\(\s*\d{1,2}/\d{1,2}/\d{4}\s*\)\s*$")
#: Folded names asked for in one query when an import reads the records its cells name.
NAMES_PER_QUERY = 2000
#: A cell naming thousands of unknown records reports the first few.
MAX_CELL_ERRORS = 5
#: Records an ambiguous name is said to match, in its message and where the user picks one.
MAX_CANDIDATES = 10
#: What favours a unit among the candidates and suggestions for a name, added to how close
#: its name is (0.6–1): the place the cell names, the uploader's own units and their
#: places. Small beside a typo's cost: they order names about as close, not a far one first.
NAMED_PLACE, OWN_UNIT, OWN_PLACE = 0.15, 0.06, 0.04


class NameTable(dict):
    """Name key → the records with that name; `records`: every record of the table, by id."""

    records: dict


class ReferenceWidget(CellWidget):
    """A related record named in the sheet, found through the import's lookup tables."""

    #: The model named, and the attribute of `ImportLookups` holding its table.
    model = None
    table = ""
    not_found = ""
    #: Whether a name that names no single record is offered for the user to pick a record
    #: (the admin's import preview).
    pickable = False

    def parse(self, value, lookups=None, row_values=None, notes=None, legacy=None, **kwargs):
        return self.find(self.named_in(value, legacy, notes)[0], lookups, row_values or {})

    def named_in(self, value, legacy=None, notes=None) -> list[str]:
        """The names a cell holding `value` gives the table, as `parse` reads them."""
        return [clean_text(to_unicode(unescape_formula(str(value)), notes, legacy))]

    def match(self, text, table, row_values) -> list:
        """The records `text` may name in `table`: one, none, or several the row's other
        values cannot tell apart."""
        matches = table.get(self.key(text), [])
        if len(matches) > 1:
            narrowed = self.narrow(matches, row_values)
            if len(narrowed) == 1:
                return narrowed
        return matches

    def find(self, text, lookups, row_values):
        """The one record named `text` in `lookups` (an `ImportLookups`), or a CellError
        that suggests close names."""
        key = self.key(text)
        matches = lookups.matches(self, text, row_values)
        if len(matches) == 1:
            return matches[0]
        if matches:
            matches = self.rank(matches, key, lookups)[:MAX_CANDIDATES]
            lookups.note_unresolved(self, text, key, matches, ambiguous=True)
            raise CellError(
                _("“%(value)s” matches several records: %(matches)s. Use the full name.")
                % {
                    "value": shorten(text),
                    "matches": "; ".join(self.describe(m) for m in matches[:5]),
                }
            )
        message = self.not_found % {"value": shorten(text)}
        close = lookups.suggestions(self, key)
        lookups.note_unresolved(self, text, key, close, ambiguous=False)
        if close:
            names = "; ".join(self.describe(record) for record in close)
            message = f"{message} " + _("Did you mean: %(names)s?") % {"names": names}
        raise CellError(message)

    def key(self, text: str) -> str:
        return fold(text)

    def build_table(self, lookups, records=None) -> dict[str, list]:
        """Name key → the records of `model` with that name, for one import (one query):
        `records`, or every candidate."""
        table = defaultdict(list)
        for record in self.candidates(lookups) if records is None else records:
            for key in self.keys_of(record):
                table[key].append(record)
        return dict(table)

    #: The field whose value, as `name_key()` gives it in SQL, is a record's name key
    #: (`key()`: folded by default, `db_functions.Fold`), so that an import reads only the
    #: records its cells name; None: the table is read whole (units: many keys a unit,
    #: derived in Python).
    name_field: str | None = None

    def name_key(self):
        """`name_field` in SQL as `key()` compares it in Python, its first `KEY_PREFIX`
        characters: the expression of its btree index (a meeting's title, a person's name).
        Whole, the folded name would match the person's trigram index instead, which
        PostgreSQL chooses for a list of names and searches name by name (1.4 s for 1,000)."""
        return KeyPrefix(Fold(self.name_field))

    def name_of(self, text: str) -> str:
        """The part of a cell's text that names `name_field` (a meeting's title without its
        date)."""
        return text

    def named_records(self, lookups, texts) -> list | None:
        """The candidates whose `name_field` folds as one of `texts` does, in a query per
        `NAMES_PER_QUERY` names, or None when the widget has no `name_field`."""
        if self.name_field is None:
            return None
        # The records whose names begin alike come too; `build_table` files each under its
        # own whole key.
        # Imported here: the importing package imports the widgets.
        from coordination.importing.keys import KeysIn

        keys = sorted({self.key(self.name_of(text))[:KEY_PREFIX] for text in texts} - {""})
        records = []
        for start in range(0, len(keys), NAMES_PER_QUERY):
            chunk = keys[start : start + NAMES_PER_QUERY]
            # A name's records all come from one query, in the order the whole table has.
            # Each name is looked up in the index by itself (`KeysIn`, the keys already
            # folded): as `IN (…)`, PostgreSQL chose to fold every title of a table of
            # 20,000 meetings (1.8 s a file), its cost model not knowing what folding costs.
            records += self.candidates(lookups).filter(
                KeysIn(self.model, [self.name_key()], [(key,) for key in chunk])
            )
        return records

    def rank(self, records, key: str, lookups) -> list:
        """`records` in the order to offer them for `key`, the most likely first."""
        return sorted(records, key=lambda record: -self.preference(record, key, lookups))

    def preference(self, record, key: str, lookups) -> float:
        """How much `record` is favoured for `key`, beyond how close its name is."""
        return 0.0

    def candidates(self, lookups):
        """The records a row may name: those the importing user may see."""
        return lookups.visible(self.model._default_manager.all())

    def keys_of(self, record) -> set[str]:
        return {self.key(self.describe(record))}

    def narrow(self, matches, row_values):
        return matches

    def describe(self, obj) -> str:
        return str(obj)

    def render(self, value, obj=None, **kwargs):
        return self.describe(value) if value is not None else None


class UnitWidget(ReferenceWidget):
    """A unit by any name offices write it (`coordination.unit_names`) or by an alias."""

    # The units a name may give are narrowed by the user's units, the same on every row.
    repeats_values = True

    model = Unit
    allowed = gettext_lazy("A unit's full or short name")
    table = "units"
    pickable = True

    def key(self, text):
        return unit_key(text)

    def build_table(self, lookups, records=None) -> NameTable:
        """Every key a unit answers to, at its best rank (`unit_names.name_table`), with the
        aliases, and the units the user picked for names of this file (`unit_choices`): two
        queries, whatever the number of rows. Units are reference data, read whole (their
        keys are derived in Python: `name_field` is None, `records` always None)."""
        units = {unit.pk: unit for unit in Unit.objects.all()}  # reference data: all named
        aliases = [
            (name, units[unit_id])
            for name, unit_id in UnitAlias.objects.values_list("name", "unit_id")
            if unit_id in units
        ]
        table = NameTable(name_table(units.values(), aliases))
        table.records = units
        for key, unit_id in lookups.unit_choices.items():
            if unit_id in units:
                table[key] = [units[unit_id]]
        return table

    def preference(self, unit, key, lookups) -> float:
        table = lookups.table(self)
        mine = lookups.member_unit_ids()
        my_places = {place_key(table.records[pk].locality) for pk in mine if pk in table.records}
        place = place_key(unit.locality)
        score = NAMED_PLACE if place and f" {place} " in f" {key} " else 0.0
        if unit.pk in mine:
            score += OWN_UNIT
        if place in my_places:
            score += OWN_PLACE
        return score

    not_found = gettext_lazy("Unknown unit “%(value)s”.")

    def narrow(self, matches, row_values):
        allowed = row_values.get("_allowed_unit_ids")
        if allowed is not None:
            return [unit for unit in matches if unit.pk in allowed]
        return matches

    def describe(self, obj):
        return obj.full_name


class PersonWidget(ReferenceWidget):
    """A person by name; when names repeat, the row's unit decides."""

    model = Person
    allowed = gettext_lazy("A person's full name")
    table = "people"
    name_field = "full_name"

    not_found = gettext_lazy("Unknown person “%(value)s”.")

    def candidates(self, lookups):
        return Person.objects.select_related("unit")  # reference data, as units

    def narrow(self, matches, row_values):
        # The row's own units first (a signatory's unit, a task's lead unit), then the units
        # it names among many (a task's coordinating units): whatever the kind calls them.
        own = {value.pk for value in row_values.values() if isinstance(value, Unit)}
        named = {
            unit.pk
            for value in row_values.values()
            if isinstance(value, list | tuple | set)
            for unit in value
            if isinstance(unit, Unit)
        }
        for units in (own, named):
            narrowed = [person for person in matches if person.unit_id in units]
            if narrowed:
                return narrowed
        return []

    def describe(self, obj):
        return obj.full_name


class AgreementWidget(ReferenceWidget):
    """An agreement by its number, ignoring case and spacing."""

    model = Agreement
    allowed = gettext_lazy("An agreement's number")
    table = "agreements"
    name_field = "number"
    repeats_values = True

    def name_key(self):
        return number_key_prefix(self.name_field)

    not_found = gettext_lazy("Unknown agreement number “%(value)s”.")

    def key(self, text):
        return agreement_key(text)

    def describe(self, obj):
        return obj.number


class MeetingWidget(ReferenceWidget):
    """A meeting by its title, or by “title (dd/mm/yyyy)” as exported."""

    model = Meeting
    allowed = gettext_lazy("A meeting's title")
    table = "meetings"
    name_field = "title"
    repeats_values = True

    def name_of(self, text):
        # “title (dd/mm/yyyy)” as exported names the title.
        return MEETING_DATE.sub("", text)

    not_found = gettext_lazy("Unknown meeting “%(value)s”.")

    def describe(self, obj):
        return str(obj)

    def keys_of(self, record) -> set[str]:
        # “title (dd/mm/yyyy)” as exported, or the title alone when it is unique.
        return {self.key(record.title), self.key(str(record))}


class ManyWidget(CellWidget):
    """Several records in one cell, one per line or separated by “;”."""

    empty_value = ()
    allowed = gettext_lazy("Several names, one per line or separated by “;”")

    def __init__(self, inner: ReferenceWidget):
        super().__init__()
        self.inner = inner

    def named_in(self, value, legacy=None, notes=None) -> list[str]:
        """The names a cell holding `value` gives the inner widget's table."""
        text = to_unicode(unescape_formula(str(value)), notes, legacy)
        return [clean_text(name) for name in LIST_SEPARATORS.split(text)]

    def parse(self, value, lookups=None, row_values=None, notes=None, legacy=None, **kwargs):
        found, errors, unshown = [], [], 0
        row_values = row_values or {}
        for name in self.named_in(value, legacy, notes):
            if not name:
                continue
            if len(errors) < MAX_CELL_ERRORS:
                try:
                    obj = self.inner.find(name, lookups, row_values)
                except CellError as error:
                    errors.append(str(error))
                    continue
            else:
                # Past the errors shown, a name is only counted: no message, no suggestion.
                matches = lookups.matches(self.inner, name, row_values)
                if len(matches) != 1:
                    unshown += 1
                    continue
                obj = matches[0]
            if obj not in found:
                found.append(obj)
        if unshown:
            errors.append(
                ngettext("…and %(count)d more name.", "…and %(count)d more names.", unshown)
                % {"count": unshown}
            )
        if errors:
            raise CellError(" ".join(errors))
        return tuple(found)

    def render(self, value, obj=None, **kwargs):
        return "; ".join(self.inner.describe(item) for item in value) if value else None
