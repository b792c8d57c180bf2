"""Reads many damaged copies of the workbooks in the folder `argv[1]` (`argv[2]` copies of
each): an .xls with bytes changed, deleted or set to sector markers, an .ods whose content.xml
has its repeat and span counts, attributes and pieces changed (then zipped again, so that it
gets past the zip's checksums). Prints how many copies were read and how many refused, by
code (test_hostile_formats.py).

In a child process under a 4 GB address-space limit: a copy that made calamine abort or hang
ends the child, and fails the test, without harming the test process.
"""

import io
import json
import os
import random
import re
import resource
import sys
import zipfile
from collections import Counter
from pathlib import Path

import django

COUNTS = ["0", "1", "2", "16384", "16385", "1048576", "99999999999999999999", "+3", "-1", "x"]
ATTRIBUTES = [
    ' table:number-columns-repeated="%s"',
    ' table:number-rows-spanned="%s"',
    ' table:number-columns-spanned="%s"',
    ' office:value-type="string"',
    ' office:string-value="%s"',
    ' table:formula="of:=1"',
    ' calcext:value-type="error"',
]


def damaged_xls(data: bytes, rnd: random.Random) -> bytes:
    copy = bytearray(data)
    for _ in range(rnd.choice([1, 2, 4, 8, 32])):
        at = rnd.randrange(len(copy))
        choice = rnd.random()
        if choice < 0.6:
            copy[at] = rnd.randrange(256)
        elif choice < 0.8:
            copy[at : at + 4] = rnd.choice([b"\xff" * 4, bytes(4), b"\xfe\xff\xff\xff"])
        else:
            del copy[at : at + rnd.randrange(1, 64)]
    return bytes(copy)


def damaged_ods(data: bytes, rnd: random.Random) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {member.filename: source.read(member) for member in source.infolist()}
    text = members["content.xml"].decode()
    for _ in range(rnd.choice([1, 2, 3, 6])):
        choice = rnd.random()
        if choice < 0.4:
            found = list(re.finditer(r'(repeated|spanned|text:c)="([^"]*)"', text))
            if found:
                match = rnd.choice(found)
                text = text[: match.start(2)] + rnd.choice(COUNTS) + text[match.end(2) :]
        elif choice < 0.6:
            found = list(re.finditer(r"<table:table-(?:cell|row)[^>/]*", text))
            if found:
                match = rnd.choice(found)
                attribute = rnd.choice(ATTRIBUTES)
                if "%s" in attribute:
                    attribute %= rnd.choice(COUNTS)
                text = text[: match.end()] + attribute + text[match.end() :]
        elif choice < 0.8:
            at = rnd.randrange(len(text))
            text = text[:at] + text[at + rnd.randrange(1, 200) :]
        else:
            at, to = rnd.randrange(len(text)), rnd.randrange(len(text))
            text = text[:to] + text[at : at + rnd.randrange(1, 400)] + text[to:]
    members["content.xml"] = text.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def main(folder: str, copies: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from coordination.spreadsheets import SpreadsheetError, read_workbook

    outcomes: Counter = Counter()
    for path in sorted(Path(folder).iterdir()):
        damage = damaged_ods if path.suffix == ".ods" else damaged_xls
        data = path.read_bytes()
        for seed in range(int(copies)):
            copy = damage(data, random.Random(f"{path.name}-{seed}"))
            try:
                read_workbook(
                    copy,
                    filename=path.name,
                    max_bytes=10 * 2**20,
                    max_rows=100_000,
                    max_unpacked_bytes=400 * 2**20,
                )
                outcomes["read"] += 1
            except SpreadsheetError as error:
                outcomes[error.code] += 1
    print(json.dumps(dict(outcomes)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
