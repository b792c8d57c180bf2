"""Background jobs in a real worker process (`manage.py jobs_worker`), on the test database:
a large import runs to the end; a worker killed in the middle of one leaves nothing written,
and the next worker runs the job again and writes every row once.

On SQLite the worker needs a database file, so the scene is built by a child process
(tests/scripts/job_scene.py) on a file of its own; on PostgreSQL it is the test database,
committed (transaction=True) so that the worker sees it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.scripts import job_scene

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


class Scene:
    """The database and folders a worker process shares with the test."""

    def __init__(self, workdir: Path, settings):
        self.workdir = workdir
        self.sqlite = connection.vendor == "sqlite"
        settings.JOBS_DIR = workdir / "jobs"
        settings.IMPORT_UPLOAD_DIR = workdir / "imports"
        if self.sqlite:
            url = f"sqlite:///{workdir / 'db.sqlite3'}"
        else:
            db = connection.settings_dict
            url = (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                f"/{db['NAME']}"
            )
        self.env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": url,
            "DJANGO_VAR_DIR": str(workdir),
            "JOBS_HEARTBEAT_TIMEOUT": "1",
        }

    def child(self, action: str, value) -> dict:
        if not self.sqlite:
            return getattr(job_scene, action)(int(value))
        result = subprocess.run(
            [sys.executable, "-m", "tests.scripts.job_scene", action, str(value)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def worker(self, *extra) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", "jobs_worker", "--interval", "0.1", *extra],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def progress(self, job_id: int) -> dict:
        try:
            return json.loads((self.workdir / "jobs" / str(job_id) / "progress.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}


@pytest.fixture
def scene(tmp_path, settings):
    return Scene(tmp_path, settings)


def finished(worker: subprocess.Popen, timeout: float = 120) -> str:
    _out, err = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, err
    return err


def test_a_worker_process_runs_a_large_import_to_the_end(scene):
    job = scene.child("prepare", 3000)["job"]
    finished(scene.worker("--batch"))
    state = scene.child("state", job)
    assert state == {
        "status": "done",
        "attempts": 1,
        "error": "",
        "written": 3000,
        "stored": 3000,
        "distinct": 3000,
    }


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_the_retry_writes_all(
    scene,
):
    """SIGKILL while the rows are being checked, inside the import's transaction: nothing is
    written and the job stays "running" without a heartbeat. The next worker finds it stale,
    queues it again and writes every row exactly once."""
    rows = 8000
    job = scene.child("prepare", rows)["job"]
    worker = scene.worker()
    deadline = time.monotonic() + 120
    while scene.progress(job).get("stage") not in ("checking", "writing"):
        assert worker.poll() is None, worker.communicate()[1]
        assert time.monotonic() < deadline, "the worker never reached the checks"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    killed = scene.child("state", job)
    assert (killed["status"], killed["attempts"], killed["stored"]) == ("running", 1, 0)

    time.sleep(1.5)  # older than JOBS_HEARTBEAT_TIMEOUT (1 s)
    log = finished(scene.worker("--batch"))
    assert "queued again" in log
    state = scene.child("state", job)
    assert (state["status"], state["attempts"]) == ("done", 2), state
    assert state["stored"] == state["distinct"] == state["written"] == rows
