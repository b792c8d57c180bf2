"""What every cell converter shares: the error a cell raises, text clean-up, limits."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import widgets

from coordination.legacy_text import LegacyEncoding, convert_legacy, fix_legacy

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


class CaselessText(str):
    """Text converted from TCVN3, whose fonts have no toned capitals (“Ủ” is typed as “ủ”
    or in another font): its case says nothing, so it does not change a record's text that
    differs from it in case alone (`caseless_value`)."""


def caseless_value(value, current):
    """`value` for a field holding `current`: the current text when `value` is
    `CaselessText` equal to it but for case; a plain value otherwise."""
    if isinstance(value, CaselessText):
        if isinstance(current, str) and current.casefold() == value.casefold():
            return current
        return str(value)
    return value


def to_unicode(text: str, notes: list | None, legacy=None) -> str:
    """`text` with legacy TCVN3/VNI text converted, noting the conversion once per row;
    TCVN3 text comes back as `CaselessText`.

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
    if legacy is LegacyEncoding.TCVN3:
        return CaselessText(text)
    return text


class CellWidget(widgets.Widget):
    """Base of the project's widgets: empty cells become `empty_value`."""

    #: Whether a cell is also tried in the legacy font of its sheet (found in the header)
    #: when its column alone says nothing: widgets with a closed list of words.
    takes_sheet_font = False

    #: Whether `clean()` gives the same value for the same cell on every row of an import:
    #: it depends on the cell, its column's legacy encoding and the import's name tables,
    #: never on the row's other values, and the value is never changed afterwards. The
    #: import then converts each distinct cell of such a column once (`importing.cells`).
    repeats_values = False

    empty_value = None
    #: What a cell may hold, as the template workbook's guide explains it.
    allowed = gettext_lazy("Text")

    def __init__(self):
        super().__init__(coerce_to_string=False)

    def allowed_text(self) -> str:
        return str(self.allowed)

    def choice_labels(self) -> list[str] | None:
        """The values a template's drop-down list offers, for a closed set of values."""
        return None

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
