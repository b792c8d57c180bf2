"""Background jobs in a real browser (Playwright driving Debian's Chromium, as
tests/test_browser.py): a large import's progress bar watched to the end, twice (the check,
then the writing), and an export produced by a job, downloaded.

Everything runs as in production: Django's server and `manage.py jobs_worker` are processes of
their own on the test's database (an SQLite file on SQLite, see tests/job_files.py `Scene`).
"""

import io
import os
import re
import time
from pathlib import Path

import openpyxl
import pytest

from tests import test_browser
from tests.factories import xlsx_bytes
from tests.job_files import Scene, follow_up_rows
from tests.scripts.job_scene import PASSWORD, USERNAME
from tests.test_browser import XLSX

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


# The browser and the screenshot folder, as the other browser tests.
browser, shots = test_browser.browser, test_browser.shots


@pytest.fixture
def site(tmp_path, settings):
    """The server and a worker, on a database with the unit and the user; exports of more
    than 10 rows run as jobs."""
    scene = Scene(tmp_path, settings)
    scene.env.update(EXPORT_JOB_ROWS="10", JOBS_HEARTBEAT_TIMEOUT="60")
    # In a child process: the password hashed as the server will check it (the test
    # process hashes with MD5 for speed, which the server does not accept).
    scene.child("setup", 0, in_child=True)
    server, url = scene.server()
    worker = scene.worker()
    scene.url = url
    yield scene
    for process in (server, worker):
        process.terminate()
        process.wait(20)


def log_in(browser, url: str):
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{url}/admin/")
    return page


def job_id(page) -> int:
    found = re.search(r"/jobs/(\d+)/$", page.url)
    assert found, page.url
    return int(found.group(1))


def watch(page, shots, name: str) -> list[int]:
    """The progress bar's values until the page leaves the job (its result)."""
    seen = []
    while "/jobs/" in page.url:
        try:
            seen.append(int(page.locator("#job-progress").get_attribute("value", timeout=1000)))
        except Exception:  # the page is navigating to its result
            break
        if 0 < seen[-1] < 100 and not (shots / f"{name}.png").exists():
            page.screenshot(path=shots / f"{name}.png", full_page=True)
        time.sleep(0.2)
    return seen


@pytest.mark.slow
def test_a_large_imports_progress_bar_runs_to_the_preview_then_to_the_list(browser, site, shots):
    rows = 20000
    url = site.url
    page = log_in(browser, url)
    page.goto(f"{url}/admin/coordination/followup/import/")
    page.set_input_files(
        "input[name=import_file]",
        files=[
            {"name": "kien-nghi.xlsx", "mimeType": XLSX, "buffer": xlsx_bytes(follow_up_rows(rows))}
        ],
    )
    page.locator("#import-form [type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Kiểm tra tệp kien-nghi.xlsx")
    expect(page.locator("#job-progress")).to_be_visible()
    check = job_id(page)
    seen = watch(page, shots, "job-progress")
    assert any(0 < value < 100 for value in seen), seen
    assert seen == sorted(seen), "the bar never goes back"
    # The usual preview, with the rows counted by the job.
    expect(page).to_have_url(f"{url}/admin/coordination/followup/import/job/{check}/")
    expect(page.locator("form.import-confirm [type=submit]")).to_be_visible()
    expect(page.locator("#content")).to_contain_text("20000")
    # Nothing written before the confirmation.
    assert site.child("state", check)["stored"] == 0
    page.locator("form.import-confirm [type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Nhập tệp kien-nghi.xlsx")
    write = job_id(page)
    seen = watch(page, shots, "job-progress-writing")
    expect(page).to_have_url(f"{url}/admin/coordination/followup/")
    expect(page.locator(".messagelist")).to_contain_text("kien-nghi.xlsx")
    expect(page.locator(".messagelist")).to_contain_text("20000")
    for job in (check, write):
        state = site.child("state", job)
        assert (state["status"], state["stored"], state["distinct"]) == ("done", rows, rows)
    page.close()


def test_an_export_produced_by_a_job_is_downloaded_from_its_page(browser, site, shots):
    site.child("followups", 40)
    url = site.url
    page = log_in(browser, url)
    page.goto(f"{url}/records/followups/")
    page.get_by_role("link", name="Excel (.xlsx)").click()
    expect(page.locator("h1")).to_contain_text("Xuất")
    link = page.locator("#job-result-link")
    expect(link).to_be_visible(timeout=30000)
    expect(page.locator("#job-status")).to_have_text("Đã hoàn thành")
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    page.screenshot(path=shots / "job-export.png", full_page=True)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert workbook.active.max_row == 41
    # The list of the user's jobs has it.
    page.goto(f"{url}/jobs/")
    expect(page.locator("main")).to_contain_text("Xuất")
    page.close()
