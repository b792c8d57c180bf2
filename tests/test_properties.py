"""Property-based tests (RELIABILITY.md, H 59–61) with hypothesis."""

import datetime
import io
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from coordination.choices import AgreementKind, MeetingKind
from coordination.exporting import write_export
from coordination.importing import UNCHANGED, import_records
from coordination.legacy_text import detect_legacy
from coordination.models import Agreement, Meeting, Task
from coordination.spreadsheets import escape_formula, unescape_formula
from coordination.text import clean_text
from tests.factories import db_state, make_superuser, make_task

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Each example is a real request through the admin: a few dozen are plenty per run.
FEW = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def importer(client, db):
    client.force_login(make_superuser())
    return client


def expected_errors(record, values: dict) -> set[str]:
    """The fields `full_clean()` must refuse once `values` are cleaned as a save cleans them:
    required and left empty, or longer than the field allows."""
    fields = {name: type(record)._meta.get_field(name) for name in values}
    return {
        name
        for name, value in values.items()
        if (not fields[name].blank and not value)
        or (fields[name].max_length and len(value) > fields[name].max_length)
    }


def saved_as(record, raw: dict) -> dict:
    """Set `raw` on `record`, validate and save it; the stored values, or the fields refused.

    Runs in a savepoint rolled back afterwards: the examples share one test's database.
    """
    with transaction.atomic():
        for name, value in raw.items():
            setattr(record, name, value)
        try:
            record.full_clean()
        except ValidationError as error:
            transaction.set_rollback(True)
            return {"refused": set(error.message_dict)}
        record.save()
        stored = type(record).objects.values(*raw).get(pk=record.pk)
        transaction.set_rollback(True)
    return stored


# Arbitrary bytes behind a zip's signature (an .xlsx, .xlsm or .ods) or an OLE compound
# file's (an .xls), so that they reach those readers.
SIGNATURES = [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]


@FEW
@given(
    data=st.binary(max_size=64_000),
    suffix=st.sampled_from(["csv", "xlsx", "ods", "xls"]),
    signature=st.sampled_from(SIGNATURES),
    model=st.sampled_from(["agreement", "task", "unit", "followup"]),
)
def test_arbitrary_bytes_never_cause_a_server_error(
    world, importer, data, suffix, signature, model
):
    """Any file at all, uploaded to the import page of agreements, tasks, units or follow-ups,
    gets the upload page back (with an error), never a 500, and writes nothing anywhere."""
    payload = signature + data
    before = db_state()
    response = importer.post(
        f"/admin/coordination/{model}/import/",
        {"import_file": SimpleUploadedFile(f"tep.{suffix}", payload)},
    )
    assert response.status_code == 200
    assert db_state() == before


@given(st.text())
def test_an_escaped_cell_never_starts_a_formula_and_unescapes_back(value):
    escaped = escape_formula(value)
    assert not escaped.startswith(TRIGGERS)
    assert unescape_formula(escaped) == value


@given(st.text())
def test_clean_text_is_nfc_stripped_and_stable(value):
    cleaned = clean_text(value)
    assert cleaned == unicodedata.normalize("NFC", cleaned)
    assert cleaned == cleaned.strip()
    assert clean_text(cleaned) == cleaned


years = st.integers(min_value=1945, max_value=2100)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None)
@given(start=years, end=years)
def test_an_agreement_ending_before_it_starts_is_refused_by_form_rules_and_database(start, end):
    agreement = Agreement(
        number=f"{start}-{end}/QCPH",
        title="Quy chế phối hợp",
        kind=AgreementKind.REGULATION,
        start_year=start,
        end_year=end,
        signed_on=datetime.date(start, 1, 1),
    )
    if end >= start:
        agreement.full_clean()
        return
    with pytest.raises(ValidationError):
        agreement.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.bulk_create([agreement])


# Any text (control characters, combining marks, invisible characters, line breaks) is stored as
# clean_text makes it: multi-line fields (TextField) keep their line breaks.
texts = st.text(max_size=200)


@FEW
@example(value=" \x00Tuyên\u200b truyền\x0b\u00a0mới\ufffe ")
@example(value="\u0344" * 200)
@given(value=texts)
def test_any_text_saved_on_a_task_is_stored_clean(world, value):
    """Whatever is typed or pasted into a task's content and result is stored as clean_text
    gives it (NFC, trimmed, no control or invisible characters), or the task is refused when
    nothing is left of its required content."""
    task = Task(agreement=world.agreement, year=2024, lead_unit=world.committee)
    cleaned = {
        "content": clean_text(value, multiline=True),
        "result": clean_text(value, multiline=True),
    }
    refused = expected_errors(task, cleaned)
    outcome = saved_as(task, {"content": value, "result": value})
    if refused:
        assert outcome == {"refused": refused}
    else:
        assert outcome == cleaned


@FEW
@example(value="\x00\u200b\t")
@example(value="\U0001d15e" * 150)
@given(value=texts)
def test_any_text_saved_on_a_meeting_is_stored_clean(db, value):
    """A meeting's title and venue (single-line) are stored as clean_text gives them, or the
    meeting is refused: an empty title, or a text longer than the field once normalised."""
    meeting = Meeting(kind=MeetingKind.ASSESSMENT, held_on=datetime.date(2024, 3, 13))
    cleaned = {"title": clean_text(value), "venue": clean_text(value)}
    refused = expected_errors(meeting, cleaned)
    outcome = saved_as(meeting, {"title": value, "venue": value})
    if refused:
        assert outcome == {"refused": refused}
    else:
        assert outcome == cleaned


@FEW
@example(value="=SUM(A1)\n\n\n- dòng hai\ufffe")
@given(value=texts)
def test_any_task_text_survives_export_and_reimport_unchanged(world, value):
    """A task whose content and result hold any text is exported to .xlsx, and the file
    imported back shows that row as unchanged, with no problem."""
    stored = clean_text(value, multiline=True)
    assume(stored)
    # By policy (README, "Importing spreadsheets") text that reads as a legacy TCVN3 or VNI
    # word ("kÎ" is TCVN3 for "kẻ") is converted on import: it comes back changed, on purpose.
    assume(detect_legacy(stored) is None)
    with transaction.atomic():
        task = make_task(
            agreement=world.agreement,
            lead_unit=world.committee,
            year=2024,
            content=value,
            result=value,
        )
        stream = io.BytesIO()
        write_export("tasks", Task.objects.filter(pk=task.pk), stream, "xlsx")
        report = import_records(
            kind="tasks", data=stream.getvalue(), file_name="x.xlsx", dry_run=True
        )
        transaction.set_rollback(True)
    assert report.file_errors == []
    assert report.problems == []
    assert [outcome.status for outcome in report.outcomes] == [UNCHANGED]
