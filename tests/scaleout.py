"""The deployment of README "Growing past one server", started on this machine for
tests/test_scaleout.py: a PostgreSQL streaming replica of the running primary on another port,
two gunicorn instances sharing the primary, the replica, Redis and one upload folder, and
nginx in front of them, each a process of the test with its own files.

A program that is missing (PostgreSQL's server binaries, nginx, gunicorn) or a service that
does not answer (PostgreSQL at PRIMARY_URL, Redis at CACHE_URL) fails the test: .ci/run
installs and starts them.
"""

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PRIMARY_URL = os.environ.get("SCALEOUT_PRIMARY_URL", "postgres://postgres@127.0.0.1:5432")
CACHE_URL = os.environ.get("SCALEOUT_CACHE_URL", "redis://127.0.0.1:6379/1")
# The primary's settings a hot standby must match or exceed.
STANDBY_AT_LEAST = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def need(condition: bool, message: str) -> None:
    if not condition:
        pytest.fail(f"{message} (.ci/run installs and starts it)", pytrace=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
        except Exception:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.2)


def sql(url: str, statement: str, params=(), *, database: str = "postgres"):
    with psycopg.connect(f"{url}/{database}", autocommit=True, connect_timeout=3) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


# ---------------------------------------------------------------------------------------------
# The streaming replica
# ---------------------------------------------------------------------------------------------


class Replica:
    """A hot standby of the primary, made with `pg_basebackup -R`, run as the postgres user
    (PostgreSQL refuses root) in a folder of its own."""

    def __init__(self):
        for program in ("pg_basebackup", "pg_ctl", "postgres"):
            need((PG_BIN / program).is_file(), f"{PG_BIN / program} is missing")
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="hoso-replica-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.log = self.folder / "replica.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"

    def as_postgres(self, *args, timeout=300):
        # From a folder the postgres user may enter.
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, args)],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self) -> None:
        primary = dj_parts(PRIMARY_URL)
        done = self.as_postgres(
            PG_BIN / "pg_basebackup",
            *("-h", primary["host"], "-p", primary["port"], "-U", primary["user"]),
            *("-D", self.data, "-R", "-X", "stream", "-c", "fast"),
        )
        assert done.returncode == 0, (
            "pg_basebackup failed; the primary's pg_hba.conf must let 127.0.0.1 connect for "
            f"replication (.ci/run adds the line): {done.stderr}"
        )
        at_least = "\n".join(
            f"{name} = {sql(PRIMARY_URL, f'SHOW {name}')[0][0]}" for name in STANDBY_AT_LEAST
        )
        # Debian keeps the cluster's configuration in /etc: the copy has none of its own.
        (self.data / "postgresql.conf").write_text(
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.folder}'\nhot_standby = on\n"
            f"shared_buffers = 32MB\n{at_least}\n"
        )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
        for name in ("postgresql.conf", "pg_hba.conf"):
            shutil.chown(self.data / name, "postgres", "postgres")
        started = self.as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start"
        )
        assert started.returncode == 0, started.stderr + self.log_text()

    def query(self, statement: str, params=(), database: str = "postgres"):
        return sql(self.url, statement, params, database=database)

    def catch_up(self, seconds: float = 60) -> None:
        """Wait until the replica has replayed what the primary had written now (the primary
        is shared: other databases keep writing, so "all of it" may never come)."""
        (position,) = sql(PRIMARY_URL, "SELECT pg_current_wal_lsn()::text")[0]
        wait_for(
            lambda: self.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])[0][0],
            "the replica catching up",
            seconds,
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def dj_parts(url: str) -> dict:
    parts = urllib.parse.urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": parts.username or "postgres",
    }


# ---------------------------------------------------------------------------------------------
# gunicorn and nginx
# ---------------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def manage(env: dict, *args) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def start_gunicorn(name: str, env: dict, folder: Path) -> Server:
    gunicorn = ROOT / ".venv/bin/gunicorn"
    need(gunicorn.is_file(), f"{gunicorn} is missing")
    port = free_port()
    log = folder / f"{name}.log"
    process = subprocess.Popen(
        [str(gunicorn), "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
        cwd=ROOT,
        env={
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
            # Each instance its own var folder: nothing but what the README lists is shared.
            "DJANGO_VAR_DIR": str(folder / name),
        },
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(name, port, process, log)
    wait_for(lambda: answers(server.base), f"gunicorn {name} on port {port}")
    return server


def answers(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/admin/login/", timeout=5) as response:
        return response.status == 200


NGINX_CONF = """\
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 128; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{site}
}}
"""


def start_nginx(servers: list[Server], folder: Path) -> Server:
    """nginx in the foreground with deploy/nginx.conf's site, its upstream and port
    replaced, plain HTTP and no TLS; the answer says which instance served it."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    need(Path(nginx).is_file(), "nginx is missing (Debian's package nginx)")
    folder.mkdir()
    # nginx's workers run as nobody: they must reach the temporary folders.
    folder.chmod(0o755)
    folder.parent.chmod(0o755)
    port = free_port()
    upstream = "\n".join(f"        server 127.0.0.1:{server.port};" for server in servers)
    site = (
        f"    upstream hoso {{\n{upstream}\n    }}\n"
        f"    server {{\n        listen 127.0.0.1:{port};\n"
        f"        client_max_body_size 12m;\n"
        f"        add_header X-Upstream $upstream_addr always;\n"
        f"{proxy_location()}\n    }}"
    )
    (folder / "nginx.conf").write_text(NGINX_CONF.format(folder=folder, site=site))
    log = folder / "nginx.out"
    process = subprocess.Popen(
        [
            *map(
                str, [nginx, "-p", folder, "-c", folder / "nginx.conf", "-e", folder / "error.log"]
            ),
            "-g",
            "daemon off;",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server("nginx", port, process, folder / "error.log")
    wait_for(lambda: answers(server.base), f"nginx on port {port}")
    return server


def proxy_location() -> str:
    """The `location /` block of deploy/nginx.conf, as the servers there proxy."""
    text = (ROOT / "deploy/nginx.conf").read_text()
    block = re.search(r"^(\s*location / \{.*?^\s*\})", text, re.S | re.M)
    assert block, "deploy/nginx.conf has no `location / { ... }` block"
    # Plain HTTP here: the scheme is what nginx saw.
    return block.group(1).replace("proxy_pass http://hoso_app;", "proxy_pass http://hoso;")


# ---------------------------------------------------------------------------------------------
# A browser: cookies, the CSRF token, forms and uploads
# ---------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser: cookies kept across servers (a cookie belongs to the host name,
    whatever the port), so the same session may reach either instance."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def cookie(self, name: str) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == name)

    def get(self, url: str) -> Answer:
        return self._open(urllib.request.Request(url))

    def post(self, url: str, fields: dict, files: dict | None = None) -> Answer:
        fields = {"csrfmiddlewaretoken": self.cookie("csrftoken"), **fields}
        if files:
            boundary = uuid.uuid4().hex
            body = b""
            for name, value in fields.items():
                body += (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n"
                ).encode()
            for name, (file_name, data) in files.items():
                body += (
                    (
                        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                        f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                    ).encode()
                    + data
                    + b"\r\n"
                )
            body += f"--{boundary}--\r\n".encode()
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", content_type)
        return self._open(request)

    def login(self, base: str, username: str, password: str) -> Answer:
        """Through the real login page: its form, its CSRF cookie."""
        page = self.get(f"{base}/admin/login/")
        assert page.status == 200
        answer = self.post(f"{base}/admin/login/", {"username": username, "password": password})
        assert answer.status == 302, answer.text[:2000]
        return answer

    def _open(self, request) -> Answer:
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read().decode(errors="replace"))
