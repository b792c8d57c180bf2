"""Unknown names cost a bounded amount, and so do the messages about them (issue 11, point 3).

A file naming thousands of unknown units once cost a close-match search over the whole
register for every name, and printed every message in full (an 84 KB workbook: 10 s and
2.3 MB of text). Suggestions are now searched once per distinct name, for a bounded number of
names, among a bounded number of candidates; a cell's and a file's messages are capped with
"… and N more".
"""

import difflib
import io

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import ngettext

from coordination import suggestions
from coordination.importing import PROBLEMS_LISTED, import_records, reading
from coordination.importing.lookups import MAX_SUGGESTED_NAMES
from coordination.models import Unit
from coordination.suggestions import CloseNames
from coordination.text import fold
from coordination.widgets import MAX_CELL_ERRORS, SHOWN_CHARS
from tests.factories import db_state, make_superuser, xlsx_bytes
from tests.test_import_admin import logged_in, upload, vi

pytestmark = pytest.mark.django_db

HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Đơn vị phối hợp"]


def row(world, content, *, lead=None, coordinating=None):
    return [
        world.agreement.number,
        2024,
        content,
        lead or world.committee.full_name,
        coordinating,
    ]


def unknown_names(count, prefix="Hội đồng không có thật"):
    return [f"{prefix} số {n}" for n in range(count)]


@pytest.fixture
def searches(monkeypatch):
    """The close-match searches an import runs, by name."""
    calls = []
    search = CloseNames.__call__

    def counted(self, key, **options):
        calls.append(key)
        return search(self, key, **options)

    monkeypatch.setattr(CloseNames, "__call__", counted)
    return calls


def test_a_cell_of_thousands_of_unknown_units_reports_a_few_and_counts_the_rest(world, searches):
    names = unknown_names(5500)
    rows = [HEADER] + [row(world, f"Việc {n}", coordinating="; ".join(names)) for n in range(20)]
    before = db_state()
    report = import_records(kind="tasks", data=xlsx_bytes(rows), file_name="x.xlsx", user=None)
    assert len(report.problems) == 20
    message = report.problems[0].message
    assert message.count(vi("Unknown unit “%(value)s”.", value="x")[:10]) == MAX_CELL_ERRORS
    # Excel keeps 32,767 characters of a cell: about a thousand of the names are read.
    with translation.override("vi"):
        more = ngettext("…and %(count)d more name.", "…and %(count)d more names.", 1000)
    prefix, _count = more.split("%(count)d")
    assert prefix in message and int(message.rsplit(prefix, 1)[1].split()[0]) > 1000
    assert len(message) < 3000
    assert len(report.problems[0].value) <= reading.SHOWN_VALUE
    # The same five shown names in every row: each searched once.
    assert len(searches) == MAX_CELL_ERRORS
    assert db_state() == before


def test_suggestions_are_searched_once_per_distinct_name_and_for_a_bounded_number(world, searches):
    names = unknown_names(MAX_SUGGESTED_NAMES + 300)
    rows = [HEADER] + [row(world, f"Việc {n}", lead=name) for n, name in enumerate(names)]
    rows += [row(world, f"Việc lặp {n}", lead=names[0]) for n in range(50)]
    report = import_records(kind="tasks", data=xlsx_bytes(rows), file_name="x.xlsx")
    assert len(report.error_rows) == len(names) + 50
    assert len(searches) == MAX_SUGGESTED_NAMES
    assert len(set(searches)) == len(searches)


def test_suggestions_name_each_unit_once_even_when_several_of_its_names_are_close(world):
    """“UBND huyện Hàm Tâm” is close to the committee's full name, its short name and its
    short name with the place: the committee is suggested once."""
    report = import_records(
        kind="tasks",
        data=xlsx_bytes([HEADER, row(world, "Sai", lead="UBND huyện Hàm Tâm")]),
        file_name="x.xlsx",
    )
    [problem] = report.problems
    assert problem.message.count(world.committee.full_name) == 1


def test_long_values_are_shortened_in_messages(world):
    name = "Đơn vị " + "rất " * 5000
    report = import_records(
        kind="tasks", data=xlsx_bytes([HEADER, row(world, "Dài", lead=name)]), file_name="x.xlsx"
    )
    [problem] = report.problems
    assert len(problem.message) < SHOWN_CHARS + 200
    assert len(problem.value) <= reading.SHOWN_VALUE


def test_the_preview_page_of_such_a_file_stays_small(world):
    names = unknown_names(5500)
    rows = [HEADER] + [row(world, f"Việc {n}", coordinating="; ".join(names)) for n in range(20)]
    response = upload(logged_in(make_superuser()), "task", xlsx_bytes(rows))
    assert response.status_code == 200
    assert len(response.content) < 150_000


def test_the_command_line_lists_a_bounded_number_of_problems(world, tmp_path):
    rows = [HEADER] + [
        row(world, f"Việc {n}", lead=f"Không có {n}") for n in range(PROBLEMS_LISTED + 40)
    ]
    path = tmp_path / "nhieu-loi.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_records", "tasks", str(path), stdout=out, stderr=err)
    lines = err.getvalue().splitlines()
    with translation.override("vi"):
        more = ngettext(
            "…and %(count)d more problem: correct these and run the import again.",
            "…and %(count)d more problems: correct these and run the import again.",
            40,
        ) % {"count": 40}
    assert len(lines) == PROBLEMS_LISTED + 1
    assert lines[-1] == more


def test_many_unknown_headers_are_named_a_few_at_a_time(world):
    extra = [f"Cột thêm {n}" for n in range(300)]
    rows = [HEADER + extra, row(world, "Việc")]
    report = import_records(kind="tasks", data=xlsx_bytes(rows), file_name="x.xlsx")
    [warning] = report.warnings
    assert "Cột thêm 9”" in warning and "Cột thêm 10”" not in warning
    assert len(warning) < 1000


# The close-match search itself ------------------------------------------------------------


def register(count):
    places = ["Tân Hà", "Tân Xuân", "Sơn Mỹ", "Thắng Hải", "Tân Thắng", "Tân Phúc", "Tân Đức"]
    bodies = ["Ủy ban nhân dân xã", "Hội Nông dân xã", "Hội Cựu chiến binh xã", "Đoàn xã"]
    return [fold(f"{bodies[n % len(bodies)]} {places[n % len(places)]} {n}") for n in range(count)]


@pytest.mark.parametrize(
    "typo",
    ["uy ban nhan dan xa tan ha 8", "hoi nong dan xa tan xuan 1", "doan xa son my 3", "zzz"],
)
def test_close_names_agree_with_difflib_on_a_small_register(typo):
    names = register(40)
    assert CloseNames(names)(typo) == difflib.get_close_matches(typo, names, n=3, cutoff=0.6)


def test_close_names_rank_few_candidates_in_a_province_register(monkeypatch):
    """4,000 bodies: a search ranks at most `CANDIDATES` names with difflib, not all."""
    names = register(4000)
    index = CloseNames(names)
    ratios = []
    ratio = difflib.SequenceMatcher.ratio

    def counted(self):
        ratios.append(1)
        return ratio(self)

    monkeypatch.setattr(difflib.SequenceMatcher, "ratio", counted)
    found = index("hoi nong dan xa tan xuan 1009")
    assert found[0] == "hoi nong dan xa tan xuan 1009"
    assert len(ratios) <= suggestions.CANDIDATES


def test_units_table_of_a_province_answers_unknown_names(world):
    Unit.objects.bulk_create(
        Unit(full_name=f"Hội Nông dân xã Số {n}", locality=f"xã Số {n}") for n in range(4000)
    )
    rows = [HEADER, row(world, "Việc", lead="Hội Nông dân xã Số 12a")]
    report = import_records(kind="tasks", data=xlsx_bytes(rows), file_name="x.xlsx")
    [problem] = report.problems
    assert "Hội Nông dân xã Số 12" in problem.message
