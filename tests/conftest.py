"""Shared fixtures: users, logged-in clients and a small world of linked records."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import translation

from coordination.choices import FollowUpKind, PartyRole, TaskStatus, UnitKind
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_indicator,
    make_meeting,
    make_person,
    make_signatory,
    make_superuser,
    make_task,
    make_unit,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 is deliberately slow; MD5 first keeps `create_user(password=...)` fast, and
    # PBKDF2 stays listed so that the demo fixture's hashes still verify.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture
def vi():
    """Run the test with Vietnamese active, as the admin does."""
    with translation.override("vi"):
        yield


@pytest.fixture
def superuser(db):
    return make_superuser()


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def world(db):
    """One linked record of every coordination model, as the admin pages show them."""
    committee = make_unit(
        full_name="Ủy ban nhân dân huyện Hàm Tân",
        short_name="UBND huyện",
        kind=UnitKind.PEOPLES_COMMITTEE,
    )
    front = make_unit(
        full_name="Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân",
        short_name="UBMTTQVN huyện",
        kind=UnitKind.FATHERLAND_FRONT,
        parent=committee,
    )
    chair = make_person(
        full_name="Hà Lê Thanh Chung", position="Chủ tịch UBND huyện", unit=committee
    )
    front_chair = make_person(
        full_name="Võ Xuân Định", position="Chủ tịch UBMTTQVN huyện", unit=front
    )
    agreement = make_agreement(
        number="01/QCPH-UBND-MTTQ",
        title="Quy chế phối hợp công tác nhiệm kỳ 2021–2026",
        start_year=2021,
        end_year=2026,
        signed_on=datetime.date(2021, 8, 10),
        parties=[committee, front],
    )
    signatory = make_signatory(agreement=agreement, person=chair, unit=committee)
    indicator = make_indicator(
        agreement=agreement, unit=committee, year=2023, target=Decimal("98"), actual=99
    )
    meeting = make_meeting(
        title="Hội nghị tổng kết năm 2023",
        held_on=datetime.date(2024, 3, 13),
        period_from_year=2023,
        period_to_year=2023,
    )
    meeting.agreements.add(agreement)
    meeting.co_chairs.add(chair, front_chair)
    meeting.attending_units.add(committee, front)
    task = make_task(
        agreement=agreement,
        year=2024,
        lead_unit=committee,
        coordinating_units=[front],
        assignee=chair,
        meeting=meeting,
        # Relative to today, so that the world's task and item are never overdue.
        start_date=days(-30),
        due_date=days(60),
        status=TaskStatus.IN_PROGRESS,
        progress=40,
    )
    followup = make_followup(
        kind=FollowUpKind.LIMITATION,
        year=2024,
        responsible_unit=front,
        agreement=agreement,
        meeting=meeting,
        raised_on=days(-30),
        due_date=days(60),
    )
    return SimpleNamespace(
        committee=committee,
        front=front,
        chair=chair,
        front_chair=front_chair,
        agreement=agreement,
        party=agreement.party_links.get(role=PartyRole.LEAD),
        signatory=signatory,
        indicator=indicator,
        meeting=meeting,
        task=task,
        followup=followup,
    )
