"""Growing past one server, on this machine (issue 18, point 3): two gunicorn instances behind
nginx sharing PostgreSQL, Redis and the upload folder, and the auditors' pages reading a
streaming replica while every write and every read after one goes to the primary.

The servers are real processes (tests/scaleout.py), whatever DATABASE_URL says: a database of
its own on the PostgreSQL at 127.0.0.1:5432 (the replica copies the cluster), migrated and
loaded with the demo (README, "Demo logins"). Marked slow; .ci/run runs them and installs nginx.
"""

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests import scaleout
from tests.factories import xlsx_bytes
from tests.scaleout import PRIMARY_URL, Browser, sql

pytestmark = pytest.mark.slow

STAFF = ("canbo_hamtan", "canbo-demo-2026")
AUDITOR = ("kiemtra", "kiemtra-demo-2026")
HEADER = ["Văn bản phối hợp", "Năm", "Nội dung", "Đơn vị chủ trì", "Hạn xử lý", "Trạng thái"]
IMPORT = "/admin/coordination/task/import/"
CONFIRM = "/admin/coordination/task/process_import/"
PIN_SECONDS = 3


def tasks_file(mark: str, rows: int) -> bytes:
    """`rows` new tasks of the demo's xã Tân Minh, each content carrying `mark`."""
    return xlsx_bytes(
        [HEADER]
        + [
            [
                "01/CTPH-TM-2026",
                2026,
                f"{mark} nhiệm vụ số {n}",
                "Ủy ban nhân dân xã Tân Minh",
                "31/12/2026",
                "Chưa thực hiện",
            ]
            for n in range(1, rows + 1)
        ]
    )


@pytest.fixture(scope="module")
def site():
    """The deployment: replica, two instances, nginx; removed afterwards with its database."""
    try:
        sql(PRIMARY_URL, "SELECT 1")
    except Exception as error:
        pytest.fail(f"PostgreSQL at {PRIMARY_URL} does not answer: {error}", pytrace=False)
    try:
        import redis

        redis.Redis.from_url(scaleout.CACHE_URL, socket_timeout=3).ping()
    except Exception as error:
        pytest.fail(f"Redis at {scaleout.CACHE_URL} does not answer: {error}", pytrace=False)
    name = f"hoso_scaleout_{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix="hoso-scaleout-"))
    uploads = folder / "shared-imports"
    uploads.mkdir(mode=0o700)
    replica = scaleout.Replica()
    servers = []
    sql(PRIMARY_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    sql(PRIMARY_URL, f'CREATE DATABASE "{name}"')
    try:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": f"{PRIMARY_URL}/{name}",
            "DJANGO_CACHE_URL": scaleout.CACHE_URL,
            "DJANGO_CACHE_KEY_PREFIX": name,
            "IMPORT_UPLOAD_DIR": str(uploads),
            "DJANGO_VAR_DIR": str(folder / "manage"),
            "REPLICA_PIN_SECONDS": str(PIN_SECONDS),
            # Paused, the replica must still be read (the test shows where reads go); the
            # lag rule has its own tests (tests/test_replica_routing.py).
            "REPLICA_MAX_LAG_SECONDS": "3600",
            "REPLICA_CHECK_SECONDS": "0.5",
            "DJANGO_FIGURES_CACHE_SECONDS": "0",
        }
        scaleout.manage(env, "migrate", "--noinput", "-v0")
        scaleout.manage(env, "load_demo", "-v0")
        replica.start()
        replica.catch_up()
        env["DATABASE_REPLICA_URL"] = f"{replica.url}/{name}"
        for instance in ("a", "b"):
            servers.append(scaleout.start_gunicorn(instance, env, folder))
        folder.chmod(0o755)
        servers.append(scaleout.start_nginx(servers[:2], folder / "nginx"))
        yield type(
            "Site",
            (),
            {
                "a": servers[0],
                "b": servers[1],
                "nginx": servers[2],
                "replica": replica,
                "uploads": uploads,
                "database": name,
            },
        )
        for server in servers[:2]:
            log = server.log.read_text()
            assert "Traceback" not in log, log[-5000:]
        assert "read-only transaction" not in replica.log_text()
    finally:
        for server in reversed(servers):
            server.stop()
        replica.remove()
        sql(PRIMARY_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


def tasks_marked(site, mark: str) -> int:
    return sql(
        PRIMARY_URL,
        "SELECT count(*) FROM coordination_task WHERE content LIKE %s",
        [f"{mark}%"],
        database=site.database,
    )[0][0]


def preview(browser: Browser, base: str, mark: str, rows: int) -> str:
    """Upload a file of `rows` new tasks on the import page at `base`; the preview's token."""
    answer = browser.post(
        f"{base}{IMPORT}", {}, files={"import_file": (f"{mark}.xlsx", tasks_file(mark, rows))}
    )
    assert answer.status == 200, answer.text[:3000]
    token = re.search(r'name="token" value="([^"]+)"', answer.text)
    assert token, answer.text[:3000]
    return token.group(1)


def listed(browser: Browser, base: str, mark: str) -> int:
    """How many tasks the /records/ list at `base` shows for the search `mark`."""
    answer = browser.get(f"{base}/records/tasks/?q={mark}")
    assert answer.status == 200, answer.text[:3000]
    return len(re.findall(re.escape(mark) + " nhiệm vụ số", answer.text))


def test_an_import_previewed_on_one_instance_is_confirmed_on_the_other(site):
    """The preview on instance a, the confirmation on instance b: the session (database), the
    CSRF cookie and the waiting upload (the shared folder) are found there; written once."""
    staff = Browser()
    staff.login(site.a.base, *STAFF)
    token = preview(staff, site.a.base, "MARKAB", 40)
    assert (site.uploads / token).is_file()
    assert tasks_marked(site, "MARKAB") == 0

    answer = staff.post(f"{site.b.base}{CONFIRM}", {"token": token})
    assert answer.status == 302, answer.text[:3000]
    assert answer.headers["Location"].endswith("/admin/coordination/task/")
    assert tasks_marked(site, "MARKAB") == 40
    assert not (site.uploads / token).exists()

    # Confirming again, on either instance, finds the upload gone and writes nothing.
    for server in (site.a, site.b):
        answer = staff.post(f"{server.base}{CONFIRM}", {"token": token})
        assert answer.status == 302 and answer.headers["Location"].endswith(IMPORT)
    assert tasks_marked(site, "MARKAB") == 40


def test_nginx_balances_both_instances_and_an_import_goes_through_it(site):
    staff = Browser()
    staff.login(site.nginx.base, *STAFF)
    upstreams = {
        staff.get(f"{site.nginx.base}/records/tasks/").headers["X-Upstream"] for _ in range(6)
    }
    assert upstreams == {f"127.0.0.1:{site.a.port}", f"127.0.0.1:{site.b.port}"}

    token = preview(staff, site.nginx.base, "MARKNGINX", 25)
    answer = staff.post(f"{site.nginx.base}{CONFIRM}", {"token": token})
    assert answer.status == 302, answer.text[:3000]
    assert tasks_marked(site, "MARKNGINX") == 25
    assert listed(staff, site.nginx.base, "MARKNGINX") == 25


def test_auditors_read_the_replica_and_a_writer_sees_their_change_at_once(site):
    """With the replica's replay paused, what the auditor's list and detail pages show is what
    the replica had: a change made meanwhile is missing there, while its author, pinned to the
    primary, sees it on the next page; once the replica replays, the auditor sees it too."""
    auditor, staff = Browser(), Browser()
    auditor.login(site.nginx.base, *AUDITOR)
    staff.login(site.nginx.base, *STAFF)
    site.replica.catch_up()
    time.sleep(PIN_SECONDS + 0.5)  # the logins wrote: the pins run out
    assert listed(auditor, site.nginx.base, "MARKNGINX") == 25

    site.replica.query("SELECT pg_wal_replay_pause()")
    try:
        token = preview(staff, site.a.base, "MARKREPLICA", 5)
        assert staff.post(f"{site.b.base}{CONFIRM}", {"token": token}).status == 302
        assert tasks_marked(site, "MARKREPLICA") == 5
        # The author's next pages, on either instance, at once: from the primary.
        for server in (site.a, site.b):
            assert listed(staff, server.base, "MARKREPLICA") == 5
        # The auditor's, on either instance: from the replica, which has not replayed it.
        (pk,) = sql(
            PRIMARY_URL,
            "SELECT min(id) FROM coordination_task WHERE content LIKE %s",
            ["MARKREPLICA%"],
            database=site.database,
        )[0]
        for server in (site.a, site.b):
            assert listed(auditor, server.base, "MARKREPLICA") == 0
            assert auditor.get(f"{server.base}/records/tasks/{pk}/").status == 404
            assert listed(auditor, server.base, "MARKNGINX") == 25
        # Nothing of the writes reached the replica: it has not even replayed them.
        replica_rows = site.replica.query(
            "SELECT count(*) FROM coordination_task WHERE content LIKE %s",
            ["MARKREPLICA%"],
            database=site.database,
        )
        assert replica_rows == [(0,)]
    finally:
        site.replica.query("SELECT pg_wal_replay_resume()")

    site.replica.catch_up()
    assert listed(auditor, site.nginx.base, "MARKREPLICA") == 5
    page = auditor.get(f"{site.a.base}/records/tasks/{pk}/")
    assert page.status == 200 and "MARKREPLICA nhiệm vụ số" in page.text


def test_with_the_replica_down_the_auditors_pages_read_the_primary(site):
    auditor, staff = Browser(), Browser()
    auditor.login(site.nginx.base, *AUDITOR)
    staff.login(site.nginx.base, *STAFF)
    site.replica.stop()
    token = preview(staff, site.nginx.base, "MARKDOWN", 3)
    assert staff.post(f"{site.nginx.base}{CONFIRM}", {"token": token}).status == 302
    time.sleep(PIN_SECONDS + 0.5)
    for server in (site.a, site.b, site.nginx):
        assert listed(auditor, server.base, "MARKDOWN") == 3
        assert auditor.get(f"{server.base}/records/outstanding/").status == 200
