"""Four threads importing the same new rows of kind `argv[1]` into the embedded SQLite at
once; prints each import's summary and how many records were stored (test_concurrency.py)."""

import json
import os
import sys
import threading

import django


def main(kind: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections, connection

    from coordination.importing import import_records
    from tests.factories import make_unit, xlsx_bytes
    from tests.test_concurrency import NEW_ROWS, UNIT_NAME, stored_count

    call_command("migrate", verbosity=0)
    make_unit(full_name=UNIT_NAME, short_name="UBND xã Tân Hà", locality="xã Tân Hà")
    connection.close()
    data = xlsx_bytes(NEW_ROWS[kind])
    barrier, lines = threading.Barrier(4), []

    def importer(n):
        barrier.wait()
        try:
            report = import_records(kind=kind, data=data, file_name=f"{n}.xlsx", dry_run=False)
            lines.append(
                report.summary_line()
                if report.written or not report.file_errors
                else "; ".join(report.file_errors)
            )
        finally:
            close_old_connections()

    threads = [threading.Thread(target=importer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"lines": sorted(lines), "stored": stored_count(kind)}))


if __name__ == "__main__":
    main(sys.argv[1])
