"""Vietnamese alphabetical order, the same on SQLite, PostgreSQL and in Python.

The Vietnamese alphabet puts the letters with a breve, circumflex or horn after their base
letter (a ă â b c d đ e ê … o ô ơ … u ư …), and orders the tones after the letters: words
first compare letter by letter, then tone by tone (ngang, huyền, hỏi, ngã, sắc, nặng), then
lower case before upper case. Code-point order (SQLite's BINARY) puts “Ủy ban …” after
“Văn phòng …” and “Đảng …” after every Latin letter.

- PostgreSQL: migration 0017 creates the collation `vietnamese` from ICU's `vi-VN` (Debian's
  PostgreSQL is built with ICU);
- SQLite: `db_functions.register_functions` registers a collation of the same name on each
  connection, comparing `sort_key`s;
- Python: `sort_key` for lists sorted in memory (the outstanding table's rows).

`vietnamese("full_name")` is the expression to order by, on either database.
"""

import functools
import unicodedata

from django.db.models.functions import Collate

COLLATION = "vietnamese"

#: The letters in Vietnamese order, with the Latin letters Vietnamese does not use (f, j, w,
#: z) where the Latin alphabet has them, as ICU's `vi` collation does.
ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER = {letter: index for index, letter in enumerate(ALPHABET)}
#: Marks that make another letter (ă, â, ê, ô, ơ, ư).
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}
#: The tones, in dictionary order: huyền, hỏi, ngã, sắc, nặng (ngang, no mark, is 0).
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}

# Primary weights: spaces, then punctuation and symbols, digits, letters, anything else.
_SPACE, _SYMBOL, _DIGIT, _LETTER_BASE, _OTHER = 0, 1_000, 200_000, 300_000, 400_000


def vietnamese(expression: str) -> Collate:
    """`expression` compared in Vietnamese alphabetical order (for `order_by`)."""
    return Collate(expression, COLLATION)


#: Characters whose weights are remembered (`_weights`): far more than any text holds.
_REMEMBERED_CHARACTERS = 20_000
_character_weights: dict[str, tuple[int, int, int]] = {}


@functools.lru_cache(maxsize=65536)
def sort_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The key `text` sorts by: its letters, then its tones, then its case.

    Each character weighs the same wherever it stands: its weights are worked out once
    (`_weights`), not again for every character of every name (SQLite's collation sorts a
    province's 4,000 units by their names on every import)."""
    text = unicodedata.normalize("NFC", text or "")
    if not text:
        return (), (), ()
    known = _character_weights
    weights = [known.get(char) or _weights(char) for char in text]
    primary, secondary, tertiary = zip(*weights, strict=True)
    return primary, secondary, tertiary


def _weights(char: str) -> tuple[int, int, int]:
    """The primary, secondary and tertiary weights of one character (in NFC)."""
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    lower = base.lower()
    letter = unicodedata.normalize(
        "NFC", lower + "".join(mark for mark in marks if mark in _LETTER_MARKS)
    )
    if letter in _LETTER:
        primary = _LETTER_BASE + _LETTER[letter]
    elif lower.isspace():
        primary = _SPACE
    elif lower.isdigit():
        primary = _DIGIT + (unicodedata.digit(lower, 0))
    elif unicodedata.category(lower)[0] in "PSZ":
        primary = _SYMBOL + ord(lower) % 100_000
    else:
        primary = _OTHER + ord(lower)
    secondary = max((_TONES.get(mark, 0) for mark in marks), default=0)
    weights = primary, secondary, 0 if base == lower else 1
    if len(_character_weights) < _REMEMBERED_CHARACTERS:
        _character_weights[char] = weights
    return weights


def compare(left: str, right: str) -> int:
    """-1, 0 or 1 as `left` sorts before, with or after `right` (SQLite's collation)."""
    left_key, right_key = sort_key(left), sort_key(right)
    return (left_key > right_key) - (left_key < right_key)
