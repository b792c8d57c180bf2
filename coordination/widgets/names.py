"""How names compare: agreement numbers without spaces, unit names with their abbreviations."""

import functools

from coordination.text import fold


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
