"""Formula escaping: text a spreadsheet would run as a formula gets an apostrophe (OWASP CSV
injection), and the apostrophe comes off again when an export is imported."""

import re

# Characters that make Excel or LibreOffice read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
# Also escaped: XML turns a carriage return into a line feed, so an exported "'\r=1" comes
# back from an .xlsx as "'\n=1", and the apostrophe must still come off on re-import.
_ESCAPED_STARTS = FORMULA_TRIGGERS | {"\n"}
# Where a spreadsheet program may begin a cell inside one CSV field: at its start, and after
# each character some program splits fields or lines at ("," or ";" as the list separator,
# Excel's on a Vietnamese Windows being ";", a tab, a line break), spaces skipped as programs
# that trim cells would. `_PART` finds the parts starting with apostrophes and a trigger.
_PART_START = r"(^|[,;\t\r\n])([^\S\t\r\n]*)"
_PART_TRIGGER = r"'*[=+\-@\t\r\n]"
_PART = re.compile(_PART_START + rf"(?={_PART_TRIGGER})")
_ESCAPED_PART = re.compile(_PART_START + rf"'(?={_PART_TRIGGER})")
# A quick test for a part after a separator that `_PART` may have to escape.
_RISKY_PART = re.compile(r"[,;\t\r\n][^\S\t\r\n]*['=+\-@\t\r\n]")


def escape_formula(value):
    """Prefix an apostrophe to text that a spreadsheet would run as a formula (OWASP).

    For cells that are never split (.xlsx): only the start of the text is a cell's start.
    """
    if not isinstance(value, str):
        return value
    # A part (the text's start, or after a separator) already starting with apostrophes
    # before a trigger gets one more, so that `unescape_formula` gives back exactly what was
    # exported; a part without apostrophes stays as it is, except at the start.
    if "'" in value:
        value = _ESCAPED_PART.sub(r"\1\2''", value)
    if value[:1] in _ESCAPED_STARTS:
        return "'" + value
    return value


def escape_csv_text(value):
    """`escape_formula` for a CSV field, which a program may split on "," ";" or a tab.

    Excel splits a CSV on the Windows list separator (";" on a Vietnamese Windows), and then
    "x;=1+1" is a cell "=1+1": every part of the text that starts (after spaces) with a
    trigger gets an apostrophe, whatever separator a program splits at.
    """
    if not isinstance(value, str):
        return value
    first = value[:1]
    if first in _ESCAPED_STARTS or first == "'" or first.isspace():
        return _PART.sub(r"\1\2'", value)
    # Most cells: one printable line without "," or ";", or no risky part after them.
    if value.isprintable() and "," not in value and ";" not in value:
        return value
    return _PART.sub(r"\1\2'", value) if _RISKY_PART.search(value) else value


def unescape_formula(text):
    """Remove the apostrophes the escapes added, so an export re-imports unchanged.

    One apostrophe comes off each part (see `escape_csv_text`) that starts with apostrophes
    before a trigger: both escapes add one to every such part.
    """
    if not isinstance(text, str) or "'" not in text:
        return text
    return _ESCAPED_PART.sub(r"\1\2", text)
