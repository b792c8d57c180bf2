"""Issuing the báo cáo and keeping it as issued: its page, .docx and .xlsx never change after
edits, imports or unit mergers; corrections; what changed since; who may issue and read;
`manage.py report`."""

import datetime
import io
import re
from types import SimpleNamespace

import docx
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from coordination import services
from coordination.choices import TaskStatus
from coordination.importing import import_records
from coordination.models import IssuedReport, Task
from coordination.reports.docx import render_docx
from coordination.reports.issuing import issued_document
from tests.factories import (
    days,
    make_followup,
    make_member,
    make_superuser,
    make_task,
    make_unit,
    make_user,
    xlsx_values,
)

pytestmark = pytest.mark.django_db

AUDITOR_GROUP, STAFF_GROUP = "Kiểm tra – giám sát", "Cán bộ đơn vị"


@pytest.fixture
def scene(world):
    """The world's committee with an overdue task and a done one in 2024; an admin, an
    auditor, the committee's staff and another unit's staff."""
    make_task(
        agreement=world.agreement,
        year=2024,
        lead_unit=world.committee,
        due_date=days(-40),
        content="Tổ chức đối thoại với Nhân dân",
    )
    make_task(
        agreement=world.agreement,
        year=2024,
        lead_unit=world.committee,
        status=TaskStatus.DONE,
        completed_on=days(-3),
        due_date=days(-1),
    )
    make_followup(year=2024, responsible_unit=world.committee, due_date=days(-5))
    auditor = make_user(username="kiemtra")
    auditor.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    staff = make_user(username="canbo")
    staff.groups.add(Group.objects.get(name=STAFF_GROUP))
    make_member(staff, world.committee)
    other = make_user(username="khac")
    other.groups.add(Group.objects.get(name=STAFF_GROUP))
    make_member(other, make_unit(full_name="Hội Nông dân huyện Hàm Tân"))
    return SimpleNamespace(
        **vars(world),
        admin=make_superuser(),
        auditor=auditor,
        staff=staff,
        other=other,
        params={"year": 2024, "unit": world.committee.pk},
    )


def report_url(params) -> str:
    return "/records/report/?" + "&".join(f"{key}={value}" for key, value in params.items())


def post_data(client, params, **changes) -> dict:
    """The page's form as it is first shown, with `changes`."""
    response = client.get(report_url(params))
    assert response.status_code == 200
    form, signers = response.context["form"], response.context["signers"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            f"signers-{key}": value
            for key, value in signers.management_form.initial.items()
            if value is not None
        }
    )
    for index, initial in enumerate(signers.initial):
        for key, value in initial.items():
            data[f"signers-{index}-{key}"] = value
    data.update(changes)
    return data


def issue(client, params, **changes):
    data = post_data(client, params, action="issue", **changes)
    return client.post(report_url(params), data)


def article(response) -> str:
    """The báo cáo on a page: the document and its annex, without the page's links."""
    page = response.content.decode()
    text = page[page.index('<article class="report document">') : page.index("</article>")]
    return re.sub(r'href="[^"]*"', "", text)


def docx_texts(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    for table in document.tables:
        texts += [p.text for cell in table._cells for p in cell.paragraphs]
    return texts


class TestIssuing:
    def test_issuing_numbers_dates_and_freezes_the_report(self, client, scene):
        client.force_login(scene.admin)
        response = issue(client, scene.params, number="12/BC-UBND")
        issued = IssuedReport.objects.get()
        assert response.status_code == 302
        assert response.url == f"/records/report/issued/{issued.pk}/"
        assert (issued.number, issued.version, issued.year) == ("12/BC-UBND", 1, 2024)
        assert issued.issued_on == datetime.date.today() or issued.issued_on == days(0)
        assert issued.unit == scene.committee and issued.agreement is None
        assert issued.subject_name == "Ủy ban nhân dân huyện Hàm Tân"
        assert issued.signers == "Hà Lê Thanh Chung"
        assert issued.issued_by == scene.admin
        texts = docx_texts(bytes(issued.docx))
        assert "Số: 12/BC-UBND" in texts
        assert any("Tổ chức đối thoại với Nhân dân" in text for text in texts)
        assert xlsx_values(bytes(issued.xlsx))[4][0] == "BÁO CÁO"
        page = client.get(response.url)
        assert page.status_code == 200
        assert "Số: 12/BC-UBND" in page.content.decode()

    def test_a_number_is_needed_to_issue(self, client, scene):
        client.force_login(scene.admin)
        response = issue(client, scene.params, number="")
        assert response.status_code == 400
        assert "Nhập số của báo cáo để ban hành" in response.content.decode()
        assert not IssuedReport.objects.exists()

    def test_the_issued_report_stays_as_issued(self, client, scene, tmp_path):
        """After an edit, an import and a unit merger, the issued page, .docx and .xlsx are
        exactly what they were; the live report has moved on and says so."""
        client.force_login(scene.admin)
        issue(client, scene.params, number="12/BC-UBND", results="Đạt kết quả tốt.")
        issued = IssuedReport.objects.get()
        url = f"/records/report/issued/{issued.pk}/"
        before = {
            "page": article(client.get(url)),
            "docx": client.get(url + "?format=docx").content,
            "xlsx": client.get(url + "?format=xlsx").content,
        }
        assert "Đạt kết quả tốt." in before["page"]
        assert "Tổ chức đối thoại với Nhân dân" in before["page"]

        Task.objects.filter(content="Tổ chức đối thoại với Nhân dân").update(
            status=TaskStatus.DONE, completed_on=days(-1), content="Nội dung đã sửa"
        )
        scene.committee.full_name = "Ủy ban nhân dân huyện Hàm Tân (đổi tên)"
        scene.committee.save()
        rows = [
            ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý"],
            [scene.agreement.number, 2024, "Nhiệm vụ nhập thêm", scene.committee.full_name,
             datetime.date(2024, 5, 1)],
        ]  # fmt: skip
        result = import_records(
            kind="tasks", data=_xlsx(rows), file_name="ds.xlsx", user=scene.admin, dry_run=False
        )
        assert result.written, result.problems
        successor = make_unit(full_name="Ủy ban nhân dân xã Tân Nghĩa")
        services.unit_merge(units=[scene.committee], successor=successor, dissolved_on=days(0))

        after = {
            "page": article(client.get(url)),
            "docx": client.get(url + "?format=docx").content,
            "xlsx": client.get(url + "?format=xlsx").content,
        }
        assert after == before
        issued.refresh_from_db()
        rendered = docx_texts(render_docx(issued_document(issued)))
        assert rendered == docx_texts(bytes(issued.docx))

        live = client.get(report_url(scene.params))
        assert "Nội dung đã sửa" not in before["page"]
        assert live.context["last_issued"] == issued
        changes = {(c.line, c.column) for c in live.context["changes"]}
        assert ("Nhiệm vụ", "Tổng số") in changes

    def test_a_correction_is_a_new_version_naming_the_one_it_corrects(self, client, scene):
        client.force_login(scene.admin)
        issue(client, scene.params, number="12/BC-UBND")
        first = IssuedReport.objects.get()
        page = client.get(f"/records/report/issued/{first.pk}/").content.decode()
        assert f"corrects={first.pk}" in page
        response = issue(client, {**scene.params, "corrects": first.pk}, number="13/BC-UBND")
        second = IssuedReport.objects.exclude(pk=first.pk).get()
        assert response.url == f"/records/report/issued/{second.pk}/"
        assert (second.version, second.corrects) == (2, first)
        listing = client.get("/records/report/issued/", {"year": 2024}).content.decode()
        assert "12/BC-UBND" in listing and "13/BC-UBND" in listing
        # The first keeps its own number and content.
        assert "Số: 12/BC-UBND" in docx_texts(bytes(first.docx))

    def test_a_correction_of_another_report_is_refused(self, client, scene):
        client.force_login(scene.admin)
        issue(client, scene.params, number="12/BC-UBND")
        first = IssuedReport.objects.get()
        other = {"year": 2024, "unit": scene.front.pk, "corrects": first.pk}
        response = issue(client, other, number="01/BC-MTTQ")
        assert response.status_code == 400
        assert IssuedReport.objects.count() == 1

    def test_the_document_can_be_edited_and_downloaded_before_issuing(self, client, scene):
        client.force_login(scene.admin)
        data = post_data(client, scene.params, action="docx", subject="Sơ kết năm 2024")
        response = client.post(report_url(scene.params), data)
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "Sơ kết năm 2024" in docx_texts(response.content)
        assert not IssuedReport.objects.exists()


def _xlsx(rows):
    from tests.factories import xlsx_bytes

    return xlsx_bytes(rows)


class TestPermissions:
    def test_unit_staff_issue_their_units_report(self, client, scene):
        client.force_login(scene.staff)
        response = issue(client, scene.params, number="05/BC-UBND")
        assert response.status_code == 302
        assert IssuedReport.objects.get().issued_by == scene.staff

    def test_others_may_not_issue(self, client, scene):
        """An auditor reads the report but may not issue it; another unit's staff cannot
        even choose this unit."""
        client.force_login(scene.admin)
        data = post_data(client, scene.params, action="issue", number="1/BC")
        client.force_login(scene.auditor)
        page = client.get(report_url(scene.params)).content.decode()
        assert "Ban hành" not in page.split('<form method="post"')[1]
        assert client.post(report_url(scene.params), data).status_code == 403
        client.force_login(scene.other)
        assert client.post(report_url(scene.params), data).status_code == 400
        assert not IssuedReport.objects.exists()

    def test_issued_reports_are_read_within_the_units_scope(self, client, scene):
        client.force_login(scene.admin)
        issue(client, scene.params, number="12/BC-UBND")
        issued = IssuedReport.objects.get()
        url = f"/records/report/issued/{issued.pk}/"
        for user, status in ((scene.auditor, 200), (scene.staff, 200), (scene.other, 404)):
            client.force_login(user)
            assert client.get(url).status_code == status
            assert client.get(url + "?format=docx").status_code == status
            listing = client.get("/records/report/issued/").content.decode()
            assert ("12/BC-UBND" in listing) is (status == 200)

    def test_hostile_values_are_answers_not_errors(self, client, scene):
        client.force_login(scene.admin)
        for value in ("9" * 30, "-1", "abc", "1\x00", ""):
            data = post_data(client, scene.params, action="issue", number="1", corrects=value)
            assert client.post(report_url(scene.params), data).status_code in (302, 400)
            assert client.get(report_url({**scene.params, "corrects": value})).status_code == 200
            answer = client.get("/records/report/issued/", {"year": value, "unit": value})
            assert answer.status_code in (200, 400)
        data = post_data(client, scene.params, action="docx", **{"signers-TOTAL_FORMS": "999"})
        assert client.post(report_url(scene.params), data).status_code == 400
        assert client.get("/records/report/issued/999999/").status_code == 404
        issued = IssuedReport.objects.first()
        assert client.get(f"/records/report/issued/{issued.pk}/?format=pdf").status_code == 404


class TestCommand:
    def test_live_docx_and_xlsx(self, scene, tmp_path):
        output = tmp_path / "bc.docx"
        call_command("report", year=2024, unit="UBND huyện", format="docx", output=str(output))
        texts = docx_texts(output.read_bytes())
        assert "ỦY BAN NHÂN DÂN" in texts and "Hàm Tân, ngày 31 tháng 12 năm 2024" in texts
        workbook = tmp_path / "bc.xlsx"
        call_command(
            "report", year=2024, agreement=scene.agreement.number, format="xlsx",
            output=str(workbook),
        )  # fmt: skip
        assert xlsx_values(workbook.read_bytes())[4][0] == "BÁO CÁO"

    def test_issue_prints_the_id_and_issued_writes_the_same_file(self, scene, tmp_path, capsys):
        output = tmp_path / "bc.docx"
        call_command(
            "report", year=2024, unit="UBND huyện", format="docx", output=str(output),
            issue=True, number="12/BC-UBND", user="canbo", date="2025-01-05",
        )  # fmt: skip
        issued = IssuedReport.objects.get()
        assert capsys.readouterr().out.strip() == str(issued.pk)
        assert issued.issued_on == datetime.date(2025, 1, 5)
        assert "Hàm Tân, ngày 05 tháng 01 năm 2025" in docx_texts(output.read_bytes())
        again = tmp_path / "again.docx"
        call_command("report", issued=issued.pk, format="docx", output=str(again))
        assert again.read_bytes() == output.read_bytes() == bytes(issued.docx)

    @pytest.mark.parametrize(
        ("options", "code", "message"),
        [
            ({"year": 2024, "unit": "Không có"}, 2, "Không tìm thấy"),
            ({"year": 2024}, 2, "--unit hoặc --agreement"),
            ({"issued": 999}, 2, "999"),
            ({"year": 2024, "unit": "UBND huyện", "issue": True}, 2, "--user"),
            ({"year": 2024, "unit": "UBND huyện", "issue": True, "user": "khac"}, 1, "khac"),
            ({"year": 2024, "unit": "UBND huyện", "issue": True, "user": "canbo"}, 1, "số"),
            ({"year": 2024, "unit": "UBND huyện", "date": "05/01/2025"}, 2, "YYYY-MM-DD"),
        ],
    )
    def test_errors_say_why_in_vietnamese(self, scene, tmp_path, options, code, message):
        with pytest.raises(CommandError) as error:
            call_command("report", format="docx", output=str(tmp_path / "x.docx"), **options)
        assert error.value.returncode == code
        assert message in str(error.value)
        assert not IssuedReport.objects.exists()


def custom_template(extra_paragraph: str) -> bytes:
    """The default template with one more paragraph at its top."""
    from coordination.reports.docx_template import default_template

    document = docx.Document(io.BytesIO(default_template()))
    first = document.element.body[0]
    paragraph = document.add_paragraph(extra_paragraph)
    first.addprevious(paragraph._p)
    stream = io.BytesIO()
    document.save(stream)
    return stream.getvalue()


def zip_with(members: dict[str, bytes]) -> bytes:
    import zipfile

    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return stream.getvalue()


class TestTemplates:
    ADD = "/admin/coordination/reporttemplate/add/"

    def upload(self, client, content: bytes, **fields):
        from django.core.files.uploadedfile import SimpleUploadedFile

        data = {"name": "Mẫu của văn phòng", "is_active": "on", **fields}
        data["upload"] = SimpleUploadedFile("mau.docx", content)
        return client.post(self.ADD, data)

    def test_an_offices_template_is_checked_kept_and_used(self, client, scene):
        from coordination.models import ReportTemplate

        client.force_login(scene.admin)
        default = client.get("/admin/coordination/reporttemplate/default.docx")
        assert default.status_code == 200
        response = self.upload(client, custom_template("MẪU RIÊNG: {{ subject }}"))
        assert response.status_code == 302, response.content.decode()[:3000]
        assert ReportTemplate.objects.count() == 1
        answer = client.get(report_url({**scene.params, "format": "docx"}))
        texts = docx_texts(answer.content)
        assert "MẪU RIÊNG: Kết quả thực hiện công tác phối hợp năm 2024" in texts

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "errorlist"),
            (b"not a zip at all", "không phải văn bản Word"),
            (zip_with({"xl/workbook.xml": b"<x/>"}), "không phải văn bản Word"),
            (b"PK" + b"\0" * (3 * 1024 * 1024), "lớn hơn 2 MB"),
            (
                zip_with(
                    {
                        "[Content_Types].xml": b"<Types/>",
                        "word/document.xml": b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
                    }
                ),
                "DTD",
            ),
            (custom_template("{{ 1 / 0 }}"), "Không dùng được mẫu báo cáo"),
            (custom_template("{% for x in %}"), "Mẫu báo cáo có lỗi"),
        ],
    )
    def test_a_bad_template_is_refused_with_the_reason(self, client, scene, content, message):
        from coordination.models import ReportTemplate

        client.force_login(scene.admin)
        response = self.upload(client, content)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not ReportTemplate.objects.exists()

    @pytest.mark.parametrize(
        "probe", ["{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__.os }}"]
    )
    def test_a_template_runs_in_jinjas_sandbox(self, scene, probe):
        """A template cannot reach Python's internals: Jinja's sandbox refuses it."""
        from coordination.reports.docx import TemplateProblem, render_docx, sample_document

        with pytest.raises(TemplateProblem, match="Mẫu báo cáo có lỗi"):
            render_docx(sample_document(), custom_template(probe))

    def test_only_admins_manage_templates(self, client, scene):
        client.force_login(scene.staff)
        assert client.get(self.ADD).status_code == 403
        assert client.get("/admin/coordination/reporttemplate/default.docx").status_code == 403

    def test_issued_reports_in_the_admin_are_read_only_and_scoped(self, client, scene):
        client.force_login(scene.admin)
        issue(client, scene.params, number="12/BC-UBND")
        issued = IssuedReport.objects.get()
        change = f"/admin/coordination/issuedreport/{issued.pk}/change/"
        page = client.get(change)
        assert page.status_code == 200 and "12/BC-UBND" in page.content.decode()
        assert client.post(change, {"number": "99"}).status_code == 403
        assert (
            client.get(f"/admin/coordination/issuedreport/{issued.pk}/delete/").status_code == 403
        )
        client.force_login(scene.other)
        listing = client.get("/admin/coordination/issuedreport/")
        assert "12/BC-UBND" not in listing.content.decode()
