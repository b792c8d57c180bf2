"""Cells that hold values: text, codes, yes/no, numbers, dates, choices, record numbers.


Each widget's `clean()` turns one raw cell (str, int, float, date, datetime or None, as
`coordination.spreadsheets` reads it) into a Python value or raises `CellError` with a
Vietnamese message; `render()` gives the value the export writes, typed (dates stay dates,
numbers stay numbers) so that the exported file re-imports unchanged.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coordination.spreadsheets import unescape_formula
from coordination.text import clean_text, fold
from coordination.widgets.base import CaselessText, CellError, CellWidget, shorten, to_unicode
from coordination.widgets.names import agreement_key

# Excel counts days from 30/12/1899 (its serial 60 is the non-existent 29/02/1900).
EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_SERIAL_MIN = 61
EXCEL_SERIAL_MAX = 2958465  # 31/12/9999
DATE_PATTERNS = [
    re.compile(r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
]


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
        caseless = isinstance(text, CaselessText)
        text = clean_text(text, multiline=self.multiline)
        if self.max_length and len(text) > self.max_length:
            raise CellError(
                _("Too long: %(length)d characters (at most %(limit)d).")
                % {"length": len(text), "limit": self.max_length}
            )
        return CaselessText(text) if caseless else text

    def render(self, value, obj=None, **kwargs):
        return value or None


class CodeWidget(TextWidget):
    """Document numbers and codes: must be typed as text so leading zeros survive."""

    allowed = gettext_lazy("Text (format the cell as Text to keep leading zeros)")
    #: Its natural-key form drops white space (`importing.keys` asks the database the same).
    compares_without_whitespace = True

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

    #: A closed list of words: a cell of a sheet typed in a legacy font is tried in it.
    takes_sheet_font = True
    repeats_values = True

    def parse(self, value, notes=None, legacy=None, **kwargs):
        if isinstance(value, bool):
            return value
        found = self.word(value)
        if found is None and isinstance(value, str) and not value.isascii():
            found = self.word(to_unicode(value, notes, legacy))  # “Cã” in a .VnTime font
        if found is None:
            raise CellError(_("Write “Có” or “Không”."))
        return found

    def word(self, value) -> bool | None:
        key = fold(str(value))
        if isinstance(value, int | float):
            key = str(int(value)) if float(value).is_integer() else key
        return True if key in self.TRUE else False if key in self.FALSE else None

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None
        return _("Yes") if value else _("No")

    def choice_labels(self) -> list[str]:
        return [_("Yes"), _("No")]


class IntegerWidget(CellWidget):
    """Whole numbers (years, percentages) typed as numbers or as text."""

    allowed = gettext_lazy("A whole number")
    repeats_values = True

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
    repeats_values = True

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
    repeats_values = True

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

    def __init__(self, choices, words: dict | None = None):
        """`words`: other words offices write for a choice (code → Vietnamese words), such
        as “Hoàn thành” for “Đã hoàn thành”."""
        super().__init__()
        self.choices = choices
        self.words = words or {}
        self._keys = {}
        self._codes = {}

    def allowed_text(self) -> str:
        return "; ".join(f"{choice.label} ({choice.value})" for choice in self.choices)

    def choice_labels(self) -> list[str]:
        return [str(choice.label) for choice in self.choices]

    def keys(self) -> dict[str, str]:
        """Folded code and label → code, for the active language (labels are translated)."""
        language = translation.get_language()
        if language not in self._keys:
            self._keys[language] = {
                **{fold(word): code for code, words in self.words.items() for word in words},
                **{fold(choice.value): choice.value for choice in self.choices},
                **{fold(str(choice.label)): choice.value for choice in self.choices},
            }
        return self._keys[language]

    #: A closed list of labels: a cell of a sheet typed in a legacy font is tried in it.
    takes_sheet_font = True
    repeats_values = True

    def parse(self, value, notes=None, legacy=None, **kwargs):
        try:
            return self.code(value)
        except CellError:
            if not isinstance(value, str) or value.isascii():
                raise
            # A label typed with a .VnTime or VNI font, as the rest of its sheet.
            return self.code(to_unicode(value, notes, legacy))

    def code(self, value):
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
