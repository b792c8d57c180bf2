"""An import's cost grows with its file, not with the tables it imports into (issue 17).

Each kind imports the same 200-row file (100 rows updating records found by their natural key,
50 leaving records as they are, 50 new) into a table that holds only those records, then into
the same table with 5,000 more records sharing the file's years, units, agreements and
localities: the preview and the confirmation send the same queries and read the same number
of records from the kind's table both times. Before, every record sharing a year, a unit and
a kind with some row was loaded to compare keys in Python: most of a province's table.
"""

import contextlib
import csv
import io
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models.sql.compiler import MULTI, SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from coordination import kinds
from coordination.bulk import insert_records
from coordination.choices import FollowUpKind, FollowUpStatus, TaskStatus
from coordination.exporting import write_export
from coordination.importing import import_records
from coordination.models import Agreement, FollowUp, Indicator, Person, Task, Unit
from tests.factories import csv_bytes

pytestmark = pytest.mark.django_db

FILLER = 5000
UPDATED_ROWS, UNCHANGED_ROWS, NEW_ROWS = 100, 50, 50


def followup(world, text):
    return FollowUp(
        kind=FollowUpKind.LIMITATION,
        year=2024,
        content=text,
        responsible_unit=world.front,
        status=FollowUpStatus.OPEN,
    )


def task(world, text):
    return Task(
        agreement=world.agreement,
        year=2024,
        content=text,
        lead_unit=world.committee,
        status=TaskStatus.NOT_STARTED,
    )


def indicator(world, text):
    return Indicator(
        agreement=world.agreement,
        year=2024,
        unit=world.committee,
        name=text,
        measure="%",
        target=90,
    )


def unit(world, text):
    return Unit(
        full_name=text,
        short_name="",
        kind=world.committee.kind,
        level=world.committee.level,
        locality=world.committee.locality,
    )


def person(world, text):
    return Person(full_name=text, position="Chuyên viên", unit=world.committee)


def agreement(world, text):
    return Agreement(
        number=text,
        title=f"Quy chế {text}",
        kind=world.agreement.kind,
        start_year=2021,
        end_year=2026,
    )


# kind → (maker of a record from its key text, the key's text attribute, an attribute
# the updated rows change, the new value of that attribute for row n)
KINDS = {
    "followups": (followup, "content", "source_reference", "Thông báo số {n}/TB"),
    "tasks": (task, "content", "result", "Đã làm được {n} việc"),
    "indicators": (indicator, "name", "measure", "đơn vị {n}"),
    "units": (unit, "full_name", "short_name", "ĐV{n}"),
    "people": (person, "full_name", "position", "Chuyên viên bậc {n}"),
    "agreements": (agreement, "number", "title", "Quy chế sửa đổi số {n}"),
}


def create(kind, world, texts):
    make = KINDS[kind][0]
    records = [make(world, text) for text in texts]
    for record in records:
        record.prepare_for_save()
    insert_records(type(records[0]), records)
    return records


def header_of(resource_class, attribute):
    with translation.override("vi"):
        return str(resource_class.fields[attribute].column_name)


def import_file(kind, world):
    """The 200 rows: the kind's export of its first 150 records, without record numbers or
    versions (matched by natural key), 100 of them changed, plus 50 new rows."""
    _make, key, changed, new_value = KINDS[kind]
    resource_class = kinds.get(kind).resource
    model = resource_class._meta.model
    records = create(kind, world, [f"{n:03d}/Việc cần theo dõi số {n}" for n in range(150)])
    stream = io.BytesIO()
    with translation.override("vi"):
        write_export(kind, model.objects.filter(pk__in=[r.pk for r in records]), stream, "csv")
    rows = list(csv.reader(io.StringIO(stream.getvalue().decode("utf-8-sig"))))
    header = rows[0]
    dropped = {header_of(resource_class, "id"), header_of(resource_class, "updated_at")}
    keep = [i for i, name in enumerate(header) if name not in dropped]
    key_at, changed_at = (
        header.index(header_of(resource_class, key)),
        header.index(header_of(resource_class, changed)),
    )
    body = rows[1:]
    body.sort(key=lambda cells: cells[key_at])
    for n, cells in enumerate(body[:UPDATED_ROWS]):
        cells[changed_at] = new_value.format(n=n)
        # The key as typed differently: other case (and spacing, for a document number).
        cells[key_at] = cells[key_at].upper()
        if kind == "agreements":
            cells[key_at] = cells[key_at].replace("/", " / ")
    for n in range(NEW_ROWS):
        cells = list(body[UPDATED_ROWS])
        cells[key_at] = f"{n:03d}/Việc mới số {n}"
        body.append(cells)
    return csv_bytes([[header[i] for i in keep]] + [[cells[i] for i in keep] for cells in body])


@contextlib.contextmanager
def records_read(model):
    """How many rows the queries on `model`'s table return (records or values)."""
    counted = {"rows": 0}
    execute_sql = SQLCompiler.execute_sql

    def counting(self, result_type=MULTI, *args, **kwargs):
        result = execute_sql(self, result_type, *args, **kwargs)
        if result_type == MULTI and result is not None and self.query.model is model:
            chunks = [list(chunk) for chunk in result]
            counted["rows"] += sum(len(chunk) for chunk in chunks)
            return iter(chunks)
        return result

    with mock.patch.object(SQLCompiler, "execute_sql", counting):
        yield counted


def measure(kind, data, *, dry_run):
    """Queries and records read by one import; a confirmation is rolled back afterwards."""
    model = kinds.get(kind).resource._meta.model
    with (
        transaction.atomic(),
        CaptureQueriesContext(connection) as queries,
        records_read(model) as read,
    ):
        report = import_records(kind=kind, data=data, file_name="f.csv", dry_run=dry_run)
        transaction.set_rollback(True)
    assert not report.file_errors, report.file_errors
    assert not report.problems, [p.message for p in report.problems[:3]]
    assert (report.count_updated, report.count_unchanged, report.count_new) == (
        UPDATED_ROWS,
        UNCHANGED_ROWS,
        NEW_ROWS,
    )
    assert report.written is not dry_run
    return len(queries), read["rows"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_import_costs_the_same_into_a_table_of_5000_more_records(world, kind):
    data = import_file(kind, world)
    small = {dry_run: measure(kind, data, dry_run=dry_run) for dry_run in (True, False)}
    # Records sharing every part of the file's keys but the text: the same year, unit,
    # kind, agreement or locality.
    create(kind, world, [f"{n:05d}/Việc khác số {n}" for n in range(FILLER)])
    large = {dry_run: measure(kind, data, dry_run=dry_run) for dry_run in (True, False)}
    assert large == small
    # The records read are those the file names (its 150 existing ones), a few times over
    # (matching, the unique rules, and under the lock the versions read again, the unique
    # rules again and the rows locked), never the table.
    for _queries, read in large.values():
        assert read <= 6 * (UPDATED_ROWS + UNCHANGED_ROWS)


def test_a_key_that_only_begins_like_a_records_is_a_new_row(world):
    """Keys compare by a prefix in the database and whole in Python: a record whose text
    begins like a row's for more than the prefix is not that row's record."""
    from coordination.db_functions import KEY_PREFIX

    common = "Rà soát " * (KEY_PREFIX // 8 + 1)
    existing = create("followups", world, [common + "phần một"])[0]
    before = FollowUp.objects.count()
    header = [
        header_of(kinds.get("followups").resource, name)
        for name in ("kind", "year", "content", "responsible_unit")
    ]
    with translation.override("vi"):
        kind_label = str(FollowUpKind.LIMITATION.label)
    rows = [
        header,
        [kind_label, 2024, common + "phần hai", world.front.full_name],
        [kind_label, 2024, (common + "phần một").upper(), world.front.full_name],
    ]
    report = import_records(
        kind="followups", data=csv_bytes(rows), file_name="f.csv", dry_run=False
    )
    assert not report.problems, [p.message for p in report.problems]
    assert (report.count_new, report.count_updated) == (1, 1)
    assert FollowUp.objects.count() == before + 1
    existing.refresh_from_db()
    assert existing.content == (common + "phần một").upper()


def test_many_keys_are_sent_in_several_queries_and_all_found(world, monkeypatch):
    """More keys than one query takes: the keys go in chunks, and every record is found."""
    from coordination.importing import keys

    monkeypatch.setattr(keys, "keys_per_query", lambda width: 7)
    data = import_file("tasks", world)
    report = import_records(kind="tasks", data=data, file_name="f.csv", dry_run=True)
    assert not report.problems
    assert (report.count_updated, report.count_unchanged, report.count_new) == (
        UPDATED_ROWS,
        UNCHANGED_ROWS,
        NEW_ROWS,
    )


def test_an_agreement_number_typed_with_other_spacing_and_case_is_the_same(world):
    """Document numbers compare without case and white space, in the database as in Python
    (`agreement_key`): tabs and no-break spaces too."""
    resource_class = kinds.get("agreements").resource
    names = ("number", "title", "kind", "start_year", "end_year")
    header = [header_of(resource_class, name) for name in names]
    spaced = " ".join(world.agreement.number.lower()).replace("/", "\u00a0/\t")
    with translation.override("vi"):
        kind_label = str(world.agreement.get_kind_display())
    row = [spaced, "Tiêu đề mới", kind_label, world.agreement.start_year, world.agreement.end_year]
    report = import_records(
        kind="agreements", data=csv_bytes([header, row]), file_name="f.csv", dry_run=True
    )
    assert not report.file_errors, report.file_errors
    assert not report.problems, [p.message for p in report.problems]
    assert (report.count_updated, report.count_new) == (1, 0)


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize("kind", ["followups", "tasks", "units", "agreements", "people"])
def test_postgresql_looks_each_key_up_in_an_index(world, kind):
    """EXPLAIN ANALYZE of the key lookup in a table of 5,000 records: every key is one index
    scan (a nested loop over the keys), the table is never read whole."""
    import json

    from coordination.importing.keys import filter_by_keys, key_expression

    create(kind, world, [f"{n:05d}/Việc khác số {n}" for n in range(FILLER)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    resource_class = kinds.get(kind).resource
    model = resource_class._meta.model
    names = resource_class._meta.import_id_fields
    parts = [
        key_expression(model._meta.get_field(n), resource_class.fields[n].widget) for n in names
    ]
    sample = model.objects.order_by("pk")[:1000]
    keys = {
        tuple(
            convert(getattr(record, model._meta.get_field(name).attname))
            for (_sql, convert), name in zip(parts, names, strict=True)
        )
        for record in sample
    }
    (queryset,) = filter_by_keys(model.objects.all(), [sql for sql, _convert in parts], keys)
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    nodes = list(plan_nodes(plan[0]["Plan"]))
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], plan
    probes = [n for n in nodes if n["Node Type"] in ("Index Scan", "Bitmap Index Scan")]
    assert any(n["Actual Loops"] == len(keys) for n in probes), plan
    assert queryset.count() == len(keys)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the plan is SQLite's")
@pytest.mark.parametrize("kind", ["followups", "tasks", "units", "agreements", "people"])
def test_sqlite_looks_each_key_up_in_an_index(world, kind):
    """EXPLAIN QUERY PLAN of the key lookup: the keys are scanned, the table only searched
    through an index (the natural-key index, whose expression the query spells alike)."""
    from coordination.importing.keys import filter_by_keys, key_expression

    create(kind, world, [f"{n:05d}/Việc khác số {n}" for n in range(200)])
    resource_class = kinds.get(kind).resource
    model = resource_class._meta.model
    names = resource_class._meta.import_id_fields
    parts = [
        key_expression(model._meta.get_field(n), resource_class.fields[n].widget) for n in names
    ]
    keys = {
        tuple(
            convert(getattr(record, model._meta.get_field(name).attname))
            for (_sql, convert), name in zip(parts, names, strict=True)
        )
        for record in model.objects.all()
    }
    (queryset,) = filter_by_keys(model.objects.all(), [sql for sql, _convert in parts], keys)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        steps = [row[-1] for row in cursor.fetchall()]
    table = model._meta.db_table
    assert f"SCAN {table}" not in steps, steps
    assert any(step.startswith(f"SEARCH {table} USING") and "INDEX" in step for step in steps)
    assert queryset.count() == len(keys)


# Reference tables: the people and meetings a file names ---------------------------------


def reference_file(world, people) -> bytes:
    """Tasks naming an assignee each (some in capitals)."""
    tasks_header = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Cán bộ thực hiện"]
    rows = [tasks_header]
    for n, person in enumerate(people):
        rows.append(
            [
                world.agreement.number,
                2024,
                f"Nhiệm vụ có người làm số {n}",
                world.committee.full_name,
                person.full_name.upper() if n % 2 else person.full_name,
            ]
        )
    return csv_bytes(rows)


def meeting_file(world, meetings) -> bytes:
    header = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Hội nghị"]
    with translation.override("vi"):
        kind_label = str(FollowUpKind.CONCLUSION.label)
    rows = [header]
    for n, meeting in enumerate(meetings):
        # Exported as “title (dd/mm/yyyy)”, or typed as the title alone.
        named = str(meeting) if n % 2 else meeting.title
        rows.append([kind_label, 2024, f"Kết luận số {n}", world.front.full_name, named])
    return csv_bytes(rows)


def make_meetings(texts, held_on):
    from coordination.models import Meeting

    meetings = [
        Meeting(title=text, kind="interim", held_on=held_on, period_from_year=2024)
        for text in texts
    ]
    for meeting in meetings:
        meeting.prepare_for_save()
    insert_records(Meeting, meetings)
    return meetings


def task_preview_reads(data: bytes, model, *, new: int) -> tuple[int, int]:
    """(queries, rows of `model` read) of the preview of a task file of `new` new rows."""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with records_read(model) as read:
            report = import_records(kind="tasks", data=data, file_name="f.csv", dry_run=True)
        transaction.set_rollback(True)
    assert not report.problems, [p.message for p in report.problems[:3]]
    assert report.count_new == new
    return len(queries), read["rows"]


def test_people_named_are_read_not_the_whole_register(world):
    """20 assignees named among 20 or among 2,020 people: the same queries, and the people
    read are the 20 (a province of forty thousand cadres reads what the file names)."""
    named = create("people", world, [f"Nguyễn Văn Người Số {n}" for n in range(20)])
    data = reference_file(world, named)

    small = task_preview_reads(data, Person, new=20)
    create("people", world, [f"Trần Thị Khác Số {n}" for n in range(2000)])
    large = task_preview_reads(data, Person, new=20)
    assert large == small
    assert large[1] == 20


def test_meetings_named_by_title_or_as_exported_are_read_not_every_meeting(world):
    import datetime

    from coordination.models import Meeting

    named = make_meetings(
        [f"Hội nghị sơ kết quý {n} năm 2024" for n in range(10)], datetime.date(2024, 6, 15)
    )
    data = meeting_file(world, named)

    def run():
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            with records_read(Meeting) as read:
                report = import_records(
                    kind="followups", data=data, file_name="f.csv", dry_run=False
                )
            linked = dict(
                FollowUp.objects.filter(content__startswith="Kết luận số ").values_list(
                    "content", "meeting_id"
                )
            )
            transaction.set_rollback(True)
        assert not report.problems, [p.message for p in report.problems[:3]]
        assert linked == {f"Kết luận số {n}": meeting.pk for n, meeting in enumerate(named)}
        return len(queries), read["rows"]

    small = run()
    make_meetings([f"Hội nghị khác số {n}" for n in range(1000)], datetime.date(2023, 3, 1))
    large = run()
    assert large == small
    assert large[1] == 10


def test_an_unknown_name_still_gets_the_closest_names_of_the_whole_table(world):
    """A typo is not among the records the file names: the whole register is read for it
    (once), and the closest names are suggested as before."""
    create("people", world, ["Nguyễn Thị Minh Khai", "Lê Văn Tám"])
    data = reference_file(world, [Person(full_name="Nguyễn Thị Minh Khaii")])
    report = import_records(kind="tasks", data=data, file_name="f.csv", dry_run=True)
    [problem] = report.problems
    assert problem.column == "Cán bộ thực hiện"
    assert "Nguyễn Thị Minh Khai" in problem.message


def test_agreements_named_are_read_by_their_number_key_not_every_agreement(world):
    """Tasks naming ten agreements, their numbers typed with other case and spacing: the ten
    are read, among 10 or 1,010 agreements."""
    named = create("agreements", world, [f"{n:02d}/KH-UBND" for n in range(10)])
    header = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì"]
    rows = [header] + [
        [agreement.number.lower().replace("/", " / "), 2024, f"Việc {n}", world.committee.full_name]
        for n, agreement in enumerate(named)
    ]
    data = csv_bytes(rows)

    small = task_preview_reads(data, Agreement, new=10)
    create("agreements", world, [f"{n:04d}/QCPH-KHÁC" for n in range(1000)])
    large = task_preview_reads(data, Agreement, new=10)
    assert large == small
    assert large[1] == 10
