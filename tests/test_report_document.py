"""The báo cáo as a .docx: each element Nghị định 30/2020/NĐ-CP (state bodies) and Hướng dẫn
36-HD/VPTW (Party bodies) require, read back with python-docx, for a single state body, a Party
body, the Front and a joint (liên tịch) report; and the letterhead's rules on their own."""

import datetime
import io

import docx
import pytest
from django.test import RequestFactory
from docx.oxml.ns import qn

from coordination.choices import UnitKind
from coordination.reports import letterhead, yearly_report
from coordination.reports.document import Edits, Signature, build_document, default_date
from coordination.reports.docx import render_docx
from tests.factories import days, make_followup, make_person, make_superuser, make_task, make_unit

pytestmark = pytest.mark.django_db


def live_report(user, **params):
    request = RequestFactory().get("/records/report/", params)
    request.user = user
    report = yearly_report(request)
    assert report.valid
    return report


def open_docx(data: bytes):
    return docx.Document(io.BytesIO(data))


def texts(cell) -> list[str]:
    return [paragraph.text for paragraph in cell.paragraphs if paragraph.text.strip()]


def paragraph_of(container, text):
    return next(p for p in container.paragraphs if p.text == text)


def run_format(paragraph) -> tuple:
    """(size in pt, bold, italic) of the paragraph's text."""
    run = next(run for run in paragraph.runs if run.text.strip())
    return run.font.size.pt, bool(run.font.bold), bool(run.font.italic)


def has_rule_after(container, text) -> bool:
    """Whether the paragraph after `text` is a short rule (an empty paragraph, top border)."""
    paragraphs = list(container.paragraphs)
    index = next(i for i, p in enumerate(paragraphs) if p.text == text)
    following = paragraphs[index + 1]
    borders = following._p.pPr.find(qn("w:pBdr"))
    return following.text == "" and borders is not None and borders.find(qn("w:top")) is not None


def issued_docx(report, **edits) -> docx.Document:
    edits.setdefault("number", "12/BC-UBND")
    edits.setdefault("date", datetime.date(2024, 3, 5))
    return open_docx(render_docx(build_document(report, Edits(**edits))))


def check_page(document):
    """A4 portrait, the decree's margins, Times New Roman 14 pt."""
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert 20 <= round(section.top_margin.mm) <= 25
    assert 20 <= round(section.bottom_margin.mm) <= 25
    assert 30 <= round(section.left_margin.mm) <= 35
    assert 15 <= round(section.right_margin.mm) <= 20
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == fonts.get(qn("w:hAnsi")) == "Times New Roman"
    assert 13 <= normal.font.size.pt <= 14
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            assert run.font.name in (None, "Times New Roman")


class TestStateBody:
    @pytest.fixture
    def document(self, world):
        make_task(lead_unit=world.committee, year=2024, due_date=days(-40), content="Đối thoại")
        report = live_report(make_superuser(), year=2024, unit=world.committee.pk)
        return issued_docx(report, recipients="Thường trực Huyện ủy\nThường trực HĐND huyện")

    def test_page_and_font(self, document):
        check_page(document)

    def test_heading_left_issuing_body_with_its_rule_and_number(self, document):
        left = document.tables[0].cell(0, 0)
        assert texts(left) == ["ỦY BAN NHÂN DÂN", "HUYỆN HÀM TÂN", "Số: 12/BC-UBND"]
        size, bold, _italic = run_format(paragraph_of(left, "ỦY BAN NHÂN DÂN"))
        assert bold and 12 <= size <= 13
        assert has_rule_after(left, "HUYỆN HÀM TÂN")
        assert run_format(paragraph_of(left, "Số: 12/BC-UBND"))[:2] == (13, False)

    def test_heading_right_national_title_motto_rule_and_date(self, document):
        right = document.tables[0].cell(0, 1)
        assert texts(right) == [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Hàm Tân, ngày 05 tháng 3 năm 2024",
        ]
        size, bold, _ = run_format(paragraph_of(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"))
        assert bold and 12 <= size <= 13
        size, bold, _ = run_format(paragraph_of(right, "Độc lập - Tự do - Hạnh phúc"))
        assert bold and 13 <= size <= 14
        assert has_rule_after(right, "Độc lập - Tự do - Hạnh phúc")
        size, bold, italic = run_format(paragraph_of(right, "Hàm Tân, ngày 05 tháng 3 năm 2024"))
        assert italic and not bold and 13 <= size <= 14

    def test_kind_subject_and_sections(self, document):
        kind = paragraph_of(document, "BÁO CÁO")
        assert run_format(kind)[1] and kind.alignment == 1  # bold, centred
        subject = paragraph_of(document, "Kết quả thực hiện công tác phối hợp năm 2024")
        assert run_format(subject)[1]
        assert has_rule_after(document, subject.text)
        headings = [
            p.text for p in document.paragraphs if p.text[:3] in ("I. ", "II.", "III", "IV.")
        ]
        assert headings == [
            "I. KẾT QUẢ THỰC HIỆN",
            "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN",
            "III. PHƯƠNG HƯỚNG, NHIỆM VỤ NĂM TỚI",
            "IV. KIẾN NGHỊ, ĐỀ XUẤT",
        ]
        body = [p.text for p in document.paragraphs]
        assert any(
            text.startswith("1. Nhiệm vụ phối hợp: 0/2 nhiệm vụ hoàn thành") for text in body
        )
        assert any("Đối thoại (hạn" in text for text in body)  # the overdue task is named

    def test_recipients_and_signature(self, document):
        signatures = document.tables[1]
        recipients, signer = signatures.cell(0, 0), signatures.cell(0, 1)
        assert texts(recipients) == [
            "Nơi nhận:",
            "- Thường trực Huyện ủy;",
            "- Thường trực HĐND huyện;",
            "- Lưu: VT.",
        ]
        assert run_format(paragraph_of(recipients, "Nơi nhận:")) == (12, True, True)
        assert run_format(paragraph_of(recipients, "- Lưu: VT."))[0] == 11
        assert texts(signer) == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Hà Lê Thanh Chung"]
        assert all(run_format(p)[1] for p in signer.paragraphs if p.text)

    def test_annex_tables(self, document):
        body = [p.text for p in document.paragraphs]
        assert "PHỤ LỤC" in body
        assert "(Kèm theo Báo cáo số 12/BC-UBND ngày 05/03/2024)" in body
        # The day the figures were counted, whatever date the report bears.
        assert f"(Số liệu tính đến ngày {days(0):%d/%m/%Y})" in body
        assert "Biểu 1. Tổng hợp kết quả thực hiện nhiệm vụ" in body
        summary = document.tables[2]
        assert summary.cell(0, 1).text == "Loại hồ sơ"  # over both heading rows
        assert summary.cell(0, 3).text == "Theo trạng thái (cộng lại bằng tổng số)"
        assert summary.cell(1, 3).text == "Chưa thực hiện"
        assert [summary.cell(2, c).text for c in (1, 2)] == ["Nhiệm vụ", "2"]


def test_a_party_body_follows_guidance_36(world):
    """Ban Dân vận Huyện ủy: “ĐẢNG CỘNG SẢN VIỆT NAM” on the right, the committee over the
    department with an asterisk, “Số 15-BC/BDVHU”, “-----” under the subject."""
    board = make_unit(
        full_name="Ban Dân vận Huyện ủy Vĩnh Thuận",
        short_name="BDV Huyện ủy",
        kind=UnitKind.PARTY_BODY,
        locality="huyện Vĩnh Thuận, tỉnh Kiên Giang",
    )
    make_person(full_name="Huỳnh Văn Hầu", position="Trưởng Ban Dân vận Huyện ủy", unit=board)
    make_followup(responsible_unit=board, year=2017, due_date=datetime.date(2017, 6, 30))
    report = live_report(make_superuser(), year=2017, unit=board.pk)
    document = issued_docx(report, number="15-BC/BDVHU", date=datetime.date(2017, 8, 18))
    check_page(document)
    left, right = document.tables[0].cell(0, 0), document.tables[0].cell(0, 1)
    assert texts(left) == ["HUYỆN ỦY VĨNH THUẬN", "BAN DÂN VẬN", "*", "Số 15-BC/BDVHU"]
    assert not run_format(paragraph_of(left, "HUYỆN ỦY VĨNH THUẬN"))[1]
    assert run_format(paragraph_of(left, "BAN DÂN VẬN"))[1]
    assert texts(right) == ["ĐẢNG CỘNG SẢN VIỆT NAM", "Vĩnh Thuận, ngày 18 tháng 8 năm 2017"]
    assert run_format(paragraph_of(right, "ĐẢNG CỘNG SẢN VIỆT NAM"))[:2] == (15, True)
    body = [p.text for p in document.paragraphs]
    assert body[body.index("BÁO CÁO") + 2] == "-----"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" not in body
    signer = document.tables[1].cell(0, 1)
    assert texts(signer) == ["TRƯỞNG BAN", "Huỳnh Văn Hầu"]


def test_a_joint_report_has_each_partys_heading_and_signature(world):
    """An agreement of the committee (lead) and the Front: both headings on the left, both
    signatures, the lead's on the right, and the recipients under them."""
    report = live_report(make_superuser(), year=2024, agreement=world.agreement.pk)
    document = issued_docx(report, number="03/BC-UBND-MTTQ")
    left = document.tables[0].cell(0, 0)
    assert texts(left) == [
        "ỦY BAN NHÂN DÂN",
        "HUYỆN HÀM TÂN",
        "ỦY BAN MTTQ VIỆT NAM",
        "HUYỆN HÀM TÂN",
        "Số: 03/BC-UBND-MTTQ",
    ]
    assert has_rule_after(left, "HUYỆN HÀM TÂN")
    signatures = document.tables[1]
    assert texts(signatures.cell(0, 1)) == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Hà Lê Thanh Chung"]
    assert texts(signatures.cell(0, 0)) == ["TM. BAN THƯỜNG TRỰC", "CHỦ TỊCH", "Võ Xuân Định"]
    body = [p.text for p in document.paragraphs]
    assert body[body.index("Nơi nhận:") + 1 :][:2] == [
        "- Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân;",
        "- Lưu: VT.",
    ]
    subject = "Kết quả thực hiện Quy chế phối hợp công tác nhiệm kỳ 2021–2026 năm 2024"
    assert subject in body


def test_edits_replace_the_defaults(world):
    report = live_report(make_superuser(), year=2024, unit=world.committee.pk)
    document = build_document(
        report,
        Edits(
            subject="Sơ kết 6 tháng",
            texts={"results": "Kết quả A\nKết quả B", "recommendations": ""},
            signatures=[Signature("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Văn A")],
        ),
    )
    assert document.subject == "Sơ kết 6 tháng"
    assert document.section("results").paragraphs == ["Kết quả A", "Kết quả B"]
    assert document.parties[0].signature.name == "Nguyễn Văn A"
    assert document.number_line == "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-UBND"


def test_user_text_cannot_break_the_document(world):
    """Text with XML and Jinja in it is written as text."""
    report = live_report(make_superuser(), year=2024, unit=world.committee.pk)
    text = "<w:p>&amp; {{ 7*7 }} {% for x in y %}"
    document = issued_docx(report, subject=text, texts={"results": text})
    body = [p.text for p in document.paragraphs]
    assert body.count(text) == 2


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2024, 3, 5), "Hàm Tân, ngày 05 tháng 3 năm 2024"),
        (datetime.date(2024, 2, 15), "Hàm Tân, ngày 15 tháng 02 năm 2024"),
        (datetime.date(2024, 1, 9), "Hàm Tân, ngày 09 tháng 01 năm 2024"),
        (datetime.date(2024, 12, 15), "Hàm Tân, ngày 15 tháng 12 năm 2024"),
        (datetime.date(2024, 10, 10), "Hàm Tân, ngày 10 tháng 10 năm 2024"),
    ],
)
def test_dates_are_padded_as_the_decree_says(day, expected):
    assert letterhead.date_line("Hàm Tân", day) == expected


def test_a_past_years_report_is_dated_at_the_years_end():
    today = datetime.date(2026, 5, 4)
    assert default_date(2017, today) == datetime.date(2017, 12, 31)
    assert default_date(2026, today) == today


COMMITTEE = ["ỦY BAN NHÂN DÂN", "HUYỆN HÀM TÂN"]
NAMES = [
    ("Ủy ban nhân dân huyện Hàm Tân", "peoples_committee", "UBND", COMMITTEE),
    ("Hội đồng nhân dân xã Tân Phúc", "peoples_council", "HĐND",
     ["HỘI ĐỒNG NHÂN DÂN", "XÃ TÂN PHÚC"]),
    ("Ban Dân vận Huyện ủy Vĩnh Thuận", "party_body", "BDVHU", ["BAN DÂN VẬN"]),
    ("Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Kon Tum", "fatherland_front", "UBMTTQVN",
     ["ỦY BAN MTTQ VIỆT NAM", "TỈNH KON TUM"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kind", "abbreviation", "lines"), NAMES)
def test_names_and_abbreviations(name, kind, abbreviation, lines):
    assert letterhead.abbreviation(name) == abbreviation
    assert letterhead.name_lines(letterhead.style_of(kind), name)[1] == lines


def test_a_kept_document_reads_the_same_after_the_code_changes(world):
    """Keys a later (or earlier) version wrote are left out when an issued report is read."""
    from coordination.reports.document import ReportDocument

    report = live_report(make_superuser(), year=2024, agreement=world.agreement.pk)
    document = build_document(report, Edits(number="03/BC"))
    data = document.to_dict()
    data["notes"] = ["một ghi chú cũ"]
    data["parties"][0]["seal"] = "dấu"
    assert ReportDocument.from_dict(data) == document


def test_an_agreement_title_with_its_year_is_not_given_the_year_twice(world):
    world.agreement.title = "Chương trình phối hợp năm 2024"
    world.agreement.save()
    report = live_report(make_superuser(), year=2024, agreement=world.agreement.pk)
    assert build_document(report).subject == "Kết quả thực hiện Chương trình phối hợp năm 2024"
