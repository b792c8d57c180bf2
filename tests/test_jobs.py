"""Background jobs in process: the admin's large import and export, the /records/ export and
the yearly report as jobs, their pages, their owner alone, recovery, time-out and clean-up.

The jobs run here by `run_job` in the test's own process; tests/test_jobs_worker.py runs them
in a real worker process (and kills it)."""

import datetime
import json

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from coordination.jobs import files, running, tasks
from coordination.jobs import services as jobs
from coordination.models import FollowUp, IssuedReport, Job
from tests.factories import (
    make_followup,
    make_superuser,
    make_unit,
    make_user,
    xlsx_bytes,
    xlsx_values,
)
from tests.job_files import UNIT_NAME, follow_up_rows

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:coordination_followup_import")
CONFIRM = reverse("admin:coordination_followup_process_import")


@pytest.fixture(autouse=True)
def small_thresholds(settings, tmp_path):
    """Jobs from 20 rows up, their files in the test's own folder."""
    settings.IMPORT_JOB_ROWS = 20
    settings.EXPORT_JOB_ROWS = 20
    settings.JOBS_DIR = tmp_path / "jobs"


@pytest.fixture
def owner():
    make_unit(full_name=UNIT_NAME, short_name="UBND xã Tân Hà", locality="xã Tân Hà")
    return make_superuser(username="lan")


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


def upload(client, rows, name="kien-nghi.xlsx"):
    data = xlsx_bytes(rows)
    return client.post(IMPORT, {"import_file": SimpleUploadedFile(name, data)})


def only_job() -> Job:
    (job,) = Job.objects.all()
    return job


def run_queued() -> None:
    """Run every waiting job as the worker would: by the queue's tasks, in order."""
    for task in DBTaskResult.objects.ready().order_by("enqueued_at"):
        task.claim("test")
        task.task.call(*task.task_result.args, **task.task_result.kwargs)
        task.set_successful(None)


def test_a_large_file_is_checked_by_a_job_then_previewed_then_imported_by_another(client):
    """Upload → the job's page → (the worker checks) → the usual preview page with its
    counts → confirm → the job's page → (the worker writes) → the list with what was
    imported. Nothing is written before the confirmation."""
    response = upload(client, follow_up_rows(30))
    job = only_job()
    assert response.status_code == 302
    assert response["Location"] == reverse("coordination:job", args=[job.pk])
    assert (job.kind, job.status, job.record_kind) == ("import_preview", "queued", "followups")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "<progress" in page.content.decode()
    run_queued()
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.rows_total, job.rows_read, job.rows_checked) == (30, 30, 30)
    assert FollowUp.objects.count() == 0
    status = client.get(reverse("coordination:job-status", args=[job.pk])).json()
    assert status["finished"] and status["result_url"]
    preview = client.get(status["result_url"])
    assert preview.status_code == 200
    assert preview.context["report"].count_new == 30
    token = preview.context["token"]

    response = client.post(CONFIRM, {"token": token})
    confirm = Job.objects.get(kind="import_confirm")
    assert response["Location"] == reverse("coordination:job", args=[confirm.pk])
    run_queued()
    confirm.refresh_from_db()
    assert confirm.status == "done", confirm.error
    assert confirm.rows_written == 30
    assert confirm.result["new"] == 30
    assert FollowUp.objects.count() == 30
    result = client.get(jobs.job_status(confirm)["result_url"])
    assert result["Location"] == reverse("admin:coordination_followup_changelist")
    assert "30" in " ".join(str(m) for m in get_messages(result.wsgi_request))
    # The upload is gone once imported.
    assert uploads_left(client) == []


def uploads_left(client) -> list:
    from coordination import uploads

    return sorted(uploads._folder().iterdir())


def test_a_small_file_stays_in_the_request(client):
    response = upload(client, follow_up_rows(5))
    assert response.status_code == 200
    assert response.context["report"].count_new == 5
    assert not Job.objects.exists()


def test_a_large_file_with_errors_shows_them_and_its_confirmation_writes_nothing(client):
    rows = follow_up_rows(30)
    rows[7][1] = "năm ngoái"
    upload(client, rows)
    run_queued()
    job = only_job()
    preview = client.get(jobs.job_status(job)["result_url"])
    assert preview.status_code == 200
    problems = preview.context["problems"]
    assert [problem.row for problem in problems] == [8]
    client.post(CONFIRM, {"token": preview.context["token"]})
    run_queued()
    confirm = Job.objects.get(kind="import_confirm")
    assert confirm.status == "done" and confirm.result["written"] is False
    refused = client.get(jobs.job_status(confirm)["result_url"])
    assert refused.status_code == 200 and refused.context["refused"]
    assert FollowUp.objects.count() == 0


def errors_url(token: str) -> str:
    return reverse("admin:coordination_followup_import_errors", args=[token])


def test_a_large_files_marked_workbook_is_written_by_the_job_that_checked_it(client, monkeypatch):
    """The workbook with the refused rows marked comes from the check's job: the request only
    hands its file over (nothing is read or checked again there). A refused confirmation's
    page offers the confirmation job's own."""
    rows = follow_up_rows(30)
    rows[7][1] = "năm ngoái"
    upload(client, rows)
    run_queued()
    check = only_job()
    assert check.result["errors"] == 1 and check.result["marked_file"].endswith(".xlsx")
    token = client.get(jobs.job_status(check)["result_url"]).context["token"]

    def checked_again(**kwargs):
        raise AssertionError("the request checked the file again")

    monkeypatch.setattr("coordination.admin.spreadsheets.import_records", checked_again)
    response = client.get(errors_url(token))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    marked = xlsx_values(_content(response).read())
    assert marked[0][-1] == "Lỗi"
    assert "Năm" in marked[7][-1] and not any(row[-1] for row in marked[1:7])
    assert len(marked) == 31

    client.post(CONFIRM, {"token": token})
    run_queued()
    confirm = Job.objects.get(kind="import_confirm")
    assert confirm.result["written"] is False and confirm.result["marked_file"]
    assert client.get(jobs.job_status(confirm)["result_url"]).context["refused"]
    files.output_path(check.pk, check.result["marked_file"]).unlink()
    response = client.get(errors_url(token))
    assert response.status_code == 200
    assert "Năm" in xlsx_values(_content(response).read())[7][-1]
    assert FollowUp.objects.count() == 0


def test_a_large_file_without_errors_has_no_marked_workbook(client):
    upload(client, follow_up_rows(25))
    run_queued()
    check = only_job()
    assert "marked_file" not in check.result
    token = client.get(jobs.job_status(check)["result_url"]).context["token"]
    response = client.get(errors_url(token))
    assert response["Location"] == IMPORT
    assert "không có dòng lỗi" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_retried_import_finds_its_rows_already_there_and_writes_nothing_twice(client):
    """The job is marked done in the import's transaction: once the rows are there, a second
    delivery of its task does nothing."""
    upload(client, follow_up_rows(25))
    run_queued()
    token = client.get(jobs.job_status(only_job())["result_url"]).context["token"]
    client.post(CONFIRM, {"token": token})
    confirm = Job.objects.get(kind="import_confirm")
    run_queued()
    assert tasks.run.call(confirm.pk) == "skipped"
    assert FollowUp.objects.count() == 25


def test_the_rows_and_the_job_done_commit_together(client, monkeypatch):
    """If marking the job done fails, the rows written in the same transaction go too."""
    upload(client, follow_up_rows(25))
    run_queued()
    token = client.get(jobs.job_status(only_job())["result_url"]).context["token"]
    client.post(CONFIRM, {"token": token})

    def lost(*args, **kwargs):
        raise running.JobLost

    monkeypatch.setattr("coordination.jobs.work.finish", lost)
    run_queued()
    assert FollowUp.objects.count() == 0


def test_a_job_past_its_deadline_is_stopped_and_rolled_back(client, settings, monkeypatch):
    upload(client, follow_up_rows(25))
    run_queued()
    token = client.get(jobs.job_status(only_job())["result_url"]).context["token"]
    client.post(CONFIRM, {"token": token})
    settings.JOBS_TIMEOUT = -1
    run_queued()
    confirm = Job.objects.get(kind="import_confirm")
    assert confirm.status == "timed_out"
    assert "Không có dữ liệu nào được ghi" in confirm.error
    assert FollowUp.objects.count() == 0
    page = client.get(reverse("coordination:job", args=[confirm.pk]))
    assert confirm.error in page.content.decode()


def test_another_user_gets_404_for_the_page_the_status_and_the_file(client, owner):
    upload(client, follow_up_rows(25))
    job = only_job()
    for other in (make_superuser(), make_user()):
        stranger = Client()
        stranger.force_login(other)
        for name in ("job", "job-status", "job-download"):
            assert stranger.get(reverse(f"coordination:{name}", args=[job.pk])).status_code == 404
        assert (
            stranger.get(
                reverse("admin:coordination_followup_import_job", args=[job.pk])
            ).status_code
            == 404
        )
        assert job.title not in stranger.get(reverse("coordination:jobs")).content.decode()
    assert job.title in client.get(reverse("coordination:jobs")).content.decode()


def test_a_large_admin_export_is_a_job_whose_file_its_owner_downloads(client, owner):
    unit = make_unit()
    for number in range(25):
        make_followup(content=f"Kiến nghị xuất số {number}", responsible_unit=unit)
    response = client.get(reverse("admin:coordination_followup_export") + "?_format=xlsx")
    job = only_job()
    assert response["Location"] == reverse("coordination:job", args=[job.pk])
    run_queued()
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert job.rows_written == job.rows_total == 25
    download = client.get(reverse("coordination:job-download", args=[job.pk]))
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(_content(download)).active
    assert sheet.max_row == 26


def _content(response):
    import io

    return io.BytesIO(b"".join(response.streaming_content))


def test_a_large_records_export_is_a_job_with_the_lists_filters(client):
    unit = make_unit()
    for number in range(30):
        make_followup(content=f"Kiến nghị lọc số {number}", responsible_unit=unit)
    address = reverse("coordination:record-export", args=["followups"])
    response = client.get(address + "?format=csv&q=lọc")
    job = only_job()
    assert response.status_code == 302 and job.params["format"] == "csv"
    run_queued()
    download = client.get(reverse("coordination:job-download", args=[job.pk]))
    lines = _content(download).read().decode("utf-8-sig").splitlines()
    assert len(lines) == 31
    # A small list is still streamed in the request.
    small = client.get(address + "?format=csv&q=không-có-dòng-nào")
    assert small.status_code == 200 and Job.objects.count() == 1


def test_the_job_status_reads_the_progress_of_a_running_job(client, owner):
    job = Job.objects.create(owner=owner, kind="import_confirm", title="x", status="running")
    files.write_progress(
        job.pk, {"stage": "writing", "read": 10, "checked": 10, "written": 4, "total": 10}
    )
    status = client.get(reverse("coordination:job-status", args=[job.pk])).json()
    assert (status["stage"], status["written"], status["total"]) == ("writing", 4, 10)
    assert status["stage_label"]


def test_a_job_whose_worker_died_is_queued_again_a_bounded_number_of_times(owner, settings):
    settings.JOBS_MAX_ATTEMPTS = 2
    old = timezone.now() - datetime.timedelta(minutes=10)
    job = Job.objects.create(
        owner=owner, kind="export", title="x", status="running", attempts=1, heartbeat_at=old
    )
    assert jobs.jobs_recover() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.status == "queued"
    assert DBTaskResult.objects.ready().count() == 1
    Job.objects.filter(pk=job.pk).update(status="running", attempts=2, heartbeat_at=old)
    assert jobs.jobs_recover() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and job.error


def waiting_export(owner) -> Job:
    job = jobs.job_enqueue(
        owner=owner, kind="export", title="x", record_kind="followups", query="", format="csv"
    )
    job.refresh_from_db()
    return job


def test_a_waiting_job_whose_task_the_queue_lost_is_queued_again_then_given_up(owner, settings):
    """A job waits in line as long as its task is on the queue; once the queue no longer has
    it (Redis flushed, its row deleted), the housekeeping queues it again after
    JOBS_WAITING_TIMEOUT, within JOBS_MAX_ATTEMPTS deliveries in all."""
    settings.JOBS_MAX_ATTEMPTS = 2
    job = waiting_export(owner)
    assert job.queued_at is not None
    assert str(DBTaskResult.objects.ready().get().id) == job.task_id
    later = timezone.now() + datetime.timedelta(seconds=settings.JOBS_WAITING_TIMEOUT + 1)
    assert jobs.jobs_recover(later) == {"requeued": 0, "failed": 0}

    DBTaskResult.objects.all().delete()
    assert jobs.jobs_recover() == {"requeued": 0, "failed": 0}  # not waiting long enough yet
    assert jobs.jobs_recover(later) == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("queued", 1)
    assert str(DBTaskResult.objects.ready().get().id) == job.task_id

    DBTaskResult.objects.all().delete()
    later = job.queued_at + datetime.timedelta(seconds=settings.JOBS_WAITING_TIMEOUT + 1)
    assert jobs.jobs_recover(later) == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and "2" in job.error and job.finished_at is not None
    assert not DBTaskResult.objects.exists()


def test_a_job_queued_again_after_its_loss_runs_once(owner, settings):
    """A task taken by a worker that died before it started the job (the task "running",
    the job still waiting) counts as lost too; the job queued again then runs to the end."""
    make_followup(content="Kiến nghị xuất sau khi mất", responsible_unit=make_unit())
    job = waiting_export(owner)
    DBTaskResult.objects.get().claim("a-worker-that-died")
    later = timezone.now() + datetime.timedelta(seconds=settings.JOBS_WAITING_TIMEOUT + 1)
    assert jobs.jobs_recover(later) == {"requeued": 1, "failed": 0}
    run_queued()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.rows_written) == ("done", 2, 1), job.error


def test_a_running_job_with_a_fresh_heartbeat_file_is_left_alone(owner):
    old = timezone.now() - datetime.timedelta(minutes=10)
    job = Job.objects.create(
        owner=owner, kind="export", title="x", status="running", attempts=1, heartbeat_at=old
    )
    files.write_progress(job.pk, {"stage": "producing"})
    assert jobs.jobs_recover() == {"requeued": 0, "failed": 0}
    job.refresh_from_db()
    assert job.status == "running" and job.heartbeat_at > old


def test_old_jobs_go_with_their_files(owner, settings):
    old = timezone.now() - datetime.timedelta(hours=settings.JOBS_KEEP_HOURS + 1)
    gone = Job.objects.create(owner=owner, kind="export", title="x", status="done", finished_at=old)
    kept = Job.objects.create(
        owner=owner, kind="export", title="y", status="done", finished_at=timezone.now()
    )
    running_job = Job.objects.create(owner=owner, kind="export", title="z", status="running")
    for job in (gone, kept):
        files.output_path(job.pk, "a.xlsx").write_bytes(b"x")
    assert jobs.jobs_cleanup() == 1
    assert set(Job.objects.values_list("pk", flat=True)) == {kept.pk, running_job.pk}
    assert not files.folder(gone.pk).exists() and files.folder(kept.pk).exists()


def test_rows_are_estimated_without_reading_the_cells():
    assert jobs.estimated_rows(xlsx_bytes(follow_up_rows(3000))) == 3001
    assert jobs.estimated_rows(b"a;b\n1;2\n") == 2
    assert jobs.estimated_rows(b"PK\x03\x04 not a zip") == 0


def test_the_status_query_count_does_not_grow_with_the_rows(
    client, owner, django_assert_max_num_queries
):
    job = Job.objects.create(
        owner=owner, kind="export", title="x", status="running", rows_total=10**6
    )
    with django_assert_max_num_queries(4):
        assert client.get(reverse("coordination:job-status", args=[job.pk])).status_code == 200
    assert (
        json.loads(client.get(reverse("coordination:job-status", args=[job.pk])).content)["total"]
        == 10**6
    )


def overdue_tasks(world, content: str, count: int = 3) -> None:
    """`count` overdue tasks of the committee in 2024, numbered after `content`."""
    from tests.factories import days, make_task

    for number in range(count):
        make_task(
            agreement=world.agreement,
            year=2024,
            lead_unit=world.committee,
            due_date=days(-10 - number),
            content=f"{content} {number}",
        )


def test_a_long_yearly_report_is_written_by_a_job_in_both_formats(world, settings):
    """The .xlsx and the .docx of a report listing more outstanding rows than REPORT_JOB_ROWS
    come from jobs; the page itself stays in the request."""
    import zipfile

    from tests.factories import xlsx_values

    settings.REPORT_JOB_ROWS = 1
    overdue_tasks(world, "Nhiệm vụ quá hạn số")
    owner = make_superuser()
    client = Client()
    client.force_login(owner)
    address = f"/records/report/?year=2024&unit={world.committee.pk}"
    assert client.get(address).status_code == 200
    assert not Job.objects.exists()
    for file_format in ("xlsx", "docx"):
        response = client.get(f"{address}&format={file_format}")
        job = Job.objects.get(params__format=file_format)
        assert response["Location"] == reverse("coordination:job", args=[job.pk])
        assert job.kind == "report"
    run_queued()
    xlsx, docx = (Job.objects.get(params__format=f) for f in ("xlsx", "docx"))
    assert xlsx.status == docx.status == "done", (xlsx.error, docx.error)
    assert xlsx.rows_total >= 3
    workbook = _content(client.get(reverse("coordination:job-download", args=[xlsx.pk]))).read()
    cells = [value for row in xlsx_values(workbook) for value in row]
    assert "Nhiệm vụ quá hạn số 2" in cells
    document = _content(client.get(reverse("coordination:job-download", args=[docx.pk])))
    with zipfile.ZipFile(document) as archive:
        assert "Nhiệm vụ quá hạn số 2" in archive.read("word/document.xml").decode()


def test_a_long_corrections_edited_docx_is_written_by_a_job(world, settings):
    """The correction form's “Download Word (.docx)” (a POST with the edits, on the page of
    `corrects=`) follows REPORT_JOB_ROWS as the GET's files do: a job writes the document
    with the edits and every outstanding row; a short one stays in the request."""
    from tests.test_issued_reports import docx_texts, issue, post_data, report_url

    overdue_tasks(world, "Nhiệm vụ cần đính chính số")
    client = Client()
    client.force_login(make_superuser())
    params = {"year": 2024, "unit": world.committee.pk}
    assert issue(client, params, number="12/BC-UBND").status_code == 302
    params["corrects"] = IssuedReport.objects.get().pk
    settings.REPORT_JOB_ROWS = 1
    subject = "Đính chính báo cáo năm 2024"
    data = post_data(client, params, action="docx", subject=subject)
    response = client.post(report_url(params), data)
    job = Job.objects.get(kind="report")
    assert response["Location"] == reverse("coordination:job", args=[job.pk])
    assert job.params["format"] == "docx" and job.params["edits"]["subject"] == subject
    run_queued()
    job.refresh_from_db()
    assert job.status == "done", job.error
    download = client.get(reverse("coordination:job-download", args=[job.pk]))
    texts = " ".join(docx_texts(_content(download).read()))
    assert subject in texts and "Nhiệm vụ cần đính chính số 2" in texts

    settings.REPORT_JOB_ROWS = 1000
    response = client.post(report_url(params), data)
    assert response.status_code == 200 and response["Content-Type"].endswith("document")
    assert subject in " ".join(docx_texts(response.content))
    assert Job.objects.count() == 1
