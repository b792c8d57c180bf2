"""Recognise and repair Vietnamese text typed in the legacy TCVN3 (ABC) and VNI-Windows fonts.

Spreadsheets made with .VnTime or VNI-Times fonts store the font's bytes, and a Unicode reader
shows them as Windows-1252 characters: "Hµ Néi" (TCVN3) or "Haø Noäi" (VNI) for "Hà Nội".
`fix_legacy` detects such a cell and converts it; `detect_legacy` and `convert_legacy` are the
two halves.

Detection errs on the side of "not legacy": a false positive corrupts good data, a false
negative only leaves the text for a person to see. A single word needs strong evidence, so an
importer gets better results by detecting on a whole row or column (joined with spaces) and then
converting each cell with the encoding found.

Run this before `coordination.text.clean_text`: TCVN3 writes "ư" as U+00AD (soft hyphen), which
`clean_text` removes as an invisible character.
"""

import enum
import re
import unicodedata
from dataclasses import dataclass


class LegacyEncoding(enum.StrEnum):
    """A legacy Vietnamese font encoding (a str subclass: LegacyEncoding.VNI == "VNI")."""

    TCVN3 = "TCVN3"
    VNI = "VNI"


# --- TCVN3 ------------------------------------------------------------------------------------
#
# TCVN 5712:1993 defines three nested sets. VN3 ("TCVN3", the ABC fonts such as .VnTime) has
# the 67 lower-case letters and the 7 capitals without a tone mark (Ă Â Ê Ô Ơ Ư Đ) in bytes
# 0xA1-0xFF. VN2 adds 16 toned capitals in the free slots of that range and 5 combining tone
# marks at 0xB0-0xB4; VN1 (glibc's TCVN5712-1) also puts toned capitals in the C0 controls
# 0x01-0x17 and in 0x80-0x9F. The rows below are glibc's VN1 table (`iconv -f TCVN5712-1`)
# restricted to what VN3 defines. The rest is left alone on purpose: in an ABC font 0x80-0x9F
# are the ordinary Windows quotes and dashes, spreadsheets drop control characters, and the
# VN2-only slots are everyday Latin-1 characters ("À", "Á", "°", "±", "¿", ...) that VN3 text
# does not use. VN3 has no toned capitals: ABC users switch to an all-capitals font
# (.VnTimeH) that draws capitals at the lower-case bytes, so those bytes convert to lower case
# here, and `convert_legacy` upper-cases them only where the text, or the word, shows it was
# typed in capitals ("NGUYÔN" is "NGUYỄN"; "Uû" stays title case, "Uỷ").
# Each row: the bare letter where it is not ASCII, then grave, hook, tilde, acute, dot below
# (the standard's byte order).
# fmt: off
_TCVN3 = {
    "\xa1": "Ă", "\xa2": "Â", "\xa3": "Ê", "\xa4": "Ô", "\xa5": "Ơ", "\xa6": "Ư", "\xa7": "Đ",
    "\xae": "đ",                                                              # ¡ ¢ £ ¤ ¥ ¦ § ®
    "\xb5": "à", "\xb6": "ả", "\xb7": "ã", "\xb8": "á", "\xb9": "ạ",          # µ ¶ · ¸ ¹
    "\xa8": "ă", "\xbb": "ằ", "\xbc": "ẳ", "\xbd": "ẵ", "\xbe": "ắ", "\xc6": "ặ",  # ¨ » ¼ ½ ¾ Æ
    "\xa9": "â", "\xc7": "ầ", "\xc8": "ẩ", "\xc9": "ẫ", "\xca": "ấ", "\xcb": "ậ",  # © Ç È É Ê Ë
    "\xcc": "è", "\xce": "ẻ", "\xcf": "ẽ", "\xd0": "é", "\xd1": "ẹ",          # Ì Î Ï Ð Ñ
    "\xaa": "ê", "\xd2": "ề", "\xd3": "ể", "\xd4": "ễ", "\xd5": "ế", "\xd6": "ệ",  # ª Ò Ó Ô Õ Ö
    "\xd7": "ì", "\xd8": "ỉ", "\xdc": "ĩ", "\xdd": "í", "\xde": "ị",          # × Ø Ü Ý Þ
    "\xdf": "ò", "\xe1": "ỏ", "\xe2": "õ", "\xe3": "ó", "\xe4": "ọ",          # ß á â ã ä
    "\xab": "ô", "\xe5": "ồ", "\xe6": "ổ", "\xe7": "ỗ", "\xe8": "ố", "\xe9": "ộ",  # « å æ ç è é
    "\xac": "ơ", "\xea": "ờ", "\xeb": "ở", "\xec": "ỡ", "\xed": "ớ", "\xee": "ợ",  # ¬ ê ë ì í î
    "\xef": "ù", "\xf1": "ủ", "\xf2": "ũ", "\xf3": "ú", "\xf4": "ụ",          # ï ñ ò ó ô
    "\xad": "ư", "\xf5": "ừ", "\xf6": "ử", "\xf7": "ữ", "\xf8": "ứ", "\xf9": "ự",  # SHY õ ö ÷ ø ù
    "\xfa": "ỳ", "\xfb": "ỷ", "\xfc": "ỹ", "\xfd": "ý", "\xfe": "ỵ",          # ú û ü ý þ
}
# fmt: on
_TCVN3_TRANSLATION = str.maketrans(_TCVN3)
# For text typed in capitals with a .VnTimeH font: the same letters, drawn as capitals.
_TCVN3_UPPER_TRANSLATION = str.maketrans({code: letter.upper() for code, letter in _TCVN3.items()})
_TCVN3_CAPITALS = frozenset("\xa1\xa2\xa3\xa4\xa5\xa6\xa7")

# --- VNI-Windows ------------------------------------------------------------------------------
#
# VNI writes a letter as its ASCII base followed by a marker character, except for ơ ư đ and
# the i's and ỵ, which have bytes of their own. Capitals use the upper-case base and marker
# ("AÙ" is "Á"), which is exactly str.upper() of the lower-case form, so only lower case is
# written out. Each row: the bare letter where it is not ASCII, then acute, grave, hook, tilde,
# dot below.
# fmt: off
_VNI_LOWER = {
    "á": "aù", "à": "aø", "ả": "aû", "ã": "aõ", "ạ": "aï",
    "ă": "aê", "ắ": "aé", "ằ": "aè", "ẳ": "aú", "ẵ": "aü", "ặ": "aë",
    "â": "aâ", "ấ": "aá", "ầ": "aà", "ẩ": "aå", "ẫ": "aã", "ậ": "aä",
    "é": "eù", "è": "eø", "ẻ": "eû", "ẽ": "eõ", "ẹ": "eï",
    "ê": "eâ", "ế": "eá", "ề": "eà", "ể": "eå", "ễ": "eã", "ệ": "eä",
    "í": "í",  "ì": "ì",  "ỉ": "æ",  "ĩ": "ó",  "ị": "ò",
    "ó": "où", "ò": "oø", "ỏ": "oû", "õ": "oõ", "ọ": "oï",
    "ô": "oâ", "ố": "oá", "ồ": "oà", "ổ": "oå", "ỗ": "oã", "ộ": "oä",
    "ơ": "ô",  "ớ": "ôù", "ờ": "ôø", "ở": "ôû", "ỡ": "ôõ", "ợ": "ôï",
    "ú": "uù", "ù": "uø", "ủ": "uû", "ũ": "uõ", "ụ": "uï",
    "ư": "ö",  "ứ": "öù", "ừ": "öø", "ử": "öû", "ữ": "öõ", "ự": "öï",
    "ý": "yù", "ỳ": "yø", "ỷ": "yû", "ỹ": "yõ", "ỵ": "î",
    "đ": "ñ",
}
# fmt: on
_VNI = {vni: letter for letter, vni in _VNI_LOWER.items() if vni != letter}
_VNI.update({vni.upper(): letter.upper() for letter, vni in _VNI_LOWER.items() if vni != letter})
# Longest first, so "ôù" (ớ) wins over "ô" (ơ) and "aâ" (â) over a lone "a".
_VNI_PATTERN = re.compile("|".join(map(re.escape, sorted(_VNI, key=len, reverse=True))))

# --- Evidence ---------------------------------------------------------------------------------

# Text made from a legacy font can hold only what Windows-1252 can (plus the C1 controls a
# Latin-1 reader leaves for its undefined bytes); anything else means it was typed in Unicode.
_CP1252_SPECIALS = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_LEGACY_REPERTOIRE = frozenset(map(chr, range(0x100))) | frozenset(_CP1252_SPECIALS)
# Latin-1 letters that real Unicode Vietnamese uses itself: seeing them proves nothing.
_VIETNAMESE_LATIN1 = frozenset("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")
# Latin-1 letters of other European languages: legacy evidence, but weaker than a symbol.
_EUROPEAN_LETTERS = frozenset(chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7))
# French puts a diaeresis on a vowel after a vowel ("Loïc", "Noël"), which is also how VNI
# writes a dot below or ặ, so in VNI these markers prove nothing.
_VNI_HIATUS_MARKERS = frozenset("ïëÏË")

_WORD_CHARS = "A-Za-z\xaa\xb5\xba\xc0-\xd6\xd8-\xf6\xf8-\xff" + re.escape("ŠšŽžŒœŸƒ")
_TCVN3_WORD = re.compile(f"[{_WORD_CHARS}{re.escape(''.join(_TCVN3))}]+")
_VNI_WORD = re.compile(f"[{_WORD_CHARS}]+")
_ASCII_LETTER = re.compile("[A-Za-z]")

# --- Vietnamese syllables ---------------------------------------------------------------------

_TONE_MARKS = {"\u0300": "grave", "\u0301": "acute", "\u0303": "tilde", "\u0309": "hook",
               "\u0323": "dot"}  # fmt: skip
_ONSETS = ("", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng",
           "ngh", "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x")  # fmt: skip
# Vowel nucleus (with its medial o/u where it has one) -> the endings it takes. A "k" ending
# stands for "c" in place names from minority languages ("Đắk Lắk").
_NUCLEI = {
    "a": ("", "i", "o", "u", "y", "c", "ch", "m", "n", "ng", "nh", "p", "t"),
    "ă": ("c", "m", "n", "ng", "p", "t"),
    "â": ("c", "m", "n", "ng", "p", "t", "u", "y"),
    "e": ("", "o", "c", "m", "n", "ng", "p", "t"),
    "ê": ("", "u", "ch", "m", "n", "nh", "p", "t"),
    "i": ("", "a", "u", "ch", "m", "n", "nh", "p", "t"),
    "iê": ("u", "c", "m", "n", "ng", "p", "t"),
    "yê": ("u", "m", "n", "t"),
    "o": ("", "i", "c", "m", "n", "ng", "p", "t"),
    "oo": ("c", "ng"),
    "ô": ("", "i", "c", "m", "n", "ng", "p", "t"),
    "ơ": ("", "i", "m", "n", "p", "t"),
    "u": ("", "a", "i", "c", "m", "n", "ng", "p", "t"),
    "uô": ("i", "c", "m", "n", "ng", "t"),
    "ư": ("", "a", "i", "u", "c", "m", "n", "ng", "t"),
    "ươ": ("i", "u", "c", "m", "n", "ng", "p", "t"),
    "y": ("",),
    "oa": ("", "i", "o", "y", "c", "ch", "m", "n", "ng", "nh", "p", "t"),
    "oă": ("c", "m", "n", "ng", "t"),
    "oe": ("", "o", "m", "n", "t"),
    "uâ": ("n", "ng", "t", "y"),
    "uê": ("", "ch", "n", "nh", "t"),
    "uơ": ("",),
    "uy": ("", "a", "u", "ch", "n", "nh", "p", "t"),
    "uyê": ("n", "t"),
}
_RHYMES = frozenset(
    nucleus + ending
    for nucleus, endings in _NUCLEI.items()
    for ending in (*endings, *(("k",) if "c" in endings else ()))
)
_STOP_ENDINGS = ("c", "ch", "k", "p", "t")
_FRONT_VOWELS = tuple("eêiy")


def _rhyme_ok(onset: str, rhyme: str, tone: str | None) -> bool:
    """Whether `rhyme` (without its tone mark) can follow `onset`, spelling rules included."""
    if onset == "qu":
        # "qu" carries the medial: "quang" is o+ang after q, "quân" is u+ân.
        candidates = [rhyme, "u" + rhyme, "o" + rhyme]
    elif onset == "gi":
        # "gì", "gìn", "giếng" drop the i of the rhyme after "gi".
        candidates = [rhyme, "i" + rhyme]
    else:
        candidates = [rhyme]
    candidates = [r for r in candidates if r in _RHYMES]
    if not candidates:
        return False
    # Spelling: k, gh and ngh before e ê i y only; c, g and ng never there.
    first = candidates[0][0]
    if onset in ("k", "gh", "ngh") and not first.startswith(_FRONT_VOWELS):
        return False
    if onset in ("c", "g", "ng") and first.startswith(_FRONT_VOWELS):
        return False
    # A syllable closed by a stop takes only the acute or the dot-below tone.
    return not (candidates[0].endswith(_STOP_ENDINGS) and tone not in ("acute", "dot"))


def _is_vietnamese_syllable(word: str) -> bool:
    """Whether `word` (any case) is spelled like one Vietnamese syllable."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [_TONE_MARKS[ch] for ch in decomposed if ch in _TONE_MARKS]
    if len(tones) > 1:
        return False
    tone = tones[0] if tones else None
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    if not base or any(ch not in "abcdđeêghiklmnopqrstuvxyăâôơư" for ch in base):
        return False
    return any(
        base.startswith(onset) and _rhyme_ok(onset, base[len(onset) :], tone) for onset in _ONSETS
    )


def _marker_weight(
    marker: str, encoding: LegacyEncoding, *, starts_word: bool, amid_lower: bool = False
) -> int:
    """How much one legacy marker character says that the text is legacy-encoded."""
    if encoding is LegacyEncoding.TCVN3 and amid_lower and marker.isupper():
        # VN3 spells many lower-case letters with Latin-1 capitals ("huyÖn", "TØnh"); ordinary
        # spelling does not put a capital inside a word next to a lower-case letter.
        return 2
    if marker in _VIETNAMESE_LATIN1:
        return 0
    if encoding is LegacyEncoding.VNI and marker in _VNI_HIATUS_MARKERS:
        return 0
    if marker in _EUROPEAN_LETTERS:
        return 1
    # A symbol used as a letter ("nh©n") is the strongest sign, unless it only starts the word,
    # as "µ" does in "µm".
    return 1 if starts_word else 2


def _word_weight(word: str, encoding: LegacyEncoding) -> int:
    """The summed marker weight of one word's legacy letters."""
    if encoding is LegacyEncoding.TCVN3:
        return sum(
            _marker_weight(
                ch,
                encoding,
                starts_word=i == 0,
                amid_lower=i > 0 and (word[i - 1].islower() or word[i + 1 : i + 2].islower()),
            )
            for i, ch in enumerate(word)
            if ch in _TCVN3 and _TCVN3[ch] != ch
        )
    # A VNI letter is one to three characters; the strongest of its markers counts once.
    return sum(
        max(
            _marker_weight(ch, encoding, starts_word=m.start() == 0)
            for ch in m.group()
            if not ch.isascii()
        )
        for m in _VNI_PATTERN.finditer(word)
    )


@dataclass
class _Evidence:
    support: int = 0  # words that are not Vietnamese as they stand but are once converted
    against: int = 0  # words the encoding changes into something that is not Vietnamese
    changed: int = 0  # words the encoding changes
    weight: int = 0  # summed marker weight of the supporting words
    words: int = 0  # words, acronyms left out
    valid: int = 0  # of those, Vietnamese syllables once converted

    def convincing(self) -> bool:
        """Whether this is enough to call the text legacy-encoded."""
        if not self.support or self.against * 4 > self.changed:
            return False
        if self.valid * 10 < self.words * 6:
            return False
        if self.words <= 1:
            return self.weight >= 2
        if self.weight >= 2 or self.support >= 2:
            return True
        # A single supporting word ("Nguyeãn Thò Minh Khai": "Thò" reads either way) is enough
        # only when nothing contradicts it and every word reads as Vietnamese.
        return not self.against and self.valid == self.words and (self.weight or self.words >= 3)


def _evidence(text: str, encoding: LegacyEncoding) -> _Evidence:
    """Weigh, word by word, how well `text` reads as `encoding`."""
    evidence = _Evidence()
    pattern = _TCVN3_WORD if encoding is LegacyEncoding.TCVN3 else _VNI_WORD
    for word in pattern.findall(text):
        converted = _decode(word, encoding)
        converted_ok = _is_vietnamese_syllable(converted)
        if converted.isupper() and len(converted) > 1 and not converted_ok:
            continue  # an acronym such as "UBND" or "HĐND"
        evidence.words += 1
        evidence.valid += converted_ok
        # A lone legacy symbol ("©" in "©2024") is neutral: nothing around it vouches for it.
        if converted == word or (len(word) == 1 and not _ASCII_LETTER.search(word)):
            continue
        evidence.changed += 1
        if not converted_ok:
            evidence.against += 1
        elif not _is_vietnamese_syllable(word):
            evidence.support += 1
            evidence.weight += _word_weight(word, encoding)
    return evidence


# --- Conversion -------------------------------------------------------------------------------


def _decode(text: str, encoding: LegacyEncoding) -> str:
    """Map legacy characters to Unicode letters, without any case repair or normalisation."""
    if encoding is LegacyEncoding.TCVN3:
        return text.translate(_TCVN3_TRANSLATION)
    return _VNI_PATTERN.sub(lambda m: _VNI[m.group()], text)


def _capitals(text: str) -> list[int] | None:
    """Positions of the capitals (ASCII or VN3's own) in `text`; None if it has ASCII lower case."""
    if any("a" <= ch <= "z" for ch in text):
        return None
    return [i for i, ch in enumerate(text) if "A" <= ch <= "Z" or ch in _TCVN3_CAPITALS]


def _word_in_capitals(word: str) -> bool:
    """Whether a TCVN3 word was typed in capitals: "NGUYÔN", "ñY", but not the title-case "Uû"."""
    capitals = _capitals(word)
    return bool(capitals) and (len(capitals) >= 2 or capitals[0] > 0)


def _convert_tcvn3(text: str) -> str:
    """Convert TCVN3, in capitals where the whole text or a word was typed in capitals."""
    capitals = _capitals(text)
    if capitals is not None and len(capitals) >= 2:
        return text.translate(_TCVN3_UPPER_TRANSLATION)
    return _TCVN3_WORD.sub(
        lambda m: m.group().translate(
            _TCVN3_UPPER_TRANSLATION if _word_in_capitals(m.group()) else _TCVN3_TRANSLATION
        ),
        text,
    )


def detect_legacy(text: str) -> LegacyEncoding | None:
    """Return the legacy encoding `text` is written in, or None when it looks like real text."""
    if not text or text.isascii() or not _LEGACY_REPERTOIRE.issuperset(text):
        return None
    found = {}
    for encoding in LegacyEncoding:
        evidence = _evidence(text, encoding)
        if evidence.convincing():
            found[encoding] = (evidence.support - evidence.against, evidence.weight)
    if not found:
        return None
    ranked = sorted(found.items(), key=lambda item: item[1], reverse=True)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # both read equally well: leave it to a person
    return ranked[0][0]


def convert_legacy(text: str, encoding: LegacyEncoding) -> str:
    """Return `text` converted from the legacy `encoding` to Unicode in NFC."""
    encoding = LegacyEncoding(encoding)
    if encoding is LegacyEncoding.TCVN3:
        converted = _convert_tcvn3(text)
    else:
        converted = _decode(text, encoding)
    return unicodedata.normalize("NFC", converted)


def fix_legacy(text: str) -> tuple[str, LegacyEncoding | None]:
    """Return `text` converted to Unicode and its legacy encoding, or `(text, None)`."""
    encoding = detect_legacy(text)
    if encoding is None:
        return text, None
    return convert_legacy(text, encoding), encoding


_VIETNAMESE_LETTERS = frozenset(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)


def _foreign(text: str) -> int:
    """Characters that Vietnamese text in Unicode does not hold: “§”, “«”, “Ñ”..."""
    return sum(1 for ch in text if not ch.isascii() and ch not in _VIETNAMESE_LETTERS)


def _syllables(text: str) -> int:
    return sum(1 for word in re.findall(r"[^\W\d_]+", text) if _is_vietnamese_syllable(word))


def reads_better_in(text: str, encoding: LegacyEncoding) -> bool:
    """Whether `text`, too short or too plain for `detect_legacy` to be sure, reads better
    converted from `encoding`, once the sheet it comes from is known to be typed in it
    (its header was): fewer characters foreign to Vietnamese, or more Vietnamese syllables.
    “01/CTPH-§H-2022” is “01/CTPH-ĐH-2022”, “Cã” is “Có”; Unicode text never reads better."""
    if not text or text.isascii() or not _LEGACY_REPERTOIRE.issuperset(text):
        return False
    converted = convert_legacy(text, encoding)
    if converted == text:
        return False
    before, after = _foreign(text), _foreign(converted)
    if after != before:
        return after < before
    return _syllables(converted) > _syllables(text)
