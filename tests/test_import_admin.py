"""Import and export in the admin, as unit staff, auditors and admins use them.

Real .xlsx files (openpyxl) go through Django's test client: upload and preview, confirm,
the workbook with the errors marked, the template, every refusal (tokens, permissions, other
units' rows), and exports read back cell by cell. Wherever a test claims nothing was written,
`db_state()` compares every coordination table and the admin log before and after.
"""

import csv
import datetime
import io
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from import_export.admin import ExportActionMixin

from coordination import importing, kinds, uploads
from coordination.admin import spreadsheets as admin_spreadsheets
from coordination.choices import TaskStatus, UnitKind, UnitLevel
from coordination.importing import import_records
from coordination.models import Task, Unit
from coordination.text import clean_text
from tests.factories import (
    csv_bytes,
    db_state,
    make_agreement,
    make_followup,
    make_member,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    read_xlsx,
    xlsx_bytes,
    xlsx_values,
)

pytestmark = pytest.mark.django_db

TASK_HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý", "Trạng thái"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULAS = [
    "=SUM(1+1)",
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    '=HYPERLINK("http://evil","x")',
]
MODELS = {
    "unit": "units",
    "person": "people",
    "agreement": "agreements",
    "signatory": "signatories",
    "meeting": "meetings",
    "task": "tasks",
    "followup": "followups",
    "indicator": "indicators",
}
EXPIRED = "The uploaded file has expired or is unknown: please upload it again."


def vi(message: str, /, **params) -> str:
    with translation.override("vi"):
        text = gettext(message)
    return text % params if params else text


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:coordination_{model}_{view}", args=args)


def messages_of(response) -> list[str]:
    """The messages waiting to be shown after `response` (earlier unshown ones included)."""
    return [str(message.message) for message in get_messages(response.wsgi_request)]


def upload(client, model, data, name="nhiem-vu.xlsx"):
    return client.post(url(model, "import"), {"import_file": SimpleUploadedFile(name, data)})


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def content_of(response) -> bytes:
    return b"".join(response.streaming_content)


# The world of two communes -----------------------------------------------------------------

STAFF_PERMISSIONS = [
    f"coordination.{action}_{model}"
    for model in ("task", "followup")
    for action in ("view", "add", "change", "import", "export")
]


@pytest.fixture
def scope(db):
    """Units A and B, records of each, and the users of the permission matrix."""
    unit_a = make_unit(
        full_name="Ủy ban nhân dân xã Tân Hà",
        short_name="UBND xã Tân Hà",
        level=UnitLevel.COMMUNE,
        locality="xã Tân Hà, huyện Hàm Tân",
    )
    unit_b = make_unit(
        full_name="Ủy ban nhân dân xã Tân Xuân",
        short_name="UBND xã Tân Xuân",
        level=UnitLevel.COMMUNE,
        locality="xã Tân Xuân, huyện Hàm Tân",
    )
    agreement = make_agreement(
        number="05/CTPH-2024", start_year=2024, end_year=2024, parties=[unit_a, unit_b]
    )
    task_a = make_task(
        agreement=agreement,
        year=2024,
        content="Tuyên truyền nông thôn mới ở Tân Hà",
        lead_unit=unit_a,
        due_date=datetime.date(2024, 6, 30),
    )
    task_a2 = make_task(
        agreement=agreement,
        year=2024,
        content="Hòa giải ở cơ sở Tân Hà",
        lead_unit=unit_a,
        status=TaskStatus.DONE,
        completed_on=datetime.date(2024, 5, 2),
        progress=100,
    )
    task_b = make_task(
        agreement=agreement,
        year=2024,
        content="Tuyên truyền nông thôn mới ở Tân Xuân",
        lead_unit=unit_b,
        coordinating_units=[],
    )
    shared = make_task(
        agreement=agreement,
        year=2024,
        content="Đối thoại với cử tri liên xã",
        lead_unit=unit_b,
        coordinating_units=[unit_a],
    )
    followup_a = make_followup(year=2024, responsible_unit=unit_a, content="Hạn chế của Tân Hà")
    followup_b = make_followup(year=2024, responsible_unit=unit_b, content="Hạn chế của Tân Xuân")

    staff_a = make_user(username="staff_a", permissions=STAFF_PERMISSIONS)
    make_member(staff_a, unit_a)
    staff_b = make_user(username="staff_b", permissions=STAFF_PERMISSIONS)
    make_member(staff_b, unit_b)
    auditor = make_user(
        username="auditor",
        permissions=[
            "coordination.view_all_units",
            *(
                f"coordination.{action}_{model}"
                for model in MODELS
                for action in ("view", "export")
            ),
        ],
    )
    clerk = make_user(username="clerk", permissions=["coordination.view_task"])
    plain = make_user(username="plain", is_staff=False, permissions=STAFF_PERMISSIONS)
    return SimpleNamespace(
        a=unit_a,
        b=unit_b,
        agreement=agreement,
        task_a=task_a,
        task_a2=task_a2,
        task_b=task_b,
        shared=shared,
        followup_a=followup_a,
        followup_b=followup_b,
        admin=make_superuser(username="admin"),
        staff_a=staff_a,
        staff_b=staff_b,
        auditor=auditor,
        clerk=clerk,
        plain=plain,
    )


def row(scope, content, *, unit=None, due="31/12/2024", status="Chưa thực hiện"):
    return [scope.agreement.number, 2024, content, unit or scope.a.full_name, due, status]


def tasks_file(scope, *rows) -> bytes:
    return xlsx_bytes([TASK_HEADER, *rows])


def preview(client, scope, *rows, model="task"):
    response = upload(client, model, tasks_file(scope, *rows))
    assert response.status_code == 200
    return response


# Upload, preview, confirm ------------------------------------------------------------------


def test_preview_shows_each_row_and_writes_nothing(scope, upload_dir):
    client = logged_in(scope.staff_a)
    before = db_state()
    data = xlsx_bytes(
        [
            ["Mã", *TASK_HEADER],
            [None, *row(scope, "Nhiệm vụ mới")],
            [scope.task_a.pk, *row(scope, scope.task_a.content, due="30/06/2024", status="x")],
            [scope.task_a.pk + 10_000, *row(scope, "Mã lạ")],
        ]
    )
    response = upload(client, "task", data)
    assert response.status_code == 200
    report = response.context["report"]
    assert [(o.row, o.status) for o in report.outcomes] == [(2, "new"), (3, "error"), (4, "error")]
    assert db_state() == before
    html = response.content.decode()
    assert "Nhiệm vụ mới" in html
    assert vi("No record has the number %(id)s.", id=scope.task_a.pk + 10_000) in html

    # A clean file: new, updated and unchanged rows, and a confirm form carrying only a
    # token, kept with the upload in the session.
    response = preview(
        client,
        scope,
        row(scope, "Nhiệm vụ mới"),
        row(scope, scope.task_a.content, due="30/06/2024", status="Đang thực hiện"),
        row(scope, scope.task_a2.content, due=None, status="Đã hoàn thành"),
    )
    report, token = response.context["report"], response.context["token"]
    assert report.summary_line() == "new=1 updated=1 unchanged=1 errors=0"
    html = response.content.decode()
    for status, label in [("new", "New"), ("updated", "Updated"), ("unchanged", "Unchanged")]:
        assert f'class="status-{status}"' in html
        assert f"<td>{vi(label)}</td>" in html
    assert f'name="token" value="{token}"' in response.content.decode()
    assert url("task", "process_import") in response.content.decode()
    assert token in client.session[uploads.SESSION_KEY]
    assert (upload_dir / token).is_file()
    assert db_state() == before


def test_preview_sends_no_mail_and_queues_nothing_after_commit(
    scope, mailoutbox, django_capture_on_commit_callbacks
):
    """Checking a file only reads: neither the admin preview nor a dry run of the importer
    sends an e-mail, queues work to run once a transaction commits, or writes anything."""
    client = logged_in(scope.staff_a)
    data = tasks_file(
        scope,
        row(scope, "Nhiệm vụ mới"),
        row(scope, scope.task_a.content, due="30/06/2024", status="Đang thực hiện"),
    )
    before = db_state()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, "task", data)

    assert response.status_code == 200
    assert response.context["report"].summary_line() == "new=1 updated=1 unchanged=0 errors=0"
    assert callbacks == []
    assert mailoutbox == []
    assert db_state() == before

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = import_records(
            kind="tasks", data=data, file_name="nhiem-vu.xlsx", user=scope.staff_a, dry_run=True
        )

    assert report.summary_line() == "new=1 updated=1 unchanged=0 errors=0"
    assert not report.written
    assert callbacks == []
    assert mailoutbox == []
    assert db_state() == before


def test_confirm_writes_everything_logs_it_and_removes_the_upload(scope, upload_dir):
    client = logged_in(scope.staff_a)
    token = preview(
        client,
        scope,
        row(scope, "Nhiệm vụ mới 1"),
        row(scope, scope.task_a.content, due="30/06/2024", status="Đang thực hiện"),
    ).context["token"]
    count = Task.objects.count()

    response = client.post(url("task", "process_import"), {"token": token})

    assert response.status_code == 302 and response["Location"] == url("task", "changelist")
    assert messages_of(response) == [
        vi(
            "Imported %(file)s: %(new)d new, %(updated)d updated, %(unchanged)d unchanged.",
            file="nhiem-vu.xlsx",
            new=1,
            updated=1,
            unchanged=0,
        )
    ]
    assert Task.objects.count() == count + 1
    scope.task_a.refresh_from_db()
    assert scope.task_a.status == TaskStatus.IN_PROGRESS
    assert LogEntry.objects.filter(user=scope.staff_a).count() == 2
    assert not (upload_dir / token).exists()
    assert token not in client.session.get(uploads.SESSION_KEY, {})

    # The same confirmation again (a double click, the back button) imports nothing twice.
    state = db_state()
    client.get(url("task", "changelist"))  # shows (and so clears) the success message
    response = client.post(url("task", "process_import"), {"token": token})
    _expired(response)
    assert db_state() == state


def test_confirm_reuses_the_cells_the_preview_read(scope, upload_dir, monkeypatch):
    """The preview keeps the cells it read beside the upload; the confirmation imports from
    them without parsing the file again, and both files go once the import is done."""
    client = logged_in(scope.staff_a)
    token = preview(client, scope, row(scope, "Nhiệm vụ đọc một lần")).context["token"]
    kept = upload_dir / f"{token}{uploads.SHEETS_SUFFIX}"
    assert kept.is_file()

    def no_second_read(*args, **kwargs):
        raise AssertionError("the confirmation read the file again")

    monkeypatch.setattr(importing.importer, "read_workbook", no_second_read)
    response = client.post(url("task", "process_import"), {"token": token})
    assert response.status_code == 302
    assert Task.objects.filter(content="Nhiệm vụ đọc một lần").exists()
    assert not kept.exists() and not (upload_dir / token).exists()


def test_confirm_without_the_kept_cells_reads_the_file(scope, upload_dir):
    """An upload kept by an earlier version (no cells beside it) is read again as before."""
    client = logged_in(scope.staff_a)
    token = preview(client, scope, row(scope, "Nhiệm vụ đọc lại")).context["token"]
    (upload_dir / f"{token}{uploads.SHEETS_SUFFIX}").unlink()
    response = client.post(url("task", "process_import"), {"token": token})
    assert response.status_code == 302
    assert Task.objects.filter(content="Nhiệm vụ đọc lại").exists()


def test_rows_with_errors_offer_no_confirmation_and_confirming_anyway_writes_nothing(scope):
    client = logged_in(scope.staff_a)
    response = preview(
        client,
        scope,
        row(scope, "Đúng"),
        row(scope, "Sai đơn vị", unit="UBND xã Tân Hòa"),
        row(scope, "Sai ngày", due="31/02/2024"),
    )
    html = response.content.decode()
    assert url("task", "process_import") not in html
    report = response.context["report"]
    assert [(p.row, p.column, p.value) for p in report.problems] == [
        (3, "Đơn vị chủ trì", "UBND xã Tân Hòa"),
        (4, "Hạn xử lý", "31/02/2024"),
    ]
    for problem in report.problems:
        assert problem.message in html and problem.value in html
    token = response.context["token"]
    assert url("task", "import_errors", token) in html

    before = db_state()
    response = client.post(url("task", "process_import"), {"token": token})
    assert response.status_code == 200
    assert response.context["refused"] is True
    assert not any("Imported" in m or "Đã nhập" in m for m in messages_of(response))
    assert db_state() == before


def test_error_workbook_is_the_upload_with_an_error_column(scope):
    client = logged_in(scope.staff_a)
    data = xlsx_bytes(
        [
            ["DANH SÁCH NHIỆM VỤ XÃ TÂN HÀ"],
            [],
            ["STT", *TASK_HEADER],
            [1, *row(scope, "Đúng")],
            [2, *row(scope, "Sai ngày", due="31/02/2024")],
            [3, *row(scope, "Sai đơn vị", unit="Xã không có")],
        ]
    )
    token = upload(client, "task", data).context["token"]
    before = db_state()

    response = client.get(url("task", "import_errors", token))

    assert response.status_code == 200
    rows = xlsx_values(content_of(response))
    assert rows[0][0] == "DANH SÁCH NHIỆM VỤ XÃ TÂN HÀ"
    assert rows[2] == ["STT", *TASK_HEADER, vi("Error")]
    assert rows[3][:7] == [1, *row(scope, "Đúng")] and rows[3][7] is None
    assert rows[4][7] == "Hạn xử lý: " + vi(
        "%(value)s is not a real date (day/month/year).", value="31/02/2024"
    )
    assert rows[5][7].startswith(
        "Đơn vị chủ trì: " + vi("Unknown unit “%(value)s”.", value="Xã không có")
    )
    assert db_state() == before
    # A download named after the upload ("nhiem-vu-lỗi.xlsx"), not a page shown in the tab.
    assert response.get("Content-Disposition", "").startswith("attachment")
    assert "nhiem-vu-" in response["Content-Disposition"]
    assert ".xlsx" in response["Content-Disposition"]


def test_error_file_of_a_csv_upload_is_a_csv(scope):
    client = logged_in(scope.staff_a)
    data = csv_bytes([TASK_HEADER, row(scope, "Đúng"), row(scope, "Sai", due="32/01/2024")])
    token = upload(client, "task", data, name="nhiem-vu.csv").context["token"]
    response = client.get(url("task", "import_errors", token))
    assert response.status_code == 200
    text = content_of(response).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*TASK_HEADER, vi("Error")]
    assert rows[1][-1] == "" and rows[2][-1].startswith("Hạn xử lý: ")
    assert response.get("Content-Disposition", "").startswith("attachment")
    assert ".csv" in response["Content-Disposition"]


@pytest.mark.parametrize("model", list(MODELS))
def test_template_has_the_headers_an_example_and_the_allowed_values(superuser_client, world, model):
    kind = MODELS[model]
    response = superuser_client.get(url(model, "import_template"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Disposition"].endswith(f"-{kind}.xlsx")
    data = content_of(response)
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    data_sheet, guide_sheet, lists_sheet = workbook.sheetnames
    assert workbook[lists_sheet].sheet_state == "hidden"
    with translation.override("vi"):
        columns = kinds.get(kind).resource.columns()
        headers = [str(column.column_name) for column in columns]
        choices = {
            str(column.column_name): [str(choice.label) for choice in column.widget.choices]
            for column in columns
            if hasattr(column.widget, "choices")
        }
    rows = xlsx_values(data, data_sheet)
    assert rows[0] == headers
    assert len(rows) == 2 and any(value is not None for value in rows[1])
    guide = xlsx_values(data, guide_sheet)
    assert [line[0] for line in guide[1:]] == headers  # every column explained
    for header, labels in choices.items():
        allowed = next(line for line in guide[1:] if line[0] == header)
        for label in labels:
            assert label in " ".join(str(cell) for cell in allowed if cell)
    # Each choice and yes/no column offers its labels as a drop-down list.
    with translation.override("vi"):
        offered = {
            index: column.widget.choice_labels()
            for index, column in enumerate(columns)
            if column.widget.choice_labels()
        }
    validations = workbook[data_sheet].data_validations.dataValidation
    assert len(validations) == len(offered)
    lists = workbook[lists_sheet]
    for validation in validations:
        assert validation.type == "list"
        (start,) = validation.sqref.ranges
        assert (start.min_row, start.max_row) == (2, 1001)
        letter = validation.formula1.split("!$")[1].split("$")[0]
        values = [cell.value for cell in lists[letter] if cell.value is not None]
        assert values == offered[start.min_col - 1]
    # Left in, the example row is refused, naming it; nothing is written.
    before = db_state()
    report = import_records(kind=kind, data=data, file_name="mau.xlsx", dry_run=False)
    assert [(p.row, p.column, p.message) for p in report.problems] == [
        (2, "Mã", "Đây là dòng ví dụ của tệp mẫu: hãy xóa dòng này rồi tải tệp lên lại.")
    ]
    assert not report.written and db_state() == before
    # Without its marker, the example row imports cleanly into a database holding the
    # records it names.
    workbook[data_sheet]["A2"] = None
    edited = io.BytesIO()
    workbook.save(edited)
    report = import_records(kind=kind, data=edited.getvalue(), file_name="mau.xlsx")
    assert report.file_errors == [] and report.problems == [], kind


# Tokens and forged fields ---------------------------------------------------------------------


def _expired(response, model="task"):
    assert response.status_code == 302
    assert response["Location"] == url(model, "import")
    assert messages_of(response)[-1] == vi(EXPIRED)


def test_unknown_token_is_refused(scope):
    client = logged_in(scope.staff_a)
    before = db_state()
    _expired(client.post(url("task", "process_import"), {"token": "A" * 32}))
    _expired(client.post(url("task", "process_import"), {}))
    _expired(client.get(url("task", "import_errors", "B" * 32)))
    assert db_state() == before


def test_token_of_another_user_is_refused(scope):
    owner = logged_in(scope.staff_a)
    token = preview(owner, scope, row(scope, "Của staff_a")).context["token"]
    colleague = make_user(username="staff_a2", permissions=STAFF_PERMISSIONS)
    make_member(colleague, scope.a)  # same unit, same permissions, another session
    other = logged_in(colleague)
    before = db_state()
    _expired(other.post(url("task", "process_import"), {"token": token}))
    _expired(other.get(url("task", "import_errors", token)))
    assert db_state() == before
    # The owner can still confirm their own upload.
    assert owner.post(url("task", "process_import"), {"token": token}).status_code == 302
    assert Task.objects.filter(content="Của staff_a").exists()


def test_token_of_an_upload_removed_meanwhile_is_refused(scope, upload_dir):
    client = logged_in(scope.staff_a)
    token = preview(client, scope, row(scope, "Bị dọn")).context["token"]
    (upload_dir / token).unlink()
    before = db_state()
    _expired(client.post(url("task", "process_import"), {"token": token}))
    assert db_state() == before


def test_token_of_another_kind_is_refused(scope):
    client = logged_in(scope.staff_a)
    token = preview(client, scope, row(scope, "Nhiệm vụ")).context["token"]
    before = db_state()
    _expired(client.post(url("followup", "process_import"), {"token": token}), "followup")
    assert db_state() == before


@pytest.mark.parametrize(
    "fields",
    [
        {"token": "../../etc/passwd"},
        {"token": "../" + "A" * 30},
        {"import_file_name": "../../etc/passwd", "original_file_name": "x.xlsx", "format": "0"},
        {"token": "", "import_file_name": "/etc/passwd", "resource": "0"},
    ],
)
def test_forged_confirmation_fields_do_nothing(scope, fields):
    client = logged_in(scope.staff_a)
    preview(client, scope, row(scope, "Không được nhập"))
    before = db_state()
    _expired(client.post(url("task", "process_import"), fields))
    assert db_state() == before


def test_forged_file_name_next_to_a_real_token_is_ignored(scope, upload_dir):
    """Only the token counts: a forged file name beside it names nothing."""
    client = logged_in(scope.staff_a)
    token = preview(client, scope, row(scope, "Từ tệp thật")).context["token"]
    response = client.post(
        url("task", "process_import"), {"token": token, "import_file_name": "../../etc/passwd"}
    )
    assert response.status_code == 302
    assert Task.objects.filter(content="Từ tệp thật").exists()


def test_confirm_by_get_goes_back_to_the_upload_form(scope):
    client = logged_in(scope.staff_a)
    before = db_state()
    response = client.get(url("task", "process_import"))
    assert response.status_code == 302 and response["Location"] == url("task", "import")
    assert db_state() == before


# Permissions ---------------------------------------------------------------------------------


def _requests(scope):
    data = tasks_file(scope, row(scope, "Thử quyền"))
    return [
        ("get", url("task", "import"), None),
        ("post", url("task", "import"), {"import_file": SimpleUploadedFile("t.xlsx", data)}),
        ("post", url("task", "process_import"), {"token": "A" * 32, "import_file_name": "x"}),
        ("get", url("task", "import_errors", "A" * 32), None),
        ("get", url("task", "import_template"), None),
        ("get", url("task", "export"), None),
        ("get", url("task", "export") + "?_format=xlsx", None),
        ("get", url("task", "export") + "?_format=csv", None),
        ("post", url("task", "export"), {"_format": "xlsx"}),
    ]


@pytest.mark.parametrize("who", ["anonymous", "plain"])
def test_anonymous_and_non_staff_users_are_sent_to_the_login_page(scope, who):
    client = Client() if who == "anonymous" else logged_in(scope.plain)
    before = db_state()
    for method, address, data in _requests(scope):
        response = (
            getattr(client, method)(address, data) if data else getattr(client, method)(address)
        )
        assert response.status_code == 302, address
        assert response["Location"].startswith(reverse("admin:login") + "?next="), address
    assert db_state() == before


def test_staff_without_import_or_export_permission_get_403(scope):
    client = logged_in(scope.clerk)
    assert client.get(url("task", "changelist")).status_code == 200
    before = db_state()
    for method, address, data in _requests(scope):
        response = (
            getattr(client, method)(address, data) if data else getattr(client, method)(address)
        )
        assert response.status_code == 403, address
    assert db_state() == before


def test_auditor_exports_but_can_never_import(scope, upload_dir):
    client = logged_in(scope.auditor)
    before = db_state()
    for method, address, data in _requests(scope):
        response = (
            getattr(client, method)(address, data) if data else getattr(client, method)(address)
        )
        if "/export/" in address or "/template/" in address:
            assert response.status_code == 200, address
        else:
            assert response.status_code == 403, address
    # Not even with a token of a file somebody else previewed.
    token = preview(logged_in(scope.staff_a), scope, row(scope, "Của staff_a")).context["token"]
    response = client.post(
        url("task", "process_import"), {"token": token, "import_file_name": token}
    )
    assert response.status_code == 403
    assert db_state() == before
    assert (upload_dir / token).is_file()


def test_changelist_shows_only_the_buttons_the_user_may_use(scope):
    import_link, export_link = url("task", "import"), url("task", "export")
    html = logged_in(scope.staff_a).get(url("task", "changelist")).content.decode()
    assert import_link in html and export_link in html
    html = logged_in(scope.auditor).get(url("task", "changelist")).content.decode()
    assert import_link not in html and export_link in html
    html = logged_in(scope.clerk).get(url("task", "changelist")).content.decode()
    assert import_link not in html and export_link not in html


@pytest.mark.parametrize("who", ["clerk", "admin"])
def test_change_form_offers_no_export_of_the_record(scope, who):
    """A task's change form has no export button or link, for a user without the export
    permission and for the admin alike: exports are of the filtered list only (no per-record
    export, django-import-export #1942)."""
    user = getattr(scope, who)
    if who == "clerk":
        make_member(user, scope.a)  # so that the clerk may open unit A's task at all
    client = logged_in(user)
    before = db_state()

    response = client.get(url("task", "change", scope.task_a.pk))

    assert response.status_code == 200
    assert response.context["original"] == scope.task_a
    html = response.content.decode()
    assert "_export-item" not in html
    assert url("task", "export") not in html
    assert not response.context.get("show_change_form_export")
    assert db_state() == before


def test_no_admin_exports_single_records_and_the_clerk_cannot_post_an_export(scope):
    """No admin page uses the library's export action (the one that adds an export button
    to the change form), and a user without the export permission is refused a POST to the
    export page as well as a GET."""
    registered = [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "coordination"
    ]
    assert len(registered) >= len(MODELS)
    for model_admin in registered:
        assert not isinstance(model_admin, ExportActionMixin), model_admin
        assert "import_export" not in (model_admin.change_form_template or ""), model_admin

    client = logged_in(scope.clerk)
    before = db_state()
    response = client.post(url("task", "export") + "?_format=xlsx", {"format": "0"})
    assert response.status_code == 403
    assert "Content-Disposition" not in response
    assert db_state() == before


def test_csrf_token_is_required_for_upload_and_confirm(scope):
    client = Client(enforce_csrf_checks=True)
    client.force_login(scope.staff_a)
    before = db_state()
    data = tasks_file(scope, row(scope, "Không có CSRF"))
    response = client.post(
        url("task", "import"), {"import_file": SimpleUploadedFile("t.xlsx", data)}
    )
    assert response.status_code == 403
    assert client.post(url("task", "process_import"), {"token": "A" * 32}).status_code == 403
    assert db_state() == before


# Unit scoping -------------------------------------------------------------------------------


def test_unit_staff_importing_a_row_of_another_unit_is_refused(scope):
    client = logged_in(scope.staff_a)
    response = preview(
        client, scope, row(scope, "Của Tân Hà"), row(scope, "Của Tân Xuân", unit="UBND xã Tân Xuân")
    )
    report = response.context["report"]
    assert [(p.row, p.column, p.message) for p in report.problems] == [
        (3, "Đơn vị chủ trì", vi("You may only import records of your own units."))
    ]
    assert url("task", "process_import") not in response.content.decode()
    before = db_state()
    response = client.post(url("task", "process_import"), {"token": response.context["token"]})
    assert response.status_code == 200 and response.context["refused"]
    assert db_state() == before


def test_unit_staff_cannot_change_another_unit_record_named_by_its_number(scope):
    client = logged_in(scope.staff_a)
    data = xlsx_bytes(
        [
            ["Mã", *TASK_HEADER],
            [scope.task_b.pk, *row(scope, "Chiếm nhiệm vụ của Tân Xuân")],
        ]
    )
    response = upload(client, "task", data)
    # Unit A cannot see the task: its number reads as a number nobody has.
    assert [p.message for p in response.context["report"].problems] == [
        vi("No record has the number %(id)s.", id=scope.task_b.pk)
    ]
    before = db_state()
    client.post(url("task", "process_import"), {"token": response.context["token"]})
    assert db_state() == before
    scope.task_b.refresh_from_db()
    assert scope.task_b.lead_unit == scope.b


def test_unit_staff_follow_up_items_are_scoped_too(scope):
    client = logged_in(scope.staff_b)
    data = xlsx_bytes(
        [
            ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm"],
            ["Tồn tại – hạn chế", 2024, "Hạn chế mới", "UBND xã Tân Hà"],
        ]
    )
    response = upload(client, "followup", data)
    assert [p.row for p in response.context["report"].problems] == [2]


# Export ---------------------------------------------------------------------------------------


def export_rows(client, model="task", query="", file_format="xlsx") -> list[list]:
    separator = "&" if query else ""
    response = client.get(f"{url(model, 'export')}?{query}{separator}_format={file_format}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = content_of(response)
    if file_format == "xlsx":
        return xlsx_values(data)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def ids_in(rows) -> set[int]:
    assert rows[0][0] == "Mã"
    return {int(line[0]) for line in rows[1:]}


def test_unit_staff_export_only_their_units_records(scope):
    client = logged_in(scope.staff_a)
    assert ids_in(export_rows(client)) == {scope.task_a.pk, scope.task_a2.pk, scope.shared.pk}
    assert ids_in(export_rows(client, file_format="csv")) == {
        scope.task_a.pk,
        scope.task_a2.pk,
        scope.shared.pk,
    }
    assert ids_in(export_rows(client, "followup")) == {scope.followup_a.pk}
    # Filtering on the other unit gives nothing, not the other unit's rows.
    assert ids_in(export_rows(client, query=f"lead_unit__id__exact={scope.b.pk}")) == {
        scope.shared.pk
    }
    rows = export_rows(logged_in(scope.staff_b))
    assert ids_in(rows) == {scope.task_b.pk, scope.shared.pk}


@pytest.mark.parametrize("who", ["admin", "auditor"])
def test_auditor_and_admin_export_what_their_changelist_shows_every_unit(scope, who):
    """Auditors (view_all_units, view and export permissions, no unit of their own) read every
    unit's records: the export holds the rows their changelist shows."""
    client = logged_in(getattr(scope, who))
    shown = client.get(url("task", "changelist")).context["cl"].queryset
    everything = set(Task.objects.values_list("pk", flat=True))
    assert set(shown.values_list("pk", flat=True)) == everything
    assert ids_in(export_rows(client)) == everything


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status__exact=done",
        "outstanding=yes",
        "q=tuyen+truyen",
        "lead_unit__id__exact={a}",
        "coordinating_units__id__exact={a}",
        "year__exact=2024&outstanding=yes&q=tan+xuan",
        "o=-3",
    ],
)
def test_export_of_a_filtered_changelist_holds_exactly_its_rows(scope, query):
    make_task(agreement=scope.agreement, year=2024, lead_unit=scope.b, status=TaskStatus.CANCELLED)
    client = logged_in(scope.admin)
    query = query.format(a=scope.a.pk)
    changelist = client.get(f"{url('task', 'changelist')}?{query}")
    assert changelist.status_code == 200
    expected = set(changelist.context["cl"].queryset.values_list("pk", flat=True))
    assert ids_in(export_rows(client, query=query)) == expected
    assert ids_in(export_rows(client, query=query, file_format="csv")) == expected


def test_export_page_offers_both_formats_with_the_filters(scope):
    client = logged_in(scope.staff_a)
    response = client.get(url("task", "export") + "?status__exact=done&q=hoa")
    assert response.status_code == 200
    html = response.content.decode()
    assert "?status__exact=done&amp;q=hoa&amp;_format=xlsx" in html
    assert "?status__exact=done&amp;q=hoa&amp;_format=csv" in html


# The library's other formats: only .xlsx and .csv exports escape formulas, and an HTML
# "export" would even open as a page of the site. The importer reads .xlsx, .xlsm, .ods, .xls
# and .csv with its own checks (test_import_formats.py); the library's readers never run.
OTHER_FORMATS = ["json", "html", "xls", "yaml", "tsv", "ods"]


def offered_formats(html: str) -> set[str]:
    return set(re.findall(r"_format=(\w+)", html))


def test_only_xlsx_and_csv_are_offered_for_export_and_the_import_names_what_it_reads(
    scope, settings
):
    """The export page links to an .xlsx and a .csv file only; the import form accepts and
    describes the five formats the importer reads; no admin offers the library's formats."""
    # The library's own lookups (its export action, if ever used) read the same two.
    task_admin = admin.site._registry[Task]
    for offered in (task_admin.get_export_formats(), task_admin.get_import_formats()):
        assert [fmt().get_title() for fmt in offered] == ["xlsx", "csv"]
    assert not hasattr(settings, "IMPORT_FORMATS") and not hasattr(settings, "EXPORT_FORMATS")
    client = logged_in(scope.admin)
    before = db_state()

    export_page = client.get(url("task", "export"))
    import_page = client.get(url("task", "import"))

    assert export_page.status_code == 200 and import_page.status_code == 200
    export_html, import_html = export_page.content.decode(), import_page.content.decode()
    assert offered_formats(export_html) == {"xlsx", "csv"}
    assert 'accept=".xlsx,.xlsm,.ods,.xls,.csv"' in import_html
    assert vi("Spreadsheet file (.xlsx, .xlsm, .ods, .xls or .csv)") in import_html
    assert not re.search(r"\.(json|ya?ml|html?|xls|tsv|ods)\b", export_html, re.IGNORECASE)
    for html in (export_html, import_html):
        assert not re.search(r"\.(json|ya?ml|html?|tsv)\b", html, re.IGNORECASE)
        assert not re.search(r"\b(json|yaml|tsv)\b", html, re.IGNORECASE)
        for field in ("format", "input_format", "export_format", "file_format"):
            assert f'name="{field}"' not in html
    assert db_state() == before


@pytest.mark.parametrize("file_format", [*OTHER_FORMATS, "XLSX", "0"])
def test_export_in_any_other_format_gives_no_file(scope, file_format):
    """Asking the admin export or the /records/ export for another format (by its name, in
    capitals, or by the library's list index) downloads nothing and is no server error: the
    admin shows its page of the two formats, /records/ answers "not found"."""
    client = logged_in(scope.admin)
    before = db_state()

    for response in (
        client.get(f"{url('task', 'export')}?_format={file_format}"),
        client.post(f"{url('task', 'export')}?_format={file_format}", {"format": file_format}),
    ):
        assert response.status_code == 200
        assert "Content-Disposition" not in response
        assert response["Content-Type"].startswith("text/html")
        assert offered_formats(response.content.decode()) == {"xlsx", "csv"}

    records = reverse("coordination:record-export", args=["tasks"])
    response = client.get(f"{records}?format={file_format}")
    assert response.status_code == 404
    assert "Content-Disposition" not in response
    assert not response["Content-Type"].startswith(
        ("application/json", "application/vnd", "text/csv")
    )
    # The same list in a format it offers is a file, so the refusal above is the format's.
    response = client.get(f"{records}?format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert db_state() == before


def test_exported_workbook_neutralises_formulas_and_keeps_types(scope):
    for text in FORMULAS:
        make_task(agreement=scope.agreement, year=2024, lead_unit=scope.a, content=text)
    make_task(
        agreement=scope.agreement,
        year=2024,
        lead_unit=scope.a,
        content="Nhiệm vụ có ngày",
        start_date=datetime.date(2024, 1, 15),
        due_date=datetime.date(2024, 3, 5),
        progress=35,
        result="=1+1 là kết quả?",
    )
    response = logged_in(scope.admin).get(url("task", "export") + "?_format=xlsx")
    assert response["Content-Disposition"].startswith("attachment")
    assert '.xlsx"' in response["Content-Disposition"]
    _worksheet, rows = read_xlsx(content_of(response))
    header = [cell.value for cell in rows[0]]
    assert all(cell.data_type != "f" for line in rows for cell in line)
    by_id = {line[0].value: line for line in rows[1:]}
    content = header.index("Nội dung")
    # Stored text is cleaned (a leading tab or CR is trimmed), so compare with the database.
    stored = dict(Task.objects.values_list("pk", "content"))
    risky = {pk: text for pk, text in stored.items() if text.startswith(TRIGGERS)}
    assert len(risky) >= 5
    for pk, text in risky.items():
        assert by_id[pk][content].value == "'" + text
        assert by_id[pk][content].data_type == "s"
    dated = next(line for line in rows[1:] if line[content].value == "Nhiệm vụ có ngày")
    assert dated[header.index("Hạn xử lý")].value == datetime.datetime(2024, 3, 5)
    assert dated[header.index("Hạn xử lý")].is_date
    assert dated[header.index("Năm")].value == 2024
    assert dated[header.index("Tiến độ (%)")].value == 35
    assert dated[header.index("Tiến độ (%)")].data_type == "n"
    assert dated[header.index("Mã")].data_type == "n"
    assert dated[header.index("Kết quả")].value == "'=1+1 là kết quả?"
    assert dated[header.index("Ngày hoàn thành")].value is None
    for line in rows[1:]:
        for cell in line:
            assert cell.value != "None"
            if isinstance(cell.value, str):
                assert not cell.value.startswith(TRIGGERS), cell.value


def test_exported_csv_starts_no_field_with_a_formula_trigger(scope):
    for text in FORMULAS:
        make_task(agreement=scope.agreement, year=2024, lead_unit=scope.a, content=text)
    rows = export_rows(logged_in(scope.admin), file_format="csv")
    contents = {line[rows[0].index("Nội dung")] for line in rows[1:]}
    assert "'=SUM(1+1)" in contents and "'-2+3" in contents
    for line in rows:
        for field in line:
            assert not field.startswith(TRIGGERS), field


def test_exported_workbook_reimports_unchanged_through_the_admin(scope):
    """Round trip as unit staff do it: export from the admin, upload the same file back.

    staff_a's export includes the task unit B leads and unit A coordinates; sent back
    unchanged, that row writes nothing and must not be refused."""
    client = logged_in(scope.staff_a)
    response = client.get(url("task", "export") + "?_format=xlsx")
    data = content_of(response)
    response = upload(client, "task", data, name="xuat.xlsx")
    report = response.context["report"]
    assert report.summary_line() == "new=0 updated=0 unchanged=3 errors=0"
    before = db_state()
    response = client.post(url("task", "process_import"), {"token": response.context["token"]})
    assert response.status_code == 302
    assert db_state() == before


# Refusals and failures at the admin ------------------------------------------------------------


def test_file_that_is_not_a_spreadsheet_shows_a_clear_error(scope):
    client = logged_in(scope.staff_a)
    before = db_state()
    response = upload(client, "task", b"%PDF-1.7\n" + b"x" * 500, name="nhiem-vu.xlsx")
    assert response.status_code == 200
    report = response.context["report"]
    assert len(report.file_errors) == 1
    html = response.content.decode()
    assert report.file_errors[0] in html
    assert "Traceback" not in html
    assert url("task", "process_import") not in html
    assert db_state() == before


def test_upload_over_the_size_limit_is_refused_by_the_form(scope, settings, upload_dir):
    settings.IMPORT_MAX_BYTES = 2048
    client = logged_in(scope.staff_a)
    data = tasks_file(scope, *[row(scope, f"Nhiệm vụ {i}") for i in range(50)])
    assert len(data) > 2048
    before = db_state()
    response = upload(client, "task", data)
    assert response.status_code == 200
    assert response.context["report"] is None
    assert response.context["form"].errors["import_file"]
    assert not upload_dir.exists() or not any(upload_dir.iterdir())
    assert db_state() == before


def test_storage_failure_is_a_readable_error(scope, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads, "save_upload", full_disk)
    before = db_state()
    response = upload(logged_in(scope.staff_a), "task", tasks_file(scope, row(scope, "Đĩa đầy")))
    assert response.status_code == 200
    assert response.context["form"].errors["import_file"] == [
        vi("The server could not keep the file (disk full?). Nothing was imported.")
    ]
    assert db_state() == before


def test_database_failure_at_confirm_writes_nothing_and_says_so(scope, monkeypatch):
    client = logged_in(scope.staff_a)
    token = preview(client, scope, row(scope, "Mới 1"), row(scope, "Mới 2")).context["token"]

    def log_actions(*args, **kwargs):
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(LogEntry.objects, "log_actions", log_actions)
    before = db_state()
    response = client.post(url("task", "process_import"), {"token": token})
    assert response.status_code == 200
    assert response.context["refused"]
    html = response.content.decode()
    assert (
        vi(
            "The database refused the import (the data may have been changed by someone else "
            "meanwhile). Nothing was written; check the file and try again."
        )
        in html
    )
    # The database's own words (which may name tables, columns or values) stay in the log.
    assert "server closed the connection" not in html
    assert "DatabaseError" not in html and "Traceback" not in html
    assert messages_of(response) == []
    assert db_state() == before


# What an unexpected error must not show: the traceback, the server's paths, SQL, the
# exception's class or text.
CRASH = "/srv/app/coordination/importing.py SELECT * FROM coordination_task"
INTERNALS = ("Traceback", "/srv/", "importing.py", "SELECT", "coordination_task", "RuntimeError")


def _crash(**kwargs):
    raise RuntimeError(CRASH)


@pytest.mark.parametrize("who", ["staff_a", "admin"])
def test_unexpected_error_at_confirm_says_nothing_was_written_and_shows_no_internals(
    scope, monkeypatch, caplog, who
):
    """A failure nobody foresaw while importing (a bug, not bad data) tells the user, the
    admin included, only that the import failed and nothing was written; the details go to
    the log for the administrators, never to the page."""
    client = logged_in(getattr(scope, who))
    token = preview(client, scope, row(scope, "Mới 1"), row(scope, "Mới 2")).context["token"]
    monkeypatch.setattr(admin_spreadsheets, "import_records", _crash)
    before = db_state()

    with caplog.at_level("ERROR"):
        response = client.post(url("task", "process_import"), {"token": token})

    assert response.status_code == 302 and response["Location"] == url("task", "import")
    assert messages_of(response) == [vi("The import failed unexpectedly. Nothing was written.")]
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert vi("The import failed unexpectedly. Nothing was written.") in html
    assert [text for text in INTERNALS if text in html] == []
    assert db_state() == before
    assert not Task.objects.filter(content__in=["Mới 1", "Mới 2"]).exists()
    assert CRASH in caplog.text


@pytest.mark.parametrize("who", ["staff_a", "admin"])
def test_unexpected_error_at_preview_is_a_form_error_that_shows_no_internals(
    scope, monkeypatch, upload_dir, who, caplog
):
    """The same failure while checking an upload is an error on the upload form, not a
    server error page, with none of the exception's text (the log has it); nothing is
    written and the upload is not kept."""
    client = logged_in(getattr(scope, who))
    client.raise_request_exception = False
    monkeypatch.setattr(admin_spreadsheets, "import_records", _crash)
    before = db_state()

    response = upload(client, "task", tasks_file(scope, row(scope, "Mới 1")))

    assert response.status_code == 200
    assert response.context["form"].errors["import_file"] == [
        vi(
            "The file could not be checked because of an unexpected error on the server. "
            "Nothing was written; the error has been recorded."
        )
    ]
    assert response.context.get("token") is None
    html = response.content.decode()
    assert [text for text in INTERNALS if text in html] == []
    assert "SELECT * FROM coordination_task" in caplog.text
    assert db_state() == before
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_data_changed_between_preview_and_confirm_writes_nothing(scope):
    """Preview clean; meanwhile an admin creates a unit with the same short name; the
    confirmation shows the errors and writes none of the file."""
    client = logged_in(scope.admin)
    data = xlsx_bytes(
        [
            ["Tên đầy đủ", "Tên viết tắt", "Loại", "Cấp", "Địa bàn"],
            [
                "Hội Nông dân xã Tân Hà",
                "HND Tân Hà",
                "Tổ chức chính trị - xã hội",
                "Xã",
                "xã Tân Hà, huyện Hàm Tân",
            ],
            [
                "Đoàn Thanh niên xã Tân Hà",
                "ĐTN Tân Hà",
                "Tổ chức chính trị - xã hội",
                "Xã",
                "xã Tân Hà, huyện Hàm Tân",
            ],
        ]
    )
    response = upload(client, "unit", data, name="don-vi.xlsx")
    assert response.context["report"].summary_line() == "new=2 updated=0 unchanged=0 errors=0"
    make_unit(
        full_name="Hội Nông dân Việt Nam xã Tân Hà",
        short_name="HND Tân Hà",
        kind=UnitKind.SOCIO_POLITICAL,
        level=UnitLevel.COMMUNE,
        locality="xã Tân Hà, huyện Hàm Tân",
    )
    before = db_state()
    response = client.post(url("unit", "process_import"), {"token": response.context["token"]})
    assert response.status_code == 200 and response.context["refused"]
    html = response.content.decode()
    assert vi("A unit with this short name already exists in this locality.") in html
    assert messages_of(response) == []
    assert db_state() == before
    assert not Unit.objects.filter(full_name="Đoàn Thanh niên xã Tân Hà").exists()


def test_task_preview_invalidated_by_a_changed_agreement_writes_nothing(scope):
    client = logged_in(scope.staff_a)
    token = preview(client, scope, row(scope, "Năm 2024")).context["token"]
    type(scope.agreement).objects.filter(pk=scope.agreement.pk).update(
        start_year=2025, end_year=2025
    )
    before = db_state()
    response = client.post(url("task", "process_import"), {"token": token})
    assert response.status_code == 200 and response.context["refused"]
    assert [p.column for p in response.context["report"].problems] == ["Năm"]
    assert db_state() == before


def test_markup_in_a_cell_is_shown_escaped(scope):
    client = logged_in(scope.staff_a)
    response = preview(client, scope, row(scope, "<script>alert(1)</script>"))
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_imported_markup_is_stored_as_typed_and_shown_escaped_in_the_admin(scope):
    """A cell holding an HTML tag is imported as plain text, exactly as typed, and the task
    list and the task's change form show it as text: the browser never gets the tag."""
    client = logged_in(scope.staff_a)
    markup = "<script>alert(1)</script>"
    token = preview(client, scope, row(scope, markup)).context["token"]

    response = client.post(url("task", "process_import"), {"token": token})

    assert response.status_code == 302 and response["Location"] == url("task", "changelist")
    task = Task.objects.get(content=markup)
    assert task.lead_unit == scope.a
    admin_client = logged_in(scope.admin)
    changelist = admin_client.get(url("task", "changelist") + "?q=script")
    change_form = admin_client.get(url("task", "change", task.pk))
    assert changelist.status_code == 200 and change_form.status_code == 200
    assert task in changelist.context["cl"].result_list
    assert change_form.context["original"] == task
    for page in (changelist, change_form):
        html = page.content.decode()
        assert markup not in html and "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _xlsx_with_control_characters(scope, placeholder: str, escaped: str) -> bytes:
    """An .xlsx as Excel saves text with control characters: escaped as "_x000B_" in the XML
    (openpyxl refuses to write the characters themselves)."""
    data = tasks_file(scope, row(scope, placeholder))
    # The markers are ASCII: found whether openpyxl writes the Vietnamese letters as UTF-8 or
    # as character references (it does with lxml installed).
    markers = {"@NUL@": "_x0000_", "@VT@": "_x000B_"}
    assert placeholder.replace("@NUL@", "_x0000_").replace("@VT@", "_x000B_") == escaped
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    replaced = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            content = source.read(item.filename)
            for marker, code in markers.items():
                replaced += content.count(marker.encode())
                content = content.replace(marker.encode(), code.encode())
            out.writestr(item, content)
    assert replaced == 2
    return target.getvalue()


@pytest.mark.parametrize("file_type", ["csv", "xlsx"])
def test_control_characters_in_a_cell_are_removed_on_import_and_export_cleanly(scope, file_type):
    """NUL and vertical-tab characters pasted into a cell neither break the import nor reach
    the database: the task is stored without them (the vertical tab becomes a line break),
    and exporting it afterwards gives a workbook Excel (openpyxl) opens."""
    client = logged_in(scope.staff_a)
    if file_type == "csv":
        data = csv_bytes([TASK_HEADER, row(scope, "Vệ\x00 sinh\x0b môi trường")])
    else:
        data = _xlsx_with_control_characters(
            scope, "Vệ@NUL@ sinh@VT@ môi trường", "Vệ_x0000_ sinh_x000B_ môi trường"
        )
    response = upload(client, "task", data, name=f"nhiem-vu.{file_type}")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.file_errors == [] and report.problems == []
    assert report.summary_line() == "new=1 updated=0 unchanged=0 errors=0"

    response = client.post(url("task", "process_import"), {"token": response.context["token"]})

    assert response.status_code == 302 and response["Location"] == url("task", "changelist")
    # NUL goes; the vertical tab (Word's manual line break) is a line break in a task's text.
    assert clean_text("Vệ\x00 sinh\x0b môi trường", multiline=True) == "Vệ sinh\nmôi trường"
    task = Task.objects.get(content="Vệ sinh\nmôi trường")
    assert task.lead_unit == scope.a
    stored = Task.objects.values_list("content", flat=True)
    assert not any("\x00" in text or "\x0b" in text for text in stored)
    rows = export_rows(logged_in(scope.admin), query="q=ve+sinh")
    content = rows[0].index("Nội dung")
    assert [(int(line[0]), line[content]) for line in rows[1:]] == [(task.pk, task.content)]


def test_uploads_are_kept_outside_the_public_media_folder():
    from config import settings as project

    upload_dir = Path(project.IMPORT_UPLOAD_DIR).resolve()
    assert not upload_dir.is_relative_to(Path(project.MEDIA_ROOT).resolve())


@pytest.mark.parametrize("who", ["staff_a", "admin"])
def test_an_uploaded_file_cannot_be_downloaded_by_its_token(scope, settings, upload_dir, who):
    """A file waiting between preview and confirm is reachable by no address: not under the
    scans' /files/ (MEDIA_URL), nor /media/ or /static/, nor by climbing out of them with
    "../", whether asked by the uploader or by the admin."""
    # The scans' folder next to the uploads, so that "../imports/<token>" names the real file,
    # and one agreement with a scan there, which /files/ does serve.
    settings.MEDIA_ROOT = upload_dir.parent / "media"
    (settings.MEDIA_ROOT / "scans").mkdir(parents=True)
    (settings.MEDIA_ROOT / "scans" / "05-ctph.pdf").write_bytes(b"%PDF-1.7 scan")
    type(scope.agreement).objects.filter(pk=scope.agreement.pk).update(scan="scans/05-ctph.pdf")
    user = getattr(scope, who)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="coordination", codename="view_agreement")
    )
    client = logged_in(user)
    token = preview(client, scope, row(scope, "Chờ xác nhận")).context["token"]
    kept = [token, f"{token}{uploads.SHEETS_SUFFIX}"]
    assert all((upload_dir / name).is_file() for name in kept)
    assert settings.MEDIA_URL == "/files/"
    scan = client.get("/files/scans/05-ctph.pdf")
    assert scan.status_code == 200 and b"".join(scan.streaming_content) == b"%PDF-1.7 scan"
    before = db_state()

    for name in kept:
        for address in [
            f"/files/{name}",
            f"/files/imports/{name}",
            f"/files/../imports/{name}",
            f"/files/..%2Fimports%2F{name}",
            f"/files/%2E%2E/imports/{name}",
            f"/media/{name}",
            f"/media/django-import-export/{name}",
            f"/media/../imports/{name}",
            f"/static/{name}",
            f"/static/../var/imports/{name}",
            f"/imports/{name}",
        ]:
            response = client.get(address)
            assert response.status_code == 404, address
            assert "Content-Disposition" not in response, address
            assert not response.content.startswith(b"PK"), address

    assert db_state() == before
    assert all((upload_dir / name).is_file() for name in kept)


def test_a_long_error_list_shows_the_first_500_and_points_to_the_marked_file(scope):
    from django.utils.translation import ngettext

    client = logged_in(scope.staff_a)
    rows = [row(scope, f"Sai ngày {i}", due="31/02/2024") for i in range(520)]
    response = preview(client, scope, *rows)
    assert len(response.context["report"].problems) == 520
    assert len(response.context["problems"]) == 500
    html = response.content.decode()
    assert html.count("31/02/2024</td>") == 500
    with translation.override("vi"):
        more = ngettext(
            "…and %(counter)s more problem: download the file with the errors marked to see "
            "every one.",
            "…and %(counter)s more problems: download the file with the errors marked to see "
            "every one.",
            20,
        ) % {"counter": 20}
    assert more in html
    assert url("task", "import_errors", response.context["token"]) in html
