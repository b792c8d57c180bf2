"""`Sheet`, what a reader gives: raw cell values, and its JSON form kept beside an upload."""

import datetime
import json
from dataclasses import dataclass, field


@dataclass
class Sheet:
    """One visible sheet (or the CSV file) as raw cell values, rows and columns 0-based."""

    name: str
    rows: list[list[object]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    formula_without_value: set[tuple[int, int]] = field(default_factory=set)


def dump_sheets(sheets: list[Sheet]) -> bytes:
    """The sheets as JSON, to keep beside an upload: the confirmation of an import reads
    them back instead of parsing the file a second time. Dates are tagged objects."""

    def tagged(value):
        if isinstance(value, datetime.datetime):
            return {"dt": value.isoformat()}
        if isinstance(value, datetime.date):
            return {"d": value.isoformat()}
        raise TypeError(f"unexpected cell value {type(value).__name__}")

    payload = [
        {
            "name": sheet.name,
            "rows": sheet.rows,
            "merged": sheet.merged,
            "formula_without_value": sorted(sheet.formula_without_value),
        }
        for sheet in sheets
    ]
    return json.dumps(payload, default=tagged, ensure_ascii=False).encode()


def load_sheets(data: bytes) -> list[Sheet]:
    """The sheets `dump_sheets()` wrote, with their cell values as the reader gave them."""

    def untag(obj):
        if "dt" in obj:
            return datetime.datetime.fromisoformat(obj["dt"])
        if "d" in obj:
            return datetime.date.fromisoformat(obj["d"])
        return obj

    return [
        Sheet(
            name=sheet["name"],
            rows=sheet["rows"],
            merged=[tuple(cells) for cells in sheet["merged"]],
            formula_without_value={tuple(cell) for cell in sheet["formula_without_value"]},
        )
        for sheet in json.loads(data, object_hook=untag)
    ]


def _pad(rows: list[list[object]]) -> list[list[object]]:
    width = max((len(row) for row in rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return rows
