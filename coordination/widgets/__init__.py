"""Cell converters for spreadsheets: what a cell may hold on import, how a value is written out.

Each widget's `clean()` (django-import-export's signature) turns one raw cell (str, int,
float, date, datetime or None, as `coordination.spreadsheets` reads it) into a Python value
or raises `CellError` with a Vietnamese message; `render()` gives the value the export
writes, typed (dates stay dates, numbers stay numbers) so that the exported file re-imports
unchanged. `allowed_text()` says what a cell may hold, for the template's guide.

- `base`: `CellWidget`, `CellError`, legacy-text conversion, the limits of messages;
- `values`: text, codes, yes/no, numbers, dates, choices, record numbers and versions;
- `references`: records named by name (units, people, agreements, meetings, several);
- `names`: how names compare (agreement numbers; unit names: `coordination.unit_names`).
"""

from coordination.widgets.base import (
    SHOWN_CHARS,
    CaselessText,
    CellError,
    CellWidget,
    caseless_value,
    is_empty,
    shorten,
)
from coordination.widgets.names import agreement_key, unit_key
from coordination.widgets.references import (
    MAX_CELL_ERRORS,
    AgreementWidget,
    ManyWidget,
    MeetingWidget,
    PersonWidget,
    ReferenceWidget,
    UnitWidget,
)
from coordination.widgets.values import (
    BooleanWidget,
    ChoiceWidget,
    CodeWidget,
    DateWidget,
    DecimalWidget,
    IntegerWidget,
    RecordIdWidget,
    TextWidget,
    VersionWidget,
)

__all__ = [
    "MAX_CELL_ERRORS",
    "SHOWN_CHARS",
    "AgreementWidget",
    "BooleanWidget",
    "CaselessText",
    "CellError",
    "CellWidget",
    "ChoiceWidget",
    "CodeWidget",
    "DateWidget",
    "DecimalWidget",
    "IntegerWidget",
    "ManyWidget",
    "MeetingWidget",
    "PersonWidget",
    "RecordIdWidget",
    "ReferenceWidget",
    "TextWidget",
    "UnitWidget",
    "VersionWidget",
    "agreement_key",
    "caseless_value",
    "is_empty",
    "shorten",
    "unit_key",
]
