"""Shared fixtures: users, logged-in clients and a small world of linked records."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import translation

from coordination.choices import (
    AgreementKind,
    AgreementStatus,
    FollowUpKind,
    FollowUpStatus,
    IndicatorComparison,
    PartyRole,
    TaskStatus,
    UnitKind,
    UnitLevel,
)
from tests import office
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
    make_user,
)


@pytest.fixture(scope="session")
def django_db_modify_db_settings_xdist_suffix(request):
    """Under pytest-xdist, each worker's own test database, as pytest-django's fixture of
    this name gives: "test_NAME_gw0" on PostgreSQL. SQLite's test database is already one in
    memory per process; pytest-django leaves it alone only under Django's own engine name,
    and config/settings.py names its subclass, config.sqlite3."""
    from django.conf import settings

    worker = getattr(request.config, "workerinput", {}).get("workerid")
    if not worker:
        return
    for database in settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        if test.get("NAME") == ":memory:":
            continue
        if not test.get("NAME") and database["ENGINE"].endswith("sqlite3"):
            continue
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{worker}"


@pytest.fixture(scope="session")
def libreoffice():
    """LibreOffice, for tests of the .ods and .xls files users save: missing, it fails the
    test (a skip would hide that those formats went untested)."""
    try:
        return office.libreoffice()
    except office.OfficeMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 is deliberately slow; MD5 first keeps `create_user(password=...)` and the demo
    # users of `load_demo` fast, and PBKDF2 stays listed so that production hashes still verify.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    """Each test starts with an empty cache and counts every time: the tests that keep a
    long list's count or the outstanding figures (settings.FIGURES_CACHE_SECONDS) say so."""
    from django.core.cache import cache

    # Each test process its own cache in memory (the file cache would be shared by the
    # processes of a parallel run, each clearing it for its own tests).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    settings.FIGURES_CACHE_SECONDS = 0


@pytest.fixture
def vi():
    """Run the test with Vietnamese active, as the admin does."""
    with translation.override("vi"):
        yield


@pytest.fixture
def auditor_client(client, db):
    """A client logged in as an auditor (the group *Kiểm tra – giám sát*: reads every unit)."""
    from django.contrib.auth.models import Group

    user = make_user()
    user.groups.add(Group.objects.get(name="Kiểm tra – giám sát"))
    client.force_login(user)
    return client


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


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    """Uploads waiting between preview and confirm go to the test's own folder, never var/."""
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def spreadsheet_world(world):
    """`world` plus the values spreadsheets get wrong: leading zeros, text that looks like a
    formula, several lines, decimals, dissolved units, parents, carried-over items."""
    union = make_unit(
        full_name="Hội Liên hiệp Phụ nữ huyện Hàm Tân",
        short_name="Hội LHPN huyện",
        kind=UnitKind.SOCIO_POLITICAL,
        parent=world.front,
    )
    old = make_unit(
        full_name="Phòng Văn hóa – Thông tin huyện Hàm Tân (cũ)",
        is_active=False,
        dissolved_on=datetime.date(2020, 6, 30),
        successor=world.committee,
        level=UnitLevel.DISTRICT,
    )
    union_chair = make_person(full_name="Nguyễn Thị Ánh", position="Chủ tịch Hội LHPN", unit=union)
    decision = make_agreement(
        number="0012/QĐ-UBND",
        title="=Kế hoạch phối hợp tuyên truyền năm 2024",
        kind=AgreementKind.PLAN,
        signed_on=datetime.date(2024, 1, 5),
        start_year=2024,
        end_year=2024,
        status=AgreementStatus.DRAFT,
        parent=world.agreement,
        notes="- Tuyên truyền trên loa truyền thanh\n+ Phát tờ rơi tại khu dân cư",
        parties=[union, world.committee, world.front],
    )
    make_signatory(agreement=decision, person=union_chair, unit=union, position="Chủ tịch")
    done = make_task(
        agreement=decision,
        year=2024,
        content="@Tổ chức hội nghị đối thoại với cử tri",
        lead_unit=union,
        coordinating_units=[world.committee, world.front],
        start_date=datetime.date(2024, 2, 1),
        due_date=datetime.date(2024, 6, 30),
        status=TaskStatus.DONE,
        completed_on=datetime.date(2024, 6, 15),
        progress=100,
        result="- Đã tổ chức 3 buổi\n- 250 lượt cử tri tham dự",
    )
    first = make_followup(
        kind=FollowUpKind.VOTER_PETITION,
        year=2023,
        content="Cử tri kiến nghị sửa chữa tuyến đường liên xã",
        responsible_unit=world.committee,
        raised_on=datetime.date(2023, 7, 5),
        due_date=datetime.date(2023, 12, 31),
        status=FollowUpStatus.CARRIED_OVER,
        source_reference="0045/BC-HĐND",
    )
    carried = make_followup(
        kind=FollowUpKind.VOTER_PETITION,
        year=2024,
        content="Cử tri kiến nghị sửa chữa tuyến đường liên xã",
        responsible_unit=world.committee,
        raised_on=datetime.date(2024, 1, 2),
        due_date=datetime.date(2024, 12, 31),
        status=FollowUpStatus.RESOLVED,
        resolved_on=datetime.date(2024, 10, 1),
        resolution="Đã sửa chữa xong 2 km",
        carried_over_from=first,
    )
    rate = make_indicator(
        agreement=world.agreement,
        unit=world.front,
        year=2024,
        name="Tỷ lệ giải quyết thủ tục đúng hẹn",
        measure="%",
        comparison=IndicatorComparison.AT_MOST,
        target=Decimal("99.7"),
        actual=Decimal("99.75"),
        note="-0,05 so với năm trước",
    )
    return SimpleNamespace(
        **vars(world),
        union=union,
        old=old,
        union_chair=union_chair,
        decision=decision,
        done=done,
        first=first,
        carried=carried,
        rate=rate,
    )
