"""The README's office list (fixtures/office/): a commune's voter petitions as its office keeps
them go into the demo data through the admin, showing first what the update changes."""

import io

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coordination.models import FollowUp
from tests.test_demo import demo, user  # noqa: F401 (the demo fixture)

pytestmark = pytest.mark.django_db

EXAMPLE = settings.BASE_DIR / "fixtures" / "office" / "kien-nghi-cu-tri-ham-tan-2026.xlsx"
TAN_THANG = "Cử tri xã Tân Đức (cũ) kiến nghị đẩy nhanh việc cấp giấy chứng nhận quyền sử dụng đất"


def values(data: bytes) -> list:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)], sorted(
        str(cells) for cells in sheet.merged_cells.ranges
    )


def test_the_committed_example_is_what_its_script_builds():
    import runpy

    build = runpy.run_path(str(EXAMPLE.with_name("build.py")))["build"]
    stream = io.BytesIO()
    build().save(stream)
    assert values(stream.getvalue()) == values(EXAMPLE.read_bytes())


def import_page(client, data, name):
    url = reverse("admin:coordination_followup_import")
    return client.post(url, {"import_file": SimpleUploadedFile(name, data)})


def test_the_office_list_goes_into_the_demo_showing_what_changes(client, demo):  # noqa: F811
    client.force_login(user("admin"))
    response = import_page(client, EXAMPLE.read_bytes(), EXAMPLE.name)
    assert response.status_code == 200
    report = response.context["report"]
    assert report.file_errors == [] and report.problems == []
    assert report.summary_line() == "new=2 updated=1 unchanged=2 errors=0"
    changes = [(c.column, c.old, c.new) for o in report.outcomes for c in o.changes]
    assert changes == [
        ("Trạng thái", "Chưa giải quyết", "Đang thực hiện"),
        (
            "Kết quả giải quyết",
            "",
            "Đã rà soát 46/60 hồ sơ, trình cấp giấy 30 trường hợp",
        ),
    ]
    assert len(report.warnings) == 1 and "dòng 18" in report.warnings[0]
    html = response.content.decode()
    assert "Chưa giải quyết" in html and "Đang thực hiện" in html

    url = reverse("admin:coordination_followup_process_import")
    response = client.post(url, {"token": response.context["token"]})
    assert response.status_code == 302
    item = FollowUp.objects.get(content=TAN_THANG, year=2026)
    assert item.status == "in_progress" and item.resolution.startswith("Đã rà soát 46/60")
    women = FollowUp.objects.get(content__startswith="Cử tri kiến nghị hỗ trợ vốn vay", year=2026)
    assert women.responsible_unit.full_name == "Hội Liên hiệp Phụ nữ xã Tân Minh"
    front = FollowUp.objects.get(content__contains="phân loại rác tại nguồn")
    assert front.responsible_unit.full_name == "Ủy ban Mặt trận Tổ quốc Việt Nam xã Tân Minh"
    assert front.kind == "voter_petition" and front.year == 2026

    # The same list again: nothing left to change.
    response = import_page(client, EXAMPLE.read_bytes(), EXAMPLE.name)
    assert response.context["report"].summary_line() == "new=0 updated=0 unchanged=5 errors=0"
