"""End-to-end tests in a real browser (issue 5, point 6): Playwright for Python driving
Debian's Chromium (/usr/bin/chromium) against the live application with the demo data.

Each test saves screenshots under $E2E_SCREENSHOTS (default: pytest's temporary folder);
docs/screenshots/ holds a chosen few for the README.
"""

import io
import os
import shutil
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone

from coordination.management.commands import load_demo
from coordination.models import Agreement, FollowUp, Task, Unit
from coordination.typeahead import LIST_AT_MOST
from tests.factories import ensure_roles

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
DEMO_PASSWORDS = {
    "admin": "admin-demo-2026",
    "canbo_hamtan": "canbo-demo-2026",
    "kiemtra": "kiemtra-demo-2026",
}
STAFF_UNIT = load_demo.STAFF_UNIT  # xã Tân Minh, a unit of today
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

if not shutil.which(CHROMIUM):
    # Not a skip: the browser tests are part of the suite, and `make test` / .ci/run install
    # the browser (README, "Development").
    raise RuntimeError(
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), "
        "as `make test` does when run as root."
    )

# Playwright's synchronous API runs an event loop in this thread; the tests' own ORM calls
# are plain synchronous code all the same.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# The live server reads the test database from its own thread: committed data only.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server):
    ensure_roles()  # an earlier transactional test's flush removed them
    call_command("load_demo", verbosity=0)
    return live_server


def log_in(browser, server, username: str):
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page.goto(f"{server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORDS[username])
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{server.url}/admin/")
    return page


@pytest.mark.parametrize("username", list(DEMO_PASSWORDS))
def test_each_demo_user_logs_in(browser, demo, shots, username):
    page = log_in(browser, demo, username)
    expect(page.locator("#site-name")).to_contain_text("Hồ sơ phối hợp công tác")
    expect(page.locator("#content")).to_contain_text("Nội dung theo dõi")
    page.screenshot(path=shots / f"admin-index-{username}.png", full_page=True)
    page.close()


def tasks_workbook(agreement: Agreement, unit: Unit, due: str) -> bytes:
    """A unit's own list: a title row, then the header, then two tasks."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["DANH SÁCH NHIỆM VỤ PHỐI HỢP NĂM 2026"])
    sheet.append(["STT", "Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý"])
    sheet.append(
        [
            1,
            agreement.number,
            2026,
            "Rà soát kiến nghị cử tri tồn đọng",
            unit.full_name,
            "15/12/2026",
        ]
    )
    sheet.append(
        [2, agreement.number, 2026, "Tổng hợp báo cáo giám sát quý IV", unit.full_name, due]
    )
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def check_file(page, data: bytes) -> None:
    """Choose the workbook in the upload form and ask for its preview."""
    page.set_input_files(
        "input[name=import_file]",
        files=[{"name": "nhiem-vu.xlsx", "mimeType": XLSX, "buffer": data}],
    )
    page.locator("#import-form [type=submit]").click()


def test_import_a_file_with_a_bad_row_fix_it_and_import_again(browser, demo, shots):
    unit = Unit.objects.get(full_name=STAFF_UNIT)
    agreement = Agreement.objects.filter(parties=unit, start_year__lte=2026, end_year__gte=2026)[0]
    before = Task.objects.count()
    page = log_in(browser, demo, "canbo_hamtan")
    page.goto(f"{demo.url}/admin/coordination/task/import/")
    check_file(page, tasks_workbook(agreement, unit, "31/02/2026"))
    # The impossible date is pointed out on its row (4: title, header, two tasks) and column,
    # and nothing can be confirmed.
    problem = page.locator("#content tr", has_text="31/02/2026").first
    expect(problem).to_contain_text("Hạn xử lý")
    expect(problem.locator("td").first).to_have_text("4")
    expect(page.locator("input[name=token]")).to_have_count(0)
    page.screenshot(path=shots / "import-error.png", full_page=True)
    assert Task.objects.count() == before

    check_file(page, tasks_workbook(agreement, unit, "28/02/2026"))
    expect(page.locator("input[name=token]")).to_have_count(1)
    page.screenshot(path=shots / "import-preview.png", full_page=True)
    assert Task.objects.count() == before
    page.locator("form.import-confirm [type=submit]").click()
    expect(page.locator(".messagelist")).to_contain_text("nhiem-vu.xlsx")
    assert Task.objects.count() == before + 2
    page.close()


def test_auditor_filters_overdue_follow_ups_of_a_unit_and_exports_them(browser, demo, shots):
    unit = Unit.objects.get(full_name=STAFF_UNIT)
    overdue = FollowUp.objects.filter(responsible_unit=unit).overdue(timezone.localdate())
    year = max(overdue.values_list("year", flat=True), default=None)
    # The unit filter finds the items it answers for, alone or with other units.
    expected = set(
        FollowUp.objects.for_unit(unit)
        .filter(year=year)
        .overdue(timezone.localdate())
        .values_list("pk", flat=True)
    )
    assert expected, "the demo has overdue items for this unit and year"
    page = log_in(browser, demo, "kiemtra")
    page.goto(f"{demo.url}/records/followups/")
    page.fill("input[name=year]", str(year))
    # The demo's units are more than a select lists: a type-ahead box (coordination.typeahead)
    # asks the admin's autocomplete for the letters typed.
    assert Unit.objects.count() > LIST_AT_MOST
    page.locator("select[name=unit] + .select2 .select2-selection").click()
    page.locator(".select2-search__field").fill("tân minh")
    page.locator(".select2-results__option", has_text=STAFF_UNIT).first.click()
    page.select_option("select[name=overdue]", value="yes")
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator("main")).to_contain_text(f"{len(expected)} dòng")
    page.screenshot(path=shots / "records-overdue.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (.xlsx)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    data = Path(download.value.path()).read_bytes()
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    exported = {int(row[0]) for row in rows[1:] if row and row[0] is not None}
    assert exported == expected
    page.close()


def test_unit_staff_cannot_open_another_units_record(browser, demo, shots):
    unit = Unit.objects.get(full_name=STAFF_UNIT)
    other = FollowUp.objects.exclude(pk__in=FollowUp.objects.for_unit(unit).values("pk")).first()
    page = log_in(browser, demo, "canbo_hamtan")
    response = page.goto(f"{demo.url}/records/followups/{other.pk}/")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Không tìm thấy trang")
    assert other.content[:30] not in page.content()
    page.screenshot(path=shots / "other-unit-not-found.png", full_page=True)
    page.goto(f"{demo.url}/admin/coordination/followup/{other.pk}/change/")
    # The admin answers as for a record that does not exist: back to its index.
    expect(page).to_have_url(f"{demo.url}/admin/")
    assert other.content[:30] not in page.content()
    page.close()
