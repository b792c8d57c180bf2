"""Small factory functions: sensible defaults, unique names, any field overridable."""

import datetime
import importlib
import itertools
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from coordination.choices import (
    AgreementKind,
    FollowUpKind,
    FollowUpStatus,
    MeetingKind,
    PartyRole,
    TaskStatus,
    UnitKind,
    UnitLevel,
)
from coordination.history import CREATED, one_entry
from coordination.models import (
    Agreement,
    AgreementParty,
    FollowUp,
    Indicator,
    Meeting,
    Person,
    Signatory,
    Task,
    Unit,
)

_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def today() -> datetime.date:
    return timezone.localdate()


def days(n: int) -> datetime.date:
    """The date `n` days from today (negative: in the past)."""
    return today() + datetime.timedelta(days=n)


def shared_ids_reads(captured) -> int:
    """How many of the captured queries (a `CaptureQueriesContext`) read a unit scope's
    shared records' ids first (`db_functions.AmongReadIds`, PostgreSQL: one per scope)."""
    return sum("SELECT cardinality(ids)" in query["sql"] for query in captured)


def make_unit(**overrides) -> Unit:
    n = _next()
    fields = {
        "full_name": f"Đơn vị thử nghiệm số {n}",
        "short_name": "",
        "kind": UnitKind.PEOPLES_COMMITTEE,
        "level": UnitLevel.DISTRICT,
        "locality": "huyện Hàm Tân, tỉnh Bình Thuận",
    }
    fields.update(overrides)
    return Unit.objects.create(**fields)


def make_person(**overrides) -> Person:
    n = _next()
    fields = {"full_name": f"Cán bộ thử nghiệm {n}", "position": "Chuyên viên"}
    fields.update(overrides)
    _default(fields, "unit", make_unit)
    return Person.objects.create(**fields)


def make_agreement(*, parties=(), **overrides) -> Agreement:
    """An agreement; `parties` are units linked as parties (the first one as lead)."""
    n = _next()
    fields = {
        "number": f"{n:03d}/QCPH-UBND-MTTQ",
        "title": f"Quy chế phối hợp thử nghiệm số {n}",
        "kind": AgreementKind.REGULATION,
        "signed_on": datetime.date(2021, 3, 15),
        "start_year": 2021,
        "end_year": 2026,
    }
    fields.update(overrides)
    agreement = Agreement(**fields)
    # One "created" entry holding the parties, as the admin's add form writes it.
    with one_entry(agreement, CREATED):
        agreement.save()
        for position, unit in enumerate(parties):
            make_party(
                agreement=agreement,
                unit=unit,
                role=PartyRole.LEAD if position == 0 else PartyRole.PARTY,
            )
    return agreement


def _default(fields: dict, name: str, factory) -> None:
    """Fill `name` with `factory()` unless given (as an object or as `<name>_id`)."""
    if name not in fields and f"{name}_id" not in fields:
        fields[name] = factory()


def make_party(**overrides) -> AgreementParty:
    fields = {"role": PartyRole.PARTY}
    fields.update(overrides)
    _default(fields, "agreement", make_agreement)
    _default(fields, "unit", make_unit)
    return AgreementParty.objects.create(**fields)


def make_signatory(**overrides) -> Signatory:
    fields = dict(overrides)
    _default(fields, "agreement", make_agreement)
    _default(fields, "person", make_person)
    _default(fields, "unit", lambda: fields["person"].unit)
    return Signatory.objects.create(**fields)


def make_indicator(**overrides) -> Indicator:
    n = _next()
    fields = {
        "year": 2022,
        "name": f"Tỷ lệ hòa giải thành số {n}",
        "measure": "%",
        "target": Decimal("98"),
    }
    fields.update(overrides)
    _default(fields, "agreement", make_agreement)
    _default(fields, "unit", make_unit)
    return Indicator.objects.create(**fields)


def make_meeting(**overrides) -> Meeting:
    n = _next()
    fields = {
        "title": f"Hội nghị đánh giá thử nghiệm số {n}",
        "kind": MeetingKind.ASSESSMENT,
        "held_on": datetime.date(2024, 3, 13),
        "venue": "Hội trường UBND huyện",
        "period_from_year": 2023,
        "period_to_year": 2023,
    }
    fields.update(overrides)
    return Meeting.objects.create(**fields)


def make_task(*, coordinating_units=(), **overrides) -> Task:
    n = _next()
    fields = {
        "year": 2024,
        "content": f"Nhiệm vụ phối hợp thử nghiệm số {n}",
        "status": TaskStatus.NOT_STARTED,
    }
    fields.update(overrides)
    _default(fields, "agreement", make_agreement)
    _default(fields, "lead_unit", make_unit)
    task = Task(**fields)
    with one_entry(task, CREATED):
        task.save()
        task.coordinating_units.set(coordinating_units)
    return task


def make_followup(**overrides) -> FollowUp:
    n = _next()
    fields = {
        "kind": FollowUpKind.LIMITATION,
        "year": 2024,
        "content": f"Tồn tại, hạn chế thử nghiệm số {n}",
        "status": FollowUpStatus.OPEN,
    }
    fields.update(overrides)
    _default(fields, "responsible_unit", make_unit)
    return FollowUp.objects.create(**fields)


def make_user(*, permissions=(), **overrides):
    """A user without a usable password (tests log in with `force_login`).

    `permissions` are "app_label.codename" strings.
    """
    n = _next()
    fields = {"username": f"user{n}", "is_staff": True}
    fields.update(overrides)
    user = get_user_model().objects.create_user(**fields)
    for label in permissions:
        app_label, codename = label.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def make_superuser(**overrides):
    return make_user(is_superuser=True, **overrides)


# ---------------------------------------------------------------------------
# Unit staff, spreadsheet files and database snapshots (spreadsheet import and export tests)
# ---------------------------------------------------------------------------


def make_member(user, unit):
    """Make `user` a member of staff of `unit` (their import and export scope)."""
    from coordination.models import UnitMember

    return UnitMember.objects.create(user=user, unit=unit)


def xlsx_bytes(rows, *, title="Dữ liệu", sheets=None) -> bytes:
    """An .xlsx file written with openpyxl, as Excel would save it: one sheet of `rows`.

    `sheets` ({title: rows}) writes several sheets instead. Cells keep their Python type
    (dates become Excel dates, numbers numbers); a str starting with "=" becomes a formula
    without a cached value, as openpyxl writes formulas.
    """
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet_title, sheet_rows in (sheets or {title: rows}).items():
        worksheet = workbook.create_sheet(sheet_title)
        for row in sheet_rows:
            worksheet.append(list(row))
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def csv_bytes(rows, *, encoding="utf-8-sig", delimiter=",") -> bytes:
    """A CSV file of `rows` (None → empty cell) in `encoding` with `delimiter`."""
    import csv
    import io

    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return text.getvalue().encode(encoding)


def read_xlsx(data: bytes, sheet=None):
    """The cells of an .xlsx file, read back with openpyxl: (worksheet, rows of cells)."""
    import io

    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    return worksheet, [list(row) for row in worksheet.iter_rows()]


def xlsx_values(data: bytes, sheet=None) -> list[list]:
    """The values of an .xlsx file's first (or named) sheet, row by row."""
    _worksheet, rows = read_xlsx(data, sheet)
    return [[cell.value for cell in row] for row in rows]


def db_state() -> dict:
    """Count and hash of every coordination table (link tables too, the stored counts apart)
    and of the admin log.

    Equal before and after an operation means the operation wrote nothing at all, not even
    a timestamp. Each table is read with plain SQL, every column as the database stores it:
    the permission matrix asks this twice per refused request, and the ORM's cost per query
    was about a third of the time those tests took.
    """
    import hashlib

    from django.apps import apps
    from django.contrib.admin.models import LogEntry
    from django.db import connection

    # Not the outstanding table's stored counts and marks (models/tallies.py): the database
    # keeps them for the records written, and a page's reading counts them again.
    models = [
        *(
            model
            for model in apps.get_app_config("coordination").get_models(include_auto_created=True)
            if model.__module__ != "coordination.models.tallies"
        ),
        LogEntry,
    ]
    quote = connection.ops.quote_name
    state = {}
    with connection.cursor() as cursor:
        for model in models:
            table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")
            rows = cursor.fetchall()
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()
            state[model._meta.label] = (len(rows), digest)
    return state


def ensure_roles() -> None:
    """The three role groups, as migration 0005 creates them. A transactional test's flush
    empties every table, data written by migrations included; call this before loading
    fixtures that name the groups."""
    migration = importlib.import_module("coordination.migrations.0005_roles")
    migration.create_roles(django_apps, None)


def run_in_child(script: str, *args, workdir) -> dict:
    """Run tests/scripts/`script`.py in a fresh interpreter on its own SQLite database in
    `workdir` (threads, memory peaks and file locks of one process, away from the test
    process), and return the JSON object it printed last."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{Path(workdir) / 'db.sqlite3'}",
        "DJANGO_VAR_DIR": str(workdir),
    }
    result = subprocess.run(
        [sys.executable, "-m", f"tests.scripts.{script}", *map(str, args)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# Rows of each kind, many at once: the query-count tests build 5, then 50.


def build_units(n):
    parents = [make_unit(), make_unit()]
    for i in range(n):
        if i % 2:
            make_unit(
                parent=parents[0], successor=parents[1], dissolved_on=days(-1), is_active=False
            )
        else:
            make_unit(parent=parents[1])


def build_people(n):
    for _ in range(n):
        make_person()


def build_agreements(n):
    units = [make_unit() for _ in range(4)]
    for i in range(n):
        make_agreement(parties=[units[i % 4], units[(i + 1) % 4], units[(i + 2) % 4]])


def build_signatories(n):
    agreement = make_agreement()
    for _ in range(n):
        make_signatory(agreement=agreement)


def build_indicators(n):
    for i in range(n):
        make_indicator(actual=i)


def build_meetings(n):
    agreement = make_agreement()
    chairs = [make_person(), make_person()]
    for _ in range(n):
        meeting = make_meeting()
        meeting.agreements.add(agreement)
        meeting.co_chairs.set(chairs)
        meeting.attending_units.set([chair.unit for chair in chairs])


def build_tasks(n):
    agreement = make_agreement()
    meeting = make_meeting()
    units = [make_unit() for _ in range(3)]
    for i in range(n):
        make_task(
            agreement=agreement if i % 2 else make_agreement(),
            lead_unit=make_unit(),
            coordinating_units=units[: 1 + i % 3],
            assignee=make_person(),
            meeting=meeting,
            due_date=days(i - n // 2),
        )


def build_followups(n):
    meetings = [make_meeting(), make_meeting()]
    agreement = make_agreement()
    for i in range(n):
        make_followup(
            meeting=meetings[i % 2],
            agreement=agreement,
            due_date=days(i - n // 2),
            source_reference=f"Báo cáo số {i}",
        )


BUILDERS = {
    "unit": build_units,
    "person": build_people,
    "agreement": build_agreements,
    "signatory": build_signatories,
    "indicator": build_indicators,
    "meeting": build_meetings,
    "task": build_tasks,
    "followup": build_followups,
}
