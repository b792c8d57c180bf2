"""Time the last page of the follow-up lists (/records/ and the admin) on PostgreSQL.

Fills the database of DATABASE_URL (migrated; the rows stay for the next run) with N
follow-up items (default 200,000) over 40 units, one history row each, then asks for page 1
and the last page of /records/followups/ and of the admin changelist with the test Client as
a superuser, and prints the best of three for each.

    DATABASE_URL=postgres://… .venv/bin/python bench/deep_pages.py [--rows N]
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/import_export.py would shadow the django-import-export package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from coordination.choices import FollowUpKind, UnitKind, UnitLevel  # noqa: E402
from coordination.history import CREATED, record_history  # noqa: E402
from coordination.models import FollowUp, Unit  # noqa: E402

BATCH = 5000


def fill(rows: int) -> None:
    missing = rows - FollowUp.objects.count()
    if missing <= 0:
        return
    units = [
        Unit.objects.create(
            full_name=f"Đơn vị đo {n}",
            kind=UnitKind.PEOPLES_COMMITTEE,
            level=UnitLevel.COMMUNE,
            locality="tỉnh Bình Thuận",
        )
        for n in range(40)
    ]
    for start in range(0, missing, BATCH):
        batch = []
        for n in range(start, min(start + BATCH, missing)):
            record = FollowUp(
                kind=FollowUpKind.LIMITATION,
                year=2020 + n % 6,
                content=f"Tồn tại, hạn chế số {n}",
                responsible_unit=units[n % len(units)],
                due_date=datetime.date(2020 + n % 6, 1 + n % 12, 1 + n % 28),
            )
            record.prepare_for_save()
            batch.append(record)
        created = FollowUp.objects.bulk_create(batch)
        record_history(FollowUp, [record.pk for record in created], history_type=CREATED)
    # What autovacuum does a little later: statistics (without them the planner guesses the
    # new table is small) and the visibility map (index-only scans skip the table).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def best_of_three(client: Client, url: str) -> tuple[float, int]:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return min(timings), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    setup_test_environment()
    fill(args.rows)
    user, _ = get_user_model().objects.get_or_create(
        username="bench-deep", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    count = FollowUp.objects.count()
    records_last = -(-count // 50)
    admin_last = records_last  # the admin's ?p= counts from 1 too, 50 a page
    for label, url in [
        ("/records/followups/ page 1", "/records/followups/"),
        ("/records/followups/ last page", f"/records/followups/?page={records_last}"),
        ("admin changelist page 1", "/admin/coordination/followup/"),
        ("admin changelist last page", f"/admin/coordination/followup/?p={admin_last}"),
    ]:
        seconds, size = best_of_three(client, url)
        print(f"{label:35} {seconds * 1000:9.0f} ms {size / 1024:7.0f} KB  ({count:,} rows)")


if __name__ == "__main__":
    main()
