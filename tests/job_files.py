"""Follow-up workbooks large enough to run as a background job, and the scene a worker
process (and a server process) share with a test (tests of coordination.jobs)."""

import datetime
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

HEADER = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Ngày nêu", "Hạn xử lý"]
UNIT_NAME = "Ủy ban nhân dân xã Tân Hà"


def follow_up_rows(count: int, *, start: int = 0, unit: str = UNIT_NAME) -> list[list]:
    """The header and `count` valid follow-up rows, each with its own content (natural key)."""
    rows = [HEADER]
    for index in range(start, start + count):
        raised = datetime.date(2024, 1 + index % 12, 1 + index % 28)
        rows.append(
            [
                "Kiến nghị cử tri",
                2024,
                f"Sửa đường liên thôn số {index + 1} của xã Tân Hà",
                unit,
                raised,
                raised + datetime.timedelta(days=60),
            ]
        )
    return rows


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

    def child(self, action: str, value, *, in_child: bool = False) -> dict:
        """Run tests/scripts/job_scene.py's `action`: in a child process on SQLite (or when
        asked), else in the test's own process."""
        if not self.sqlite and not in_child:
            from tests.scripts import job_scene

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

    def server(self) -> tuple[subprocess.Popen, str]:
        """Django's development server on a free port, on the scene's database."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env={**self.env, "DJANGO_DEBUG": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server, f"http://127.0.0.1:{port}"
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

    def progress(self, job_id: int) -> dict:
        try:
            return json.loads((self.workdir / "jobs" / str(job_id) / "progress.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}
