"""EXPLAIN ANALYZE of the follow-up list's queries on PostgreSQL with a million rows.

Builds a scratch database `coordination_listbench_<pid>` (dropped at the end), fills it with
300 units and N follow-up items (default 1,000,000) in one INSERT … SELECT, then runs the
queries the /records/ and admin lists really issue — built by `FollowUpFilterSet`, not written
by hand — and prints, for each, the matching rows, the indexes the plan uses and the time.

Target: page 1 of every filtered list, and its COUNT, under 50 ms.

    .venv/bin/python bench/list_queries.py [--rows N] [--pg-admin-url URL] [--keep]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
# bench/import_export.py would shadow the django-import-export package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
TARGET_MS = 50.0
# Queries that match most of the table: their figures are shown, not held to the target.
INFORMATIVE = {
    "no filter (default order)",
    "overdue, all units and years",
    "text search q, a unit's name",
}


def plan_indexes(node) -> set[str]:
    found = set()
    if "Index Name" in node:
        found.add(node["Index Name"])
    for child in node.get("Plans", []):
        found |= plan_indexes(child)
    return found


def plan_scans(node) -> set[str]:
    found = {node["Node Type"]} if "Scan" in node["Node Type"] else set()
    for child in node.get("Plans", []):
        found |= plan_scans(child)
    return found


def explain(cursor, sql, params):
    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
    result = cursor.fetchone()[0]
    result = json.loads(result) if isinstance(result, str) else result
    return result[0]


def fill(rows: int) -> None:
    from django.db import connection

    from coordination.models import Unit

    Unit.objects.bulk_create(
        Unit(
            full_name=f"Đơn vị thử nghiệm {n}",
            kind="peoples_committee",
            level="commune",
            locality=f"xã {n}, huyện Hàm Tân",
        )
        for n in range(300)
    )
    first = Unit.objects.order_by("pk").values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO coordination_followup (
                kind, year, content, responsible_unit_id, source_reference, due_date, status,
                resolution, resolved_on, created_at, updated_at, search_text,
                first_raised_year, times_carried, times_raised)
            SELECT
                (ARRAY['limitation','conclusion','voter_petition','supervision_recommendation',
                       'complaint','other'])[1 + i %% 6],
                2016 + i %% 11,
                'Nội dung theo dõi số ' || i,
                %s + (i * 31) %% 300,
                '',
                make_date(2016 + i %% 11, 1, 1) + (i * 7) %% 365,
                s.status,
                '',
                CASE WHEN s.status = 'resolved'
                     THEN make_date(2016 + i %% 11, 1, 1) + (i * 7) %% 365 + (i %% 40 - 20)
                END,
                now(), now(),
                -- what SearchableMixin stores: the content folded (no diacritics, lower case)
                'noi dung theo doi so ' || i,
                2016 + i %% 11, 0, 1
            FROM generate_series(1, %s) AS i,
            LATERAL (SELECT CASE
                WHEN i %% 20 < 12 THEN 'resolved'
                WHEN i %% 20 < 16 THEN 'open'
                WHEN i %% 20 < 19 THEN 'in_progress'
                ELSE 'closed' END AS status) AS s
            """,
            [first, rows],
        )
        # As autovacuum leaves a table loaded long ago: statistics, and the visibility map
        # that lets a COUNT read the index alone.
        cursor.execute("VACUUM ANALYZE coordination_followup")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch database at the end (to study a plan); drop it by hand",
    )
    args = parser.parse_args()
    name = f"coordination_listbench_{os.getpid()}"
    admin = psycopg.connect(args.pg_admin_url, autocommit=True)
    admin.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    try:
        base = args.pg_admin_url.rsplit("/", 1)[0]
        os.environ["DATABASE_URL"] = f"{base}/{name}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import RequestFactory

        from coordination import selectors

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        fill(args.rows)
        print(
            f"filled {args.rows:,} follow-up items in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        request = RequestFactory().get("/")
        request.user = get_user_model().objects.create_superuser("bench", password=None)
        from coordination.models import Unit

        unit = Unit.objects.order_by("pk")[7].pk
        cases = [
            (
                "year + unit + status, by due date",
                {"year": 2024, "unit": unit, "status": "open", "sort": "due_date"},
            ),
            (
                "year + status, all units, by due date",
                {"year": 2024, "status": "open", "sort": "due_date"},
            ),
            ("year + unit + overdue", {"year": 2024, "unit": unit, "overdue": "yes"}),
            ("year + outstanding, all units", {"year": 2024, "outstanding": "yes"}),
            ("year only (default order)", {"year": 2024}),
            ("unit + overdue, all years", {"unit": unit, "overdue": "yes"}),
            ("overdue, all units and years", {"overdue": "yes"}),
            ("no filter (default order)", {}),
            ("year + text search q, a rare number", {"year": 2024, "q": "12345"}),
            ("text search q, a common word and a rare one", {"q": "so 12345"}),
            ("text search q, a unit's name and a rare number", {"q": "thu nghiem 12345"}),
            ("text search q, a unit's name", {"q": "thu nghiem 7"}),
        ]
        rows = []
        with connection.cursor() as cursor:
            for label, params in cases:
                filterset = selectors.record_filterset("followups", params, request=request)
                assert filterset.is_valid(), filterset.errors
                queryset = filterset.qs
                for what, query in (
                    ("page 1", queryset[:50].query),
                    ("count", queryset.order_by().values("pk").query),
                ):
                    sql, sql_params = query.sql_with_params()
                    if what == "count":
                        sql = f"SELECT COUNT(*) FROM ({sql}) AS counted"
                    explain(cursor, sql, sql_params)  # warm the cache, as a busy server is
                    timings = []
                    for _run in range(3):
                        result = explain(cursor, sql, sql_params)
                        timings.append(result["Execution Time"])
                    plan = result["Plan"]
                    matched = queryset.count() if what == "count" else min(50, plan["Actual Rows"])
                    indexes = ", ".join(sorted(plan_indexes(plan))) or "—"
                    scans = ", ".join(sorted(plan_scans(plan)))
                    rows.append((label, what, matched, indexes, scans, sorted(timings)[1]))
        print()
        print(
            f"Follow-up list queries on PostgreSQL, {args.rows:,} rows "
            f"(median of 3 EXPLAIN ANALYZE runs, warm cache); target < {TARGET_MS:.0f} ms"
        )
        print()
        print("| Filter | Query | Rows | Indexes used | Scans | Time | Result |")
        print("|---|---|---|---|---|---|---|")
        failed = 0
        for label, what, matched, indexes, scans, ms in rows:
            informative = label in INFORMATIVE
            ok = ms < TARGET_MS
            failed += 0 if ok or informative else 1
            verdict = "PASS" if ok else ("info" if informative else "FAIL")
            print(
                f"| {label} | {what} | {matched:,} | {indexes} | {scans} | {ms:.1f} ms "
                f"| {verdict} |"
            )
        return 1 if failed else 0
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"kept the database {name}", file=sys.stderr)
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
