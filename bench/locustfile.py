"""The simulated users of bench/load_test.py (locust). Loopback only: the host is the
gunicorn that load_test.py started on 127.0.0.1.

- Readers (most users): an auditor or a unit's staff browsing filtered /records/ lists, the
  admin's lists and change forms, and record pages, one request every 1–3 s.
- Importers (a few): unit staff uploading a workbook of new follow-up items through the admin,
  previewing and confirming it; each confirmed import adds exactly IMPORT_ROWS rows.
- Exporters (a few): an auditor downloading a filtered list as .xlsx.

Settings come from the environment load_test.py sets: LOAD_USERS_JSON (accounts, units, years,
record numbers), LOAD_IMPORT_ROWS, LOAD_IMPORTERS and LOAD_EXPORTERS (the importers and
exporters are that many users whatever the total; the readers are the rest), LOAD_REQUEST_LOG
(a file where every request's end time, name, time taken and failure are written, from which
load_test.py also computes the figures after the last login).

When an import or an export runs as a background job, the time from the first request to its
result (the file, or the list after the import) is reported too, as a "JOB" request named
"job: …": what the user waits for, of which the requests themselves are a small part.
"""

import io
import itertools
import json
import os
import random
import re
import time

import openpyxl
from locust import HttpUser, between, events, task

REQUEST_LOG = os.environ.get("LOAD_REQUEST_LOG")
SETUP = json.loads(os.environ.get("LOAD_SETUP_JSON", "{}"))
IMPORT_ROWS = int(os.environ.get("LOAD_IMPORT_ROWS", "500"))
IMPORTERS = int(os.environ.get("LOAD_IMPORTERS", "2"))
EXPORTERS = int(os.environ.get("LOAD_EXPORTERS", "3"))
CONFIRMED = []  # one entry per confirmed import, read by load_test.py from the summary
SERIAL = itertools.count(1)
TOKEN = re.compile(r'name="token" value="([^"]+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_of(text: str) -> str:
    found = CSRF.search(text)
    return found.group(1) if found else ""


class Signed(HttpUser):
    abstract = True
    account = ""

    def on_start(self):
        page = self.client.get("/admin/login/", name="login page")
        response = self.client.post(
            "/admin/login/",
            {
                "username": self.account,
                "password": SETUP["password"],
                "csrfmiddlewaretoken": csrf_of(page.text),
                "next": "/admin/",
            },
            headers={"Referer": f"{self.host}/admin/login/"},
            name="log in",
            allow_redirects=False,
        )
        if response.status_code != 302:
            response.failure(f"login of {self.account} answered {response.status_code}")


class Reader(Signed):
    weight = 46
    wait_time = between(1, 3)

    def on_start(self):
        self.account = random.choice(SETUP["readers"])
        super().on_start()

    def params(self) -> dict:
        params = {"year": random.choice(SETUP["years"])}
        if random.random() < 0.7:
            # Unit staff filter by their own unit (another one is a 400 by design).
            units = SETUP["staff_units"] if self.account == SETUP["importer"] else SETUP["units"]
            params["unit"] = random.choice(units)
        choice = random.random()
        if choice < 0.3:
            params["overdue"] = "yes"
        elif choice < 0.6:
            params["outstanding"] = "yes"
        if random.random() < 0.2:
            params["q"] = random.choice(["kien nghi", "so 12", "duong", "123"])
        if random.random() < 0.3:
            params["page"] = random.randint(2, 4)
        return params

    @task(6)
    def followup_list(self):
        self.client.get(
            "/records/followups/", params=self.params(), name="/records/followups/ (list)"
        )

    @task(3)
    def task_list(self):
        self.client.get("/records/tasks/", params=self.params(), name="/records/tasks/ (list)")

    @task(3)
    def admin_list(self):
        self.client.get(
            "/admin/coordination/followup/", params=self.params(), name="/admin/…/followup/ (list)"
        )

    @task(2)
    def outstanding(self):
        self.client.get(
            "/records/outstanding/",
            params={"year": random.choice(SETUP["years"])},
            name="/records/outstanding/ (list)",
        )

    @task(2)
    def change_form(self):
        pk = random.choice(SETUP["followups"])
        with self.client.get(
            f"/admin/coordination/followup/{pk}/change/",
            name="/admin/…/followup/<pk>/change/",
            catch_response=True,
        ) as response:
            # Unit staff are sent back to the index for another unit's item: not an error.
            if response.status_code == 200:
                response.success()

    @task(2)
    def record_page(self):
        pk = random.choice(SETUP["followups"])
        with self.client.get(
            f"/records/followups/{pk}/", name="/records/followups/<pk>/", catch_response=True
        ) as response:
            if response.status_code in (200, 404):  # 404: another unit's item, for staff
                response.success()


class Importer(Signed):
    fixed_count = IMPORTERS
    wait_time = between(5, 10)

    def on_start(self):
        self.account = SETUP["importer"]
        super().on_start()

    def workbook(self) -> bytes:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(
            ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Hạn xử lý", "Trạng thái"]
        )
        serial = next(SERIAL)
        for row in range(IMPORT_ROWS):
            sheet.append(
                [
                    "Kiến nghị cử tri",
                    SETUP["import_year"],
                    f"Kiến nghị nhập thử tải {os.getpid()}-{serial}-{row}",
                    SETUP["importer_unit"],
                    f"31/12/{SETUP['import_year']}",
                    "Chưa giải quyết",
                ]
            )
        stream = io.BytesIO()
        book.save(stream)
        return stream.getvalue()

    @task
    def import_file(self):
        started = time.time()
        page = self.client.get("/admin/coordination/followup/import/", name="import page")
        preview = self.client.post(
            "/admin/coordination/followup/import/",
            data={"csrfmiddlewaretoken": csrf_of(page.text)},
            files={"import_file": ("tai.xlsx", self.workbook())},
            headers={"Referer": f"{self.host}/admin/coordination/followup/import/"},
            name="import: upload and preview",
        )
        # A large file is checked by a background job: its page, then the preview.
        preview = follow_job(self, preview, "import: preview page")
        token = TOKEN.search(preview.text) if preview is not None else None
        if not token:
            if preview is not None:
                preview.failure("the preview offered no confirmation")
            return
        with self.client.post(
            "/admin/coordination/followup/process_import/",
            data={"csrfmiddlewaretoken": csrf_of(preview.text), "token": token.group(1)},
            headers={"Referer": f"{self.host}/admin/coordination/followup/import/"},
            name="import: confirm",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"confirm answered {response.status_code}")
                return
            response.success()
            location = response.headers["Location"]
        if JOB_PAGE.search(location):
            page = self.client.get(location, name="job page")
            done = follow_job(self, page, "import: written")
            if done is None or "/admin/coordination/followup/" not in done.url:
                return
            turnaround(self, "job: import, upload to written", started)
        CONFIRMED.append(IMPORT_ROWS)


class Exporter(Signed):
    fixed_count = EXPORTERS
    wait_time = between(5, 10)

    def on_start(self):
        self.account = SETUP["auditor"]
        super().on_start()

    @task
    def export(self):
        started = time.time()
        params = {
            "year": random.choice(SETUP["years"]),
            "unit": random.choice(SETUP["units"]),
            "format": "xlsx",
        }
        response = self.client.get("/records/followups/export/", params=params, name="export .xlsx")
        # A large export is written by a background job: its page, then its file.
        result = follow_job(self, response, "export: download")
        if result is not None and result is not response:
            turnaround(self, "job: export, asked to downloaded", started)


JOB_PAGE = re.compile(r"/jobs/(\d+)/$")


def follow_job(user, response, result_name: str):
    """When `response` is a job's page, ask its status every second as the page does, then
    fetch its result (named `result_name`); else `response` itself. None if the job failed."""
    found = JOB_PAGE.search(response.url or "")
    if not found:
        return response
    status_url = f"/jobs/{found.group(1)}/status/"
    for _second in range(600):
        state = user.client.get(status_url, name="job status").json()
        if state["finished"]:
            break
        time.sleep(1)
    else:
        response.failure("the job did not finish in 10 minutes")
        return None
    if state["status"] != "done":
        response.failure(f"the job ended {state['status']}: {state['error']}")
        return None
    return user.client.get(state["result_url"], name=result_name)


def turnaround(user, name: str, started: float) -> None:
    """Report the time since `started` (a job asked for, until its result) as one request."""
    user.environment.events.request.fire(
        request_type="JOB",
        name=name,
        response_time=(time.time() - started) * 1000,
        response_length=0,
        exception=None,
        context={},
    )


_request_log = open(REQUEST_LOG, "a") if REQUEST_LOG else None  # noqa: SIM115 (the run's)


@events.request.add_listener
def log_request(request_type, name, response_time, exception=None, **kwargs):
    if _request_log is not None:
        failed = 1 if exception else 0
        _request_log.write(f"{time.time():.3f}\t{name}\t{response_time:.1f}\t{failed}\n")


@events.quitting.add_listener
def report_imports(environment, **kwargs):
    if _request_log is not None:
        _request_log.flush()
    summary = os.environ.get("LOAD_SUMMARY")
    if summary:
        with open(summary, "w") as out:
            json.dump({"confirmed_imports": len(CONFIRMED), "rows": sum(CONFIRMED)}, out)
