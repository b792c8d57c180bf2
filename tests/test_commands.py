"""`manage.py import_records`, `export_records` and `cleanup_imports`, as batch jobs run them.

Most cases call the commands in-process (`call_command`, or Django's own command-line entry
point for the exit status); one end-to-end case runs `manage.py` in a real process against a
throw-away SQLite database, to see the exit statuses a shell script sees.
"""

import csv
import datetime
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connections
from django.utils import translation
from django.utils.translation import gettext

from coordination.choices import FollowUpKind, FollowUpStatus, TaskStatus
from coordination.models import Task
from tests.factories import (
    csv_bytes,
    db_state,
    make_agreement,
    make_followup,
    make_meeting,
    make_member,
    make_task,
    make_user,
    xlsx_bytes,
    xlsx_values,
)

ROOT = Path(__file__).resolve().parent.parent
TASK_HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý", "Trạng thái"]
SUMMARY = re.compile(r"^new=\d+ updated=\d+ unchanged=\d+ errors=\d+$")


def vi(message: str, /, **params) -> str:
    with translation.override("vi"):
        text = gettext(message)
    return text % params if params else text


def task_row(world, content, *, unit=None, due="31/12/2024", status="Đang thực hiện"):
    return [world.agreement.number, 2024, content, unit or world.committee.full_name, due, status]


def write(path: Path, rows, *, file_format=None) -> Path:
    file_format = file_format or path.suffix.lstrip(".")
    path.write_bytes(csv_bytes(rows) if file_format == "csv" else xlsx_bytes(rows))
    return path


def import_command(*args):
    """Run import_records in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_records", *map(str, args), stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def exit_status(monkeypatch, *argv) -> int:
    """The exit status `python manage.py *argv` ends with, through Django's entry point."""
    # The entry point closes the database connections when the command ends; the test's
    # transaction must survive that.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    try:
        execute_from_command_line(["manage.py", *map(str, argv)])
    except SystemExit as exit_:
        return exit_.code
    return 0


# import_records ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_writes_and_ends_with_the_summary_line(world, tmp_path):
    path = write(
        tmp_path / "nhiem-vu.xlsx",
        [TASK_HEADER, task_row(world, "Nhiệm vụ 1"), task_row(world, "Nhiệm vụ 2")],
    )
    count = Task.objects.count()
    status, out, err = import_command("tasks", path)
    assert status == 0
    assert out.splitlines()[-1] == "new=2 updated=0 unchanged=0 errors=0"
    assert SUMMARY.match(out.splitlines()[-1])
    assert err == ""  # no progress bar when stderr is not a terminal
    assert Task.objects.count() == count + 2

    status, out, _err = import_command("tasks", path)
    assert status == 0 and out.splitlines()[-1] == "new=0 updated=0 unchanged=2 errors=0"
    assert Task.objects.count() == count + 2


@pytest.mark.django_db
def test_dry_run_reports_and_writes_nothing(world, tmp_path):
    path = write(tmp_path / "nhiem-vu.csv", [TASK_HEADER, task_row(world, "Chỉ kiểm tra")])
    before = db_state()
    status, out, _err = import_command("tasks", path, "--dry-run")
    assert status == 0
    assert out.splitlines()[-1] == "new=1 updated=0 unchanged=0 errors=0"
    assert db_state() == before


@pytest.mark.django_db
def test_refused_rows_exit_1_list_every_problem_and_write_nothing(world, tmp_path):
    path = write(
        tmp_path / "nhiem-vu.xlsx",
        [
            TASK_HEADER,
            task_row(world, "Đúng"),
            task_row(world, "Sai đơn vị", unit="UBND huyện Hàm Tâm"),
            task_row(world, "Sai ngày", due="31/02/2024"),
        ],
    )
    before = db_state()
    status, out, err = import_command("tasks", path)
    assert status == 1
    assert out.splitlines()[-1] == "new=1 updated=0 unchanged=0 errors=2"
    lines = err.splitlines()
    assert lines[0].startswith(
        vi("row %(row)s", row=3)
        + ", Đơn vị chủ trì: "
        + vi("Unknown unit “%(value)s”.", value="UBND huyện Hàm Tâm")
    )
    assert lines[0].endswith("[UBND huyện Hàm Tâm]")
    assert lines[1] == (
        vi("row %(row)s", row=4)
        + ", Hạn xử lý: "
        + vi("%(value)s is not a real date (day/month/year).", value="31/02/2024")
        + " [31/02/2024]"
    )
    assert db_state() == before


@pytest.mark.django_db
def test_legacy_text_and_ignored_columns_are_reported_on_stderr(world, tmp_path):
    path = write(
        tmp_path / "nhiem-vu.xlsx",
        [[*TASK_HEADER, "Ghi chú riêng"], [*task_row(world, "Tuyªn truyÒn vËn ®éng"), "x"]],
    )
    status, _out, err = import_command("tasks", path)
    assert status == 0
    assert vi("Warning: %(message)s", message="").strip() in err
    assert (
        vi("Text in the legacy %(encoding)s encoding was converted to Unicode.", encoding="TCVN3")
        in err
    )
    assert Task.objects.filter(content="Tuyên truyền vận động").exists()


@pytest.mark.django_db
def test_import_as_a_user_applies_their_unit_scope_and_logs_their_name(world, tmp_path):
    staff = make_user(username="can_bo_ubnd")
    make_member(staff, world.committee)
    ours = write(tmp_path / "ours.xlsx", [TASK_HEADER, task_row(world, "Của UBND")])
    theirs = write(
        tmp_path / "theirs.xlsx",
        [TASK_HEADER, task_row(world, "Của Mặt trận", unit="UBMTTQVN huyện")],
    )
    before = db_state()
    status, _out, err = import_command("tasks", theirs, "--user", "can_bo_ubnd")
    assert status == 1
    assert vi("You may only import records of your own units.") in err
    assert db_state() == before

    status, _out, _err = import_command("tasks", ours, "--user", "can_bo_ubnd")
    assert status == 0
    assert LogEntry.objects.filter(user=staff).count() == 1


@pytest.mark.django_db
def test_unknown_user_is_a_usage_error(world, tmp_path):
    path = write(tmp_path / "nhiem-vu.xlsx", [TASK_HEADER, task_row(world, "Không ai")])
    before = db_state()
    with pytest.raises(CommandError) as caught:
        import_command("tasks", path, "--user", "khong_co")
    assert caught.value.returncode == 2
    assert str(caught.value) == vi("No user named %(user)s.", user="khong_co")
    assert db_state() == before


@pytest.mark.django_db
def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(CommandError) as caught:
        import_command("tasks", tmp_path / "khong-co.xlsx")
    assert caught.value.returncode == 2
    assert "khong-co.xlsx" in str(caught.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("rong.xlsx", b""),
        ("hoa-don.xlsx", b"%PDF-1.7\n" + b"x" * 300),
        ("cu.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        ("utf16.csv", "Năm,Nội dung\n2024,x\n".encode("utf-16")),
    ],
)
def test_unreadable_files_exit_2_and_write_nothing(world, tmp_path, monkeypatch, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    before = db_state()
    assert exit_status(monkeypatch, "import_records", "tasks", path) == 2
    assert db_state() == before


@pytest.mark.django_db
def test_exit_statuses_through_the_command_line_entry_point(world, tmp_path, monkeypatch):
    good = write(tmp_path / "good.xlsx", [TASK_HEADER, task_row(world, "Tốt")])
    bad = write(tmp_path / "bad.xlsx", [TASK_HEADER, task_row(world, "Xấu", due="31/02/2024")])
    assert exit_status(monkeypatch, "import_records", "tasks", bad) == 1
    assert not Task.objects.filter(content="Xấu").exists()
    assert exit_status(monkeypatch, "import_records", "tasks", good, "--dry-run") == 0
    assert not Task.objects.filter(content="Tốt").exists()
    assert exit_status(monkeypatch, "import_records", "tasks", good) == 0
    assert Task.objects.filter(content="Tốt").exists()
    assert exit_status(monkeypatch, "import_records", "tasks", good, "--user", "ai_do") == 2
    assert exit_status(monkeypatch, "import_records", "nhiemvu", good) == 2  # unknown KIND
    assert exit_status(monkeypatch, "import_records", "tasks") == 2  # no FILE


@pytest.mark.django_db
def test_progress_bar_is_drawn_on_a_terminal(world, tmp_path, monkeypatch, capsys):
    path = write(
        tmp_path / "nhiem-vu.xlsx", [TASK_HEADER, *[task_row(world, f"Việc {i}") for i in range(3)]]
    )
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    call_command("import_records", "tasks", str(path), stdout=io.StringIO())
    drawn = capsys.readouterr().err
    assert "\r[" in drawn and drawn.rstrip().endswith("] 3/3")
    assert "#" * 40 in drawn


@pytest.mark.parametrize(
    "kind",
    [
        "units",
        "people",
        "agreements",
        "signatories",
        "meetings",
        "tasks",
        "followups",
        "indicators",
    ],
)
@pytest.mark.django_db
def test_every_kind_can_be_imported_from_the_command_line(spreadsheet_world, tmp_path, kind):
    """The file an export writes is a file the command imports (nothing to change)."""
    path = tmp_path / f"{kind}.xlsx"
    call_command("export_records", kind, "--output", str(path), stdout=io.StringIO())
    before = db_state()
    status, out, _err = import_command(kind, path)
    assert status == 0 and out.splitlines()[-1].startswith("new=0 updated=0 unchanged=")
    assert db_state() == before


# export_records ----------------------------------------------------------------------------


@pytest.fixture
def records(world):
    """Tasks, items and agreements spread over years, units and statuses."""
    done_2023 = make_task(
        agreement=world.agreement,
        year=2023,
        content="Việc năm 2023 đã xong",
        lead_unit=world.front,
        status=TaskStatus.DONE,
        completed_on=datetime.date(2023, 11, 30),
        progress=100,
    )
    cancelled = make_task(
        agreement=world.agreement,
        year=2024,
        content="Việc đã hủy",
        lead_unit=world.committee,
        status=TaskStatus.CANCELLED,
    )
    resolved = make_followup(
        kind=FollowUpKind.VOTER_PETITION,
        year=2024,
        responsible_unit=world.committee,
        status=FollowUpStatus.RESOLVED,
        raised_on=datetime.date(2024, 2, 1),
        resolved_on=datetime.date(2024, 5, 1),
    )
    old_item = make_followup(year=2023, responsible_unit=world.committee)
    programme = make_agreement(number="02/CTPH-2022", start_year=2022, end_year=2022)
    meeting_2022 = make_meeting(held_on=datetime.date(2022, 12, 20))
    world.done_2023, world.cancelled, world.resolved, world.old_item = (
        done_2023,
        cancelled,
        resolved,
        old_item,
    )
    world.programme, world.meeting_2022 = programme, meeting_2022
    return world


def exported_ids(path: Path) -> set[int]:
    if path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    else:
        rows = xlsx_values(path.read_bytes())
    assert rows[0][0] == "Mã"
    return {int(row[0]) for row in rows[1:]}


def export_command(tmp_path, kind, *options, name=None):
    path = tmp_path / (name or f"{kind}.xlsx")
    out = io.StringIO()
    call_command("export_records", kind, *map(str, options), "--output", str(path), stdout=out)
    return path, out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("tasks", [], {"task", "done_2023", "cancelled"}),
        ("tasks", ["--year", 2023], {"done_2023"}),
        ("tasks", ["--year", 2024], {"task", "cancelled"}),
        ("tasks", ["--unit", "UBMTTQVN huyện"], {"task", "done_2023"}),
        ("tasks", ["--unit", "uy ban nhan dan huyen ham tan"], {"task", "cancelled"}),
        ("tasks", ["--status", "Đã hoàn thành"], {"done_2023"}),
        ("tasks", ["--status", "cancelled"], {"cancelled"}),
        ("tasks", ["--outstanding"], {"task"}),
        ("tasks", ["--year", 2024, "--unit", "UBND huyện", "--outstanding"], {"task"}),
        ("followups", ["--outstanding"], {"followup", "old_item"}),
        ("followups", ["--outstanding", "--year", 2024], {"followup"}),
        ("followups", ["--status", "da giai quyet"], {"resolved"}),
        ("followups", ["--unit", "UBND huyện"], {"resolved", "old_item"}),
        ("agreements", ["--year", 2025], {"agreement"}),
        ("agreements", ["--year", 2022], {"agreement", "programme"}),
        ("meetings", ["--year", 2022], {"meeting_2022"}),
        ("indicators", ["--year", 2023], {"indicator"}),
        ("units", ["--unit", "UBMTTQVN huyện"], {"front"}),
        ("people", ["--unit", "UBND huyện"], {"chair"}),
    ],
)
def test_export_filters_give_exactly_the_expected_rows(records, tmp_path, kind, options, expected):
    path, out = export_command(tmp_path, kind, *options)
    ids = {getattr(records, name).pk for name in expected}
    assert exported_ids(path) == ids
    assert out.strip() == vi(
        "%(count)d records written to %(file)s.", count=len(ids), file=str(path)
    )


@pytest.mark.django_db
def test_output_format_follows_the_extension(records, tmp_path):
    xlsx_path, _ = export_command(tmp_path, "tasks", "--outstanding", name="viec.XLSX")
    csv_path, _ = export_command(tmp_path, "tasks", "--outstanding", name="viec.csv")
    assert xlsx_path.read_bytes()[:2] == b"PK"
    assert csv_path.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert exported_ids(csv_path) == exported_ids(xlsx_path) == {records.task.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["units", "--year", 2024], vi("--year does not apply to %(kind)s.", kind="units")),
        (["agreements", "--outstanding"], vi("--outstanding applies to tasks and followups only.")),
        (["people", "--status", "open"], vi("--status does not apply to %(kind)s.", kind="people")),
    ],
)
def test_filters_that_do_not_apply_are_usage_errors(records, tmp_path, options, message):
    path = tmp_path / "out.xlsx"
    with pytest.raises(CommandError) as caught:
        call_command("export_records", *map(str, options), "--output", str(path))
    assert caught.value.returncode == 2
    assert str(caught.value) == message
    assert not path.exists()


@pytest.mark.django_db
def test_unknown_unit_or_status_is_a_usage_error_with_a_suggestion(records, tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command(
            "export_records",
            "tasks",
            "--unit",
            "UBND huyen Ham Tam",
            "--output",
            str(tmp_path / "x.csv"),
        )
    assert caught.value.returncode == 2
    assert str(caught.value).startswith(vi("Unknown unit “%(value)s”.", value="UBND huyen Ham Tam"))
    assert records.committee.full_name in str(caught.value)
    with pytest.raises(CommandError) as caught:
        call_command(
            "export_records", "tasks", "--status", "sắp xong", "--output", str(tmp_path / "x.csv")
        )
    assert caught.value.returncode == 2


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["viec.xls", "viec.pdf", "viec"])
def test_output_with_another_extension_is_a_usage_error(records, tmp_path, monkeypatch, name):
    path = tmp_path / name
    with pytest.raises(CommandError) as caught:
        call_command("export_records", "tasks", "--output", str(path))
    assert caught.value.returncode == 2
    assert str(caught.value) == vi("The output file must end in .xlsx or .csv.")
    assert not path.exists()
    assert exit_status(monkeypatch, "export_records", "tasks", "--output", path) == 2


@pytest.mark.django_db
def test_unwritable_output_is_a_usage_error(records, tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("export_records", "tasks", "--output", str(tmp_path / "khong-co" / "x.xlsx"))
    assert caught.value.returncode == 2


# cleanup_imports ---------------------------------------------------------------------------


def _age(path: Path, hours: float):
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_cleanup_removes_uploads_older_than_the_time_to_live(settings, upload_dir):
    settings.IMPORT_UPLOAD_TTL_HOURS = 24
    upload_dir.mkdir(parents=True)
    for name, hours in [("a" * 32, 25), ("b" * 32, 100), ("c" * 32, 2), ("d" * 32, 0)]:
        (upload_dir / name).write_bytes(b"PK")
        _age(upload_dir / name, hours)
    out = io.StringIO()
    call_command("cleanup_imports", stdout=out)
    assert out.getvalue().strip() == "removed=2"
    assert sorted(path.name for path in upload_dir.iterdir()) == ["c" * 32, "d" * 32]

    out = io.StringIO()
    call_command("cleanup_imports", "--hours", "1", stdout=out)
    assert out.getvalue().strip() == "removed=1"
    assert [path.name for path in upload_dir.iterdir()] == ["d" * 32]


@pytest.mark.django_db
def test_abandoned_preview_is_removed_and_cannot_be_confirmed_afterwards(world, client, upload_dir):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(make_user(is_superuser=True))
    data = xlsx_bytes([TASK_HEADER, task_row(world, "Bỏ dở")])
    response = client.post(
        reverse("admin:coordination_task_import"),
        {"import_file": SimpleUploadedFile("bo-do.xlsx", data)},
    )
    token = response.context["token"]
    assert (upload_dir / token).is_file()
    _age(upload_dir / token, 30)
    call_command("cleanup_imports", stdout=io.StringIO())
    assert not (upload_dir / token).exists()
    before = db_state()
    response = client.post(reverse("admin:coordination_task_process_import"), {"token": token})
    assert response.status_code == 302
    assert db_state() == before


# A real process ----------------------------------------------------------------------------


def test_exit_statuses_of_a_real_process(tmp_path):
    """What a shell script sees: 0 written, 1 refused, 2 unreadable or misused."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "IMPORT_UPLOAD_DIR": str(tmp_path / "imports"),
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *map(str, args)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "-v0").returncode == 0
    header = ["Tên đầy đủ", "Tên viết tắt", "Loại", "Cấp", "Địa bàn"]
    good = write(
        tmp_path / "don-vi.xlsx",
        [header, ["UBND xã Tân Hà", "UBND xã", "Ủy ban nhân dân", "Xã", "xã Tân Hà"]],
    )
    bad = write(
        tmp_path / "sai.csv",
        [header, ["Hội Nông dân xã Tân Hà", "HND", "Không rõ loại", "Xã", "xã Tân Hà"]],
    )

    result = manage("import_records", "units", good)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "new=1 updated=0 unchanged=0 errors=0"
    assert "[#" not in result.stderr  # no progress bar when stderr is a pipe

    result = manage("import_records", "units", bad)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "new=0 updated=0 unchanged=0 errors=1"

    assert manage("import_records", "units", tmp_path / "khong-co.xlsx").returncode == 2
    assert manage("import_records", "don-vi", good).returncode == 2
    assert manage("export_records", "units", "--output", tmp_path / "x.pdf").returncode == 2
    result = manage("export_records", "units", "--output", tmp_path / "don-vi-xuat.csv")
    assert result.returncode == 0
    text = (tmp_path / "don-vi-xuat.csv").read_bytes().decode("utf-8-sig")
    assert "UBND xã Tân Hà" in text and "Hội Nông dân" not in text
