"""Property-based tests (RELIABILITY.md, H 59–61) with hypothesis."""

import datetime
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.choices import AgreementKind
from coordination.models import Agreement
from coordination.spreadsheets import escape_formula, unescape_formula
from coordination.text import clean_text
from tests.factories import make_superuser

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


def zip_like(data: bytes) -> bytes:
    """Arbitrary bytes behind an .xlsx's zip signature, so they reach the xlsx reader."""
    return b"PK\x03\x04" + data


@FEW
@given(
    data=st.binary(max_size=64_000), suffix=st.sampled_from(["csv", "xlsx"]), zipped=st.booleans()
)
def test_arbitrary_bytes_never_cause_a_server_error(importer, data, suffix, zipped):
    """Any file at all gets the upload page back (with an error), never a 500, and writes
    nothing."""
    payload = zip_like(data) if zipped else data
    before = Agreement.objects.count()
    response = importer.post(
        "/admin/coordination/agreement/import/",
        {"import_file": SimpleUploadedFile(f"tep.{suffix}", payload)},
    )
    assert response.status_code == 200
    assert Agreement.objects.count() == before


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
