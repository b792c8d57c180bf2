"""Text clean-up and diacritic folding shared by models, search and (later) imports."""

import functools
import re
import unicodedata

# Characters that Word, Excel and web forms leave in text and that people cannot see.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Every other control character except newline and tab, and the noncharacters U+FFFE and
# U+FFFF, which XML (so an .xlsx export) cannot hold: kept, they would not survive a round trip.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
# Line breaks other than "\n": Word's manual line break (vertical tab) and page break, and the
# Unicode line, paragraph and next-line separators. A space in single-line text.
_BREAKS = dict.fromkeys(map(ord, "\x0b\x0c\x85\u2028\u2029"), "\n")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Return `value` in NFC, trimmed, with runs of white space collapsed.

    Single-line text collapses every run of white space (newlines too) to one space.
    Multi-line text keeps its line breaks, trims each line and keeps at most one blank line.
    """
    if not value:
        return value
    # Most cells are already clean: printable (no tabs, newlines, NBSP or invisible
    # characters), NFC, trimmed and single-spaced. Imports call this for every cell.
    if (
        value.isprintable()
        and value[0] != " "
        and value[-1] != " "
        and "  " not in value
        and unicodedata.is_normalized("NFC", value)
    ):
        return value
    value = unicodedata.normalize("NFC", value).translate(_INVISIBLE)
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").translate(_BREAKS)
    value = _CONTROL.sub("", value)
    if not multiline:
        return " ".join(value.split())
    lines = [_SPACES.sub(" ", line).strip() for line in value.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def fold(value: str | None) -> str:
    """Return `value` lower-cased, without diacritics ("Đ" → "d") and with spaces collapsed.

    "Hàm Tân" and "ham  tan" fold to the same "ham tan"; used for search and for matching
    names typed with or without diacritics.
    """
    if not value:
        return ""
    if not value.isascii():
        value = unicodedata.normalize("NFC", value).translate(_FOLD_TABLE)
        if not value.isascii():
            # Letters outside the Latin ranges of the table: the general, slower way.
            decomposed = unicodedata.normalize("NFD", value)
            value = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(value.lower().split())


@functools.lru_cache(maxsize=32768)
def fold_name(value: str) -> str:
    """`fold(value)` of a name, remembered: a one-letter search meets every unit's name, and
    the same few thousand names come back with every keystroke."""
    return fold(value)


def _fold_table() -> tuple[str, str]:
    """Pairs of (accented letter, base letter) for the SQL side of `fold`.

    Upper-case letters map to upper-case base letters, so the SQL LOWER() that follows only
    ever has ASCII to lower-case and gives the same result whatever the database's locale.
    """
    source, target = [], []
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        decomposed = unicodedata.normalize("NFD", char.replace("đ", "d").replace("Đ", "D"))
        base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if len(base) == 1 and base.isascii() and base.isalpha() and base != char:
            source.append(char)
            target.append(base)
    return "".join(source), "".join(target)


FOLD_SOURCE, FOLD_TARGET = _fold_table()

# str.translate table of the same pairs, plus the combining marks (dropped), for `fold`.
_FOLD_TABLE = {
    **str.maketrans(FOLD_SOURCE, FOLD_TARGET),
    **dict.fromkeys(range(0x0300, 0x0370), None),
}


def person_name(user) -> str:
    """How a user is named on every page: the Vietnamese order, family name first
    ("Nguyễn Thị Thu Hà": `last_name`, then `first_name`), else the login name; "" for none.

    Django's `get_full_name()` puts the given name first, as English does.
    """
    if user is None:
        return ""
    return " ".join(f"{user.last_name} {user.first_name}".split()) or user.get_username()
