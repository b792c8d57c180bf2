"""A large import waiting for a worker, and what the database holds after (test_jobs_worker.py).

`prepare ROWS` migrates the database of DATABASE_URL (an SQLite file: the test process's own
database is in memory), creates the unit and the owner, keeps a ROWS-row upload and queues its
import; `lose JOB` deletes its task from the database queue; `state JOB` prints the job and
the follow-ups stored; `setup 0` migrates and creates the browser tests' user, `followups N`
N items to export. On PostgreSQL the test calls the
same functions in its own process, on its test database."""

import json
import os
import secrets
import sys

import django


def prepare(rows: int) -> dict:
    from coordination import uploads
    from coordination.jobs import services as jobs
    from coordination.models import Job
    from tests.factories import make_superuser, make_unit, xlsx_bytes
    from tests.job_files import UNIT_NAME, follow_up_rows

    make_unit(full_name=UNIT_NAME, short_name="UBND xã Tân Hà", locality="xã Tân Hà")
    owner = make_superuser(username=f"worker-{secrets.token_hex(4)}")
    token = f"u{owner.pk}-{secrets.token_urlsafe(24)}"
    (uploads._folder() / token).write_bytes(xlsx_bytes(follow_up_rows(rows)))
    job = jobs.job_enqueue(
        owner=owner,
        kind=Job.Kind.IMPORT_CONFIRM,
        title="Nhập kien-nghi.xlsx",
        record_kind="followups",
        token=token,
        file_name="kien-nghi.xlsx",
    )
    return {"job": job.pk}


#: The browser tests' login (tests/test_jobs_browser.py).
USERNAME, PASSWORD = "lan", "mat-khau-thu-2026"


def setup(_value: int = 0) -> dict:
    """The unit the workbooks name and a superuser who logs in with PASSWORD."""
    from tests.factories import ensure_roles, make_superuser, make_unit
    from tests.job_files import UNIT_NAME

    ensure_roles()
    make_unit(full_name=UNIT_NAME, short_name="UBND xã Tân Hà", locality="xã Tân Hà")
    user = make_superuser(username=USERNAME)
    user.set_password(PASSWORD)
    user.save()
    return {"user": user.username}


def followups(count: int) -> dict:
    """`count` follow-up items of one unit, to export."""
    from coordination.models import FollowUp
    from tests.factories import make_followup, make_unit

    unit = make_unit()
    for number in range(count):
        make_followup(content=f"Kiến nghị xuất bằng việc nền số {number}", responsible_unit=unit)
    return {"stored": FollowUp.objects.count()}


def lose(job_id: int) -> dict:
    """The database queue loses job `job_id`'s task (its row deleted); the job still waits."""
    from django_tasks_db.models import DBTaskResult

    from coordination.models import Job

    task_id = Job.objects.get(pk=job_id).task_id
    return {"lost": DBTaskResult.objects.filter(id=task_id).delete()[0]}


def state(job_id: int) -> dict:
    from coordination.models import FollowUp, Job

    job = Job.objects.get(pk=job_id)
    return {
        "status": job.status,
        "attempts": job.attempts,
        "error": job.error,
        "written": job.rows_written,
        "stored": FollowUp.objects.count(),
        "distinct": FollowUp.objects.values("content").distinct().count(),
    }


def main(action: str, value: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    if action in ("prepare", "setup"):
        call_command("migrate", verbosity=0)
    print(json.dumps(globals()[action](int(value))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
