"""Benchmark of the spreadsheet import and export of follow-up items, on SQLite and PostgreSQL.

Run from the project root (see bench/README.md)::

    .venv/bin/python bench/import_export.py [--db sqlite|postgres|both] [--quick] [--repeat N]

The script writes its own workbooks (openpyxl) into a temporary directory and never touches the
developer's database: SQLite runs on a file in that directory, PostgreSQL on a scratch database
`coordination_bench_<pid>` created at 127.0.0.1:5432 (user postgres) and dropped at the end.
Migrations run with `call_command("migrate")`, then 30 units are created; every row of the
workbooks names one of them by its full name.

Django reads its settings once per process, so every measurement runs in a fresh child process
(this same script with `--child` and `DATABASE_URL` set): it starts from a fresh import of the
modules, prints its figures as one JSON line on stdout, and the parent prints them all in one
table. Steps run in the order of the table and leave their rows for the next (the 1,000-row
export reads the rows of the 1,000-row import, the 100,000-row exports those of the 100,000-row
import); every import run first empties the follow-up table, outside the measurement.

Targets (from the issue), each printed beside its measured figure with PASS or FAIL:

1. Import of a 10,000-row follow-up workbook with `import_records(kind="followups", ...)`, as
   the admin runs it: preview (`dry_run=True`, keeping the cells it read) and confirm
   (`dry_run=False` from those cells, every row checked again) each under 2 s, on both databases,
   with a query count (django.test.utils.CaptureQueriesContext) that does not grow with the
   rows: it is also counted for 1,000 rows and both counts are printed. The only statements
   allowed to differ are the batched INSERTs (the importer's bulk_create sends 2,000 rows per
   statement), and the growth must stay at most one query per 1,000 rows. Baselines quoted in
   the issue: django-import-export's default row-by-row import took about 21 s on PostgreSQL
   (40,000 queries) and 9 s on SQLite; its use_bulk with CachedForeignKeyWidget 3.7 s
   (38 queries). The same import in one run without a preview (read, check and write, as the
   command line does) is timed for information.
2. Import (confirm) of a 100,000-row workbook of the same shape: peak memory under 400 MB,
   measured as the peak RSS of a child process that does only this step
   (`resource.getrusage(RUSAGE_SELF).ru_maxrss`, the absolute peak, Django included; the RSS
   just before the step is printed beside it). tracemalloc would miss calamine's C
   allocations. The wall time is printed for information.
3. Export of 100,000 follow-ups to .xlsx with `coordination.exporting.write_export("followups",
   FollowUp.objects.all(), stream, "xlsx")` into a file: under 12 s, peak RSS under 150 MB
   (child doing only this step), and no per-row queries (the count for 1,000 rows must equal
   the count for 100,000). Baseline: the library's default export took 75 s and 500 MB. The
   CSV export of the same rows is measured too, for information (no target).

MB means 1,048,576 bytes. A time is the median of `--repeat` runs (3 by default, 1 with
`--quick`), each in its own process, with the slowest and fastest runs beside it; a peak RSS is
the highest of the runs. The import times come from runs without query capture (on SQLite,
CaptureQueriesContext adds about 10 %, rendering the parameters of every INSERT); the import
query counts come from one extra run under CaptureQueriesContext. The export runs are all under
CaptureQueriesContext (one SELECT: no measurable cost); the 100,000-row import counts its
queries with a cheap execute wrapper instead, as capturing would keep megabytes of SQL text.

The default IMPORT_MAX_ROWS (100,000) counts the header row too, so the children run with
IMPORT_MAX_ROWS set to the largest workbook's data rows plus one.

`--quick` is a smoke test: 1,000 and 2,000 rows instead of 1,000 and 10,000 for figure 1, and
10,000 instead of 100,000 for figures 2 and 3 (the targets are still printed, but they are meant
for the full sizes). `--profile DIR` also runs each measured call under cProfile and writes
`DIR/<db>-<step>.prof` (read with `python -m pstats`); the times in the table are then inflated
by the profiler.

Everything created (temporary directory, scratch database) is removed at the end, also after a
failure, Ctrl-C or SIGTERM; each child has a time limit, so the run always stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path, and this file's name would hide
# the django-import-export package (`import_export`) the app imports: use the project root.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

RESULT_MARKER = "BENCH-RESULT "
CHILD_TIMEOUT_S = 1200
#: Building, exporting or loading a whole province takes longer than any other step.
PROVINCE_TIMEOUT_S = 4 * 3600
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MB = 1024 * 1024

# Targets and the baselines, as printed in the table.
IMPORT_TARGET_S = 2.0
IMPORT_PEAK_TARGET_MB = 400
EXPORT_TARGET_S = 12.0
EXPORT_PEAK_TARGET_MB = 150
INSERT_BATCH = 2000  # batch_size of the importer's bulk_create
BASELINE_IMPORT = {
    "sqlite": "row by row ~9 s; use_bulk 3.7 s",
    "postgres": "row by row ~21 s; use_bulk 3.7 s",
}
BASELINE_IMPORT_QUERIES = "row by row 40,000; use_bulk 38"
BASELINE_EXPORT_TIME = "75 s"
BASELINE_EXPORT_MEMORY = "500 MB"

# -- generated data ------------------------------------------------------------------------

HEADER = [
    "Loại",
    "Năm",
    "Nội dung",
    "Đơn vị chịu trách nhiệm",
    "Ngày nêu",
    "Hạn xử lý",
    "Trạng thái",
]
COMMUNES = [
    "Tân Hà",
    "Tân Xuân",
    "Tân Phúc",
    "Tân Thắng",
    "Thắng Hải",
    "Sơn Mỹ",
    "Tân Đức",
    "Tân Minh",
    "Tân Nghĩa",
    "Tân Thiện",
]
# (full name pattern, short name, kind): three bodies in each of ten communes, 30 units.
BODIES = [
    ("Ủy ban nhân dân xã {}", "UBND xã", "peoples_committee"),
    ("Ủy ban Mặt trận Tổ quốc Việt Nam xã {}", "UBMTTQVN xã", "fatherland_front"),
    ("Hội Nông dân xã {}", "Hội ND xã", "socio_political"),
]
UNITS = [
    (pattern.format(commune), short, kind, f"xã {commune}, huyện Hàm Tân, tỉnh Bình Thuận")
    for commune in COMMUNES
    for pattern, short, kind in BODIES
]
# Vietnamese labels of FollowUpKind, and the statuses that need no resolution date.
KIND_LABELS = [
    "Tồn tại – hạn chế",
    "Kết luận",
    "Kiến nghị cử tri",
    "Kiến nghị giám sát",
    "Đơn thư khiếu nại, tố cáo",
    "Khác",
]
STATUS_LABELS = ["Chưa giải quyết", "Đang thực hiện", "Chuyển năm sau", "Đã đóng"]
TOPICS = [
    "Cử tri kiến nghị sửa chữa tuyến đường liên xã bị xuống cấp",
    "Đề nghị nạo vét kênh mương nội đồng trước mùa mưa",
    "Chậm cấp giấy chứng nhận quyền sử dụng đất cho hộ dân",
    "Công tác thu gom, xử lý rác thải sinh hoạt chưa kịp thời",
    "Tình trạng lấn chiếm hành lang an toàn giao thông",
    "Đề nghị lắp đặt hệ thống chiếu sáng công cộng",
    "Hỗ trợ hộ nghèo, hộ cận nghèo sửa chữa nhà ở",
    "Việc chi trả chế độ chính sách cho người có công còn chậm",
    "Nâng cấp trạm y tế xã, bổ sung trang thiết bị",
    "Giải quyết dứt điểm đơn thư tranh chấp đất đai kéo dài",
    "Tăng cường tuyên truyền phòng, chống tệ nạn xã hội",
    "Cải thiện chất lượng nước sinh hoạt tại khu dân cư",
]


def follow_up_row(index: int) -> list:
    """The cells of the `index`-th generated follow-up row (its natural key is unique)."""
    year = 2020 + index % 6
    raised = datetime.date(year, 1 + index % 12, 1 + index % 28)
    unit = UNITS[index % len(UNITS)][0]
    commune = COMMUNES[(index // len(UNITS)) % len(COMMUNES)]
    content = (
        f"{TOPICS[index % len(TOPICS)]} tại thôn {1 + index % 9}, xã {commune} (mục {index + 1})"
    )
    return [
        KIND_LABELS[index % len(KIND_LABELS)],
        year,
        content,
        unit,
        raised,
        raised + datetime.timedelta(days=30 + index % 300),
        STATUS_LABELS[index % len(STATUS_LABELS)],
    ]


def write_workbook(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Kiến nghị")
    sheet.append(HEADER)
    for index in range(rows):
        sheet.append(follow_up_row(index))
    workbook.save(path)


def workbook_path(workdir: Path, rows: int) -> Path:
    return workdir / f"followups-{rows}.xlsx"


# -- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    small: int  # query-count comparison
    medium: int  # preview and confirm timing
    large: int  # memory and export

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        return cls(1_000, 2_000, 10_000) if quick else cls(1_000, 10_000, 100_000)


@dataclass(frozen=True)
class Step:
    name: str
    # setup, import-preview, import-confirm, import-oneshot, import-memory, export-xlsx, export-csv
    action: str
    rows: int
    capture_run: bool  # one extra run under CaptureQueriesContext, for the query count
    timed_runs: int  # runs for the time and the memory


def plan(sizes: Sizes, repeat: int) -> list[Step]:
    """The steps in the order they run on each database."""
    return [
        Step("setup", "setup", 0, False, 1),
        Step("import-preview-small", "import-preview", sizes.small, True, 0),
        Step("import-confirm-small", "import-confirm", sizes.small, True, 0),
        Step("export-xlsx-small", "export-xlsx", sizes.small, False, 1),
        Step("import-preview-medium", "import-preview", sizes.medium, True, repeat),
        Step("import-confirm-medium", "import-confirm", sizes.medium, True, repeat),
        Step("import-oneshot-medium", "import-oneshot", sizes.medium, False, repeat),
        Step("import-memory-large", "import-memory", sizes.large, False, repeat),
        Step("export-xlsx-large", "export-xlsx", sizes.large, False, repeat),
        Step("export-csv-large", "export-csv", sizes.large, False, repeat),
    ]


# -- child process: one measurement --------------------------------------------------------


def rss_kb() -> int:
    """The current resident set size of this process, in KB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux


def query_kinds(statements) -> dict[str, int]:
    """How many statements of each kind (first SQL word: SELECT, INSERT, BEGIN, ...)."""
    kinds: dict[str, int] = {}
    for sql in statements:
        words = sql.split(None, 1)
        word = words[0].upper() if words else "?"
        kinds[word] = kinds.get(word, 0) + 1
    return kinds


class QueryCounter:
    """An execute wrapper counting statements without keeping their text."""

    def __init__(self):
        self.count = 0
        self.kinds: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        self.kinds.append(sql[:12])
        return execute(sql, params, many, context)


class Measure:
    """Wall time, RSS and (optionally) queries of one call, optionally under cProfile."""

    def __init__(self, *, capture: bool, count: bool = False, profile: str | None = None):
        self.capture, self.count, self.profile = capture, count, profile
        self.figures: dict = {}

    def run(self, call):
        import gc

        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        gc.collect()
        rss_before = rss_kb()
        captured = CaptureQueriesContext(connection) if self.capture else None
        counter = QueryCounter() if self.count else None
        profiler = None
        if self.profile:
            import cProfile

            profiler = cProfile.Profile()
        if captured is not None:
            captured.__enter__()
        try:
            if counter is not None:
                with connection.execute_wrapper(counter):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    result = profiler.runcall(call) if profiler else call()
                    seconds = time.perf_counter() - started
            else:
                started, cpu_started = time.perf_counter(), time.process_time()
                result = profiler.runcall(call) if profiler else call()
                seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
        finally:
            if captured is not None:
                captured.__exit__(None, None, None)
            if profiler is not None:
                profiler.dump_stats(self.profile)
        self.figures = {
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "rss_before_kb": rss_before,
            "peak_rss_kb": peak_rss_kb(),
        }
        if captured is not None:
            statements = [query["sql"] for query in captured.captured_queries]
            self.figures.update(queries=len(statements), query_kinds=query_kinds(statements))
        if counter is not None:
            self.figures.update(queries=counter.count, query_kinds=query_kinds(counter.kinds))
        return result


def child_main(args) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    workdir = Path(args.workdir)
    if args.action == "setup":
        return setup_database()
    if args.action.startswith("province-"):
        return province_child(args)
    if args.action.startswith("import-"):
        return measure_import(args, workbook_path(workdir, args.rows))
    return measure_export(args, workdir / f"export-{args.db}-{args.child}.{args.action[7:]}")


def setup_database() -> dict:
    import io

    from django.core.management import call_command
    from django.db import connection

    from coordination.models import Unit

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False, stdout=io.StringIO())
    Unit.objects.bulk_create(
        Unit(full_name=name, short_name=short, kind=kind, level="commune", locality=locality)
        for name, short, kind, locality in UNITS
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            server = f"SQLite {cursor.fetchone()[0]}"
    return {
        "seconds": time.perf_counter() - started,
        "units": Unit.objects.count(),
        "server": server,
    }


def empty_followups() -> None:
    """Delete every follow-up with one statement (QuerySet.delete() would load them all)."""
    from django.db import connection

    from coordination.models import FollowUp

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(FollowUp._meta.db_table)}")


def timed_import(
    measure, path: Path, data: bytes, *, dry_run: bool, expected: int, after_preview: bool
):
    """`import_records` of the follow-up file `path`, timed by `measure`, as the admin runs
    it: with `after_preview`, a confirmation after its untimed preview, which kept the cells
    it read beside the upload. Stops the bench unless every one of the `expected` rows is
    new and none has a problem."""
    from coordination.importing import import_records

    sheets_data = None
    if after_preview:
        sheets_data = import_records(
            kind="followups", data=data, file_name=path.name, dry_run=True, keep_sheets=True
        ).sheets_data
        assert sheets_data is not None
    report = measure.run(
        lambda: import_records(
            kind="followups",
            data=data,
            file_name=path.name,
            dry_run=dry_run,
            sheets_data=sheets_data,
        )
    )
    problems = [f"row {p.row}: {p.column}: {p.message}" for p in report.problems[:5]]
    if report.file_errors or problems or report.count_new != expected:
        raise SystemExit(
            f"the import of {path.name} did not go through: file errors {report.file_errors}, "
            f"{report.count_new} new of {expected}, first problems {problems}"
        )
    return report


def measure_import(args, path: Path) -> dict:
    from coordination.models import FollowUp

    empty_followups()
    data = path.read_bytes()
    dry_run = args.action == "import-preview"
    measure = Measure(
        capture=args.capture, count=args.action == "import-memory", profile=args.profile_stats
    )
    history_before = FollowUp.history.count()
    confirm = args.action == "import-confirm"
    timed_import(measure, path, data, dry_run=dry_run, expected=args.rows, after_preview=confirm)
    stored, expected = FollowUp.objects.count(), 0 if dry_run else args.rows
    if stored != expected:
        raise SystemExit(f"{stored} follow-ups stored after the import, expected {expected}")
    # The audit trail: one history entry per written row, none for a preview.
    entries = FollowUp.history.count() - history_before
    if entries != expected:
        raise SystemExit(f"{entries} history entries after the import, expected {expected}")
    return {**measure.figures, "rows": args.rows, "file_bytes": len(data)}


def measure_export(args, target: Path) -> dict:
    from coordination.exporting import write_export
    from coordination.models import FollowUp

    stored = FollowUp.objects.count()
    if stored != args.rows:
        raise SystemExit(f"{stored} follow-ups in the database, expected {args.rows} to export")
    file_format = args.action.removeprefix("export-")
    measure = Measure(capture=True, profile=args.profile_stats)
    with open(target, "wb") as stream:
        measure.run(lambda: write_export("followups", FollowUp.objects.all(), stream, file_format))
    size = target.stat().st_size
    target.unlink()
    return {**measure.figures, "rows": args.rows, "file_bytes": size}


# -- parent process --------------------------------------------------------------------------


class StepFailed(RuntimeError):
    pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_child(db, url, step: Step, workdir: Path, args, *, capture: bool, extra=()) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # Nothing may land in the developer's var/ (uploads, media, the SQLite default).
            "DJANGO_VAR_DIR": str(workdir / "var"),
            "DJANGO_DEBUG": "0",
            "DJANGO_CONN_MAX_AGE": "0",
            # The default limit counts the header row: make room for it (see the docstring).
            "IMPORT_MAX_ROWS": str(max(100_000, args.sizes.large + 1)),
        }
    )
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        *("--child", step.name, "--action", step.action, "--rows", str(step.rows)),
        *("--workdir", str(workdir), "--db", db),
        *extra,
    ]
    if capture:
        command.append("--capture")
    timeout = (
        PROVINCE_TIMEOUT_S
        if step.action in ("province-setup", "province-export", "province-load")
        else CHILD_TIMEOUT_S
    )
    if args.profile and step.action != "setup":
        command += ["--profile-stats", str(Path(args.profile).resolve() / f"{db}-{step.name}.prof")]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise StepFailed(f"{db} {step.name}: no result after {timeout} s") from error
    if done.returncode == 0:
        for line in done.stdout.splitlines():
            if line.startswith(RESULT_MARKER):
                return json.loads(line[len(RESULT_MARKER) :])
    raise StepFailed(
        f"{db} {step.name} failed (exit {done.returncode}):\n"
        f"{done.stderr[-4000:]}{done.stdout[-2000:]}"
    )


class ScratchPostgres:
    """A scratch database, created on enter, dropped on exit (whatever still uses it)."""

    def __init__(self, admin_url: str):
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        self.admin_url = admin_url
        self.name = f"coordination_bench_{os.getpid()}"
        params = conninfo_to_dict(make_conninfo(admin_url))
        host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
        user = params.get("user", "postgres")
        password = f":{params['password']}" if params.get("password") else ""
        self.url = f"postgresql://{user}{password}@{host}:{port}/{self.name}"

    def _execute(self, template: str) -> None:
        import psycopg
        from psycopg import sql

        statement = sql.SQL(template).format(sql.Identifier(self.name))
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)

    def __enter__(self):
        import psycopg

        try:
            self._execute("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'")
        except psycopg.Error as error:
            raise StepFailed(f"postgres: cannot create {self.name}: {error}") from error
        log(f"postgres: created scratch database {self.name}")
        return self

    def __exit__(self, *exc_info):
        import psycopg

        try:
            self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        except psycopg.Error as error:
            log(f"postgres: could not drop {self.name} ({error}); drop it by hand")
        else:
            log(f"postgres: dropped scratch database {self.name}")
        return False


def run_database(db: str, url: str, workdir: Path, args) -> dict:
    results = {}
    for step in plan(args.sizes, args.repeat):
        entry = {"capture": None, "runs": []}
        if step.capture_run:
            entry["capture"] = run_child(db, url, step, workdir, args, capture=True)
        for _run in range(step.timed_runs):
            entry["runs"].append(run_child(db, url, step, workdir, args, capture=False))
        results[step.name] = entry
        log(f"{db}: {step.name} ({step.rows:,} rows): {describe(entry)}")
    return results


def describe(entry: dict) -> str:
    parts = []
    if entry["runs"]:
        parts.append("times " + ", ".join(f"{run['seconds']:.2f}" for run in entry["runs"]) + " s")
        if "peak_rss_kb" in entry["runs"][0]:
            parts.append(f"peak RSS {mb(peak(entry)):.0f} MB")
    source = entry["capture"] or (entry["runs"][0] if entry["runs"] else {})
    if "queries" in source:
        parts.append(f"{source['queries']} queries {source['query_kinds']}")
    return "; ".join(parts)


# -- the table -------------------------------------------------------------------------------


def mb(kb: float) -> float:
    return kb / 1024


def median_time(entry: dict) -> float:
    return statistics.median(run["seconds"] for run in entry["runs"])


def time_text(entry: dict) -> str:
    times = [run["seconds"] for run in entry["runs"]]
    text = f"{statistics.median(times):.2f} s"
    if len(times) > 1:
        text += f" ({min(times):.2f}–{max(times):.2f})"
    return text


def peak(entry: dict) -> int:
    return max(run["peak_rss_kb"] for run in entry["runs"])


def peak_text(entry: dict) -> str:
    highest = max(entry["runs"], key=lambda run: run["peak_rss_kb"])
    return f"{mb(highest['peak_rss_kb']):.0f} MB (before: {mb(highest['rss_before_kb']):.0f} MB)"


def queries(entry: dict) -> dict:
    """The query figures of a step: its capture run, else its runs (which must agree)."""
    runs = [entry["capture"]] if entry["capture"] else entry["runs"]
    counts = {run["queries"] for run in runs}
    if len(counts) != 1:
        raise StepFailed(f"query counts differ between runs: {sorted(counts)}")
    return runs[0]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def growth(small: dict, large: dict, *, inserts_allowed: bool) -> tuple[bool, str]:
    """Equal counts; or, if allowed, extra INSERT batches only, at most one per 1,000 rows."""
    extra = large["queries"] - small["queries"]
    small_inserts = small["query_kinds"].get("INSERT", 0)
    large_inserts = large["query_kinds"].get("INSERT", 0)
    ok = extra == 0 or (
        inserts_allowed
        and extra == large_inserts - small_inserts
        and extra * 1000 <= large["rows"] - small["rows"]
    )
    text = f"{small['queries']} → {large['queries']}"
    if extra:
        text += f" (INSERTs {small_inserts} → {large_inserts})"
    return ok, text


def table_rows(db: str, results: dict, sizes: Sizes) -> list[list[str]]:
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[db]
    preview, confirm = results["import-preview-medium"], results["import-confirm-medium"]
    oneshot = results["import-oneshot-medium"]
    memory = results["import-memory-large"]
    xlsx, csv = results["export-xlsx-large"], results["export-csv-large"]
    s, m, lg = f"{sizes.small:,}", f"{sizes.medium:,}", f"{sizes.large:,}"
    preview_ok, preview_queries = growth(
        queries(results["import-preview-small"]), queries(preview), inserts_allowed=False
    )
    confirm_ok, confirm_queries = growth(
        queries(results["import-confirm-small"]), queries(confirm), inserts_allowed=True
    )
    export_ok, export_queries = growth(
        queries(results["export-xlsx-small"]), queries(xlsx), inserts_allowed=False
    )
    return [
        [
            name,
            f"Import preview, {m} rows: time",
            time_text(preview),
            f"< {IMPORT_TARGET_S:.0f} s",
            BASELINE_IMPORT[db],
            verdict(median_time(preview) < IMPORT_TARGET_S),
        ],
        [
            name,
            f"Import preview: queries, {s} → {m} rows",
            preview_queries,
            "no growth",
            BASELINE_IMPORT_QUERIES,
            verdict(preview_ok),
        ],
        [
            name,
            f"Import confirm, {m} rows: time",
            time_text(confirm),
            f"< {IMPORT_TARGET_S:.0f} s",
            BASELINE_IMPORT[db],
            verdict(median_time(confirm) < IMPORT_TARGET_S),
        ],
        [
            name,
            f"Import without preview (command line), {m} rows: time",
            time_text(oneshot),
            "—",
            "—",
            "info",
        ],
        [
            name,
            f"Import confirm: queries, {s} → {m} rows",
            confirm_queries,
            f"no growth but INSERTs of {INSERT_BATCH:,} rows",
            BASELINE_IMPORT_QUERIES,
            verdict(confirm_ok),
        ],
        [
            name,
            f"Import confirm, {lg} rows: time",
            f"{time_text(memory)}, {queries(memory)['queries']} queries",
            "—",
            "—",
            "info",
        ],
        [
            name,
            f"Import confirm, {lg} rows: peak RSS",
            peak_text(memory),
            f"< {IMPORT_PEAK_TARGET_MB} MB",
            "—",
            verdict(mb(peak(memory)) < IMPORT_PEAK_TARGET_MB),
        ],
        [
            name,
            f"Export .xlsx, {lg} rows: time",
            time_text(xlsx),
            f"< {EXPORT_TARGET_S:.0f} s",
            BASELINE_EXPORT_TIME,
            verdict(median_time(xlsx) < EXPORT_TARGET_S),
        ],
        [
            name,
            f"Export .xlsx, {lg} rows: peak RSS",
            peak_text(xlsx),
            f"< {EXPORT_PEAK_TARGET_MB} MB",
            BASELINE_EXPORT_MEMORY,
            verdict(mb(peak(xlsx)) < EXPORT_PEAK_TARGET_MB),
        ],
        [
            name,
            f"Export .xlsx: queries, {s} → {lg} rows",
            export_queries,
            "no growth",
            "—",
            verdict(export_ok),
        ],
        [
            name,
            f"Export .csv, {lg} rows: time; peak RSS",
            f"{time_text(csv)}; {mb(peak(csv)):.0f} MB",
            "—",
            "—",
            "info",
        ],
    ]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])


# -- into a province: the same import into an empty and into a loaded table (issue 17) --------

#: Rows of each file imported into the province's empty and loaded tables.
PROVINCE_ROWS = 10_000
#: Rows per file when a whole province is loaded through the import path.
LOAD_FILE_ROWS = 30_000
PROVINCE_RATIO_TARGET = 1.3


def page_cache_kb(db: str) -> int:
    """The page cache an import's SQLite connection may fill (`cache_size` in
    config/settings.py): a fixed bound, whatever the table's size, that a larger table fills
    more of. PostgreSQL's cache is the server's, not the importing process's."""
    if db != "sqlite":
        return 0
    from config.settings import SQLITE_CACHE_KB

    return SQLITE_CACHE_KB


LOAD_TARGET_S = 180.0
#: The kinds a whole province is loaded with, in order (each names records of those before).
LOAD_KINDS = ["units", "people", "agreements", "meetings", "tasks", "followups"]


def province_generator():
    """bench/province.py as a module (its `Province` builds the province)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_province_generator", ROOT / "bench" / "province.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def province_setup(args) -> dict:
    """Migrate; `empty`: the province's units, people and agreements only (the generator's
    first steps, so the same units as the loaded province), or with `--loaded-from` a copy
    of that province with its follow-up items removed (whoever built it); `loaded`: the
    whole province, unless the database was copied from one (`--loaded-from`); `fresh`:
    nothing."""
    import io

    from django.core.management import call_command
    from django.db import connection

    from coordination.models import FollowUp

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False, stdout=io.StringIO())
    if args.part == "empty" and args.loaded_from:
        remove_followups()
        call_command("count_outstanding", stdout=io.StringIO())
    elif args.part != "fresh" and not (args.part == "loaded" and args.loaded_from):
        province = province_generator().Province(scale=args.scale, seed=args.seed)
        if args.part == "empty":
            province.make_users()
            province.make_units()
            province.make_people()
            province.make_agreements()
        else:
            province.build()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"seconds": time.perf_counter() - started, "followups": FollowUp.objects.count()}


def remove_followups() -> None:
    """Empty the follow-up items' tables: the items, their co-responsible units and their
    history (`TRUNCATE … CASCADE` on PostgreSQL), as in a province that has none yet."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    from coordination.models import FollowUp

    owners = [FollowUp._meta.db_table, FollowUp.history.model._meta.db_table]
    tables = [
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if any(
            model._meta.db_table == owner or model._meta.db_table.startswith(f"{owner}_")
            for owner in owners
        )
    ]
    statements = connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        # TRUNCATE refuses a table with foreign-key checks still deferred in the transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    connection.ops.execute_sql_flush(statements)


#: The columns of the province modes' follow-up workbooks.
FOLLOWUP_HEADER = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Ngày nêu", "Trạng thái"]


def province_files(args) -> dict:
    """`--repeat` workbooks of `PROVINCE_ROWS` new follow-up items naming the province's
    units, in its years (weighted as its items are; the generator's weights if it has none)
    and kinds (content never met in the province: every row is new). Run on the loaded
    province, whoever built it: only units a row can name are named (`nameable_units`)."""
    import random

    from django.db.models import Count
    from django.utils import translation

    from coordination.choices import FollowUpKind, FollowUpStatus
    from coordination.models import FollowUp

    generator = province_generator()
    rng = random.Random(args.seed)
    counted = dict(
        FollowUp.objects.order_by().values("year").annotate(n=Count("pk")).values_list("year", "n")
    )
    weights_by_year = counted or generator.YEAR_WEIGHTS
    years, weights = list(weights_by_year), list(weights_by_year.values())
    with translation.override("vi"):
        kinds = [str(label) for _value, label in FollowUpKind.choices]
        open_status = str(dict(FollowUpStatus.choices)["open"])
    units = nameable_units(Path(args.workdir), kinds[0], max(years, key=weights_by_year.get))
    from openpyxl import Workbook

    for run in range(args.repeat):
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Kiến nghị")
        sheet.append(FOLLOWUP_HEADER)
        for index in range(PROVINCE_ROWS):
            year = rng.choices(years, weights)[0]
            sheet.append(
                [
                    rng.choice(kinds),
                    year,
                    f"{rng.choice(TOPICS)} (lần nhập {run + 1}, mục {index + 1})",
                    rng.choice(units),
                    datetime.date(year, rng.randint(1, 12), rng.randint(1, 28)),
                    open_status,
                ]
            )
        workbook.save(Path(args.workdir) / f"province-{run}.xlsx")
    return {"files": args.repeat, "units": len(units)}


def nameable_units(workdir: Path, kind: str, year: int) -> list[str]:
    """The full names of the province's units that a follow-up row can name: a preview of
    one row per unit, keeping those whose row has no problem (a name two units share, or a
    unit the import refuses, is left out). The province's own rules decide, not this bench's
    idea of them."""
    from openpyxl import Workbook

    from coordination.importing import import_records
    from coordination.models import Unit

    names = sorted(set(Unit.objects.values_list("full_name", flat=True)))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Đơn vị")
    sheet.append(FOLLOWUP_HEADER[:4])
    for name in names:
        sheet.append([kind, year, f"Thử tên đơn vị {name}", name])
    path = workdir / "unit-names.xlsx"
    workbook.save(path)
    report = import_records(kind="followups", data=path.read_bytes(), file_name=path.name)
    if report.file_errors:
        raise SystemExit(f"the unit names could not be tried: {report.file_errors}")
    refused = {outcome.row for outcome in report.error_rows}
    # Row 1 is the header: the name of data row n is on row n + 1.
    kept = [name for row, name in enumerate(names, start=2) if row not in refused]
    if not kept:
        raise SystemExit("no unit of the province can be named by a follow-up row")
    return kept


def province_import(args) -> dict:
    """Preview or confirm file number `--file` into this database, as the admin runs them."""
    from coordination.maintenance import settle_writes
    from coordination.models import FollowUp

    if args.part == "empty":
        empty_followups()
    # What the previous run (or the emptying) left, settled as the jobs worker and
    # `manage.py import_records` settle it after an import: SQLite's log copied into the
    # database (else every run reads through a longer log), PostgreSQL's search-index
    # pending entries merged. Untimed: production does it outside the import.
    settle_writes()
    path = Path(args.workdir) / f"province-{args.file}.xlsx"
    data = path.read_bytes()
    before = FollowUp.objects.count()
    dry_run = args.action == "province-preview"
    measure = Measure(capture=False, profile=args.profile_stats)
    timed_import(
        measure, path, data, dry_run=dry_run, expected=PROVINCE_ROWS, after_preview=not dry_run
    )
    after = FollowUp.objects.count()
    if after != before + (0 if dry_run else PROVINCE_ROWS):
        raise SystemExit(f"{after - before} follow-ups written, expected {PROVINCE_ROWS}")
    return {**measure.figures, "table_rows": before}


def load_columns(resource_class) -> tuple[list[str], list[str]]:
    """(headers dropped, headers of the natural key) of a kind's export, for loading it
    into a fresh database: record numbers and versions name the source's records."""
    from coordination.widgets import RecordIdWidget, VersionWidget
    from coordination.widgets.references import ManyWidget, PersonWidget

    def names_people(widget) -> bool:
        # People's names repeat across units: a meeting's co-chairs are not loaded.
        return isinstance(widget, ManyWidget) and isinstance(widget.inner, PersonWidget)

    dropped = [
        str(column.column_name)
        for column in resource_class.columns()
        if isinstance(column.widget, RecordIdWidget | VersionWidget) or names_people(column.widget)
    ]
    key = [
        str(resource_class.fields[name].column_name)
        for name in resource_class._meta.import_id_fields
    ]
    return dropped, key


def province_export(args) -> dict:
    """Export the province, kind by kind, as CSV files of `LOAD_FILE_ROWS` rows (the export
    format is the import's), without record numbers, one row per natural key."""
    import csv
    import io

    from coordination import kinds
    from coordination.exporting import write_export

    folder = Path(args.workdir) / "load"
    folder.mkdir(exist_ok=True)
    counts = {}
    started = time.perf_counter()
    for order, kind in enumerate(LOAD_KINDS):
        resource_class = kinds.get(kind).resource
        model = resource_class._meta.model
        dropped, key_headers = load_columns(resource_class)
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
        seen, rows, header, written = set(), [], None, 0

        def flush(rows=rows, header=None, kind=kind, order=order):
            nonlocal written
            path = folder / f"{order}-{kind}-{written // LOAD_FILE_ROWS:04d}.csv"
            with open(path, "w", newline="", encoding="utf-8-sig") as stream:
                writer = csv.writer(stream)
                writer.writerow(header)
                writer.writerows(rows)
            written += len(rows)
            rows.clear()

        for start in range(0, len(pks), LOAD_FILE_ROWS):
            chunk = pks[start : start + LOAD_FILE_ROWS]
            stream = io.BytesIO()
            write_export(
                kind, model.objects.filter(pk__gte=chunk[0], pk__lte=chunk[-1]), stream, "csv"
            )
            reader = csv.reader(io.StringIO(stream.getvalue().decode("utf-8-sig")))
            full_header = next(reader)
            kept = [i for i, name in enumerate(full_header) if name not in dropped]
            key_at = [full_header.index(name) for name in key_headers]
            header = [full_header[i] for i in kept]
            for cells in reader:
                key = tuple(cells[i].casefold() for i in key_at)
                if key in seen:
                    continue
                seen.add(key)
                rows.append([cells[i] for i in kept])
                if len(rows) == LOAD_FILE_ROWS:
                    flush(rows, header)
        if rows:
            flush(rows, header)
        counts[kind] = written
    return {"seconds": time.perf_counter() - started, "rows": counts}


def load_file(path: Path) -> dict:
    """One exported file through `import_records`, confirmed without a preview, then the
    search index's pending entries merged, as `manage.py import_records` does: its time and
    what it wrote, or what refused it."""
    from coordination import kinds
    from coordination.importing import import_records
    from coordination.maintenance import settle_writes

    kind = path.stem.split("-")[1]
    began = time.perf_counter()
    report = import_records(kind=kind, data=path.read_bytes(), file_name=path.name, dry_run=False)
    problems = [f"row {p.row}: {p.column}: {p.message}" for p in report.problems[:5]]
    if report.file_errors or problems or not report.written:
        return {"name": path.name, "refused": f"{report.file_errors} {problems}"}
    # As the command does once the rows are committed, outside the kind's lock.
    settle_writes([kinds.get(kind).model])
    return {
        "name": path.name,
        "kind": kind,
        "new": report.count_new,
        "seconds": time.perf_counter() - began,
        "peak_rss_kb": peak_rss_kb(),
    }


def province_load(args) -> dict:
    """Import every exported file into this (fresh) database, kind by kind in order (a kind
    names the records of those before it): the whole province through `import_records`.

    `--jobs N` runs N imports at a time, each in its own process and connection, as N
    offices importing at once: each reads its file's cells while another holds the kind's
    import lock (`importing.writing.serialize_imports`), which checks and writes one file at
    a time. A kind's files are done before the next kind's begin.
    """
    import multiprocessing

    from django.db import connections

    from coordination import kinds

    folder = Path(args.workdir) / "load"
    per_kind: dict[str, float] = {}
    rows: dict[str, int] = {}
    #: Seconds per follow-up file, in order: flat if the cost does not grow with the table.
    followup_files: list[float] = []
    slowest = (0.0, "")
    peak_kb = 0
    started = time.perf_counter()
    by_kind: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.csv")):
        by_kind.setdefault(path.stem.split("-")[1], []).append(path)
    # Each worker opens its own connection: none may be inherited from this process.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(args.jobs) if args.jobs > 1 else contextlib.nullcontext() as pool:
        for kind, paths in by_kind.items():
            began = time.perf_counter()
            if pool is not None:
                results = pool.imap(load_file, paths)
            elif args.profile_stats and kind == "followups":
                # The first follow-up file under the profiler (`--profile`): where a row's
                # time goes.
                import cProfile

                profiler = cProfile.Profile()
                first = profiler.runcall(load_file, paths[0])
                profiler.dump_stats(args.profile_stats)
                results = itertools.chain([first], map(load_file, paths[1:]))
            else:
                results = map(load_file, paths)
            for result in results:
                if "refused" in result:
                    raise SystemExit(f"{result['name']} was refused: {result['refused']}")
                rows[kind] = rows.get(kind, 0) + result["new"]
                slowest = max(slowest, (result["seconds"], result["name"]))
                peak_kb = max(peak_kb, result["peak_rss_kb"])
                if kind == "followups":
                    followup_files.append(result["seconds"])
                log(f"  {result['name']}: {result['new']:,} new in {result['seconds']:.1f} s")
            per_kind[kind] = time.perf_counter() - began
    seconds = time.perf_counter() - started
    stored = {kind: kinds.get(kind).resource._meta.model.objects.count() for kind in per_kind}
    if stored != rows:
        raise SystemExit(f"stored {stored}, imported {rows}")
    return {
        "seconds": seconds,
        "per_kind": per_kind,
        "rows": rows,
        "slowest": slowest,
        "followup_files": followup_files,
        "peak_rss_kb": max(peak_kb, peak_rss_kb()),
        "jobs": args.jobs,
    }


def province_child(args) -> dict:
    action = args.action
    if action == "province-setup":
        return province_setup(args)
    if action == "province-files":
        return province_files(args)
    if action in ("province-preview", "province-confirm"):
        return province_import(args)
    if action == "province-export":
        return province_export(args)
    return province_load(args)


class ProvinceDatabases:
    """The scratch databases of the province modes: created on enter, dropped on exit."""

    def __init__(self, db: str, workdir: Path, args):
        self.db, self.workdir, self.args = db, workdir, args
        self.scratch: list[ScratchPostgres] = []

    def url(self, part: str) -> str:
        if self.db == "sqlite":
            return f"sqlite:///{self.workdir / f'province-{part}.sqlite3'}"
        scratch = ScratchPostgres(self.args.pg_admin_url)
        scratch.name = f"{scratch.name}_{part}"
        scratch.url = f"{scratch.url}_{part}"
        template = self.args.loaded_from if part in ("loaded", "empty") else None
        if template:
            scratch._execute(f'CREATE DATABASE {{}} TEMPLATE "{template}"')
            log(f"postgres: copied {template} into {scratch.name}")
        else:
            scratch.__enter__()
        self.scratch.append(scratch)
        return scratch.url

    def copy_sqlite(self, part: str) -> None:
        if self.db == "sqlite" and self.args.loaded_from:
            shutil.copy(self.args.loaded_from, self.workdir / f"province-{part}.sqlite3")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for scratch in self.scratch:
            scratch.__exit__(None, None, None)
        return False


def province_step(db, url, action, workdir, args, *, part="", file=None) -> dict:
    step = Step(f"{action}-{part}", action, 0, False, 1)
    extra = ["--part", part, "--scale", str(args.scale), "--seed", str(args.seed)]
    extra += ["--repeat", str(args.repeat), "--jobs", str(args.jobs)]
    if file is not None:
        extra += ["--file", str(file)]
    if args.loaded_from:
        extra += ["--loaded-from", args.loaded_from]
    return run_child(db, url, step, workdir, args, capture=False, extra=extra)


def cpu_text(entry: dict) -> str:
    """The median CPU time of this process (the database's work is not in it): on a machine
    shared with other work, the part of the wall time that is this import's own."""
    return f"{statistics.median(run['cpu_seconds'] for run in entry['runs']):.2f} s"


def run_province(db: str, workdir: Path, args) -> list[list[str]]:
    """The 10,000-row preview and confirm into the province's empty and loaded tables."""
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[db]
    with ProvinceDatabases(db, workdir, args) as databases:
        urls = {}
        for part in ("empty", "loaded"):
            databases.copy_sqlite(part)
            urls[part] = databases.url(part)
            setup = province_step(db, urls[part], "province-setup", workdir, args, part=part)
            log(
                f"{db}: {part} province ready in {setup['seconds']:.0f} s "
                f"({setup['followups']:,} follow-up items)"
            )
        # Made on the loaded province: the units and years of its items.
        province_step(db, urls["loaded"], "province-files", workdir, args, part="loaded")
        results = {(part, step): [] for part in urls for step in ("preview", "confirm")}
        for run in range(args.repeat):
            for part in ("empty", "loaded"):
                for step in ("preview", "confirm"):
                    figures = province_step(
                        db, urls[part], f"province-{step}", workdir, args, part=part, file=run
                    )
                    results[(part, step)].append(figures)
                    log(
                        f"{db}: {step} into the {part} table ({figures['table_rows']:,} rows): "
                        f"{figures['seconds']:.2f} s, peak RSS {mb(figures['peak_rss_kb']):.0f} MB"
                    )
    rows = []
    for step in ("preview", "confirm"):
        empty = {"runs": results[("empty", step)]}
        loaded = {"runs": results[("loaded", step)]}
        ratio = median_time(loaded) / median_time(empty)
        table_rows_text = f"{results[('loaded', step)][0]['table_rows']:,}"
        rows.append(
            [
                name,
                f"{step.capitalize()}, {PROVINCE_ROWS:,} rows into the empty table: time; peak RSS",
                f"{time_text(empty)} (CPU {cpu_text(empty)}); {mb(peak(empty)):.0f} MB",
                f"< {IMPORT_TARGET_S:.0f} s",
                verdict(median_time(empty) < IMPORT_TARGET_S),
            ]
        )
        rows.append(
            [
                name,
                f"{step.capitalize()}, {PROVINCE_ROWS:,} rows into {table_rows_text} rows: "
                "time; peak RSS",
                f"{time_text(loaded)} (CPU {cpu_text(loaded)}); {mb(peak(loaded)):.0f} MB",
                f"< {IMPORT_TARGET_S:.0f} s",
                verdict(median_time(loaded) < IMPORT_TARGET_S),
            ]
        )
        rows.append(
            [
                name,
                f"{step.capitalize()}: loaded / empty (time; peak RSS)",
                f"{ratio:.2f}×; {peak(loaded) / peak(empty):.2f}×",
                f"≤ {PROVINCE_RATIO_TARGET}×; RSS ≤ 1.1× + page cache",
                verdict(
                    ratio <= PROVINCE_RATIO_TARGET
                    and peak(loaded) <= peak(empty) * 1.1 + page_cache_kb(db)
                ),
            ]
        )
    return rows


def run_load(db: str, workdir: Path, args) -> list[list[str]]:
    """The whole province loaded through the import path into a fresh database."""
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[db]
    with ProvinceDatabases(db, workdir, args) as databases:
        databases.copy_sqlite("loaded")
        source = databases.url("loaded")
        setup = province_step(db, source, "province-setup", workdir, args, part="loaded")
        log(f"{db}: source province ready in {setup['seconds']:.0f} s")
        exported = province_step(db, source, "province-export", workdir, args, part="loaded")
        log(f"{db}: exported {exported['rows']} in {exported['seconds']:.0f} s")
        target = databases.url("fresh")
        province_step(db, target, "province-setup", workdir, args, part="fresh")
        loaded = province_step(db, target, "province-load", workdir, args, part="fresh")
    total_rows = sum(loaded["rows"].values())
    trend = [round(seconds, 1) for seconds in loaded["followup_files"]]
    detail = ", ".join(
        f"{kind} {loaded['rows'][kind]:,} in {seconds:.0f} s"
        for kind, seconds in loaded["per_kind"].items()
    )
    return [
        [
            name,
            f"Whole province through the import path ({total_rows:,} rows, files of "
            f"{LOAD_FILE_ROWS:,}, {loaded['jobs']} import(s) at a time): time",
            f"{loaded['seconds']:.0f} s ({detail}); slowest file {loaded['slowest'][0]:.1f} s; "
            f"follow-up files, first three {trend[:3]} s, last three {trend[-3:]} s; "
            f"peak RSS {mb(loaded['peak_rss_kb']):.0f} MB",
            f"< {LOAD_TARGET_S:.0f} s",
            verdict(loaded["seconds"] < LOAD_TARGET_S),
        ]
    ]


def province_main(args) -> int:
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    workdir = Path(tempfile.mkdtemp(prefix="coordination-bench-"))
    table, failures = [], []
    started = time.perf_counter()
    try:
        for db in databases:
            try:
                if args.province:
                    table += run_province(db, workdir, args)
                if args.load_province:
                    table += run_load(db, workdir, args)
            except StepFailed as error:
                failures.append(str(error))
                log(f"FAILED: {error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nImport into a province (scale {args.scale}, seed {args.seed}, median of "
        f"{args.repeat} run(s)), {datetime.date.today():%Y-%m-%d}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; total {time.perf_counter() - started:.0f} s\n"
    )
    if table:
        print(markdown_table(["Database", "Figure", "Measured", "Target", "Result"], table))
    for failure in failures:
        print(f"\nFAILED: {failure}")
    missed = sum(1 for row in table if row[-1] == "FAIL")
    return 1 if failures or missed else 0


# -- entry point -----------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Import/export benchmark on SQLite and PostgreSQL (see bench/README.md)."
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke test")
    parser.add_argument(
        "--repeat",
        type=int,
        help="timed runs of each measurement, each in a fresh process (default 3; 1 if --quick)",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", PG_ADMIN_URL),
        help="database to CREATE and DROP the scratch database from (default: %(default)s)",
    )
    parser.add_argument("--profile", metavar="DIR", help="also write cProfile stats into DIR")
    parser.add_argument(
        "--province",
        action="store_true",
        help="instead: 10,000-row preview and confirm into a province's empty and loaded tables",
    )
    parser.add_argument(
        "--load-province",
        action="store_true",
        help="instead: a whole province exported, then loaded through the import path",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="with --load-province: imports at a time, each in its own process (default 2, "
        "as two offices importing at once; 1: one after the other)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="province size (1.0: full)")
    parser.add_argument("--seed", type=int, default=2025, help="the province's seed")
    parser.add_argument(
        "--loaded-from",
        help="copy the loaded province from this PostgreSQL database (or SQLite file) "
        "instead of building it, whoever built it (with --province, the empty one too: the "
        "copy without its follow-up items)",
    )
    # Internal: one measurement in a child process.
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--action", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--capture", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-stats", help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    args.sizes = Sizes.for_mode(args.quick)
    return args


def parent_main(args) -> int:
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    # SIGTERM ends the run through the same clean-up as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    workdir = Path(tempfile.mkdtemp(prefix="coordination-bench-"))
    table: list[list[str]] = []
    servers: list[str] = []
    failures: list[str] = []
    started = time.perf_counter()
    try:
        sizes = args.sizes
        for rows in sorted({sizes.small, sizes.medium, sizes.large}):
            began = time.perf_counter()
            path = workbook_path(workdir, rows)
            write_workbook(path, rows)
            log(
                f"generated {path.name} ({path.stat().st_size / MB:.1f} MB) "
                f"in {time.perf_counter() - began:.1f} s"
            )
        for db in databases:
            try:
                if db == "sqlite":
                    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
                    results = run_database(db, url, workdir, args)
                else:
                    with ScratchPostgres(args.pg_admin_url) as scratch:
                        results = run_database(db, scratch.url, workdir, args)
                servers.append(results["setup"]["runs"][0]["server"])
                table += table_rows(db, results, sizes)
            except StepFailed as error:
                failures.append(str(error))
                log(f"FAILED: {error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        log(f"removed {workdir}")
    mode = "quick" if args.quick else "full"
    print(
        f"\nImport/export benchmark ({mode}, median of {args.repeat} run(s)), "
        f"{datetime.date.today():%Y-%m-%d}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {', '.join(servers) or 'no database'}; "
        f"total {time.perf_counter() - started:.0f} s\n"
    )
    if table:
        header = ["Database", "Figure", "Measured", "Target", "Baseline (issue)", "Result"]
        print(markdown_table(header, table))
    for failure in failures:
        print(f"\nFAILED: {failure}")
    missed = sum(1 for row in table if row[-1] == "FAIL")
    return 1 if failures or missed else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        result = child_main(args)
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 0
    if args.province or args.load_province:
        return province_main(args)
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
