"""Cell converters for spreadsheets: what a cell may hold on import, how a value is written out.

Each widget's `clean()` turns one raw cell (str, int, float, date, datetime or None, as
`coordination.spreadsheets` reads it) into a Python value or raises `CellError` with a
Vietnamese message; `render()` gives the value the export writes, typed (dates stay dates,
numbers stay numbers) so that the exported file re-imports unchanged.
"""

import datetime
import functools
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from import_export import widgets

from coordination.legacy_text import convert_legacy, fix_legacy
from coordination.models import Agreement, Meeting, Person, Unit
from coordination.spreadsheets import unescape_formula
from coordination.text import clean_text, fold

# Excel counts days from 30/12/1899 (its serial 60 is the non-existent 29/02/1900).
EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_SERIAL_MIN = 61
EXCEL_SERIAL_MAX = 2958465  # 31/12/9999
DATE_PATTERNS = [
    re.compile(r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
]
LIST_SEPARATORS = re.compile(r"[;\n]+")
#: A cell naming thousands of unknown records reports the first few.
MAX_CELL_ERRORS = 5
#: Values quoted in a message are cut to this length.
SHOWN_CHARS = 100


class CellError(ValueError):
    """A cell that cannot be imported; the message is shown to the user as is."""


def shorten(text, limit: int = SHOWN_CHARS) -> str:
    """`text` cut to `limit` characters, marked with “…” where it was cut."""
    text = str(text)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_unicode(text: str, notes: list | None, legacy=None) -> str:
    """`text` with legacy TCVN3/VNI text converted, noting the conversion once per row.

    `legacy` is the encoding found for the whole column, which a short cell alone lacks.
    """
    if legacy is not None and not text.isascii():
        converted = convert_legacy(text, legacy)
        if converted == text:
            legacy = None
        text = converted
    else:
        text, legacy = fix_legacy(text)
    if legacy is not None and notes is not None:
        note = _("Text in the legacy %(encoding)s encoding was converted to Unicode.") % {
            "encoding": legacy.value
        }
        if note not in notes:
            notes.append(note)
    return text


class CellWidget(widgets.Widget):
    """Base of the project's widgets: empty cells become `empty_value`."""

    empty_value = None
    #: What a cell may hold, as the template workbook's guide explains it.
    allowed = gettext_lazy("Text")

    def __init__(self):
        super().__init__(coerce_to_string=False)

    def allowed_text(self) -> str:
        return str(self.allowed)

    def key_of(self, value):
        """How a cleaned value compares in a natural key (text ignores case)."""
        return value.lower() if isinstance(value, str) else value

    def clean(self, value, row=None, **kwargs):
        if is_empty(value):
            return self.empty_value
        return self.parse(value, **kwargs)

    def parse(self, value, **kwargs):
        return value

    def render(self, value, obj=None, **kwargs):
        return value


class TextWidget(CellWidget):
    """Free text: trimmed, NFC, legacy TCVN3/VNI text converted (with a note for the user)."""

    empty_value = ""

    def __init__(self, *, multiline: bool = False, max_length: int | None = None):
        super().__init__()
        self.multiline = multiline
        self.max_length = max_length

    def parse(self, value, notes=None, legacy=None, **kwargs):
        """`legacy`: the encoding detected for the whole column, which short cells lack."""
        if isinstance(value, datetime.datetime | datetime.date):
            value = value.strftime("%d/%m/%Y")
        elif isinstance(value, float) and value.is_integer():
            value = str(int(value))
        text = to_unicode(unescape_formula(str(value)), notes, legacy)
        text = clean_text(text, multiline=self.multiline)
        if self.max_length and len(text) > self.max_length:
            raise CellError(
                _("Too long: %(length)d characters (at most %(limit)d).")
                % {"length": len(text), "limit": self.max_length}
            )
        return text

    def render(self, value, obj=None, **kwargs):
        return value or None


class CodeWidget(TextWidget):
    """Document numbers and codes: must be typed as text so leading zeros survive."""

    allowed = gettext_lazy("Text (format the cell as Text to keep leading zeros)")

    def key_of(self, value):
        return agreement_key(value) if isinstance(value, str) else value

    def parse(self, value, notes=None, **kwargs):
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            raise CellError(
                _(
                    "A number here loses its leading zeros: format the cell as Text "
                    "and type the code again."
                )
            )
        return super().parse(value, notes=notes, **kwargs)


class BooleanWidget(CellWidget):
    """Yes/no typed as “Có”/“Không”, “x”, 1/0, yes/no or true/false."""

    allowed = gettext_lazy("Có or Không")
    TRUE = {"co", "x", "1", "yes", "true", "dung", "dang hoat dong"}
    FALSE = {"khong", "0", "no", "false", "sai", "ngung hoat dong"}

    def __init__(self, *, default: bool | None = None):
        super().__init__()
        self.empty_value = default

    def parse(self, value, **kwargs):
        if isinstance(value, bool):
            return value
        key = fold(str(value))
        if isinstance(value, int | float):
            key = str(int(value)) if float(value).is_integer() else key
        if key in self.TRUE:
            return True
        if key in self.FALSE:
            return False
        raise CellError(_("Write “Có” or “Không”."))

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None
        return _("Yes") if value else _("No")


class IntegerWidget(CellWidget):
    """Whole numbers (years, percentages) typed as numbers or as text."""

    allowed = gettext_lazy("A whole number")

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None):
        super().__init__()
        self.minimum = minimum
        self.maximum = maximum

    def parse(self, value, **kwargs):
        if isinstance(value, bool):
            raise CellError(_("Not a whole number."))
        if isinstance(value, float):
            if not value.is_integer():
                raise CellError(_("Not a whole number."))
            number = int(value)
        elif isinstance(value, int):
            number = value
        else:
            text = clean_text(str(value)).rstrip("%").strip()
            if not re.fullmatch(r"-?\d+", text):
                raise CellError(_("Not a whole number."))
            number = int(text)
        if self.minimum is not None and number < self.minimum:
            raise CellError(_("Must be at least %(limit)d.") % {"limit": self.minimum})
        if self.maximum is not None and number > self.maximum:
            raise CellError(_("Must be at most %(limit)d.") % {"limit": self.maximum})
        return number


class DecimalWidget(CellWidget):
    """Numbers with a Vietnamese decimal comma ("99,7") or a point, and an optional "%"."""

    allowed = gettext_lazy("A number; the decimal comma or point are both accepted")

    def parse(self, value, **kwargs):
        if isinstance(value, bool):
            raise CellError(_("Not a number."))
        if isinstance(value, int | float):
            return Decimal(str(value))
        text = clean_text(str(value)).rstrip("%").strip().replace(" ", "")
        if "," in text and "." in text:
            text = text.replace(".", "").replace(",", ".")
        elif "," in text:
            text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(_("Not a number.")) from None
        if not number.is_finite():
            raise CellError(_("Not a number."))
        return number

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None
        return int(value) if value == value.to_integral_value() else float(value)


class DateWidget(CellWidget):
    """Dates as real Excel dates, Excel serial numbers, dd/mm/yyyy (also - and .) or ISO."""

    allowed = gettext_lazy("A date: dd/mm/yyyy, or an Excel date")

    def parse(self, value, **kwargs):
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, bool):
            raise CellError(_("Not a date."))
        if isinstance(value, int | float):
            return self.from_serial(value)
        text = clean_text(str(value))
        if re.fullmatch(r"\d+(\.0+)?", text):
            return self.from_serial(float(text))
        for pattern in DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    return datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
                except ValueError:
                    raise CellError(
                        _("%(value)s is not a real date (day/month/year).")
                        % {"value": shorten(text)}
                    ) from None
        raise CellError(
            _("%(value)s is not a date: write it as dd/mm/yyyy, e.g. 05/03/2024.")
            % {"value": shorten(text)}
        )

    @staticmethod
    def from_serial(serial: float) -> datetime.date:
        if not float(serial).is_integer() or not EXCEL_SERIAL_MIN <= serial <= EXCEL_SERIAL_MAX:
            raise CellError(
                _("The number %(value)s is not a date: write it as dd/mm/yyyy.") % {"value": serial}
            )
        return EXCEL_EPOCH + datetime.timedelta(days=int(serial))


class ChoiceWidget(CellWidget):
    """A choice typed as its Vietnamese label (diacritics and case ignored) or as its code."""

    def __init__(self, choices):
        super().__init__()
        self.choices = choices
        self._keys = {}
        self._codes = {}

    def allowed_text(self) -> str:
        return "; ".join(f"{choice.label} ({choice.value})" for choice in self.choices)

    def keys(self) -> dict[str, str]:
        """Folded code and label → code, for the active language (labels are translated)."""
        language = translation.get_language()
        if language not in self._keys:
            self._keys[language] = {
                **{fold(choice.value): choice.value for choice in self.choices},
                **{fold(str(choice.label)): choice.value for choice in self.choices},
            }
        return self._keys[language]

    def parse(self, value, **kwargs):
        # A column repeats a handful of values: remember what each cell text (in this
        # language) came to, rather than folding it again on every row.
        memo = (translation.get_language(), type(value), value)
        code = self._codes.get(memo)
        if code is None:
            code = self.keys().get(fold(str(value)))
            if code is not None and len(self._codes) < 1000:
                self._codes[memo] = code
        if code is not None:
            return code
        raise CellError(
            _("%(value)s is not one of: %(allowed)s.")
            % {
                "value": shorten(value),
                "allowed": ", ".join(str(choice.label) for choice in self.choices),
            }
        )

    def render(self, value, obj=None, **kwargs):
        return str(self.choices(value).label) if value else None


class ReferenceWidget(CellWidget):
    """A related record named in the sheet, found through the import's lookup tables."""

    #: The model named, and the attribute of `ImportLookups` holding its table.
    model = None
    table = ""
    not_found = ""

    def parse(self, value, lookups=None, row_values=None, notes=None, **kwargs):
        text = clean_text(to_unicode(unescape_formula(str(value)), notes))
        return self.find(text, lookups, row_values or {})

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
        matches = self.match(text, lookups.table(self), row_values)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise CellError(
                _("“%(value)s” matches several records: %(matches)s. Use the full name.")
                % {
                    "value": shorten(text),
                    "matches": "; ".join(self.describe(m) for m in matches[:5]),
                }
            )
        message = self.not_found % {"value": shorten(text)}
        close = lookups.suggestions(self, self.key(text))
        if close:
            names = "; ".join(self.describe(record) for record in close)
            message = f"{message} " + _("Did you mean: %(names)s?") % {"names": names}
        raise CellError(message)

    def key(self, text: str) -> str:
        return fold(text)

    def build_table(self, lookups) -> dict[str, list]:
        """Name key → the records of `model` with that name, for one import (one query)."""
        table = defaultdict(list)
        for record in self.candidates(lookups):
            for key in self.keys_of(record):
                table[key].append(record)
        return dict(table)

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
    """A unit by full or short name, ignoring case, diacritics, spacing and abbreviations."""

    model = Unit
    allowed = gettext_lazy("A unit's full or short name")
    table = "units"

    def key(self, text):
        return unit_key(text)

    def build_table(self, lookups) -> dict[str, list]:
        full, other = defaultdict(list), defaultdict(list)
        for unit in Unit.objects.all():  # reference data: every unit may be named
            full_key = unit_key(unit.full_name)
            full[full_key].append(unit)
            for key in unit_keys(unit) - {full_key}:
                other[key].append(unit)
        # A full name always wins over somebody's identical short name.
        return {**other, **full}

    @property
    def not_found(self):
        return _("Unknown unit “%(value)s”.")

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

    @property
    def not_found(self):
        return _("Unknown person “%(value)s”.")

    def candidates(self, lookups):
        return Person.objects.select_related("unit")  # reference data, as units

    def narrow(self, matches, row_values):
        unit = row_values.get("unit")
        return [person for person in matches if unit is not None and person.unit_id == unit.pk]

    def describe(self, obj):
        return obj.full_name


class AgreementWidget(ReferenceWidget):
    """An agreement by its number, ignoring case and spacing."""

    model = Agreement
    allowed = gettext_lazy("An agreement's number")
    table = "agreements"

    @property
    def not_found(self):
        return _("Unknown agreement number “%(value)s”.")

    def key(self, text):
        return agreement_key(text)

    def describe(self, obj):
        return obj.number


class MeetingWidget(ReferenceWidget):
    """A meeting by its title, or by “title (dd/mm/yyyy)” as exported."""

    model = Meeting
    allowed = gettext_lazy("A meeting's title")
    table = "meetings"

    @property
    def not_found(self):
        return _("Unknown meeting “%(value)s”.")

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

    def parse(self, value, lookups=None, row_values=None, notes=None, **kwargs):
        found, errors, unshown = [], [], 0
        row_values = row_values or {}
        table = lookups.table(self.inner)
        for name in LIST_SEPARATORS.split(to_unicode(unescape_formula(str(value)), notes)):
            name = clean_text(name)
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
                matches = self.inner.match(name, table, row_values)
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


class RecordIdWidget(IntegerWidget):
    """The system's own record number (“Mã”): present, it names the record to update; in
    a column of a relation, it names the related record (an item carried over from)."""

    allowed = gettext_lazy("A record number from an export")

    def __init__(self):
        super().__init__(minimum=1)


class VersionWidget(CellWidget):
    """The version of a record when it was exported: its `updated_at`, written as ISO text.

    An import that updates a record compares it with the record's version now, so that
    re-importing an old export cannot silently overwrite changes made since.
    """

    def parse(self, value, **kwargs):
        text = str(value).strip()
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise CellError(
                _(
                    "%(value)s is not a version written by an export of this system: copy it "
                    "unchanged from the exported file, or leave the cell empty."
                )
                % {"value": shorten(text)}
            )
        return moment

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else None


def agreement_key(number: str) -> str:
    """Agreement numbers compare without case and spaces: “01/QC-UBND” = “01 / qc-ubnd”."""
    return "".join(number.split()).lower()


# Offices write unit names both ways: "UBND huyện" and "Ủy ban nhân dân huyện".
ABBREVIATIONS = [
    ("uy ban mat tran to quoc viet nam", "ubmttq"),
    ("uy ban mttq viet nam", "ubmttq"),
    ("uy ban mttqvn", "ubmttq"),
    ("ubmttqvn", "ubmttq"),
    ("mat tran to quoc viet nam", "mttq"),
    ("mat tran to quoc", "mttq"),
    ("mttqvn", "mttq"),
    ("uy ban nhan dan", "ubnd"),
    ("hoi dong nhan dan", "hdnd"),
    ("thuong truc hdnd", "tt hdnd"),
    ("hoi lien hiep phu nu", "hlhpn"),
    ("doan thanh nien cong san ho chi minh", "doan tncs hcm"),
    ("cuu chien binh", "ccb"),
]


@functools.lru_cache(maxsize=16384)
def unit_key(text: str) -> str:
    """The comparison key of a unit name: folded, with the usual abbreviations applied.

    Cached: an import names the same few dozen units on every row.
    """
    key = f" {fold(text)} "
    for long, short in ABBREVIATIONS:
        key = key.replace(f" {long} ", f" {short} ")
    return key.strip()


def unit_keys(unit) -> set[str]:
    """Every name a unit answers to: full name, short name, short name with the place."""
    keys = {unit_key(unit.full_name)}
    if unit.short_name:
        keys.add(unit_key(unit.short_name))
        place = unit_key(unit.locality.split(",")[0])
        short = unit_key(unit.short_name)
        # "UBND huyện" + "huyện Hàm Tân" → "ubnd huyen ham tan"
        words = short.split()
        if words and place.startswith(words[-1] + " "):
            keys.add(f"{' '.join(words[:-1])} {place}".strip())
        keys.add(f"{short} {place}")
    return keys
