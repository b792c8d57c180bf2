"""Unit names as offices write them, and the key under which two spellings of one name meet.

"Ủy ban nhân dân huyện Hàm Tân", "UBND H. Hàm Tân" and "ubnd huyen ham tan" are one name.
`unit_key()` folds a name (case, diacritics, spacing, punctuation) and writes each body, level
and department the one way, whichever of its usual forms the text uses: the same function is
applied to the names in the database and to the text of a cell, so that both sides meet.

`unit_name_keys()` gives every key a unit answers to, each with a rank (`FULL_NAME`,
`OWN_NAME`, `DERIVED`): a key held at a better rank by one unit is never shared with a unit
that holds it only at a worse one, so “HĐND huyện Hàm Tân” means the People's Council when
there is one, and its Standing Board (“Thường trực HĐND”) otherwise. A key several units hold
at the same rank stays ambiguous: the importer names the candidates and never guesses.

Aliases (`UnitAlias`) kept by administrators rank as a unit's own names.
"""

import functools
import re

from coordination.text import fold

#: Ranks of a key, best first: the full name; a name of the unit's own (short name, short
#: name with the place, an alias); a form derived from those (without the level word...).
FULL_NAME, OWN_NAME, DERIVED = 0, 1, 2

#: The levels of local government as names write them (folded), longest first.
LEVELS = ("thanh pho", "thi xa", "thi tran", "dac khu", "tinh", "huyen", "quan", "xa", "phuong")

_WORD_BEFORE = r"(?<![a-z0-9])"
_WORD_AFTER = r"(?![a-z0-9])"

# "H. Hàm Tân", "TP.Phan Thiết", "TT. Tân Nghĩa": a level abbreviated with a dot. "TT." is
# also the Standing Board (thường trực) when the People's Council follows.
_DOTTED_LEVEL = re.compile(_WORD_BEFORE + r"(tp|tx|tt|h|t|x|q|p)\.\s*(?=[a-z0-9])")
_DOTTED = {
    "tp": "thanh pho",
    "tx": "thi xa",
    "tt": "thi tran",
    "h": "huyen",
    "t": "tinh",
    "x": "xa",
    "q": "quan",
    "p": "phuong",
}
_COUNCIL_AHEAD = re.compile(r"(?:hdnd|hoi dong nhan dan)" + _WORD_AFTER)
_PUNCTUATION = re.compile(r"[^a-z0-9 ]+")

# Departments named by their initials, part by part: “Phòng NN&PTNT”, “Sở LĐ-TB&XH”,
# “Phòng Tài chính - Kế hoạch” = “Phòng TC-KH”. Each part is its words or its initials.
_DEPARTMENTS = [
    (("van hoa", "vh"), ("the thao", "tt"), ("du lich", "dl")),
    (("lao dong", "ld"), ("thuong binh", "tb"), ("xa hoi", "xh")),
    (("nong nghiep", "nn"), ("phat trien nong thon", "ptnt")),
    (("nong nghiep", "nn"), ("moi truong", "mt")),
    (("tai chinh", "tc"), ("ke hoach", "kh")),
    (("ke hoach", "kh"), ("dau tu", "dt")),
    (("tai nguyen", "tn"), ("moi truong", "mt")),
    (("giao duc", "gd"), ("dao tao", "dt")),
    (("thong tin", "tt"), ("truyen thong", "tt")),
    (("van hoa", "vh"), ("thong tin", "tt")),
    (("giao thong", "gt"), ("van tai", "vt")),
    (("kinh te", "kt"), ("ha tang", "ht")),
    (("khoa hoc", "kh"), ("cong nghe", "cn")),
    (("noi vu", "nv"),),
]


def _department(parts) -> tuple[str, str]:
    pattern = " ?".join(f"(?:{words}|{initials})" for words, initials in parts)
    return pattern, "".join(initials for _words, initials in parts)


# Each body, written every way offices write it → the one form keys use. One pass, left to
# right; at one place the first alternative that matches wins (longer forms first).
_BODIES = [
    # The Fatherland Front: in a list, “Mặt trận” and “MTTQ” mean its committee.
    (
        r"(?:uy ban |ub ?)?(?:mat tran to quoc(?: viet nam| vn)?|mat tran|mttq ?(?:viet nam|vn)?)",
        "ubmttq",
    ),
    (r"ubmttq ?(?:viet nam|vn)?", "ubmttq"),
    (r"(?:thuong truc|tt) ?(?:hoi dong nhan dan|hdnd)", "tthdnd"),
    (r"uy ban nhan dan", "ubnd"),
    (r"hoi dong nhan dan", "hdnd"),
    (r"uy ban kiem tra", "ubkt"),
    # The socio-political organisations.
    (r"(?:hoi )?(?:lien hiep|lh) phu nu(?: viet nam)?|hoi phu nu|(?:hoi )?lhpn|hlhpn", "hlhpn"),
    (r"hoi (?:nong dan|nd)|hnd", "hnd"),
    (r"(?:hoi )?(?:cuu chien binh|ccb)|hccb", "hccb"),
    (r"hoi (?:chu thap do|ctd)|hctd", "hctd"),
    (r"lien doan lao dong|ldld", "ldld"),
    (r"doan (?:thanh nien(?: cong san)?|tn ?(?:cs)?)(?: ho chi minh| ?hcm)?|doantn", "doantn"),
    # Party departments, offices, the armed forces and the courts.
    (r"ban tuyen giao (?:dan van|dv)|btg ?dv", "btgdv"),
    (r"ban tuyen giao", "btg"),
    (r"ban dan van", "bdv"),
    (r"ban to chuc", "btc"),
    (r"van phong", "vp"),
    (r"ban chi huy quan su|bch ?qs", "bchqs"),
    (r"cong an", "ca"),
    (r"vien kiem sat nhan dan", "vksnd"),
    (r"toa an nhan dan", "tand"),
    *map(_department, _DEPARTMENTS),
    # Levels written without their dot.
    (r"tp", "thanh pho"),
    (r"tx", "thi xa"),
    (r"ho chi minh", "hcm"),
]
_BODY = re.compile(
    _WORD_BEFORE
    + "(?:"
    + "|".join(f"(?P<b{n}>{pattern})" for n, (pattern, _form) in enumerate(_BODIES))
    + ")"
    + _WORD_AFTER
)
_BODY_FORMS = {f"b{n}": form for n, (_pattern, form) in enumerate(_BODIES)}

# What a body's key says about the words next to it: (a word the rule needs, the rule).
_ORGANISATIONS = "ubnd|hdnd|tthdnd|ubmttq|hlhpn|hnd|hccb|hctd|ldld|doantn|dang uy|ca|bchqs"
_YOUTH_LEVELS = {
    "huyen": "huyen",
    "tinh": "tinh",
    "quan": "quan",
    "thanh": "thanh pho",
    "thi": "thi xa",
}
_CONTEXT = [
    # “UBND TT Tân Nghĩa”: after a body, “TT” is a town (thị trấn), not a centre.
    (" tt ", re.compile(rf"{_WORD_BEFORE}({_ORGANISATIONS}) tt(?= [a-z0-9])"), r"\1 thi tran"),
    # “BDV HU”, “BTG TU”: the district or provincial Party committee.
    (
        " hu",
        re.compile(rf"{_WORD_BEFORE}(bdv|btg|btgdv|btc|ubkt|vp) hu{_WORD_AFTER}"),
        r"\1 huyen uy",
    ),
    (
        " tu",
        re.compile(rf"{_WORD_BEFORE}(bdv|btg|btgdv|btc|ubkt|vp) tu{_WORD_AFTER}"),
        r"\1 tinh uy",
    ),
    # “Huyện Đoàn Hàm Tân”, “Tỉnh Đoàn”, “Thành Đoàn”: the Youth Union of that level, placed
    # first (only at the start: “huyện Đoàn Hùng” is a place).
    (
        " doan ",
        re.compile(rf"^({'|'.join(_YOUTH_LEVELS)}) doan(?= |$)"),
        lambda match: f"doantn {_YOUTH_LEVELS[match.group(1)]}",
    ),
    (" doan ", re.compile(rf"^doan (?=(?:{'|'.join(LEVELS)})(?: |$))"), "doantn "),
]


def _dotted(match: re.Match) -> str:
    letters = match.group(1)
    if letters == "tt" and _COUNCIL_AHEAD.match(match.string, match.end()):
        return "thuong truc "
    return _DOTTED[letters] + " "


@functools.lru_cache(maxsize=65536)
def unit_key(text: str) -> str:
    """The comparison key of a unit name (see the module docstring).

    Cached: an import names the same few dozen units on every row, and the name table of a
    province's 4,000 units keys each of their names once.
    """
    key = _DOTTED_LEVEL.sub(_dotted, fold(text))
    key = _PUNCTUATION.sub(" ", key.replace("&", " va "))
    key = " ".join(word for word in key.split() if word != "va")
    key = _BODY.sub(lambda match: _BODY_FORMS[match.lastgroup], key)
    for needle, pattern, replacement in _CONTEXT:
        if needle in f" {key} ":
            key = pattern.sub(replacement, key)
    return key


def _level_words(words: list[str]) -> int:
    """How many of the first `words` (folded) name a level: 2 for “thị trấn”, 1 for “xã”."""
    for level in LEVELS:
        count = level.count(" ") + 1
        if words[:count] == level.split():
            return count
    return 0


@functools.lru_cache(maxsize=16384)
def locality_parts(locality: str) -> tuple[str, str]:
    """The first part of a locality (“huyện Hàm Tân” of “huyện Hàm Tân, tỉnh Bình Thuận”)
    and its place without the level word (“Hàm Tân”)."""
    first = locality.split(",")[0].strip()
    words = first.split()
    count = _level_words(_DOTTED_LEVEL.sub(_dotted, fold(first)).split())
    return first, " ".join(words[count:]) if count < len(words) else first


def place_key(locality: str) -> str:
    """The key of the place a unit serves (“ham tan”), to find it named in a cell."""
    return unit_key(locality_parts(locality)[1])


def _without_levels(key: str) -> str:
    """`key` without its level words (“ubnd huyen” → “ubnd”); “huyen uy” is a body."""
    words = key.split()
    kept, index = [], 0
    while index < len(words):
        count = _level_words(words[index:])
        if count and index and words[index + count : index + count + 1] != ["uy"]:
            index += count
            continue
        kept.append(words[index])
        index += 1
    return " ".join(kept)


@functools.lru_cache(maxsize=16384)
def display_name(full_name: str, short_name: str, locality: str) -> str:
    """The name a unit is shown by in lists, charts and reports: its short name with its
    place, so that no two units read alike (“UBND huyện” of huyện Hàm Tân is “UBND huyện Hàm
    Tân”; “Phòng TC-KH”, a short name without a level, “Phòng TC-KH huyện A”); the short name
    as written when it names the place already; the full name when there is no short name."""
    if not short_name.strip():
        return full_name
    first, place = locality_parts(locality)
    short, place_of = unit_key(short_name), unit_key(place)
    if not place_of or short.endswith(f" {place_of}") or short == place_of:
        return short_name
    words = short.split()
    has_level = any(_level_words(words[index:]) for index in range(len(words)))
    return f"{short_name} {place if has_level else first}"


@functools.lru_cache(maxsize=16384)
def unit_name_keys(full_name: str, short_name: str, locality: str) -> dict[str, int]:
    """Every key a unit of these names answers to, with its rank (best rank kept).

    - `FULL_NAME`: the full name;
    - `OWN_NAME`: the short name; the short name with the place (“UBND huyện” + “Hàm Tân”),
      or with the locality when the short name has no level (“Phòng TC-KH huyện A”); the full
      name with the rest of the locality (“…huyện Hàm Tân, tỉnh Bình Thuận”);
    - `DERIVED`: the body and the place without the level word (“UBND Hàm Tân”); the People's
      Council named for its Standing Board (“HĐND huyện Hàm Tân”).
    """
    keys: dict[str, int] = {}

    def add(key: str, rank: int) -> None:
        if key and rank < keys.get(key, DERIVED + 1):
            keys[key] = rank

    full = unit_key(full_name)
    add(full, FULL_NAME)
    first, place = locality_parts(locality)
    first_key, place_of = unit_key(first), unit_key(place)
    if first_key and full.endswith(f" {first_key}"):
        rest = locality.split(",", 1)[1] if "," in locality else ""
        if rest.strip():
            add(unit_key(f"{full_name} {rest}"), OWN_NAME)
        add(f"{full[: -len(first_key)].strip()} {place_of}", DERIVED)
    if short_name:
        short = unit_key(short_name)
        add(short, OWN_NAME)
        words = short.split()
        has_level = any(_level_words(words[index:]) for index in range(len(words)))
        if not (place_of and short.endswith(f" {place_of}")):
            add(unit_key(f"{short_name} {place if has_level else first}"), OWN_NAME)
            if has_level:
                add(f"{_without_levels(short)} {place_of}", DERIVED)
    for key in list(keys):
        if key.startswith("tthdnd "):
            add(f"hdnd {key.removeprefix('tthdnd ')}", DERIVED)
    return keys


def own_name_keys(unit) -> set[str]:
    """The keys that are `unit`'s own names (full name, short name, with its place)."""
    return {
        key
        for key, rank in unit_name_keys(unit.full_name, unit.short_name, unit.locality).items()
        if rank <= OWN_NAME
    }


def name_table(units, aliases=()) -> dict[str, list]:
    """Key → the units that answer to it at the best rank any unit holds it.

    `aliases` are (name, unit) pairs, ranked as the unit's own names.
    """
    best: dict[str, tuple[int, list]] = {}

    def add(key: str, rank: int, unit, *, repeated: bool = False) -> None:
        held = best.get(key)
        if held is None or rank < held[0]:
            best[key] = (rank, [unit])
        elif rank == held[0] and not (repeated and unit in held[1]):
            held[1].append(unit)

    for unit in units:
        # Each key once per unit: no need to look for the unit among those holding it.
        for key, rank in unit_name_keys(unit.full_name, unit.short_name, unit.locality).items():
            add(key, rank, unit)
    for name, unit in aliases:
        add(unit_key(name), OWN_NAME, unit, repeated=True)
    return {key: found for key, (_rank, found) in best.items()}
