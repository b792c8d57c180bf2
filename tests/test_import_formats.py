"""Every kind's list as offices keep it: the project's exports saved by LibreOffice as .ods
(LibreOffice Calc) and .xls (Excel 97–2003) import as the records they came from, through the
importer, the admin's import pages and `manage.py import_records` (issue 13, point 1).

The files are made the way users make them: LibreOffice opens the .xlsx export and saves it
(tests/office.py). The hostile files of each format are in test_hostile_formats.py.
"""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from coordination import exporting, kinds
from coordination.importing import import_records
from coordination.models import Task
from tests import office
from tests.factories import db_state, xlsx_bytes
from tests.test_demo import demo  # noqa: F401 (the demo fixture)
from tests.test_office_example import EXAMPLE
from tests.test_office_sheets import dress_as_office_list
from tests.test_resources import ID_HEADERS, blank_columns, wipe_records, without_columns

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("libreoffice")]

KINDS = kinds.names()
OFFICE_FORMATS = ["ods", "xls"]
TASK_HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý", "Trạng thái"]
STATUS = "Đang thực hiện"


def vi(message: str, /, **params) -> str:
    with translation.override("vi"):
        text = gettext(message)
    return text % params if params else text


def export(kind: str) -> bytes:
    model = kinds.get(kind).resource._meta.model
    stream = io.BytesIO()
    exporting.write_export(kind, model.objects.all(), stream, "xlsx")
    return stream.getvalue()


def values(data: bytes) -> list[list]:
    """The cells of an .xlsx, as LibreOffice saved them back or as exported."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def import_file(kind, data, fmt, *, dry_run=False, user=None):
    return import_records(
        kind=kind, data=data, file_name=f"{kind}.{fmt}", user=user, dry_run=dry_run
    )


def problems(report) -> list[tuple]:
    return [(p.row, p.column, p.value, p.message) for p in report.problems]


def task_rows(world, *contents) -> list[list]:
    return [
        TASK_HEADER,
        *[
            [world.agreement.number, 2024, content, world.committee.full_name, "31/12/2024", STATUS]
            for content in contents
        ],
    ]


# Round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_every_kind_saved_by_libreoffice_reimports_with_nothing_changed(spreadsheet_world, fmt):
    """Export each kind, save it from LibreOffice as .ods or .xls, import it: every row is
    unchanged, with no warning, and not one byte is written."""
    saved = dict(zip(KINDS, office.convert_all([export(kind) for kind in KINDS], fmt), strict=True))
    before = db_state()
    for kind in KINDS:
        report = import_file(kind, saved[kind], fmt)
        total = kinds.get(kind).resource._meta.model.objects.count()
        assert report.file_errors == [] and problems(report) == [], kind
        assert report.warnings == [], kind
        assert report.summary_line() == f"new=0 updated=0 unchanged={total} errors=0", kind
    assert db_state() == before


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_every_kind_round_trips_through_an_empty_database_in_office_formats(spreadsheet_world, fmt):
    """Export all eight kinds, save them as .ods or .xls, empty the database and import them
    in order: the new export is the old one, cell for cell (leading zeros, text that looks
    like a formula, decimals, dates, several lines, lists), ids apart."""
    exported = {kind: export(kind) for kind in KINDS}
    sent = [blank_columns(exported[kind], "xlsx", ID_HEADERS) for kind in KINDS]
    saved = dict(zip(KINDS, office.convert_all(sent, fmt), strict=True))
    wipe_records()
    for kind in KINDS:
        report = import_file(kind, saved[kind], fmt)
        assert report.file_errors == [] and problems(report) == [], kind
        assert report.written, kind
        assert report.count_new == len(values(exported[kind])) - 1, kind
    for kind in KINDS:
        again = without_columns(values(export(kind)), ID_HEADERS)
        assert again == without_columns(values(exported[kind]), ID_HEADERS), kind


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_every_kind_kept_as_an_office_list_and_saved_by_libreoffice_reimports_unchanged(
    spreadsheet_world, fmt
):
    """The export dressed as an office list (letterhead, a title merged across, STT, a
    section row, runs of equal cells merged down, the signature block), then saved as .ods
    or .xls: the merged ranges come through each format and fill their cells, every record
    is unchanged, and only the end of the list is said."""
    dressed = [dress_as_office_list(export(kind)) for kind in KINDS]
    saved = dict(zip(KINDS, office.convert_all(dressed, fmt), strict=True))
    before = db_state()
    for kind in KINDS:
        report = import_file(kind, saved[kind], fmt)
        total = kinds.get(kind).resource._meta.model.objects.count()
        assert report.file_errors == [] and problems(report) == [], kind
        assert report.summary_line() == f"new=0 updated=0 unchanged={total} errors=0", kind
        assert len(report.warnings) == 1, (kind, report.warnings)
    assert db_state() == before


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_the_readmes_office_list_saved_as_ods_or_xls_previews_as_the_xlsx(demo, fmt):  # noqa: F811
    """The README's example list (fixtures/office/), saved by LibreOffice: the same preview,
    the same changes, field by field."""
    xlsx = import_records(
        kind="followups", data=EXAMPLE.read_bytes(), file_name=EXAMPLE.name, dry_run=True
    )
    report = import_file("followups", office.convert(EXAMPLE.read_bytes(), fmt), fmt, dry_run=True)
    assert report.summary_line() == xlsx.summary_line() == "new=2 updated=1 unchanged=2 errors=0"
    changes = [[(c.column, c.old, c.new) for c in o.changes] for o in report.outcomes]
    assert changes == [[(c.column, c.old, c.new) for c in o.changes] for o in xlsx.outcomes]
    assert report.problems == [] and len(report.warnings) == 1


def test_importing_costs_the_same_queries_in_every_format(spreadsheet_world, superuser):
    """The format changes how the file is read, never how its rows reach the database: the
    preview and the import of the same rows cost the same queries from each format."""
    data = xlsx_bytes(task_rows(spreadsheet_world, *[f"Nhiệm vụ số {i}" for i in range(30)]))
    files = {"xlsx": data, **{fmt: office.convert(data, fmt) for fmt in OFFICE_FORMATS}}
    # A first write fills Django's caches (content types for the admin log): not counted.
    warm_up = xlsx_bytes(task_rows(spreadsheet_world, "Khởi động"))
    import_file("tasks", warm_up, "xlsx", user=superuser)
    counts = {}
    for fmt, content in files.items():
        counts[fmt] = []
        for dry_run in (True, False):
            savepoint = transaction.savepoint()
            with CaptureQueriesContext(connection) as queries:
                report = import_file("tasks", content, fmt, dry_run=dry_run, user=superuser)
            transaction.savepoint_rollback(savepoint)
            assert problems(report) == [] and report.count_new == 30, fmt
            counts[fmt].append(len(queries))
    assert counts["ods"] == counts["xls"] == counts["xlsx"]


# In the admin and on the command line ---------------------------------------------------


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_every_kind_saved_by_libreoffice_is_unchanged_in_the_admin_and_on_the_command_line(
    spreadsheet_world, superuser_client, tmp_path, capsys, fmt
):
    """Each kind's export saved as .ods or .xls, uploaded on its admin import page and given
    to `import_records --dry-run`: every row unchanged, nothing written."""
    saved = dict(zip(KINDS, office.convert_all([export(kind) for kind in KINDS], fmt), strict=True))
    before = db_state()
    for kind in KINDS:
        model = kinds.get(kind).resource._meta.model._meta.model_name
        total = kinds.get(kind).resource._meta.model.objects.count()
        expected = f"new=0 updated=0 unchanged={total} errors=0"
        response = superuser_client.post(
            reverse(f"admin:coordination_{model}_import"),
            {"import_file": SimpleUploadedFile(f"{kind}.{fmt}", saved[kind])},
        )
        assert response.status_code == 200, kind
        assert response.context["report"].summary_line() == expected, kind
        path = tmp_path / f"{kind}.{fmt}"
        path.write_bytes(saved[kind])
        call_command("import_records", kind, str(path), "--dry-run")
        assert capsys.readouterr().out.strip().splitlines()[-1] == expected, kind
    assert db_state() == before


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_admin_previews_and_imports_an_office_file(superuser_client, world, upload_dir, fmt):
    """Upload an .ods or .xls on the admin's import page: the preview lists its rows and the
    confirmation writes them, exactly as for an .xlsx."""
    data = office.convert(xlsx_bytes(task_rows(world, "Nhiệm vụ A", "Nhiệm vụ B")), fmt)
    before = db_state()
    import_url = reverse("admin:coordination_task_import")

    response = superuser_client.post(
        import_url, {"import_file": SimpleUploadedFile(f"nhiem-vu.{fmt}", data)}
    )

    assert response.status_code == 200
    report, token = response.context["report"], response.context["token"]
    assert report.summary_line() == "new=2 updated=0 unchanged=0 errors=0"
    assert "Nhiệm vụ A" in response.content.decode()
    assert db_state() == before

    response = superuser_client.post(
        reverse("admin:coordination_task_process_import"), {"token": token}
    )

    assert response.status_code == 302
    assert Task.objects.filter(content__in=["Nhiệm vụ A", "Nhiệm vụ B"]).count() == 2


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_admin_error_file_of_an_office_upload_is_an_xlsx_with_the_errors(
    superuser_client, world, fmt
):
    """The rows refused are marked in a workbook to download: an .xlsx with the upload's
    cells and the error column, whatever format was uploaded (exports stay .xlsx and CSV)."""
    rows = task_rows(world, "Đúng", "Sai ngày")
    rows[2][4] = "31/02/2024"
    data = office.convert(xlsx_bytes(rows), fmt)
    response = superuser_client.post(
        reverse("admin:coordination_task_import"),
        {"import_file": SimpleUploadedFile(f"nhiem-vu.{fmt}", data)},
    )
    token = response.context["token"]
    before = db_state()

    response = superuser_client.get(reverse("admin:coordination_task_import_errors", args=[token]))

    assert response.status_code == 200
    assert ".xlsx" in response["Content-Disposition"]
    cells = values(b"".join(response.streaming_content))
    assert cells[0] == [*TASK_HEADER, vi("Error")]
    assert cells[1] == [*rows[1], None]
    assert cells[2][:6] == rows[2]
    assert cells[2][6].startswith("Hạn xử lý: ")
    assert db_state() == before


@pytest.mark.parametrize("fmt", OFFICE_FORMATS)
def test_command_line_imports_an_office_file(world, tmp_path, capsys, fmt):
    """`manage.py import_records tasks list.ods` reads it as the admin does."""
    path = tmp_path / f"nhiem-vu.{fmt}"
    path.write_bytes(office.convert(xlsx_bytes(task_rows(world, "Việc từ dòng lệnh")), fmt))

    call_command("import_records", "tasks", str(path))

    assert "new=1 updated=0 unchanged=0 errors=0" in capsys.readouterr().out
    assert Task.objects.filter(content="Việc từ dòng lệnh").exists()
