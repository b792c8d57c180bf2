"""Four threads writing agreements to the embedded SQLite for `argv[1]` seconds; prints the
errors met, the writes each thread made and the agreements stored (test_concurrency.py)."""

import json
import os
import sys
import threading
import time

import django


def main(seconds: float) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import OperationalError, connection, transaction

    from coordination.models import Agreement

    call_command("migrate", verbosity=0)
    connection.close()
    errors, written = [], []
    deadline = time.monotonic() + seconds

    def writer(n):
        count = 0
        while time.monotonic() < deadline:
            try:
                with transaction.atomic():
                    agreement = Agreement.objects.create(
                        number=f"{n}-{count}/QCPH",
                        title="Ghi đồng thời",
                        start_year=2024,
                        end_year=2025,
                    )
                    agreement.title = "Ghi đồng thời, lần hai"
                    agreement.save()
                count += 1
            except OperationalError as error:
                errors.append(str(error))
        written.append(count)
        connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        json.dumps(
            {
                "errors": errors[:5],
                "error_count": len(errors),
                "written": written,
                "stored": Agreement.objects.count(),
            }
        )
    )


if __name__ == "__main__":
    main(float(sys.argv[1]))
