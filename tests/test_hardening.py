"""Security hardening, through the real entry points (admin URLs, /records/, commands).

1. An exported CSV starts no cell with a formula whichever of "," ";" or a tab a spreadsheet
   program splits it on (Excel on a Vietnamese Windows splits on ";"), and still re-imports
   exactly.
2. An upload refused as a whole is not kept; what one user leaves waiting is bounded.
3. A login whose `next` is not a page of this site lands on the admin index, not on a 404.
"""

import csv
import io
import re
import zipfile
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from coordination import uploads
from coordination.models import Task
from coordination.spreadsheets import escape_csv_text, escape_formula, unescape_formula
from tests.factories import db_state, make_superuser, make_task, make_unit, xlsx_bytes, xlsx_values
from tests.test_import_admin import content_of, logged_in, messages_of, url, vi
from tests.test_spreadsheets import replace_member

pytestmark = pytest.mark.django_db

TASK_HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý", "Trạng thái"]
# Where a program that splits a line (on "," ";" a tab, or at a line break) may start a cell.
SEPARATORS = re.compile(r"[,;\t\r\n]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
# Text as it is stored (content and result keep their line breaks): each one would be a
# formula cell somewhere once the line is split on "," ";" or at a line break.
PAYLOADS = [
    "x;=1+1;y",
    'Hội nghị, =HYPERLINK("http://evil.example","Bấm vào đây")',
    "Kinh phí; -2+3+cmd|' /C calc'!A0",
    "Kết quả:\n=SUM(1+1)\n@SUM(1)\n+1+1",
    "- Tuyên truyền trên loa\n- Phát tờ rơi, +200 tờ",
    "'=1;'-2, ''@3",
    '"Trích";=1',
    "=Tổ chức, ;@,",
]


def formula_cells(data: bytes) -> list[tuple]:
    """Every cell of the CSV `data` that would start a formula, read as a spreadsheet program
    might: split on ",", ";" or a tab, honouring quotes or not, trimming spaces or not."""
    text = data.decode("utf-8-sig")
    found = []
    for delimiter in (",", ";", "\t"):
        for quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE):
            for trim in (False, True):
                reader = csv.reader(
                    io.StringIO(text, newline=""),
                    delimiter=delimiter,
                    quoting=quoting,
                    skipinitialspace=trim,
                )
                for record in reader:
                    for cell in record:
                        # A program may also drop stray quotes and trim other white space.
                        for seen in (cell, cell.lstrip(' "\u00a0')):
                            if seen.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(seen):
                                found.append((delimiter, quoting, trim, seen))
    return found


@pytest.fixture
def admin_client(db):
    return logged_in(make_superuser())


@pytest.fixture
def payload_tasks(world):
    return [
        make_task(
            agreement=world.agreement,
            year=2024,
            lead_unit=world.committee,
            content=payload,
            result=payload,
        )
        for payload in PAYLOADS
    ]


# 1. CSV formula injection through another list separator ---------------------------------


def test_quoting_every_field_alone_would_still_leave_a_formula_cell():
    """Why every part of a text is escaped, not only its start, and why quoting is not the
    fix: a program splitting on ";" a file written with "," leaves the quotes behind (a
    quote only opens a quoted cell at the start of a cell) and splits inside the cell."""
    stream = io.StringIO(newline="")
    csv.writer(stream, quoting=csv.QUOTE_ALL).writerow(["a", escape_formula("x;=1+1;y"), "b"])
    assert stream.getvalue() == '"a","x;=1+1;y","b"\r\n'
    assert ("=1+1",) in {cells[3:] for cells in formula_cells(stream.getvalue().encode())}
    assert next(csv.reader(io.StringIO(stream.getvalue()), delimiter=";"))[1] == "=1+1"


@pytest.mark.parametrize("entry", ["admin", "records", "command"])
def test_exported_csv_starts_no_cell_with_a_formula_whatever_the_separator(
    admin_client, payload_tasks, tmp_path, entry
):
    if entry == "admin":
        data = content_of(admin_client.get(url("task", "export") + "?_format=csv"))
    elif entry == "records":
        export = reverse("coordination:record-export", args=["tasks"])
        data = content_of(admin_client.get(f"{export}?format=csv"))
    else:
        path = tmp_path / "nhiem-vu.csv"
        call_command("export_records", "tasks", "--output", str(path), stdout=io.StringIO())
        data = path.read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + Task.objects.count()
    assert formula_cells(data) == []
    # Read as it was written (","), every text comes back once the apostrophes are removed.
    content = rows[0].index("Nội dung")
    assert {unescape_formula(row[content]) for row in rows[1:]} >= set(PAYLOADS)
    assert "x;'=1+1;y" in {row[content] for row in rows[1:]}


def test_exported_csv_reimports_unchanged_through_the_admin(admin_client, payload_tasks):
    data = content_of(admin_client.get(url("task", "export") + "?_format=csv"))
    response = admin_client.post(
        url("task", "import"), {"import_file": SimpleUploadedFile("xuat.csv", data)}
    )
    report = response.context["report"]
    total = Task.objects.count()
    assert report.file_errors == [] and report.problems == []
    assert report.summary_line() == f"new=0 updated=0 unchanged={total} errors=0"
    before = db_state()
    response = admin_client.post(
        url("task", "process_import"), {"token": response.context["token"]}
    )
    assert response.status_code == 302
    assert db_state() == before


def test_exported_csv_reimports_unchanged_with_the_commands(payload_tasks, tmp_path):
    path = tmp_path / "nhiem-vu.csv"
    call_command("export_records", "tasks", "--output", str(path), stdout=io.StringIO())
    before = db_state()
    out = io.StringIO()
    call_command("import_records", "tasks", str(path), stdout=out, stderr=io.StringIO())
    assert f"new=0 updated=0 unchanged={Task.objects.count()} errors=0" in out.getvalue()
    assert db_state() == before


def test_exported_workbook_is_not_affected(admin_client, payload_tasks):
    """An .xlsx cell is never split: only its start is escaped, as before; the text after a
    separator is left alone unless it already starts with an apostrophe (then one more, so
    that the import gives back exactly what was stored)."""
    data = content_of(admin_client.get(url("task", "export") + "?_format=xlsx"))
    rows = xlsx_values(data)
    content = rows[0].index("Nội dung")
    written = {row[content] for row in rows[1:]}
    assert {
        "x;=1+1;y",
        "'- Tuyên truyền trên loa\n- Phát tờ rơi, +200 tờ",
        "''=1;''-2, '''@3",
        "'=Tổ chức, ;@,",
    } <= written
    response = admin_client.post(
        url("task", "import"), {"import_file": SimpleUploadedFile("xuat.xlsx", data)}
    )
    assert response.context["report"].summary_line() == (
        f"new=0 updated=0 unchanged={Task.objects.count()} errors=0"
    )


def test_marked_csv_is_safe_and_reimports_as_the_upload_did(admin_client, payload_tasks):
    """The file returned with its errors marked is written by the server too: safe on every
    separator, and each cell reads back as the uploaded one did (an escaped cell is not
    escaped twice), so fixing the marked row is all it takes."""
    exported = content_of(admin_client.get(url("task", "export") + "?_format=csv"))
    rows = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"), newline="")))
    status = rows[0].index("Trạng thái")
    label, rows[1][status] = rows[1][status], "Không rõ"
    response = admin_client.post(url("task", "import"), {"import_file": _csv_upload(rows)})
    assert len(response.context["report"].error_rows) == 1
    marked = content_of(admin_client.get(url("task", "import_errors", response.context["token"])))
    assert formula_cells(marked) == []
    fixed = list(csv.reader(io.StringIO(marked.decode("utf-8-sig"), newline="")))
    assert fixed[1][status] == "Không rõ" and fixed[0][-1] == "Lỗi"
    fixed[1][status] = label
    response = admin_client.post(url("task", "import"), {"import_file": _csv_upload(fixed)})
    assert response.context["report"].summary_line() == (
        f"new=0 updated=0 unchanged={Task.objects.count()} errors=0"
    )


def _csv_upload(rows) -> SimpleUploadedFile:
    stream = io.StringIO(newline="")
    csv.writer(stream, lineterminator="\r\n").writerows(rows)
    return SimpleUploadedFile("sua.csv", ("\ufeff" + stream.getvalue()).encode())


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_names_that_look_like_formulas_reimport(admin_client, world, file_format):
    lead = make_unit(full_name="=Tổ công tác một")
    second = make_unit(full_name="-Tổ công tác hai")
    make_task(
        agreement=world.agreement,
        year=2024,
        lead_unit=lead,
        coordinating_units=[world.front, second],
        content="Nhiệm vụ của tổ công tác",
    )
    data = content_of(admin_client.get(url("task", "export") + f"?_format={file_format}"))
    response = admin_client.post(
        url("task", "import"), {"import_file": SimpleUploadedFile(f"xuat.{file_format}", data)}
    )
    assert response.context["report"].problems == []


TEXTS = st.text(alphabet=st.sampled_from("',;\t\r\n =+-@a\u00a0"), max_size=12)


@given(TEXTS)
def test_every_part_of_a_csv_text_is_escaped_and_unescapes_back(value):
    escaped = escape_csv_text(value)
    assert unescape_formula(escaped) == value
    for part in SEPARATORS.split(escaped):
        assert not part.lstrip().startswith(("=", "+", "-", "@"))


@given(TEXTS)
def test_a_workbook_text_is_escaped_at_its_start_only_and_unescapes_back(value):
    escaped = escape_formula(value)
    assert unescape_formula(escaped) == value
    assert not escaped.startswith((*FORMULA_STARTS, "\n"))
    if "'" not in value:
        assert escaped in (value, "'" + value)


# 2. Refused uploads and the bound on what waits ----------------------------------------------


def _task_file(world, *contents) -> bytes:
    rows = [TASK_HEADER]
    for content in contents:
        rows.append(
            [world.agreement.number, 2024, content, world.committee.full_name, None, "Tạm dừng?"]
        )
    return xlsx_bytes(rows)


def _good_file(world, content="Nhiệm vụ mới") -> bytes:
    return xlsx_bytes(
        [
            TASK_HEADER,
            [
                world.agreement.number,
                2024,
                content,
                world.committee.full_name,
                "31/12/2024",
                "Chưa thực hiện",
            ],
        ]
    )


def _zip_bomb(world) -> bytes:
    """A workbook whose sheet1.xml is 30 MB of zeros (about 30 KB compressed)."""
    valid = _good_file(world)
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(valid)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(member, source.read(member))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for _ in range(30):
                sheet.write(bytes(1024 * 1024))
    return buffer.getvalue()


def _with_dtd(world) -> bytes:
    doctype = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    return replace_member(
        _good_file(world),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<worksheet", doctype + b"<worksheet", 1),
    )


REFUSED = {
    "zip bomb": (_zip_bomb, "ds.xlsx"),
    "DTD": (_with_dtd, "ds.xlsx"),
    "PDF": (lambda world: b"%PDF-1.4\n" + bytes(range(256)) * 20, "ds.xlsx"),
    "no header row": (lambda world: "Một;Hai\r\nBa;Bốn\r\n".encode(), "ds.csv"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_file_refused_as_a_whole_is_not_kept(world, admin_client, upload_dir, settings, case):
    settings.IMPORT_MAX_UNPACKED_BYTES = 10 * 1024 * 1024
    build, name = REFUSED[case]
    response = admin_client.post(
        url("task", "import"), {"import_file": SimpleUploadedFile(name, build(world))}
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert report.file_errors and not report.error_rows
    assert response.context["token"] is None
    assert not upload_dir.exists() or not any(upload_dir.iterdir())
    assert admin_client.session.get(uploads.SESSION_KEY, {}) == {}


def test_file_with_row_errors_is_kept_for_its_marked_copy(world, admin_client, upload_dir):
    response = admin_client.post(
        url("task", "import"),
        {"import_file": SimpleUploadedFile("ds.xlsx", _task_file(world, "Một", "Hai"))},
    )
    assert len(response.context["report"].error_rows) == 2
    token = response.context["token"]
    assert (upload_dir / token).is_file()
    assert token in admin_client.session[uploads.SESSION_KEY]
    marked = admin_client.get(url("task", "import_errors", token))
    assert marked.status_code == 200
    assert marked["Content-Disposition"].startswith("attachment")


def _upload(client, world, name, content=None) -> str:
    data = _good_file(world, content or name)
    response = client.post(url("task", "import"), {"import_file": SimpleUploadedFile(name, data)})
    assert response.context["report"].summary_line() == "new=1 updated=0 unchanged=0 errors=0"
    return response


def _waiting(upload_dir, user) -> dict[str, int]:
    """Token → bytes (with its kept cells) of each of `user`'s uploads in the folder."""
    found: dict[str, int] = {}
    for path in upload_dir.iterdir():
        if path.name.startswith(f"u{user.pk}-"):
            token = path.name.removesuffix(uploads.SHEETS_SUFFIX)
            found[token] = found.get(token, 0) + path.stat().st_size
    return found


def test_uploads_waiting_for_one_user_never_exceed_the_count(world, upload_dir, settings):
    settings.IMPORT_UPLOADS_PER_USER = 3
    user = make_superuser()
    client = logged_in(user)
    tokens = []
    for number in range(1, 7):
        response = _upload(client, world, f"dot-{number}.xlsx")
        tokens.append(response.context["token"])
        assert len(_waiting(upload_dir, user)) == min(number, 3)
        assert set(client.session[uploads.SESSION_KEY]) == set(tokens[-3:])
        if number > 3:
            # The page says which of the person's files were removed.
            (message,) = messages_of(response)
            assert message == vi(
                "At most %(count)d uploaded files (%(size)d MB) may wait for confirmation per "
                "person, so your oldest waiting uploads were removed: %(files)s. Upload a file "
                "again if you still want to import it.",
                count=3,
                size=100,
                files=f"dot-{number - 3}.xlsx",
            )
    assert set(_waiting(upload_dir, user)) == set(tokens[-3:])
    # A removed upload cannot be confirmed; a kept one can.
    response = client.post(url("task", "process_import"), {"token": tokens[0]})
    assert response.status_code == 302
    assert vi("The uploaded file has expired or is unknown: please upload it again.") in (
        messages_of(response)
    )
    response = client.post(url("task", "process_import"), {"token": tokens[-1]})
    assert response["Location"] == url("task", "changelist")
    assert Task.objects.filter(content="dot-6.xlsx").exists()


def test_uploads_waiting_for_one_user_never_exceed_the_bytes(world, upload_dir, settings):
    user = make_superuser()
    client = logged_in(user)
    _upload(client, world, "mot.xlsx")
    (one,) = _waiting(upload_dir, user).values()
    settings.IMPORT_UPLOAD_BYTES_PER_USER = int(2.5 * one)
    for number in range(5):
        _upload(client, world, f"tep-{number}.xlsx")
        waiting = _waiting(upload_dir, user)
        assert sum(waiting.values()) <= settings.IMPORT_UPLOAD_BYTES_PER_USER
        assert len(waiting) == 2
    # Alone over the bound, the newest upload is still kept: it is the one being worked on.
    settings.IMPORT_UPLOAD_BYTES_PER_USER = 1
    token = _upload(client, world, "lon.xlsx").context["token"]
    assert set(_waiting(upload_dir, user)) == {token}
    response = client.post(url("task", "process_import"), {"token": token})
    assert response["Location"] == url("task", "changelist")


def test_the_bound_holds_across_the_sessions_of_one_user(world, upload_dir, settings):
    settings.IMPORT_UPLOADS_PER_USER = 3
    user = make_superuser()
    first, second = logged_in(user), logged_in(user)
    tokens = [
        _upload(client, world, f"{n}.xlsx").context["token"]
        for n, client in ((1, first), (2, second), (3, first), (4, second), (5, second))
    ]
    assert set(_waiting(upload_dir, user)) == set(tokens[2:])
    # Sessions other than the uploader's learn it when they try to confirm.
    response = first.post(url("task", "process_import"), {"token": tokens[0]})
    assert response["Location"] == url("task", "import")


def test_another_users_uploads_are_unaffected(world, upload_dir, settings):
    settings.IMPORT_UPLOADS_PER_USER = 2
    other, busy = make_superuser(), make_superuser()
    other_client, busy_client = logged_in(other), logged_in(busy)
    kept = [_upload(other_client, world, f"khac-{n}.xlsx").context["token"] for n in (1, 2)]
    for number in range(6):
        _upload(busy_client, world, f"ban-{number}.xlsx")
    assert set(_waiting(upload_dir, other)) == set(kept)
    assert len(_waiting(upload_dir, busy)) == 2
    response = other_client.post(url("task", "process_import"), {"token": kept[0]})
    assert response["Location"] == url("task", "changelist")
    assert Task.objects.filter(content="khac-1.xlsx").exists()


# 3. Where a login with a rejected `next` lands ---------------------------------------------

PASSWORD = "Mật-khẩu-thử-2024"
UNSAFE_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "http:evil.example",
    " https://evil.example",
]
SAFE_NEXT = ["/records/tasks/?year=2024&status=done", "/admin/coordination/task/", "/records/"]


@pytest.fixture
def account(db):
    return get_user_model().objects.create_user(
        username="can.bo", password=PASSWORD, is_staff=True, is_superuser=True
    )


def _login(client, next_url=None, *, in_query=True):
    credentials = {"username": "can.bo", "password": PASSWORD}
    path = reverse("admin:login")
    if next_url is not None and in_query:
        return client.post(f"{path}?{_query(next_url)}", credentials)
    if next_url is not None:
        credentials["next"] = next_url
    return client.post(path, credentials)


def _query(next_url: str) -> str:
    return urlencode({"next": next_url})


@pytest.mark.parametrize("in_query", [True, False], ids=["query", "form"])
@pytest.mark.parametrize("next_url", UNSAFE_NEXT)
def test_login_with_a_foreign_next_lands_on_the_admin_index(client, account, next_url, in_query):
    response = _login(client, next_url, in_query=in_query)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize("next_url", [None, *SAFE_NEXT])
def test_login_with_a_page_of_the_site_as_next_goes_there(client, account, next_url):
    response = _login(client, next_url)
    assert response.status_code == 302
    assert response["Location"] == (next_url or reverse("admin:index"))
    assert client.get(response["Location"]).status_code == 200


def test_records_page_sends_to_the_login_and_back(client, account):
    page = reverse("coordination:record-list", args=["tasks"])
    response = client.get(page)
    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert (login.path, parse_qs(login.query)) == (reverse("admin:login"), {"next": [page]})
    response = client.post(response["Location"], {"username": "can.bo", "password": PASSWORD})
    assert response["Location"] == page
    assert client.get(page).status_code == 200


@pytest.mark.parametrize("next_url", UNSAFE_NEXT)
def test_logged_in_user_sent_to_the_login_with_a_foreign_next_goes_to_the_index(
    client, account, next_url
):
    client.force_login(account)
    response = client.get(f"{reverse('admin:login')}?{_query(next_url)}")
    assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize("in_query", [True, False], ids=["query", "form"])
@pytest.mark.parametrize("next_url", [None, *UNSAFE_NEXT])
def test_logout_without_a_page_of_the_site_as_next_lands_on_the_login(
    client, account, next_url, in_query
):
    """Django would otherwise send the browser to GET the logout URL itself (405) when the
    rejected `next` came in the query string."""
    client.force_login(account)
    logout = reverse("admin:logout")
    if next_url is None:
        response = client.post(logout)
    elif in_query:
        response = client.post(f"{logout}?{_query(next_url)}")
    else:
        response = client.post(logout, {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:login")
    assert "_auth_user_id" not in client.session
    assert client.get(response["Location"]).status_code == 200


def test_logout_with_a_page_of_the_site_as_next_goes_there(client, account):
    client.force_login(account)
    response = client.post(reverse("admin:logout"), {"next": "/records/"})
    assert response["Location"] == "/records/"
    # Logged out, the page asks for the login again.
    assert client.get(response["Location"])["Location"].startswith(reverse("admin:login"))
