"""Workbooks built around one enormous XML token, through every way a file comes in.

Expat 2.5.0 (bundled with Python 3.11.7, CVE-2023-52425) re-scans an unfinished token from
its start at every Parse() call, so a comment, processing instruction or start tag spanning
thousands of chunks cost quadratic time: a 64 MB comment in sheet1.xml (about 130 KB
compressed, a little random text every 64 KB keeps the ratio near 500:1) took over 90 s, and
380 MB ran for more than 10 minutes. Each entry point must now answer within seconds: the
reader, the admin preview, the workbook with the errors marked, and `manage.py import_records`.
"""

import io
import random
import time
import xml.parsers.expat
import zipfile

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext

from coordination.spreadsheets import SpreadsheetError, annotate_errors, read_workbook
from coordination.spreadsheets.errors import MAX_XML_TOKEN
from coordination.spreadsheets.xmlscan import _XmlFeed
from tests.factories import db_state, xlsx_bytes
from tests.test_import_admin import (
    TASK_HEADER,
    content_of,
    logged_in,
    messages_of,
    row,
    upload,
    url,
)
from tests.test_import_admin import scope as scope  # the fixture, shared

MB = 1024 * 1024
SIZE = 64 * MB
# Far above what the fixed code takes (well under a second), far below the minutes the
# quadratic scan took: generous enough for a loaded two-core CI box.
BUDGET = 15
BLOCK = 64 * 1024
TOO_LONG = (
    "The workbook contains an XML tag or comment longer than %(limit)s MB, which Excel never "
    "writes and which is refused for safety. Save the file again from Excel as “Excel Workbook "
    "(.xlsx)”."
)
SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK = "xl/workbook.xml"
RELS = "xl/_rels/workbook.xml.rels"
STRINGS = "xl/sharedStrings.xml"


def vi(message: str, /, **params) -> str:
    with translation.override("vi"):
        text = gettext(message)
    return text % params if params else text


def too_long_vi() -> str:
    return vi(TOO_LONG, limit="1")


# Building the files ------------------------------------------------------------------------


def _filler(index: int, rnd: random.Random) -> bytes:
    """64 KB of name characters, a little random text at the end against the ratio check."""
    return b"x" * (BLOCK - 16) + rnd.randbytes(8).hex().encode()


# kind: (opening, one 64 KB block, closing); every block is part of the same single token.
TOKENS = {
    "comment": (b"<!--", _filler, b"-->"),
    "processing-instruction": (b"<?hostile ", _filler, b"?>"),
    "cdata": (b"<![CDATA[", _filler, b"]]>"),
    "attribute-value": (b'<hostile value="', _filler, b'"/>'),
    "many-attributes": (b"<hostile", lambda i, rnd: b' a%d="%s"' % (i, _filler(i, rnd)), b"/>"),
    "tag-name": (b"<hostile", _filler, b"/>"),
}


def _write_token(target, kind: str, size: int) -> None:
    opening, block, closing = TOKENS[kind]
    rnd = random.Random(kind)
    target.write(opening)
    for index in range(size // BLOCK):
        target.write(block(index, rnd))
    target.write(closing)


# openpyxl writes cells as inline strings; Excel keeps them in a shared-strings part.
_ADDED_FOR_SHARED_STRINGS = {
    "[Content_Types].xml": (
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    ),
    "xl/_rels/workbook.xml.rels": (
        b"</Relationships>",
        b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>',
    ),
}
_EMPTY_SHARED_STRINGS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
    b'openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>'
)


def _members(rows, member: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows))) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    if member == STRINGS:
        for name, (old, new) in _ADDED_FOR_SHARED_STRINGS.items():
            assert old in members[name]
            members[name] = members[name].replace(old, new)
        members[STRINGS] = _EMPTY_SHARED_STRINGS
    assert member in members
    return members


def hostile(rows, *, member: str, kind: str, size: int = SIZE) -> bytes:
    """The workbook of `rows` with one token of `size` bytes before the end of `member`'s
    root element, streamed into the archive (deflated) so that the test holds no 64 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in _members(rows, member).items():
            if name != member:
                archive.writestr(name, content)
                continue
            end = content.rindex(b"</")  # the closing tag of the root element
            with archive.open(member, "w") as target:
                target.write(content[:end])
                _write_token(target, kind, size)
                target.write(content[end:])
    return buffer.getvalue()


def read(data: bytes):
    return read_workbook(
        data,
        filename="nhiem-vu.xlsx",
        max_bytes=10 * MB,
        max_rows=1000,
        max_unpacked_bytes=400 * MB,
    )


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    try:
        return function(*args, **kwargs), time.perf_counter() - started
    except SpreadsheetError as error:
        return error, time.perf_counter() - started


# The reader ---------------------------------------------------------------------------------

REFUSED_IN_THE_READER = [
    (SHEET, "comment"),
    (SHEET, "processing-instruction"),
    (SHEET, "attribute-value"),
    (SHEET, "many-attributes"),
    (SHEET, "tag-name"),
    (WORKBOOK, "comment"),
    (WORKBOOK, "attribute-value"),
    (RELS, "processing-instruction"),
    (RELS, "tag-name"),
    # The shared strings are measured too (calamine copies one into every cell naming it).
    (STRINGS, "comment"),
    (STRINGS, "attribute-value"),
]


@pytest.mark.parametrize(("member", "kind"), REFUSED_IN_THE_READER)
def test_reader_refuses_a_huge_token_within_seconds(member, kind):
    data = hostile([["Họ tên"]], member=member, kind=kind)
    assert len(data) < 1 * MB  # a small upload, under every size and ratio limit

    error, elapsed = timed(read, data)

    assert elapsed < BUDGET
    assert isinstance(error, SpreadsheetError) and error.code == "xml_token_too_long"
    with translation.override("vi"):
        assert str(error) == too_long_vi()


@pytest.mark.parametrize(("member", "kind"), [(SHEET, "cdata"), (STRINGS, "cdata")])
def test_reader_reads_what_no_reader_of_the_import_parses_slowly(member, kind):
    """Character data (CDATA) reaches expat's handler piece by piece: such files are read,
    correctly."""
    data = hostile([["Họ tên"], ["Nguyễn Văn An"]], member=member, kind=kind)

    sheets, elapsed = timed(read, data)

    assert elapsed < BUDGET
    assert [sheet.rows for sheet in sheets] == [[["Họ tên"], ["Nguyễn Văn An"]]]


# Linear cost, counted -----------------------------------------------------------------------


def _feed(document_chunks, **options) -> tuple[_XmlFeed, int]:
    """Feed 64 KB chunks to a fresh parser; return the feed and the bytes it took."""
    feed = _XmlFeed(xml.parsers.expat.ParserCreate(), **options)
    taken = 0
    for chunk in document_chunks:
        taken += len(chunk)
        feed.feed(chunk)
    feed.feed(b"", final=True)
    return feed, taken


def _comments(count: int, length: int):
    """A document of `count` comments of `length` bytes each, in 64 KB chunks."""
    data = b"<r>" + (b"<!--" + b"y" * length + b"-->") * count + b"</r>"
    return [data[start : start + BLOCK] for start in range(0, len(data), BLOCK)]


def test_tokens_just_under_the_limit_are_rescanned_at_most_once_per_byte():
    """The work expat does again on unfinished tokens grows with the size, not its square:
    without the deferral, each 960 KB comment would be re-read about 7 times over."""
    length = MAX_XML_TOKEN - 64 * 1024
    small, small_size = _feed(_comments(4, length))
    large, large_size = _feed(_comments(16, length))

    assert small.rescanned <= small_size and large.rescanned <= large_size
    assert large.rescanned <= 4.5 * small.rescanned


def test_rescanned_bytes_grow_linearly_with_one_token_when_there_is_no_limit():
    """The same deferral as expat 2.6: a token 4 times longer costs about 4 times the
    re-scanning (a little more, as the held-back data doubles), not 16 times."""
    unlimited = {"max_token": 1 << 40}
    one, one_size = _feed(_comments(1, 240 * 1024), **unlimited)
    four, four_size = _feed(_comments(1, 960 * 1024), **unlimited)

    assert 0 < one.rescanned <= one_size and four.rescanned <= four_size
    assert four.rescanned < 8 * one.rescanned  # between linear (4) and quadratic (16)


def test_a_token_over_the_limit_is_refused_after_about_the_limit_whatever_its_length():
    def chunks():
        yield b"<r><!--"
        while True:  # an endless comment
            yield b"z" * BLOCK

    feed = _XmlFeed(xml.parsers.expat.ParserCreate())
    taken = 0
    with pytest.raises(SpreadsheetError) as caught:
        for chunk in chunks():
            taken += len(chunk)
            feed.feed(chunk)
    assert caught.value.code == "xml_token_too_long"
    assert taken <= 2 * MAX_XML_TOKEN + 2 * BLOCK
    assert feed.rescanned <= taken


# The admin -----------------------------------------------------------------------------------


def test_admin_preview_of_a_huge_comment_answers_within_seconds(scope, upload_dir):
    client = logged_in(scope.staff_a)
    data = hostile([TASK_HEADER, row(scope, "Nhiệm vụ")], member=SHEET, kind="comment")
    before = db_state()

    response, elapsed = timed(upload, client, "task", data)

    assert elapsed < BUDGET
    assert response.status_code == 200
    assert response.context["report"].file_errors == [too_long_vi()]
    assert too_long_vi() in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize(
    ("member", "kind"),
    [("xl/styles.xml", "comment"), ("xl/styles.xml", "processing-instruction")],
)
def test_error_workbook_of_a_file_hiding_a_huge_token_answers_within_seconds(
    scope,
    upload_dir,
    member,
    kind,
):
    """The import reads the file (calamine is linear), but openpyxl, which marks the errors,
    parses every part with expat 16 KB at a time: a 64 MB comment in the styles (or in the
    shared strings, which the import now refuses itself) took it hours. The marked workbook
    is refused instead, with the reason."""
    client = logged_in(scope.staff_a)
    data = hostile(
        [TASK_HEADER, row(scope, "Đúng"), row(scope, "Sai ngày", due="31/02/2024")],
        member=member,
        kind=kind,
    )
    response = upload(client, "task", data)
    assert response.status_code == 200
    assert response.context["report"].error_rows
    token = response.context["token"]
    before = db_state()

    response, elapsed = timed(client.get, url("task", "import_errors", token))

    assert elapsed < BUDGET
    assert response.status_code == 302
    assert too_long_vi() in messages_of(response)
    assert db_state() == before


def test_error_workbook_of_a_file_with_a_huge_cdata_section_is_marked(scope, upload_dir):
    """CDATA reaches every expat reader piece by piece: read and marked, within seconds."""
    client = logged_in(scope.staff_a)
    data = hostile(
        [TASK_HEADER, row(scope, "Đúng"), row(scope, "Sai ngày", due="31/02/2024")],
        member=SHEET,
        kind="cdata",
        size=16 * MB,
    )
    token = upload(client, "task", data).context["token"]

    response, elapsed = timed(client.get, url("task", "import_errors", token))

    assert elapsed < BUDGET
    assert response.status_code == 200
    assert response.get("Content-Disposition", "").startswith("attachment")
    assert content_of(response).startswith(b"PK")


def test_annotate_errors_refuses_a_huge_token_in_any_part_openpyxl_reads():
    data = hostile([["Họ tên"], ["x"]], member="docProps/core.xml", kind="attribute-value")

    error, elapsed = timed(
        annotate_errors,
        data,
        filename="nhiem-vu.xlsx",
        sheet_name="Dữ liệu",
        header_row=0,
        errors={1: "Sai"},
        error_header="Lỗi",
    )

    assert elapsed < BUDGET
    assert isinstance(error, SpreadsheetError) and error.code == "xml_token_too_long"


# The command line ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("size", [64 * MB, 380 * MB], ids=["64MB", "380MB"])
def test_import_records_command_answers_within_seconds(world, tmp_path, size):
    path = tmp_path / "nhiem-vu.xlsx"
    path.write_bytes(
        hostile(
            [TASK_HEADER, [world.agreement.number, 2024, "Nhiệm vụ", "x", "31/12/2024", "x"]],
            member=SHEET,
            kind="comment",
            size=size,
        )
    )
    out, err = io.StringIO(), io.StringIO()
    before = db_state()

    started = time.perf_counter()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_records", "tasks", str(path), stdout=out, stderr=err)
    elapsed = time.perf_counter() - started

    assert elapsed < BUDGET
    assert exit_.value.code == 2
    assert too_long_vi() in err.getvalue()
    assert db_state() == before
