"""Search that ignores case and Vietnamese diacritics, in the ORM and in the admin."""

import importlib
import unicodedata

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coordination import kinds, services
from coordination.choices import FollowUpStatus
from coordination.db_functions import Fold
from coordination.filters import search_records
from coordination.importing import import_records
from coordination.models import FollowUp, Person, Task, Unit
from coordination.text import FOLD_SOURCE, FOLD_TARGET, clean_text, fold
from tests.factories import make_followup, make_person, make_task, make_unit, xlsx_bytes

# Every Vietnamese letter with a diacritic, lower and upper case, each tone.
VIETNAMESE_LETTERS = (
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
VIETNAMESE_BASES = ("a" * 17 + "d" + "e" * 11 + "i" * 5 + "o" * 17 + "u" * 11 + "y" * 5) * 2


# ---------------------------------------------------------------------------
# coordination.text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "single_line", "multi_line"),
    [
        ("", "", ""),
        ("  Hàm   Tân  ", "Hàm Tân", "Hàm Tân"),
        ("Hàm\nTân", "Hàm Tân", "Hàm\nTân"),
        ("Hàm\r\nTân\rBình Thuận", "Hàm Tân Bình Thuận", "Hàm\nTân\nBình Thuận"),
        ("Hàm\tTân", "Hàm Tân", "Hàm Tân"),
        ("Hàm\u00a0Tân", "Hàm Tân", "Hàm Tân"),
        ("Hàm\u200b Tân\u200c\u200d\u2060", "Hàm Tân", "Hàm Tân"),
        ("\ufeffHàm Tân", "Hàm Tân", "Hàm Tân"),
        ("Dân\u00advận", "Dânvận", "Dânvận"),
        ("Hàm\x00 Tân\x07", "Hàm Tân", "Hàm Tân"),
        ("Nguye\u0302\u0303n", "Nguyễn", "Nguyễn"),
        ("  một  \n  hai  ", "một hai", "một\nhai"),
        ("một\n\n\n\n\nhai", "một hai", "một\n\nhai"),
        ("\n\n  một\n\n", "một", "một"),
        # Word's manual line break and page break, Unicode's line separators: line breaks.
        ("Đã\x0btổ chức", "Đã tổ chức", "Đã\ntổ chức"),
        ("một\x0chai\u2028ba\u2029bốn\x85năm", "một hai ba bốn năm", "một\nhai\nba\nbốn\nnăm"),
        ("a\ufffeb\uffff", "ab", "ab"),
    ],
)
def test_clean_text(raw, single_line, multi_line):
    """clean_text trims, collapses, drops invisible characters and composes to NFC; the
    other kinds of line break become line breaks, never run the words together."""
    assert clean_text(raw) == single_line
    assert clean_text(raw, multiline=True) == multi_line


def test_clean_text_keeps_none():
    """An empty value stays as it is."""
    assert clean_text(None) is None


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Hàm Tân", "ham tan"),
        ("ĐẦM HÀ", "dam ha"),
        ("đầm hà", "dam ha"),
        ("Nguyễn  Văn\tHòa", "nguyen van hoa"),
        ("Nguye\u0302\u0303n Va\u0306n Ho\u0300a", "nguyen van hoa"),
        ("Ủy ban MTTQ Việt Nam", "uy ban mttq viet nam"),
        ("Quy chế 01/QCPH-UBND", "quy che 01/qcph-ubnd"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold(raw, folded):
    """fold lower-cases, strips diacritics (Đ → d) and collapses spaces."""
    assert fold(raw) == folded


def test_fold_handles_every_vietnamese_letter():
    """Each accented Vietnamese letter, in either case, folds to its base letter."""
    assert fold(VIETNAMESE_LETTERS) == VIETNAMESE_BASES


def test_sql_fold_table_agrees_with_python_fold():
    """The TRANSLATE table used by PostgreSQL folds every letter as fold() does."""
    table = str.maketrans(FOLD_SOURCE, FOLD_TARGET)
    assert VIETNAMESE_LETTERS.translate(table).lower() == fold(VIETNAMESE_LETTERS)


# ---------------------------------------------------------------------------
# The fold lookup, on the database
# ---------------------------------------------------------------------------


@pytest.fixture
def units(db):
    return {
        "ham_tan": make_unit(
            full_name="Ủy ban nhân dân huyện Hàm Tân",
            short_name="UBND huyện Hàm Tân",
            locality="huyện Hàm Tân, tỉnh Bình Thuận",
        ),
        "dam_ha": make_unit(
            full_name="Ủy ban nhân dân huyện Đầm Hà",
            short_name="UBND huyện Đầm Hà",
            locality="huyện Đầm Hà, tỉnh Quảng Ninh",
        ),
        "front": make_unit(
            full_name="Ủy ban Mặt trận Tổ quốc Việt Nam huyện Vĩnh Thuận",
            short_name="UBMTTQVN huyện",
            locality="huyện Vĩnh Thuận, tỉnh Kiên Giang",
        ),
    }


@pytest.fixture
def people(units):
    return {
        "hoa": make_person(
            full_name="Nguyễn Văn Hòa", position="Chủ tịch UBND tỉnh", unit=units["front"]
        ),
        "hai": make_person(
            full_name="Nguyễn Thế Hải", position="Chủ tịch HĐND tỉnh", unit=units["front"]
        ),
        "nga": make_person(full_name="Trần Thị Nga", position="", unit=units["front"]),
    }


def found(records: dict, queryset) -> set[str]:
    pks = set(queryset.values_list("pk", flat=True))
    return {key for key, record in records.items() if record.pk in pks}


@pytest.mark.django_db
class TestFoldLookup:
    def test_folded_query_finds_the_accented_name(self, units):
        """ "ham tan" finds "Ủy ban nhân dân huyện Hàm Tân" and nothing else."""
        queryset = Unit.objects.filter(full_name__fold__contains="ham tan")
        assert found(units, queryset) == {"ham_tan"}

    def test_person_is_found_without_diacritics(self, people):
        """ "nguyen van hoa" finds Nguyễn Văn Hòa, not the other Nguyễn."""
        queryset = Person.objects.filter(full_name__fold__contains="nguyen van hoa")
        assert found(people, queryset) == {"hoa"}

    def test_unit_is_found_by_its_short_name(self, units):
        """The short name is searchable on its own."""
        queryset = Unit.objects.filter(short_name__fold__contains="ubmttqvn")
        assert found(units, queryset) == {"front"}

    @pytest.mark.parametrize(
        "typed",
        ["đầm hà", "DAM HA", "Đầm Hà", "ĐẦM HÀ"],
        ids=["lower-accented", "upper-plain", "title-accented", "upper-accented"],
    )
    def test_query_with_accents_or_capitals_finds_the_name(self, units, typed):
        """The lookup folds the typed value too, so any spelling of "Đầm Hà" finds it."""
        queryset = Unit.objects.filter(full_name__fold__contains=typed)
        assert found(units, queryset) == {"dam_ha"}

    def test_query_typed_in_nfd_finds_nfc_data(self, people):
        """A decomposed "Nguyễn Văn Hòa" finds the stored (composed) name."""
        typed = unicodedata.normalize("NFD", "Nguyễn Văn Hòa")
        queryset = Person.objects.filter(full_name__fold__contains=typed)
        assert found(people, queryset) == {"hoa"}

    def test_database_fold_matches_python_fold_for_every_vietnamese_letter(self):
        """The SQL side of the lookup folds each letter exactly as coordination.text.fold."""
        unit = make_unit(full_name=f"Chữ {VIETNAMESE_LETTERS} CUỐI")
        folded = Unit.objects.filter(pk=unit.pk).values_list(Fold("full_name"), flat=True).get()
        assert folded == fold(unit.full_name)


# ---------------------------------------------------------------------------
# The admin search box and autocomplete
# ---------------------------------------------------------------------------


def changelist_rows(client, model_name: str, query: str) -> set[int]:
    response = client.get(reverse(f"admin:coordination_{model_name}_changelist"), {"q": query})
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.mark.django_db
class TestAdminSearch:
    @pytest.mark.parametrize(
        "typed", ["ham tan", "HÀM TÂN", "hàm  tân"], ids=["plain", "upper-accented", "spaced"]
    )
    def test_unit_search_ignores_case_and_diacritics(self, superuser_client, units, typed):
        """Searching units for "ham tan" shows the Hàm Tân committee only."""
        assert changelist_rows(superuser_client, "unit", typed) == {units["ham_tan"].pk}

    @pytest.mark.parametrize("typed", ["đầm hà", "DAM HA"], ids=["lower-accented", "upper-plain"])
    def test_unit_search_finds_dam_ha_however_typed(self, superuser_client, units, typed):
        """ "đầm hà" and "DAM HA" both find Đầm Hà."""
        assert changelist_rows(superuser_client, "unit", typed) == {units["dam_ha"].pk}

    def test_unit_search_finds_a_unit_by_its_short_name(self, superuser_client, units):
        """The short name "UBMTTQVN" finds the Front's committee."""
        assert changelist_rows(superuser_client, "unit", "ubmttqvn") == {units["front"].pk}

    def test_person_search_ignores_diacritics(self, superuser_client, people):
        """ "nguyen van hoa" shows Nguyễn Văn Hòa and not the other people."""
        assert changelist_rows(superuser_client, "person", "nguyen van hoa") == {people["hoa"].pk}

    def test_person_search_shows_the_name_in_the_page(self, superuser_client, people):
        """The row found is rendered; the others are not."""
        response = superuser_client.get(
            reverse("admin:coordination_person_changelist"), {"q": "nguyen van hoa"}
        )
        assert "Nguyễn Văn Hòa" in response.text
        assert "Nguyễn Thế Hải" not in response.text

    def test_query_typed_in_nfd_finds_nfc_data(self, superuser_client, people):
        """A decomposed query in the admin search box finds the composed name."""
        typed = unicodedata.normalize("NFD", "Nguyễn Văn Hòa")
        assert changelist_rows(superuser_client, "person", typed) == {people["hoa"].pk}

    def test_autocomplete_finds_a_unit_without_diacritics(self, superuser_client, units):
        """The lead-unit autocomplete of tasks answers "ham tan" with the Hàm Tân unit."""
        response = superuser_client.get(
            "/admin/autocomplete/",
            {
                "app_label": "coordination",
                "model_name": "task",
                "field_name": "lead_unit",
                "term": "ham tan",
            },
        )
        assert response.status_code == 200
        results = response.json()["results"]
        assert [result["id"] for result in results] == [str(units["ham_tan"].pk)]
        assert results[0]["text"] == "Ủy ban nhân dân huyện Hàm Tân"


# ---------------------------------------------------------------------------------------------
# search_text: the stored, folded copy of a task's or item's own text, on every write path
# ---------------------------------------------------------------------------------------------


def stored_search_text(record) -> str:
    return type(record).objects.values_list("search_text", flat=True).get(pk=record.pk)


@pytest.mark.django_db
class TestSearchText:
    def test_save_folds_every_searched_field(self):
        item = make_followup(
            content="Sửa chữa ĐƯỜNG liên xã",
            resolution="Đã  khắc phục",
            source_reference="Kỳ họp 7",
        )
        assert stored_search_text(item) == "sua chua duong lien xa da khac phuc ky hop 7"

    def test_save_with_update_fields_follows_the_text(self):
        task = make_task(content="Nội dung cũ")
        task.content = "Nội dung mới"
        task.save(update_fields=["content"])
        assert stored_search_text(task) == "noi dung moi"

    def test_bulk_update_and_bulk_create_follow_the_text(self):
        task = make_task(content="Cũ")
        task.result = "Hoàn thành tốt"
        Task.objects.bulk_update([task], ["result"])
        assert stored_search_text(task) == "cu hoan thanh tot"
        (created,) = Task.objects.bulk_create(
            [
                Task(
                    agreement=task.agreement,
                    year=task.year,
                    lead_unit=task.lead_unit,
                    content="Tạo hàng loạt",
                )
            ]
        )
        assert stored_search_text(created) == "tao hang loat"

    def test_update_of_a_searched_field_refreshes_it(self):
        task = make_task(content="Trước")
        Task.objects.filter(pk=task.pk).update(content="Sau khi sửa", progress=5)
        assert stored_search_text(task) == "sau khi sua"

    def test_update_of_other_fields_leaves_it(self, django_assert_num_queries):
        task = make_task(content="Giữ nguyên")
        with django_assert_num_queries(1):
            Task.objects.filter(pk=task.pk).update(progress=50)
        assert stored_search_text(task) == "giu nguyen"

    def test_carried_over_items_are_found(self):
        item = make_followup(content="Kiến nghị về nước sạch", status=FollowUpStatus.OPEN)
        services.followup_carry_over(followups=FollowUp.objects.filter(pk=item.pk))
        successor = FollowUp.objects.get(carried_over_from=item)
        assert stored_search_text(successor) == "kien nghi ve nuoc sach"

    def test_import_writes_and_rewrites_it(self):
        task = make_task(content="Tuyên truyền")
        rows = [
            ["Mã", "Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Kết quả"],
            [
                task.pk,
                task.agreement.number,
                task.year,
                task.content,
                task.lead_unit.full_name,
                "Đạt yêu cầu",
            ],
            [
                "",
                task.agreement.number,
                task.year,
                "Nhiệm vụ nhập mới",
                task.lead_unit.full_name,
                "",
            ],
        ]
        report = import_records(
            kind="tasks", data=xlsx_bytes(rows), file_name="a.xlsx", dry_run=False
        )
        assert report.written, report.problems
        assert stored_search_text(task) == "tuyen truyen dat yeu cau"
        assert stored_search_text(Task.objects.get(content="Nhiệm vụ nhập mới")) == (
            "nhiem vu nhap moi"
        )

    def test_the_migration_fills_existing_rows(self):
        """Migration 0008's fill gives rows written before the column its value."""
        task = make_task(content="Có từ trước", result="Đã xong")
        Task.objects.filter(pk=task.pk).update(progress=1)  # leaves search_text
        Task._base_manager.filter(pk=task.pk).update(search_text="")
        migration = importlib.import_module("coordination.migrations.0008_search_text")
        migration.fill_search_text(django_apps, None)
        assert stored_search_text(task) == "co tu truoc da xong"


# ---------------------------------------------------------------------------------------------
# The trigram indexes of migration 0008 (PostgreSQL)
# ---------------------------------------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only"
)


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "index"),
    [("tasks", "coordination_task_search_trgm"), ("followups", "coordination_fu_search_trgm")],
)
def test_text_search_plan_uses_the_trigram_index(kind, index):
    """With sequential and plain index scans priced out (the test table is tiny and the
    list's order has its own index), the search's plan reads the trigram index."""
    filterset_class = kinds.get(kind).filterset
    model = filterset_class._meta.model
    queryset = search_records(model.objects.all(), filterset_class.search_fields, "Hàm Tân")
    sql, params = queryset.order_by().query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # Only a bitmap scan remains possible, and only the trigram index has a condition.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "field", "table", "indexes"),
    [
        ("followup", "responsible_unit", "coordination_unit", {"coordination_unit_search_trgm"}),
        ("task", "assignee", "coordination_person", {"coordination_person_search_trgm"}),
    ],
)
def test_autocomplete_plan_uses_the_folded_name_trigram_indexes(
    superuser_client, model, field, table, indexes
):
    """The admin autocomplete's own query (captured from a real request) can be served by the
    trigram index of migration 0022 on the stored folded names (`search_text`): with
    sequential and plain index scans priced out, its plan reads it."""
    make_person(full_name="Nguyễn Văn Hàm", unit=make_unit(full_name="UBND huyện Hàm Tân"))
    params = {"app_label": "coordination", "model_name": model, "field_name": field}
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(reverse("admin:autocomplete"), {**params, "term": "Hàm"})
    assert response.status_code == 200
    assert len(response.json()["results"]) >= 1
    searches = [
        query["sql"]
        for query in queries.captured_queries
        if f'FROM "{table}"' in query["sql"]
        and "LIKE" in query["sql"]
        and "COUNT" not in query["sql"]
    ]
    assert searches, [query["sql"] for query in queries.captured_queries]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {searches[0]}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert all(name in plan for name in indexes), plan
