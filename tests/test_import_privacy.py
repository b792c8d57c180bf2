"""An import tells unit staff nothing about records outside their units (issue 11, point 1).

For a user limited to units, an import behaves exactly as if other units' records did not
exist: a record number (*Mã*) of another unit's record reads word for word like a number that
does not exist, whatever else the row says (an old version, a date before the hidden start
date, a status without its date, ...), and a row whose natural key equals a hidden record's is
a new record, not a scope error. Each test imports the same row twice — once naming a hidden
record, once naming nothing — and compares every message, through `import_records`, the admin
preview, the marked error workbook and the command line.
"""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext

from coordination import kinds
from coordination.choices import UnitLevel
from coordination.exporting import rows as export_rows
from coordination.importing import import_records
from coordination.models import Task
from tests.factories import (
    db_state,
    make_agreement,
    make_followup,
    make_indicator,
    make_meeting,
    make_member,
    make_person,
    make_signatory,
    make_task,
    make_unit,
    make_user,
    xlsx_bytes,
    xlsx_values,
)
from tests.test_import_admin import content_of, logged_in, upload, url

pytestmark = pytest.mark.django_db

KINDS = {
    "units": "unit",
    "people": "person",
    "agreements": "agreement",
    "signatories": "signatory",
    "meetings": "meeting",
    "tasks": "task",
    "followups": "followup",
    "indicators": "indicator",
}
# The columns naming the units a row belongs to, per kind (as the Resource's scope).
SCOPE_COLUMNS = {
    "people": ["unit"],
    "agreements": ["lead_units", "party_units"],
    "signatories": ["unit"],
    "meetings": ["attending_units"],
    "tasks": ["lead_unit"],
    "followups": ["responsible_unit"],
    "indicators": ["unit"],
}
# The free-text part of each kind's natural key.
KEY_TEXT = {
    "units": "full_name",
    "people": "full_name",
    "meetings": "title",
    "tasks": "content",
    "followups": "content",
    "indicators": "name",
}
OLD_VERSION = "2001-01-01T00:00:00+00:00"
SECRET = "Bí mật của xã Tân Xuân"


@pytest.fixture
def towns(db):
    """Communes A and B; B's records of every kind hidden from A's staff member."""
    a = make_unit(
        full_name="Ủy ban nhân dân xã Tân Hà",
        short_name="UBND xã Tân Hà",
        level=UnitLevel.COMMUNE,
        locality="xã Tân Hà",
    )
    b = make_unit(
        full_name="Ủy ban nhân dân xã Tân Xuân",
        short_name="UBND xã Tân Xuân",
        level=UnitLevel.COMMUNE,
        locality="xã Tân Xuân",
    )
    person_a = make_person(full_name="Lê Văn An", unit=a)
    person_b = make_person(full_name=f"Trần Thị {SECRET}", unit=b)
    shared = make_agreement(number="05/CTPH-2024", start_year=2024, end_year=2024, parties=[a, b])
    hidden_agreement = make_agreement(
        number="09/CTPH-TX", title=SECRET, start_year=2024, end_year=2024, parties=[b]
    )
    meeting_b = make_meeting(title=f"Hội nghị {SECRET}", held_on=datetime.date(2024, 3, 1))
    meeting_b.attending_units.add(b)
    hidden = {
        "units": b,
        "people": person_b,
        "agreements": hidden_agreement,
        "signatories": make_signatory(agreement=hidden_agreement, person=person_b, unit=b),
        "meetings": meeting_b,
        # Numbers of their own, so that a test can blank them in a whole page.
        "tasks": make_task(
            id=424_242,
            agreement=shared,
            year=2024,
            content=f"Nhiệm vụ {SECRET}",
            lead_unit=b,
            start_date=datetime.date(2024, 6, 1),
            due_date=datetime.date(2024, 9, 30),
            completed_on=None,
        ),
        "followups": make_followup(
            id=434_343, year=2024, responsible_unit=b, content=f"Hạn chế {SECRET}", agreement=shared
        ),
        "indicators": make_indicator(agreement=shared, year=2024, unit=b, name=SECRET),
    }
    importer = make_user(
        username="canbo_tanha",
        permissions=[
            f"coordination.{action}_{model}"
            for model in KINDS.values()
            for action in ("view", "add", "change", "import", "export")
        ],
    )
    make_member(importer, a)
    return {"a": a, "person_a": person_a, "hidden": hidden, "importer": importer}


def exported(kind, record) -> tuple[list, list]:
    """The header and the row an administrator's export gives for `record`."""
    resource = kinds.get(kind).resource
    with translation.override("vi"):
        header = [str(column.column_name) for column in resource.columns()]
    queryset = resource._meta.model.objects.filter(pk=record.pk)
    return header, next(export_rows(resource, queryset))


def attributes(kind) -> list[str]:
    return [column.attribute for column in kinds.get(kind).resource.columns()]


def with_cells(kind, row, /, **cells) -> list:
    names = attributes(kind)
    row = list(row)
    for name, value in cells.items():
        row[names.index(name)] = value
    return row


def own_units(kind, row, towns) -> list:
    """The row given to the importer's own unit, as someone trying their luck would."""
    cells = {}
    for name in SCOPE_COLUMNS.get(kind, []):
        cells[name] = towns["a"].full_name if name != "party_units" else None
    if kind == "people" or kind == "signatories":
        cells["unit"] = towns["a"].full_name
    if kind == "signatories":
        cells["person"] = towns["person_a"].full_name
    return with_cells(kind, row, **cells)


def variants(kind, row, towns):
    """Rows a curious user might send about a hidden record, each keeping its number."""
    mine = own_units(kind, row, towns)
    found = {"as exported": row, "own unit": mine, "old version": None}
    found["old version"] = with_cells(kind, mine, updated_at=OLD_VERSION)
    names = attributes(kind)
    for name in names:
        if name not in ("id", "updated_at"):
            found[f"{name} empty, old version"] = with_cells(
                kind, found["old version"], **{name: None}
            )
    if kind == "tasks":
        found["done without date"] = with_cells(
            kind, mine, status="Đã hoàn thành", completed_on=None, progress=100
        )
        found["due before the start"] = with_cells(kind, mine, due_date="01/01/2024")
        found["due after the start"] = with_cells(kind, mine, due_date="31/12/2024")
    if kind == "followups":
        found["resolved without date"] = with_cells(
            kind, mine, status="Đã giải quyết", resolved_on=None
        )
        found["carried over from itself"] = with_cells(kind, mine, carried_over_from=row[0])
    return found


def outcome(kind, header, row, user, *, number=None) -> list:
    """Every row status and message of a dry-run import of one row, the number blanked."""
    data = xlsx_bytes([header, row])
    report = import_records(kind=kind, data=data, file_name="thu.xlsx", user=user, dry_run=True)
    return normalised(report, number)


def normalised(report, number) -> list:
    def blank(text):
        return re.sub(rf"\b{number}\b", "<MÃ>", str(text)) if number else str(text)

    return [
        *map(blank, report.file_errors),
        *map(blank, report.warnings),
        *[
            (o.status, [(p.column, blank(p.message), blank(p.value)) for p in o.problems], o.notes)
            for o in report.outcomes
        ],
    ]


def missing_number(kind) -> int:
    model = kinds.get(kind).resource._meta.model
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 987_654


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_hidden_record_number_reads_like_a_number_that_does_not_exist(towns, kind):
    """Whatever the row says besides, naming another unit's record by its *Mã* answers word
    for word what naming a number that exists nowhere answers."""
    record = towns["hidden"][kind]
    header, row = exported(kind, record)
    missing = missing_number(kind)
    before = db_state()
    for label, variant in variants(kind, row, towns).items():
        hidden_answer = outcome(kind, header, variant, towns["importer"], number=record.pk)
        missing_row = [missing, *variant[1:]]
        if kind == "followups" and label == "carried over from itself":
            missing_row = with_cells(kind, missing_row, carried_over_from=missing)
        missing_answer = outcome(kind, header, missing_row, towns["importer"], number=missing)
        assert hidden_answer == missing_answer, label
        assert SECRET not in repr(hidden_answer), label
    assert db_state() == before


@pytest.mark.parametrize("kind", list(KEY_TEXT))
def test_a_row_whose_key_equals_a_hidden_record_is_a_new_record(towns, kind):
    """Without a number, a row is matched only against records the user may see: the
    hidden record's content answers exactly as fresh content does."""
    record = towns["hidden"][kind]
    header, row = exported(kind, record)
    header, row = header[1:-1], row[1:-1]  # no number, no version: a list kept by hand
    key = KEY_TEXT[kind]
    names = attributes(kind)[1:-1]
    fresh = list(row)
    fresh[names.index(key)] = f"{row[names.index(key)]} (bản khác)"
    for variant in (row, own_units_without_number(kind, row, towns, names)):
        other = list(variant)
        other[names.index(key)] = fresh[names.index(key)]
        assert outcome(kind, header, variant, towns["importer"]) == outcome(
            kind, header, other, towns["importer"]
        )


def own_units_without_number(kind, row, towns, names) -> list:
    full = own_units(kind, [None, *row, None], towns)
    return full[1:-1]


def test_a_task_with_a_hidden_task_key_is_imported_as_the_unit_own_new_task(towns):
    """Decided: the importer's own unit gets its own record; the hidden one is untouched."""
    hidden = towns["hidden"]["tasks"]
    header, row = exported("tasks", hidden)
    row = own_units("tasks", row, towns)
    data = xlsx_bytes([header[1:-1], row[1:-1]])
    report = import_records(
        kind="tasks", data=data, file_name="thu.xlsx", user=towns["importer"], dry_run=False
    )
    assert report.written and report.summary_line() == "new=1 updated=0 unchanged=0 errors=0"
    assert Task.objects.filter(content=hidden.content).count() == 2
    hidden.refresh_from_db()
    assert hidden.lead_unit.full_name == "Ủy ban nhân dân xã Tân Xuân"


def test_an_agreement_number_in_use_is_refused_naming_nothing_of_its_agreement(towns):
    """Decided: agreement numbers are unique in the database, so a number another unit's
    agreement holds is refused, as the admin's add form refuses it, with nothing of that
    agreement in the message (the number is the public reference of a signed document)."""
    hidden = towns["hidden"]["agreements"]
    header, row = exported("agreements", hidden)
    row = own_units("agreements", row, towns)
    data = xlsx_bytes([header[1:-1], with_cells("agreements", row, title="Của Tân Hà")[1:-1]])
    before = db_state()
    report = import_records(
        kind="agreements", data=data, file_name="thu.xlsx", user=towns["importer"], dry_run=False
    )
    with translation.override("vi"):
        expected = gettext("An agreement with this number already exists.")
    assert [(p.column, p.message) for p in report.problems] == [("Số, ký hiệu", expected)]
    assert db_state() == before


def test_the_records_the_user_may_see_still_match_by_number_and_key(towns):
    """The scope narrows what an import may name, not what it finds of the user's own."""
    own = make_task(
        agreement=towns["hidden"]["tasks"].agreement,
        year=2024,
        content="Việc của Tân Hà",
        lead_unit=towns["a"],
    )
    header, row = exported("tasks", own)
    changed = with_cells("tasks", row, result="Đã xong")
    for data in (xlsx_bytes([header, changed]), xlsx_bytes([header[1:-1], changed[1:-1]])):
        report = import_records(kind="tasks", data=data, file_name="t.xlsx", user=towns["importer"])
        assert report.summary_line() == "new=0 updated=1 unchanged=0 errors=0"


def test_admin_preview_and_marked_workbook_read_alike_for_hidden_and_missing(towns):
    hidden = towns["hidden"]["tasks"]
    header, row = exported("tasks", hidden)
    row = with_cells("tasks", own_units("tasks", row, towns), updated_at=OLD_VERSION)
    client = logged_in(towns["importer"])
    answers = []
    for number in (hidden.pk, missing_number("tasks")):
        response = upload(client, "task", xlsx_bytes([header, [number, *row[1:]]]))
        assert response.status_code == 200
        page = response.content.decode()
        token = response.context["token"]
        marked = xlsx_values(content_of(client.get(url("task", "import_errors", token))))
        text = page.replace(token, "<TOKEN>").replace(str(number), "<MÃ>")
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
        answers.append((text, [[str(v).replace(str(number), "<MÃ>") for v in r] for r in marked]))
        assert SECRET not in page
    assert answers[0] == answers[1]


def test_command_line_reads_alike_for_hidden_and_missing(towns, tmp_path):
    hidden = towns["hidden"]["followups"]
    header, row = exported("followups", hidden)
    row = with_cells("followups", own_units("followups", row, towns), updated_at=OLD_VERSION)
    answers = []
    for number in (hidden.pk, missing_number("followups")):
        path = tmp_path / f"{number}.xlsx"
        path.write_bytes(xlsx_bytes([header, [number, *row[1:]]]))
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(SystemExit) as exit_:
            call_command(
                "import_records",
                "followups",
                str(path),
                "--dry-run",
                "--user",
                "canbo_tanha",
                stdout=out,
                stderr=err,
            )
        answers.append(
            (exit_.value.code, (out.getvalue() + err.getvalue()).replace(str(number), "<MÃ>"))
        )
        assert SECRET not in err.getvalue()
    assert answers[0] == answers[1]
