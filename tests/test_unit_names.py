"""Unit names as offices write them (issue 13, point 4): abbreviations, short forms and levels
resolve to the one unit they mean, ambiguous names are errors naming the candidates, and
suggestions are distinct, ranked and favour the uploader's units and places.

The register is the demo's (fixtures/demo/01-units.xlsx: four districts, a province and a
commune, named the way the articles name them), loaded once for the module.
"""

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from coordination import services
from coordination.choices import UnitLevel
from coordination.importing import ImportLookups, import_records
from coordination.models import Task, Unit
from coordination.scoping import allowed_unit_ids
from coordination.unit_names import unit_key
from coordination.widgets import CellError, UnitWidget
from tests.factories import make_agreement, make_member, make_unit, make_user, xlsx_bytes
from tests.shared import rolled_back

pytestmark = pytest.mark.django_db

DEMO_UNITS = Path(__file__).resolve().parent.parent / "fixtures/demo/01-units.xlsx"
HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Đơn vị phối hợp"]

HAM_TAN = "huyện Hàm Tân"
COMMITTEE = "Ủy ban nhân dân huyện Hàm Tân"
FRONT = "Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân"
WOMEN = "Hội Liên hiệp Phụ nữ huyện Hàm Tân"
YOUTH = "Đoàn Thanh niên Cộng sản Hồ Chí Minh huyện Hàm Tân"
STANDING_BOARD = "Thường trực Hội đồng nhân dân huyện Hàm Tân"
TOWN = "Ủy ban nhân dân thị trấn Tân Nghĩa"


def vi(message: str, /, **params) -> str:
    with translation.override("vi"):
        text = gettext(message)
    return text % params if params else text


def vi_prefix(message: str) -> str:
    return vi(message).split("%(")[0]


@pytest.fixture(scope="module")
def register(django_db_setup, django_db_blocker):
    """The demo's units, a town (thị trấn) of Hàm Tân and an agreement to file tasks under."""
    with rolled_back(django_db_blocker):
        report = import_records(
            kind="units", data=DEMO_UNITS.read_bytes(), file_name="01-units.xlsx", dry_run=False
        )
        assert report.written, report.problems
        make_unit(
            full_name=TOWN,
            short_name="UBND thị trấn",
            level=UnitLevel.COMMUNE,
            locality="thị trấn Tân Nghĩa, huyện Hàm Tân, tỉnh Bình Thuận",
        )
        agreement = make_agreement(number="01/CTPH-2024", start_year=2024, end_year=2024)
        yield SimpleNamespace(
            units={unit.full_name: unit for unit in Unit.objects.all()}, agreement=agreement
        )


def resolve(text: str, user=None) -> str:
    """The full name of the unit `text` names for `user`, as an import's cell finds it."""
    allowed = allowed_unit_ids(user) if user is not None else None
    return UnitWidget().find(text, ImportLookups(user), {"_allowed_unit_ids": allowed}).full_name


def refusal(text: str, user=None) -> str:
    with pytest.raises(CellError) as caught:
        resolve(text, user)
    return str(caught.value)


def member_of(register, *full_names):
    user = make_user()
    for name in full_names:
        make_member(user, register.units[name])
    return user


# Abbreviations and short forms --------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        # The names the issue found refused.
        ("UBND H. Hàm Tân", COMMITTEE),
        ("Ủy ban MTTQ huyện Hàm Tân", FRONT),
        ("MTTQ huyện Hàm Tân", FRONT),
        ("UBMTTQ huyện A", "Ủy ban Mặt trận Tổ quốc Việt Nam huyện A"),
        ("Hội Phụ nữ huyện Hàm Tân", WOMEN),
        ("Huyện Đoàn Hàm Tân", YOUTH),
        ("TT HĐND huyện Hàm Tân", STANDING_BOARD),
        ("VP HĐND-UBND huyện A", "Văn phòng HĐND và UBND huyện A"),
        # The same bodies, other ways.
        ("Mặt trận Tổ quốc huyện Hàm Tân", FRONT),
        ("UBMTTQVN H.Hàm Tân", FRONT),
        ("Hội LHPN H. Hàm Tân", WOMEN),
        ("hoi lien hiep phu nu huyen ham tan", WOMEN),
        ("Đoàn TN huyện Hàm Tân", YOUTH),
        ("Đoàn TNCS HCM huyện Hàm Tân", YOUTH),
        ("Tỉnh Đoàn Kon Tum", "Đoàn Thanh niên Cộng sản Hồ Chí Minh tỉnh Kon Tum"),
        ("Thường trực HĐND H. Hàm Tân", STANDING_BOARD),
        ("TT. HĐND huyện Đầm Hà", "Thường trực Hội đồng nhân dân huyện Đầm Hà"),
        ("HĐND T. Kon Tum", "Hội đồng nhân dân tỉnh Kon Tum"),
        ("Hội CCB huyện Đầm Hà", "Hội Cựu chiến binh huyện Đầm Hà"),
        ("Hội ND H. Hàm Tân", "Hội Nông dân huyện Hàm Tân"),
        ("LĐLĐ tỉnh Kon Tum", "Liên đoàn Lao động tỉnh Kon Tum"),
        ("VP HĐND và UBND huyện A", "Văn phòng HĐND và UBND huyện A"),
        ("Văn phòng HĐND & UBND H. A", "Văn phòng HĐND và UBND huyện A"),
        ("BDV Huyện ủy Vĩnh Thuận", "Ban Dân vận Huyện ủy Vĩnh Thuận"),
        ("BDV HU Vĩnh Thuận", "Ban Dân vận Huyện ủy Vĩnh Thuận"),
        ("BTG Huyện ủy Đầm Hà", "Ban Tuyên giáo Huyện ủy Đầm Hà"),
        ("Phòng NN&PTNT huyện A", "Phòng Nông nghiệp và Phát triển nông thôn huyện A"),
        ("Phòng TC-KH H. A", "Phòng Tài chính - Kế hoạch huyện A"),
        ("Phòng Tài chính – Kế hoạch huyện A", "Phòng Tài chính - Kế hoạch huyện A"),
        ("UBND X. Vĩnh Thuận", "Ủy ban nhân dân xã Vĩnh Thuận"),
        ("UBND huyện Hàm Tân, tỉnh Bình Thuận", COMMITTEE),
        # The level left out, when the place alone tells.
        ("Hội CCB Hàm Tân", "Hội Cựu chiến binh huyện Hàm Tân"),
        # No People's Council in Hàm Tân: its Standing Board is what “HĐND” means.
        ("HĐND huyện Hàm Tân", STANDING_BOARD),
        # “TT.” before a place is a town (thị trấn); before HĐND, the Standing Board.
        ("UBND TT. Tân Nghĩa", TOWN),
        ("UBND TT Tân Nghĩa", TOWN),
    ],
)
def test_names_as_offices_write_them_resolve_to_the_unit_they_mean(register, written, meant):
    assert resolve(written) == meant


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("Sở LĐ-TB&XH tỉnh Lâm Đồng", "Sở Lao động - Thương binh và Xã hội tỉnh Lâm Đồng"),
        ("Sở GD&ĐT", "Sở Giáo dục và Đào tạo"),
        ("Sở KH&ĐT", "Sở Kế hoạch và Đầu tư"),
        ("Sở TT&TT", "Sở Thông tin và Truyền thông"),
        ("Sở VH-TT&DL", "Sở Văn hóa, Thể thao và Du lịch"),
        ("Sở TN&MT", "Sở Tài nguyên và Môi trường"),
        ("Sở NN&MT", "Sở Nông nghiệp và Môi trường"),
        ("Phòng KT-HT", "Phòng Kinh tế - Hạ tầng"),
        ("Phòng VH-TT", "Phòng Văn hóa và Thông tin"),
        ("CA H. Hàm Tân", "Công an huyện Hàm Tân"),
        ("BCH QS huyện", "Ban Chỉ huy Quân sự huyện"),
        ("VKSND huyện", "Viện Kiểm sát nhân dân huyện"),
        ("Hội CTĐ tỉnh", "Hội Chữ thập đỏ tỉnh"),
        ("UBKT HU Hàm Tân", "Ủy ban Kiểm tra Huyện ủy Hàm Tân"),
        ("BTG&DV Tỉnh ủy", "Ban Tuyên giáo và Dân vận Tỉnh ủy"),
        ("UBND TP. Phan Thiết", "Ủy ban nhân dân thành phố Phan Thiết"),
        ("UBND TX La Gi", "Ủy ban nhân dân thị xã La Gi"),
        ("UBND Q.1", "Ủy ban nhân dân quận 1"),
        ("UBND P. Phú Thủy", "Ủy ban nhân dân phường Phú Thủy"),
        ("Thành Đoàn Phan Thiết", "Đoàn TNCS HCM thành phố Phan Thiết"),
        ("Đoàn xã Tân Hà", "Đoàn Thanh niên xã Tân Hà"),
        ("Đảng ủy TT Tân Minh", "Đảng ủy thị trấn Tân Minh"),
        ("UB MTTQ VN tỉnh", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh"),
    ],
)
def test_the_usual_short_forms_of_other_bodies_share_the_key_of_the_long_form(short, long):
    assert unit_key(short) == unit_key(long)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("TT Y tế huyện Hàm Tân", "Thị trấn Y tế huyện Hàm Tân"),  # a centre (trung tâm)
        ("TT HĐND huyện", "HĐND huyện"),
        ("UBND huyện Đoàn Hùng", "Huyện Đoàn Hùng"),
        ("Hội Nông dân huyện A", "Hội Phụ nữ huyện A"),
        ("Văn phòng HĐND và UBND huyện A", "Văn phòng UBND huyện A"),
    ],
)
def test_different_bodies_keep_different_keys(one, other):
    assert unit_key(one) != unit_key(other)


# The abbreviation of each part of a full name, as offices write it (case matters: “huyện ”
# is the level, “Huyện ủy” the Party committee).
SHORT_FORMS = [
    ("Thường trực Hội đồng nhân dân", "TT HĐND"),
    ("Hội đồng nhân dân", "HĐND"),
    ("Ủy ban nhân dân", "UBND"),
    ("Ủy ban Mặt trận Tổ quốc Việt Nam", "MTTQ"),
    ("Hội Liên hiệp Phụ nữ", "Hội Phụ nữ"),
    ("Hội Cựu chiến binh", "Hội CCB"),
    ("Hội Nông dân", "Hội ND"),
    ("Liên đoàn Lao động", "LĐLĐ"),
    ("Đoàn Thanh niên Cộng sản Hồ Chí Minh", "Đoàn TN"),
    ("Văn phòng HĐND và UBND", "VP HĐND-UBND"),
    ("Ban Dân vận", "BDV"),
    ("Ban Tuyên giáo", "BTG"),
    ("Tài chính - Kế hoạch", "TC-KH"),
    ("Nông nghiệp và Phát triển nông thôn", "NN&PTNT"),
    ("huyện ", "H. "),
    ("tỉnh ", "T. "),
    ("xã ", "X. "),
    ("thị trấn ", "TT. "),
]


def abbreviated(name: str) -> str:
    for long, short in SHORT_FORMS:
        name = name.replace(long, short)
    return name


def test_every_unit_of_the_register_is_found_by_its_abbreviated_name(register):
    """Not only the examples: each unit, named with every part abbreviated, is itself."""
    found = {}
    for name in register.units:
        if abbreviated(name) != name:
            try:
                found[name] = resolve(abbreviated(name))
            except CellError as error:
                found[name] = str(error)
    assert found and found == {name: name for name in found}


def test_both_sides_meet_whichever_side_is_abbreviated(register):
    """A unit registered under its short forms is found by its name written out in full."""
    unit = make_unit(full_name="Hội CTĐ H. Đầm Hà", locality="huyện Đầm Hà, tỉnh Quảng Ninh")
    assert resolve("Hội Chữ thập đỏ huyện Đầm Hà") == unit.full_name
    assert unit_key("Hội CTĐ H. Đầm Hà") == unit_key("HỘI CHỮ THẬP ĐỎ HUYỆN ĐẦM HÀ")


def test_a_place_that_begins_like_a_body_is_still_a_place(register):
    """“huyện Đoàn Hùng” is a district, not a Youth Union: only a name that starts with
    “Huyện Đoàn” is one."""
    committee = make_unit(
        full_name="Ủy ban nhân dân huyện Đoàn Hùng",
        short_name="UBND huyện",
        locality="huyện Đoàn Hùng, tỉnh Phú Thọ",
    )
    youth = make_unit(
        full_name="Đoàn Thanh niên Cộng sản Hồ Chí Minh huyện Đoàn Hùng",
        short_name="Huyện Đoàn",
        locality="huyện Đoàn Hùng, tỉnh Phú Thọ",
    )
    assert resolve("UBND H. Đoàn Hùng") == committee.full_name
    assert resolve("Huyện Đoàn Đoàn Hùng") == youth.full_name


def test_a_full_name_wins_over_a_derived_form(register):
    """Once Hàm Tân has a People's Council of its own, “HĐND huyện Hàm Tân” is it."""
    council = make_unit(full_name="Hội đồng nhân dân huyện Hàm Tân", short_name="HĐND huyện")
    assert resolve("HĐND huyện Hàm Tân") == council.full_name
    assert resolve("TT HĐND huyện Hàm Tân") == STANDING_BOARD


# Ambiguous names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "candidates"),
    [
        ("UBND huyện", ["huyện A", "huyện Đầm Hà", "huyện Hàm Tân", "huyện Vĩnh Thuận"]),
        ("MTTQ huyện", ["huyện A", "huyện Đầm Hà", "huyện Hàm Tân"]),
        ("UBND Vĩnh Thuận", ["huyện Vĩnh Thuận", "xã Vĩnh Thuận"]),
    ],
)
def test_an_ambiguous_name_is_an_error_naming_every_candidate(register, written, candidates):
    message = refusal(written)
    several = "“%(value)s” matches several records: %(matches)s. Use the full name."
    assert message.startswith(vi(several, value=written, matches="|").split("|")[0])
    for place in candidates:
        assert re.search(rf"{place}\b", message), place


def test_an_ambiguous_name_is_narrowed_to_the_uploaders_own_unit(register):
    """As before: staff of Hàm Tân's Front writing “MTTQ huyện” mean their own Front."""
    staff = member_of(register, FRONT)
    assert resolve("MTTQ huyện", staff) == FRONT
    # Not a guess for anyone else: a Hàm Tân committee clerk is told the candidates.
    clerk = member_of(register, COMMITTEE)
    assert "huyện Đầm Hà" in refusal("MTTQ huyện", clerk)


def test_candidates_of_an_ambiguous_name_come_in_the_uploaders_locality_first(register):
    dam_ha = member_of(register, "Ủy ban nhân dân huyện Đầm Hà")
    ham_tan = member_of(register, COMMITTEE)
    for user, first in ((dam_ha, "huyện Đầm Hà"), (ham_tan, "huyện Hàm Tân")):
        listed = refusal("MTTQ huyện", user).split(": ", 1)[1]
        assert listed.startswith(f"Ủy ban Mặt trận Tổ quốc Việt Nam {first}")


# Suggestions --------------------------------------------------------------------------------


def suggested(text: str, user=None) -> list[str]:
    message = refusal(text, user)
    assert message.startswith(vi("Unknown unit “%(value)s”.", value=text))
    prefix = vi_prefix("Did you mean: %(names)s?")
    if prefix not in message:
        return []
    return message.split(prefix, 1)[1].rstrip("?").split("; ")


def test_suggestions_name_each_unit_once_closest_first(register):
    """The committee answers to its full name, short name with place and derived forms, all
    close to the typo: it is suggested once, and first."""
    names = suggested("Ủy ban nhân dân huyện Hàm Tâm")
    assert names[0] == COMMITTEE
    assert len(names) == len(set(names))


def test_a_typo_is_not_outranked_by_the_uploaders_own_locality(register):
    dam_ha = member_of(register, "Ủy ban nhân dân huyện Đầm Hà")
    assert suggested("Hội Nông dân huyện Hàm Tâm", dam_ha)[0] == "Hội Nông dân huyện Hàm Tân"


def test_suggestions_favour_the_uploaders_locality_among_close_names(register):
    typo = "Hội Cựu chiến binh huyệ"
    for member, first in (
        ("Ủy ban nhân dân huyện Đầm Hà", "Hội Cựu chiến binh huyện Đầm Hà"),
        (COMMITTEE, "Hội Cựu chiến binh huyện Hàm Tân"),
        ("Ủy ban nhân dân huyện A", "Hội Cựu chiến binh huyện A"),
    ):
        names = suggested(typo, member_of(register, member))
        assert names[0] == first
        assert sorted(names) == sorted(
            f"Hội Cựu chiến binh huyện {place}" for place in ("A", "Đầm Hà", "Hàm Tân")
        )


def test_suggestions_favour_the_place_the_cell_names(register):
    """An unknown body of Hàm Tân is offered Hàm Tân's units, even to Đầm Hà's staff."""
    dam_ha = member_of(register, "Ủy ban nhân dân huyện Đầm Hà")
    names = suggested("Hội Khuyến học huyện Hàm Tân", dam_ha)
    assert names and all(name.endswith("huyện Hàm Tân") for name in names)


# Whole imports: the command line, and the cost --------------------------------------------


def task_rows(register, count: int, lead: str, coordinating: str) -> list[list]:
    return [HEADER] + [
        [register.agreement.number, 2024, f"Nhiệm vụ {n}", lead, coordinating] for n in range(count)
    ]


def test_the_command_line_takes_abbreviations_and_aliases(register, tmp_path):
    services.unit_alias_create(unit=register.units[FRONT], name="Mặt trận H. Hàm Tân (cũ)")
    path = tmp_path / "danh-sach.xlsx"
    rows = task_rows(register, 2, "UBND H. Hàm Tân", "Mặt trận H. Hàm Tân (cũ); Huyện Đoàn Hàm Tân")
    path.write_bytes(xlsx_bytes(rows))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_records", "tasks", str(path), stdout=out, stderr=err)
    assert out.getvalue().splitlines()[-1] == "new=2 updated=0 unchanged=0 errors=0"
    task = Task.objects.get(content="Nhiệm vụ 0")
    assert task.lead_unit.full_name == COMMITTEE
    assert {unit.full_name for unit in task.coordinating_units.all()} == {FRONT, YOUTH}


def test_the_command_line_names_the_candidates_of_an_ambiguous_name(register, tmp_path):
    path = tmp_path / "mo-ho.xlsx"
    path.write_bytes(xlsx_bytes(task_rows(register, 1, "UBND huyện", "")))
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_records", "tasks", str(path), stdout=io.StringIO(), stderr=err)
    assert "Ủy ban nhân dân huyện Đầm Hà" in err.getvalue()
    assert "Ủy ban nhân dân huyện Hàm Tân" in err.getvalue()
    assert not Task.objects.filter(content="Nhiệm vụ 0").exists()


def test_queries_of_a_preview_do_not_grow_with_rows_or_names(register):
    """Abbreviations, an alias, an ambiguous and an unknown name on every row: the units and
    the aliases are read once (two queries), the uploader's units once."""
    services.unit_alias_create(unit=register.units[WOMEN], name="Chi hội Phụ nữ H. Hàm Tân")
    staff = member_of(register, COMMITTEE)
    import_records(kind="tasks", data=xlsx_bytes(task_rows(register, 1, "x", "")), file_name="x")
    counts = []
    for count in (5, 50):
        user = type(staff).objects.get(pk=staff.pk)  # nothing cached on it
        rows = task_rows(
            register,
            count,
            "UBND H. Hàm Tân",
            "MTTQ huyện Hàm Tân; Chi hội Phụ nữ H. Hàm Tân; MTTQ huyện; Hội Khuyến học Hàm Tân",
        )
        with CaptureQueriesContext(connection) as queries:
            report = import_records(
                kind="tasks", data=xlsx_bytes(rows), file_name="x.xlsx", user=user
            )
        assert len(report.error_rows) == count
        assert [name.text for name in report.unresolved_units] == [
            "MTTQ huyện",
            "Hội Khuyến học Hàm Tân",
        ]
        assert [name.count for name in report.unresolved_units] == [count, count]
        counts.append(len(queries))
    assert counts[0] == counts[1], [query["sql"] for query in queries.captured_queries]
