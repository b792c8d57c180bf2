"""Bounded load test: 50 simulated users against gunicorn on PostgreSQL (issue 5, point 7).

    .venv/bin/pip install -r bench/requirements.txt      # locust, once
    .venv/bin/python bench/load_test.py [--users 50] [--duration 300] [--rows 200000]

Creates a scratch PostgreSQL database `coordination_load_<pid>`, migrates it, loads the demo
and N extra follow-up items spread over the demo's units and years (one INSERT … SELECT), two
accounts (an auditor and a unit's staff), collects the static files, starts gunicorn with
config/gunicorn.conf.py on 127.0.0.1 (a free port), and runs locust headless with the users
of bench/locustfile.py for --duration seconds: most browse filtered lists, change forms and
record pages; --importers users import workbooks of --import-rows new items (preview, then
confirm) and --exporters users export a filtered list (one unit, one year). Loopback only;
locust stops by itself after the duration, and every step has a time limit. Everything is
removed at the end (database, gunicorn, temporary files).

Prints requests per second, p50/p95/p99 latency per kind of request, the errors, and whether
the number of follow-up items at the end is exactly the number before plus the rows of every
confirmed import, and the deadlocks PostgreSQL detected in the database during the run
(pg_stat_database). Targets: no errors; p95 under 1 s for the list pages and under 5 s for
the exports; no deadlock; the exact row count. Exit status 1 when a target is missed.
"""

import argparse
import csv
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LIST_P95_TARGET_MS = 1000
EXPORT_P95_TARGET_MS = 5000
PASSWORD = "bench-load-2026-mat-khau"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env, *args, timeout=600):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout)


SETUP_SCRIPT = r"""
import json, os, sys
import django
django.setup()
from django.contrib.auth.models import Group, User
from django.db import connection
from coordination.models import FollowUp, Unit, UnitMember

rows, password = int(sys.argv[1]), sys.argv[2]
units = list(Unit.objects.filter(dissolved_on__isnull=True).values_list("pk", flat=True))
with connection.cursor() as cursor:
    cursor.execute(
        '''
        INSERT INTO coordination_followup (kind, year, content, responsible_unit_id,
            source_reference, due_date, status, resolution, resolved_on, created_at,
            updated_at, search_text, first_raised_year, times_carried, times_raised)
        SELECT 'voter_petition', 2023 + i %% 4, 'Kiến nghị cử tri thử tải số ' || i,
            (%s::bigint[])[1 + i %% cardinality(%s::bigint[])], '',
            make_date(2023 + i %% 4, 1, 1) + (i * 7) %% 365,
            CASE WHEN i %% 3 = 0 THEN 'resolved' ELSE 'open' END, '',
            CASE WHEN i %% 3 = 0 THEN make_date(2023 + i %% 4, 1, 1) + (i * 7) %% 365 END,
            now(), now(), 'kien nghi cu tri thu tai so ' || i, 2023 + i %% 4, 0, 1
        FROM generate_series(1, %s) AS i
        ''',
        [units, units, rows],
    )
    cursor.execute("VACUUM ANALYZE coordination_followup")
auditor = User.objects.create_user("bench_auditor", password=password, is_staff=True)
auditor.groups.add(Group.objects.get(name="Kiểm tra – giám sát"))
staff = User.objects.create_user("bench_staff", password=password, is_staff=True)
staff.groups.add(Group.objects.get(name="Cán bộ đơn vị"))
home = Unit.objects.get(full_name="Ủy ban nhân dân xã Tân Minh")
UnitMember.objects.create(user=staff, unit=home)
followups = list(FollowUp.objects.order_by("?").values_list("pk", flat=True)[:500])
print(json.dumps({
    "units": units, "years": [2023, 2024, 2025, 2026], "followups": followups,
    "readers": ["bench_auditor", "bench_staff"], "auditor": "bench_auditor",
    "importer": "bench_staff", "importer_unit": home.full_name, "import_year": 2026,
    "staff_units": [home.pk],
    "password": password, "count": FollowUp.objects.count(),
}))
"""


def count_followups(url: str) -> int:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT COUNT(*) FROM coordination_followup").fetchone()[0]


def deadlocks(admin, name: str) -> int:
    """Deadlocks PostgreSQL has detected in database `name` (its statistics, a few ms late)."""
    time.sleep(1)  # the statistics are flushed by each backend at most once a second
    admin.execute("SELECT pg_stat_clear_snapshot()")
    row = admin.execute(
        "SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [name]
    ).fetchone()
    return int(row[0] or 0) if row else 0


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not start")


def read_stats(path: Path) -> list[dict]:
    with path.open() as stats:
        return list(csv.DictReader(stats))


def print_table(stats: list[dict]) -> int:
    """Print locust's statistics as the README's table; returns how many rows failed."""
    print("| Request | Count | Errors | Req/s | p50 | p95 | p99 | Target | Result |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = 0
    for row in stats:
        label = row["Name"]
        limit = (
            LIST_P95_TARGET_MS
            if "(list)" in label
            else EXPORT_P95_TARGET_MS
            if label.startswith("export")
            else None
        )
        p95 = float(row["95%"] or 0)
        ok = int(row["Failure Count"]) == 0 and (limit is None or p95 < limit)
        if label != "Aggregated":
            failed += 0 if ok else 1
        target = f"0 errors, p95 < {limit} ms" if limit else "0 errors"
        print(
            f"| {label} | {int(row['Request Count']):,} | {row['Failure Count']} "
            f"| {float(row['Requests/s']):.1f} | {row['50%']} ms | {row['95%']} ms "
            f"| {row['99%']} ms | {target} | {'PASS' if ok else 'FAIL'} |"
        )
    return failed


def after_logins(path: Path) -> tuple[list[dict], int, float]:
    """The statistics of the requests that started after the last login had ended (the fifty
    PBKDF2 logins of the first seconds saturate the CPU), as `read_stats` gives locust's;
    with how many requests were left out and the seconds they cover."""
    entries = []
    if path.exists():
        for line in path.read_text().splitlines():
            ended, name, elapsed, failure = line.split("\t")
            entries.append((float(ended), name, float(elapsed), int(failure)))
    logins = [ended for ended, name, _e, _f in entries if name == "log in"]
    boundary = max(logins, default=0.0)
    kept = [e for e in entries if e[0] - e[2] / 1000 >= boundary and e[1] != "log in"]
    seconds = max((e[0] for e in kept), default=boundary) - boundary or 1.0
    names: dict[str, list] = {}
    for entry in kept:
        names.setdefault(entry[1], []).append(entry)
    rows = [summary_row(name, names[name], seconds) for name in sorted(names)]
    if kept:
        rows.append(summary_row("Aggregated", kept, seconds))
    return rows, len(entries) - len(kept), seconds


def summary_row(name: str, entries: list, seconds: float) -> dict:
    times = sorted(entry[2] for entry in entries)

    def rank(fraction: float) -> int:
        return round(times[max(0, math.ceil(fraction * len(times)) - 1)])

    return {
        "Name": name,
        "Request Count": str(len(times)),
        "Failure Count": str(sum(entry[3] for entry in entries)),
        "Requests/s": str(len(times) / seconds),
        "50%": str(rank(0.50)),
        "95%": str(rank(0.95)),
        "99%": str(rank(0.99)),
    }


def stop(signum, frame):
    # SIGTERM ends the run like Ctrl-C: the `finally` below still cleans up.
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=300, help="seconds of load")
    parser.add_argument("--rows", type=int, default=200_000, help="extra follow-up items")
    parser.add_argument("--import-rows", type=int, default=500, help="rows per imported file")
    parser.add_argument("--importers", type=int, default=2, help="users importing")
    parser.add_argument("--exporters", type=int, default=3, help="users exporting")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--job-workers", type=int, default=1, help="background job workers (jobs_worker)"
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    name = f"coordination_load_{os.getpid()}"
    url = f"{args.pg_admin_url.rsplit('/', 1)[0]}/{name}"
    workdir = Path(tempfile.mkdtemp(prefix="coordination-load-"))
    admin = psycopg.connect(args.pg_admin_url, autocommit=True)
    admin.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_VAR_DIR": str(workdir / "var"),
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_CONN_MAX_AGE": "60",
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    gunicorn = None
    started = time.monotonic()
    try:
        manage(env, "migrate", "--verbosity=0")
        manage(env, "load_demo", "--verbosity=0")
        manage(env, "collectstatic", "--noinput", "--verbosity=0")
        setup = subprocess.run(
            [PYTHON, "-c", SETUP_SCRIPT, str(args.rows), PASSWORD],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if setup.returncode:
            sys.exit(f"the set-up failed:\n{setup.stderr[-3000:]}")
        data = json.loads(setup.stdout.strip().splitlines()[-1])
        before = data.pop("count")
        print(
            f"database ready: {before:,} follow-up items ({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
        )
        port = free_port()
        gunicorn = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-c",
                "config/gunicorn.conf.py",
                "config.wsgi:application",
            ],
            cwd=ROOT,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": str(args.workers),
                "GUNICORN_ACCESS_LOG": "/dev/null",
            },
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "gunicorn.log", "w"),  # noqa: SIM115 (lives as long as gunicorn)
        )
        wait_for(port)
        # Large imports and exports run as background jobs (README, "Background jobs").
        job_workers = [
            subprocess.Popen(
                # At a lower CPU priority, as README's systemd unit runs them (Nice=10): the
                # pages first, the jobs with what is left.
                ["nice", "-n", "10", PYTHON, "manage.py", "jobs_worker", "--interval", "0.5"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(workdir / f"jobs-{n}.log", "w"),  # noqa: SIM115 (as gunicorn's)
            )
            for n in range(args.job_workers)
        ]
        deadlocks_before = deadlocks(admin, name)
        summary = workdir / "summary.json"
        locust = subprocess.run(
            [
                str(ROOT / ".venv/bin/locust"),
                "-f",
                "bench/locustfile.py",
                "--headless",
                "-u",
                str(args.users),
                "-r",
                str(args.spawn_rate),
                "-t",
                f"{args.duration}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(workdir / "load"),
                "--only-summary",
                "--stop-timeout",
                "30",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **env,
                "LOAD_SETUP_JSON": json.dumps(data),
                "LOAD_IMPORT_ROWS": str(args.import_rows),
                "LOAD_IMPORTERS": str(args.importers),
                "LOAD_EXPORTERS": str(args.exporters),
                "LOAD_SUMMARY": str(summary),
                "LOAD_REQUEST_LOG": str(workdir / "requests.tsv"),
            },
            capture_output=True,
            text=True,
            timeout=args.duration + 300,
        )
        imported = (
            json.loads(summary.read_text())
            if summary.exists()
            else {"rows": 0, "confirmed_imports": 0}
        )
        after = count_followups(url)
        deadlocked = deadlocks(admin, name) - deadlocks_before
        stats = read_stats(workdir / "load_stats.csv")
        steady, left_out, steady_seconds = after_logins(workdir / "requests.tsv")
        failures = read_stats(workdir / "load_failures.csv")
    finally:
        for worker in locals().get("job_workers", []):
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        subprocess.run(["rm", "-rf", str(workdir)], check=False)

    print()
    print(
        f"Load test: {args.users} users for {args.duration} s against gunicorn "
        f"({args.workers} workers) on PostgreSQL, {before:,} follow-up items before; "
        f"{os.cpu_count()} CPUs, loopback"
    )
    print()
    failed = print_table(stats)
    print()
    print(
        f"After the last login ({left_out:,} requests started before it left out; "
        f"{steady_seconds:.0f} s of load; the same server and run, percentiles exact):"
    )
    print()
    print_table(steady)
    expected = before + imported["rows"]
    rows_ok = after == expected
    failed += 0 if rows_ok else 1
    print()
    print(
        f"Follow-up items: {before:,} before + {imported['confirmed_imports']} confirmed imports "
        f"× {args.import_rows} rows = {expected:,} expected; {after:,} at the end: "
        f"{'PASS' if rows_ok else 'FAIL'}"
    )
    failed += 1 if deadlocked else 0
    print(
        f"Deadlocks detected by PostgreSQL during the run: {deadlocked}: "
        f"{'FAIL' if deadlocked else 'PASS'}"
    )
    for failure in failures[:10]:
        print(
            f"error: {failure['Method']} {failure['Name']}: {failure['Error']} "
            f"×{failure['Occurrences']}"
        )
    if locust.returncode not in (0, 1):
        print(locust.stderr[-2000:], file=sys.stderr)
        failed += 1
    print(f"\ntotal {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
